/* SPDX-License-Identifier: GPL-2.0 */
/* loop.h - the device half of loop_test (loop_dev.c), as plain C types. */
#ifndef VHX_LOOP_H
#define VHX_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct devq;

struct devq *devq_new(void *mem, size_t size, bool packed, bool event_idx,
		      unsigned int num, unsigned long long desc,
		      unsigned long long avail, unsigned long long used,
		      uint32_t base);
void devq_free(struct devq *d);
int devq_get(struct devq *d, size_t *out_bytes, size_t *in_bytes);
int devq_used(struct devq *d, const unsigned int *ids, const unsigned int *lens,
	      unsigned int n);
bool devq_signal(struct devq *d);
bool devq_enable(struct devq *d);
void devq_disable(struct devq *d);
void devq_discard(struct devq *d, int n);
bool devq_empty(struct devq *d);
bool devq_broken(struct devq *d);
uint32_t devq_base(struct devq *d);

#endif /* VHX_LOOP_H */
