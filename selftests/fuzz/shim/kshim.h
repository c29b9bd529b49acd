/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kshim.h - just enough of the kernel API for vhost/vq*.c, log.c, access.c
 * and mem.c to build, unchanged, as a userspace library (libFuzzer).
 *
 * The "user address space" is a registry of ranges (shim_user_map()):
 * copy_{from,to}_user(), pin_user_pages_fast() and access_ok() succeed only
 * inside registered ranges, exactly like a fault on an unmapped address in
 * the kernel; everything else is plain process memory, so ASan sees every
 * out-of-bounds access the module code could make on kernel memory.
 * Eventfd signals and requeues are counted.  Every shim header under
 * linux/ and asm/ includes this one.
 */
#ifndef VHX_KSHIM_H
#define VHX_KSHIM_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <endian.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef long long s64;
typedef unsigned int gfp_t;

#define __user
#define __force
#define __iomem
#define __must_check
#define __packed __attribute__((packed))
#define fallthrough __attribute__((__fallthrough__))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define READ_ONCE(x) (*(const volatile typeof(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#define EXPORT_SYMBOL_GPL(s)
#define __printf(a, b) __attribute__((format(printf, a, b)))
#ifndef KBUILD_MODNAME
#define KBUILD_MODNAME "vhx_core"
#endif
#define EXPORT_SYMBOL(s)
#define BIT(n) (1UL << (n))
#define BIT_ULL(n) (1ULL << (n))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#ifndef USHRT_MAX
#define USHRT_MAX 0xffff
#endif
#undef UIO_MAXIOV
#define UIO_MAXIOV 1024
#define PAGE_SIZE 4096UL
#define PAGE_MASK (~(PAGE_SIZE - 1))
#define GFP_KERNEL 0u
#define GFP_KERNEL_ACCOUNT 0u

/* Spectre v1 masking: the bounds check before it is what matters here. */
#define array_index_nospec(i, n) ((i) < (n) ? (i) : 0)

#define min(a, b) ({ typeof(a) _a = (a); typeof(b) _b = (b); _a < _b ? _a : _b; })
#define max(a, b) ({ typeof(a) _a = (a); typeof(b) _b = (b); _a > _b ? _a : _b; })
#define min_t(t, a, b) ({ t _a = (a); t _b = (b); _a < _b ? _a : _b; })
#define max_t(t, a, b) ({ t _a = (a); t _b = (b); _a > _b ? _a : _b; })
#define container_of(p, t, m) ((t *)((char *)(p) - offsetof(t, m)))
#define struct_size(p, member, n) \
	(sizeof(*(p)) + sizeof((p)->member[0]) * (size_t)(n))

/* One thread: nothing to yield to. */
#define cond_resched() do { } while (0)
#define smp_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define smp_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define smp_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#define le16_to_cpu(x) ((u16)(x))
#define le32_to_cpu(x) ((u32)(x))
#define le64_to_cpu(x) ((u64)(x))
#define cpu_to_le16(x) ((u16)(x))
#define cpu_to_le32(x) ((u32)(x))
#define cpu_to_le64(x) ((u64)(x))

#ifndef pr_fmt
#define pr_fmt(fmt) fmt
#endif
extern int shim_verbose;
#define pr_debug(fmt, ...) do { if (shim_verbose) \
		fprintf(stderr, pr_fmt(fmt), ##__VA_ARGS__); } while (0)
#define pr_debug_ratelimited pr_debug
#define pr_err pr_debug
#define pr_warn pr_debug
#define WARN_ON(c) ({ bool _c = !!(c); if (_c) shim_bug(__FILE__, __LINE__); _c; })
#define WARN_ON_ONCE WARN_ON
#define BUG_ON(c) do { if (c) shim_bug(__FILE__, __LINE__); } while (0)
void shim_bug(const char *file, int line) __attribute__((noreturn));

/* ---------------------------------------------------- user memory */
void shim_user_reset(void);
void shim_user_map(const void *start, size_t len);
bool shim_user_ok(u64 addr, u64 len);

#define u64_to_user_ptr(x) ((void __user *)(uintptr_t)(x))
#define access_ok(p, n) shim_access_ok((u64)(uintptr_t)(p), (n))
static inline bool shim_access_ok(u64 addr, u64 len)
{
	/* TASK_SIZE_MAX on x86-64 with 4-level paging */
	return addr + len >= addr && addr + len <= (1ULL << 47) - 4096;
}
unsigned long copy_from_user(void *to, const void __user *from, unsigned long n);
unsigned long copy_to_user(void __user *to, const void *from, unsigned long n);
/* One access of the pointee's size; -EFAULT outside the mapped areas. */
#define get_user(x, ptr) ({						\
	__typeof__(*(ptr)) __gu_v;					\
	int __gu_r = copy_from_user(&__gu_v, (ptr), sizeof(__gu_v)) ?	\
		     -EFAULT : 0;					\
	(x) = __gu_r ? (__typeof__(*(ptr)))0 : __gu_v;			\
	__gu_r; })
#define put_user(x, ptr) ({						\
	__typeof__(*(ptr)) __pu_v = (x);				\
	copy_to_user((ptr), &__pu_v, sizeof(__pu_v)) ? -EFAULT : 0; })

/* ------------------------------------------------------- pages */
struct page;			/* a struct page * is the page's address */
#define FOLL_WRITE 1
int pin_user_pages_fast(unsigned long start, int nr, unsigned int flags,
			struct page **pages);
void unpin_user_pages_dirty_lock(struct page **pages, unsigned long n,
				 bool dirty);
static inline void *kmap_local_page(struct page *p) { return p; }
static inline void kunmap_local(void *p) { (void)p; }
static inline void set_bit(long nr, volatile void *addr)
{
	((volatile unsigned long *)addr)[nr / 64] |= 1UL << (nr % 64);
}

/* ------------------------------------------------------- alloc */
void *kvzalloc(size_t n, gfp_t g);
void kvfree(const void *p);
#define kzalloc kvzalloc
#define kfree kvfree
void *kmalloc_array(size_t n, size_t size, gfp_t g);
#define kmalloc(n, g) kmalloc_array(1, (n), (g))

/* ------------------------------------------------------- locks */
struct mutex { int locked; };
typedef struct { int locked; } spinlock_t;
#define mutex_lock(m) ((m)->locked++)
#define mutex_unlock(m) ((m)->locked--)
#define mutex_lock_nested(m, c) mutex_lock(m)
/* The harnesses are single-threaded and own their queues outright. */
#define lockdep_assert_held(m) ((void)(m))
#define spin_lock(s) ((s)->locked++)
#define spin_unlock(s) ((s)->locked--)

struct list_head { struct list_head *next, *prev; };
struct llist_node { struct llist_node *next; };

/* ------------------------------------------------- files, polls */
struct file;
struct mm_struct;
struct wait_queue_head { int dummy; };
typedef struct wait_queue_head wait_queue_head_t;
struct wait_queue_entry { int dummy; };
typedef struct wait_queue_entry wait_queue_entry_t;
typedef struct poll_table_struct { int dummy; } poll_table;

/* eventfd: a context is a counter */
struct eventfd_ctx { u64 count; };
/* compat.h's vhx_eventfd_signal() calls this (6.1 arity) */
#define eventfd_signal(c, n) ((c)->count += (n))

/* ------------------------------------------------------ iov_iter */
#define WRITE 1
#define READ 0
#define ITER_SOURCE WRITE
#define ITER_DEST READ
struct iov_iter {
	unsigned int dir;
	const struct iovec *iov;
	unsigned long nr_segs;
	size_t iov_offset;
	size_t count;
};
void iov_iter_init(struct iov_iter *i, unsigned int dir,
		   const struct iovec *iov, unsigned long nr, size_t count);
void iov_iter_advance(struct iov_iter *i, size_t n);
size_t copy_from_iter(void *to, size_t n, struct iov_iter *i);
size_t copy_to_iter(const void *from, size_t n, struct iov_iter *i);
static inline size_t iov_iter_count(const struct iov_iter *i)
{
	return i->count;
}
static inline size_t iov_length(const struct iovec *iov, unsigned long n)
{
	size_t r = 0;

	while (n--)
		r += (iov++)->iov_len;
	return r;
}

#endif /* VHX_KSHIM_H */
