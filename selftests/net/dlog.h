/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dlog - the dirty-log fixture of dirtylog_test, cve_test and vsock_test: a
 * VHOST_F_LOG_ALL bitmap over all of a device's guest memory, the pages a
 * test expects set, and pages that may be set either way.
 */
#ifndef VHX_SELFTEST_DLOG_H
#define VHX_SELFTEST_DLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhxlib.h"

struct dlog {
	uint8_t *bitmap;	/* what the device logs */
	uint8_t *expect;	/* pages that must be set */
	uint8_t *either;	/* pages that may be set or not */
	size_t bytes;
	int fd;			/* VHOST_SET_LOG_FD's eventfd */
};

/*
 * On a device with VHOST_F_LOG_ALL acked whose rings are set up but not
 * started: the bitmap over @mem, VHOST_SET_LOG_BASE and VHOST_SET_LOG_FD,
 * logging on both queues.  0 or a negative errno.
 */
int dlog_init(struct dlog *l, struct vhxl_dev *dev, const struct vhxl_mem *mem);
/*
 * After vhxl_net_setup() with VHOST_F_LOG_ALL and .no_backend: dlog_init(),
 * then the tap attached to RX and TX.
 */
int dlog_start(struct dlog *l, struct vhxl_net *n);
void dlog_free(struct dlog *l);

void dlog_mark(struct dlog *l, uint64_t gpa, uint64_t len);
void dlog_may_mark(struct dlog *l, uint64_t gpa, uint64_t len);
/* Zero the bitmap and both expectations; drain the eventfd. */
void dlog_clear(struct dlog *l);
bool dlog_logged(const struct dlog *l, uint64_t gpa);

/*
 * Pages whose bit is not what was expected; the GPAs of the first @nbad
 * go to @bad, the number of bits set to @set.
 */
int dlog_diff(const struct dlog *l, int *set, uint64_t *bad, int nbad);

/*
 * In a harness test: log the first ten pages whose bit is not what was
 * expected and the totals (after the caller's printf-style prefix), and
 * expect no such page.
 */
#define DLOG_EXPECT_MATCH(l, fmt, ...) do {				\
		uint64_t _bad[10];					\
		int _set, _i, _diff = dlog_diff((l), &_set, _bad, 10);	\
									\
		for (_i = 0; _i < _diff && _i < 10; _i++)		\
			TH_LOG("page gpa 0x%llx: logged %d expected %d", \
			       (unsigned long long)_bad[_i],		\
			       dlog_logged((l), _bad[_i]),		\
			       !dlog_logged((l), _bad[_i]));		\
		TH_LOG(fmt "%d page bit(s) set, %d mismatch(es)",	\
		       ##__VA_ARGS__, _set, _diff);			\
		EXPECT_EQ(0, _diff);					\
	} while (0)

#endif
