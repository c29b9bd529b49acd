/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxlib_int.h - what vhxlib's own files share (not part of the API in
 * vhxlib.h): memory barriers and single-copy accesses, time and alignment.
 */
#ifndef VHXLIB_INT_H
#define VHXLIB_INT_H

#include <stddef.h>
#include <time.h>

#include "vhxlib.h"

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

#endif
