/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxlib_int.h - what vhxlib's own files share (not part of the API in
 * vhxlib.h): memory barriers and single-copy accesses, time and alignment.
 */
#ifndef VHXLIB_INT_H
#define VHXLIB_INT_H

#include <stddef.h>
#include <time.h>

#include "vhxmem.h"
#include "vhxring.h"

#define barrier() __asm__ __volatile__("" ::: "memory")
#define mb()  __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static inline long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static inline size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}


/* Driver event / base half of a packed ring: position | wrap << 15. */
static inline uint16_t packed_event(uint16_t pos, bool wrap)
{
	return pos | (wrap ? 1u << VRING_PACKED_EVENT_F_WRAP_CTR : 0);
}

/*
 * The packed ring driver (vhxring_packed.c), behind the vhxl_vq_* calls of
 * vhxlib.c for packed vqs: the layout's part of each, same arguments.
 */
void vhxl_packed_init_state(struct vhxl_vq *vq);
int vhxl_packed_add(struct vhxl_vq *vq, const struct vhxl_sg *sg, unsigned n,
		    bool indirect, void *cookie);
void vhxl_packed_raw_desc(struct vhxl_vq *vq, unsigned slot, uint64_t addr,
			  uint32_t len, uint32_t flags, uint16_t next);
void vhxl_packed_raw_publish(struct vhxl_vq *vq, unsigned ndesc);
uint32_t vhxl_packed_expected_base(const struct vhxl_vq *vq);
bool vhxl_packed_kick_needed(struct vhxl_vq *vq);
unsigned vhxl_packed_pending(const struct vhxl_vq *vq);
int vhxl_packed_get_used(struct vhxl_vq *vq, uint32_t *len, void **cookie);
void vhxl_packed_enable_cb(struct vhxl_vq *vq);
void vhxl_packed_disable_cb(struct vhxl_vq *vq);


/* The split ring driver (vhxring_split.c), likewise for split vqs. */
void vhxl_split_init_state(struct vhxl_vq *vq);
int vhxl_split_add(struct vhxl_vq *vq, const struct vhxl_sg *sg, unsigned n,
		   bool indirect, void *cookie);
void vhxl_split_raw_desc(struct vhxl_vq *vq, unsigned slot, uint64_t addr,
			 uint32_t len, uint32_t flags, uint16_t next);
bool vhxl_split_kick_needed(struct vhxl_vq *vq);
unsigned vhxl_split_pending(const struct vhxl_vq *vq);
int vhxl_split_get_used(struct vhxl_vq *vq, uint32_t *len, void **cookie);
void vhxl_split_enable_cb(struct vhxl_vq *vq);
void vhxl_split_disable_cb(struct vhxl_vq *vq);

#endif
