// SPDX-License-Identifier: GPL-2.0
/*
 * TX page fragments that come back.
 *
 * The batched TX path copies each packet into a fragment of a 32 KiB page
 * and hands it to the tap, whose skb frees it when the packet is done.
 * The kernel's page_frag_cache carves one page and reuses it only if every
 * fragment is back when the page runs out; in the middle of a batch the
 * tap still holds the batch's packets, so nearly every 32 KiB comes from
 * the page allocator again, zeroed where init_on_alloc is on (Debian's
 * default).  A pool keeps up to VHX_FRAG_PAGES pages and, when the page
 * being carved runs out, moves on to the next one whose fragments have all
 * come back: in steady state TX allocates nothing.  When every page is
 * still out (a backend that holds packets for long), the pool lets the
 * oldest go -- its last fragment frees it -- and allocates a new one, so a
 * slow consumer costs what page_frag_cache costs and holds no more memory
 * than VHX_FRAG_PAGES pages plus what it has not freed yet.
 *
 * References: a page starts with VHX_FRAG_BIAS of them, all the pool's;
 * each fragment handed out takes one of the pool's (bias - 1), and its
 * holder drops it with page_frag_free().  The page's count therefore never
 * falls below the pool's bias, and equals it exactly when no fragment is
 * out: then the page is carved again from its start, after topping the
 * bias back up.
 *
 * Locking: a pool belongs to one device's TX queue and is carved under
 * that queue's mutex, by one thread at a time; the frees run anywhere and
 * touch only the page's reference count.
 */

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/page_ref.h>
#include <linux/sizes.h>

#include "net_frag.h"

#define VHX_FRAG_ORDER	get_order(SZ_32K)
/* More references than fragments a page can hold (one per cache line). */
#define VHX_FRAG_BIAS	(SZ_32K / SMP_CACHE_BYTES + 1)

static int vhx_frag_fill(struct vhx_frag_page *s)
{
	const gfp_t gfp = GFP_KERNEL | __GFP_NOWARN | __GFP_NOMEMALLOC;
	struct page *page;

	s->size = PAGE_SIZE << VHX_FRAG_ORDER;
	page = alloc_pages(gfp | __GFP_COMP | __GFP_NORETRY, VHX_FRAG_ORDER);
	if (!page) {
		s->size = PAGE_SIZE;
		page = alloc_page(gfp);
		if (!page)
			return -ENOMEM;
	}
	page_ref_add(page, VHX_FRAG_BIAS - 1);
	s->page = page;
	s->bias = VHX_FRAG_BIAS;
	return 0;
}

/* Give up the pool's references; the last fragment to go frees the page. */
static void vhx_frag_release(struct vhx_frag_page *s)
{
	if (!s->page)
		return;
	if (page_ref_sub_and_test(s->page, s->bias))
		__free_pages(s->page, compound_order(s->page));
	s->page = NULL;
}

/* No fragment of @s is out: only the pool's references are left. */
static bool vhx_frag_idle(const struct vhx_frag_page *s)
{
	return page_ref_count(s->page) == s->bias;
}

/* The page being carved ran out: find or make the next one. */
static struct vhx_frag_page *vhx_frag_next(struct vhx_frag_pool *pool)
{
	struct vhx_frag_page *s = NULL;
	unsigned int i, idx = 0;

	for (i = 1; i <= VHX_FRAG_PAGES; i++) {
		idx = (pool->cur + i) % VHX_FRAG_PAGES;
		s = &pool->slot[idx];
		if (!s->page || vhx_frag_idle(s))
			break;
	}
	if (i > VHX_FRAG_PAGES) {
		/* Every page is still out: the oldest goes. */
		idx = (pool->cur + 1) % VHX_FRAG_PAGES;
		s = &pool->slot[idx];
		vhx_frag_release(s);
	}
	if (s->page) {
		/* The holders' last reads come before our writes. */
		smp_acquire__after_ctrl_dep();
		page_ref_add(s->page, VHX_FRAG_BIAS - s->bias);
		s->bias = VHX_FRAG_BIAS;
	} else if (vhx_frag_fill(s)) {
		return NULL;
	}
	pool->cur = idx;
	pool->offset = 0;
	return s;
}

/*
 * A fragment of @size bytes (at most PAGE_SIZE), cache-line aligned, or
 * NULL when no page can be had; *@page and *@offset say where it lies (its
 * compound page and the byte offset in it), for copy_page_from_iter().
 * Free it with page_frag_free().
 */
void *vhx_frag_alloc(struct vhx_frag_pool *pool, unsigned int size,
		     struct page **page, unsigned int *offset)
{
	struct vhx_frag_page *s = &pool->slot[pool->cur];
	void *va;

	size = ALIGN(size, SMP_CACHE_BYTES);
	if (size > PAGE_SIZE)
		return NULL;
	if (!s->page || pool->offset + size > s->size) {
		s = vhx_frag_next(pool);
		if (!s)
			return NULL;
	}
	*page = s->page;
	*offset = pool->offset;
	va = page_address(s->page) + pool->offset;
	pool->offset += size;
	s->bias--;
	return va;
}

/* Release every page (the device is going away: no more carving). */
void vhx_frag_pool_drain(struct vhx_frag_pool *pool)
{
	unsigned int i;

	for (i = 0; i < VHX_FRAG_PAGES; i++)
		vhx_frag_release(&pool->slot[i]);
	pool->cur = 0;
	pool->offset = 0;
}
