// SPDX-License-Identifier: GPL-2.0
/* kshim.c - the userspace side of kshim.h (see there). */
#include "kshim.h"
#include "core.h"

int shim_verbose;

#define SHIM_MAX_USER 16
static struct { u64 start, end; } shim_user[SHIM_MAX_USER];
static int shim_nuser;

void shim_bug(const char *file, int line)
{
	fprintf(stderr, "shim: kernel BUG/WARN at %s:%d\n", file, line);
	abort();
}

void shim_user_reset(void)
{
	shim_nuser = 0;
}

void shim_user_map(const void *start, size_t len)
{
	if (shim_nuser == SHIM_MAX_USER)
		abort();
	shim_user[shim_nuser].start = (uintptr_t)start;
	shim_user[shim_nuser].end = (uintptr_t)start + len;
	shim_nuser++;
}

bool shim_user_ok(u64 addr, u64 len)
{
	int i;

	if (addr + len < addr)
		return false;
	for (i = 0; i < shim_nuser; i++)
		if (addr >= shim_user[i].start && addr + len <= shim_user[i].end)
			return true;
	return false;
}

/* All or nothing: the module only tests "!= 0". */
unsigned long copy_from_user(void *to, const void __user *from, unsigned long n)
{
	if (!shim_access_ok((uintptr_t)from, n) || !shim_user_ok((uintptr_t)from, n))
		return n;
	memcpy(to, from, n);
	return 0;
}

unsigned long copy_to_user(void __user *to, const void *from, unsigned long n)
{
	if (!shim_access_ok((uintptr_t)to, n) || !shim_user_ok((uintptr_t)to, n))
		return n;
	memcpy(to, from, n);
	return 0;
}

int pin_user_pages_fast(unsigned long start, int nr, unsigned int flags,
			struct page **pages)
{
	int i;

	(void)flags;
	if (start & ~PAGE_MASK)
		shim_bug(__FILE__, __LINE__);	/* GUP wants page-aligned */
	for (i = 0; i < nr; i++) {
		u64 a = start + (u64)i * PAGE_SIZE;

		if (!shim_access_ok(a, PAGE_SIZE) || !shim_user_ok(a, PAGE_SIZE))
			return i ? i : -EFAULT;
		pages[i] = (struct page *)(uintptr_t)a;
	}
	return nr;
}

void unpin_user_pages_dirty_lock(struct page **pages, unsigned long n,
				 bool dirty)
{
	(void)pages;
	(void)n;
	(void)dirty;
}

void *kvzalloc(size_t n, gfp_t g)
{
	(void)g;
	return calloc(1, n ? n : 1);
}

void kvfree(const void *p)
{
	free((void *)p);
}

void *kmalloc_array(size_t n, size_t size, gfp_t g)
{
	(void)g;
	if (size && n > SIZE_MAX / size)
		return NULL;
	return malloc(n * size ? n * size : 1);
}

/* ------------------------------------------------------------ iov_iter */
void iov_iter_init(struct iov_iter *i, unsigned int dir,
		   const struct iovec *iov, unsigned long nr, size_t count)
{
	i->dir = dir;
	i->iov = iov;
	i->nr_segs = nr;
	i->iov_offset = 0;
	i->count = count;
}

/* iovec segments visited by iov_iter_advance() and the copies. */
unsigned long shim_iter_steps;

void iov_iter_advance(struct iov_iter *i, size_t n)
{
	if (n > i->count)
		n = i->count;
	i->count -= n;
	while (n && i->nr_segs) {
		size_t left = i->iov->iov_len - i->iov_offset;

		shim_iter_steps++;

		if (n < left) {
			i->iov_offset += n;
			return;
		}
		n -= left;
		i->iov++;
		i->nr_segs--;
		i->iov_offset = 0;
	}
	/* skip empty segments so the next copy starts on data */
	while (i->nr_segs && i->iov->iov_len == i->iov_offset && i->count) {
		i->iov++;
		i->nr_segs--;
		i->iov_offset = 0;
	}
}

static size_t shim_iter_copy(void *kbuf, size_t n, struct iov_iter *i,
			     bool to_user)
{
	size_t done = 0;

	if (n > i->count)
		n = i->count;
	while (done < n && i->nr_segs) {
		size_t left = i->iov->iov_len - i->iov_offset;
		size_t c = min(left, n - done);
		char *u = (char *)i->iov->iov_base + i->iov_offset;
		unsigned long fail;

		shim_iter_steps++;
		if (to_user)
			fail = copy_to_user(u, (char *)kbuf + done, c);
		else
			fail = copy_from_user((char *)kbuf + done, u, c);
		if (fail)
			break;
		done += c;
		i->count -= c;
		i->iov_offset += c;
		if (i->iov_offset == i->iov->iov_len) {
			i->iov++;
			i->nr_segs--;
			i->iov_offset = 0;
		}
	}
	return done;
}

size_t copy_from_iter(void *to, size_t n, struct iov_iter *i)
{
	return shim_iter_copy(to, n, i, false);
}

size_t copy_to_iter(const void *from, size_t n, struct iov_iter *i)
{
	return shim_iter_copy((void *)from, n, i, true);
}

/* --------------------------------------- poll.c / iotlb.c stand-ins */
unsigned long shim_requeues, shim_misses;
u64 shim_last_miss_iova;

void vhx_poll_queue(struct vhx_poll *poll)
{
	(void)poll;
	shim_requeues++;
}

void vhx_iotlb_miss(struct vhx_vq *vq, u64 iova, int access)
{
	(void)access;
	vq->stats.iotlb_misses++;
	vq->iotlb_wait = true;
	shim_misses++;
	shim_last_miss_iova = iova;
}
