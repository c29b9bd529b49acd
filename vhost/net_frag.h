/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TX page fragments that come back (net_frag.c).  Caller of
 * vhx_frag_alloc() holds the TX vq's mutex; fragments are freed with
 * page_frag_free() from any context.
 */
#ifndef _VHX_NET_FRAG_H
#define _VHX_NET_FRAG_H

#include <linux/types.h>

/* Pages a pool keeps: a batch of 64 packets of 1.5 KiB spans four. */
#define VHX_FRAG_PAGES 8

struct page;

struct vhx_frag_page {
	struct page *page;
	unsigned int size;	/* PAGE_SIZE << order */
	unsigned int bias;	/* references the pool still holds */
};

struct vhx_frag_pool {
	struct vhx_frag_page slot[VHX_FRAG_PAGES];
	unsigned int cur;	/* the slot being carved */
	unsigned int offset;	/* its next free byte */
};

void *vhx_frag_alloc(struct vhx_frag_pool *pool, unsigned int size,
		     struct page **page, unsigned int *offset);
void vhx_frag_pool_drain(struct vhx_frag_pool *pool);

#endif /* _VHX_NET_FRAG_H */
