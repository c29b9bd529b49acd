// SPDX-License-Identifier: GPL-2.0
/* dlog - the dirty-log fixture of dirtylog_test and cve_test (dlog.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "dlog.h"

static bool bit(const uint8_t *map, uint64_t page)
{
	return map[page / 8] & (1 << (page % 8));
}

static void set_pages(uint8_t *map, uint64_t gpa, uint64_t len)
{
	uint64_t p;

	for (p = gpa / VHX_PAGE; len && p <= (gpa + len - 1) / VHX_PAGE; p++)
		map[p / 8] |= 1 << (p % 8);
}

int dlog_init(struct dlog *l, struct vhxl_dev *dev, const struct vhxl_mem *mem)
{
	uint64_t base;
	int i, r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	/* the bitmap covers GPA 0 .. the end of guest memory */
	l->bytes = ((mem->r[0].gpa + mem->size) / VHX_PAGE + 7) / 8 + 8;
	l->bitmap = aligned_alloc(4096, (l->bytes + 4095) & ~4095UL);
	l->expect = calloc(1, l->bytes);
	l->either = calloc(1, l->bytes);
	if (!l->bitmap || !l->expect || !l->either)
		return -ENOMEM;
	memset(l->bitmap, 0, l->bytes);
	base = (uintptr_t)l->bitmap;
	r = vhxl_ioctl(dev->fd, VHOST_SET_LOG_BASE, &base);
	if (r)
		return r;
	l->fd = eventfd(0, EFD_NONBLOCK);
	if (l->fd < 0)
		return -errno;
	r = vhxl_ioctl(dev->fd, VHOST_SET_LOG_FD, &l->fd);
	if (r)
		return r;
	for (i = 0; i < VHX_NVQS; i++) {
		dev->vq[i].log = true;
		r = vhxl_vq_set_addr(&dev->vq[i]);
		if (r)
			return r;
	}
	return 0;
}

int dlog_start(struct dlog *l, struct vhxl_net *n)
{
	int r = dlog_init(l, &n->dev, &n->mem);

	if (!r)
		r = vhxl_set_backend(&n->dev, VHX_RX, n->tap.fd);
	return r ? r : vhxl_set_backend(&n->dev, VHX_TX, n->tap.fd);
}

void dlog_free(struct dlog *l)
{
	free(l->bitmap);
	free(l->expect);
	free(l->either);
	if (l->fd >= 0)
		close(l->fd);
	memset(l, 0, sizeof(*l));
	l->fd = -1;
}

void dlog_mark(struct dlog *l, uint64_t gpa, uint64_t len)
{
	set_pages(l->expect, gpa, len);
}

void dlog_may_mark(struct dlog *l, uint64_t gpa, uint64_t len)
{
	set_pages(l->either, gpa, len);
}

void dlog_clear(struct dlog *l)
{
	memset(l->bitmap, 0, l->bytes);
	memset(l->expect, 0, l->bytes);
	memset(l->either, 0, l->bytes);
	vhxl_eventfd_read(l->fd);
}

bool dlog_logged(const struct dlog *l, uint64_t gpa)
{
	return bit(l->bitmap, gpa / VHX_PAGE);
}

int dlog_diff(const struct dlog *l, int *set, uint64_t *bad, int nbad)
{
	uint64_t p;
	int diff = 0;

	*set = 0;
	for (p = 0; p < l->bytes * 8; p++) {
		bool b = bit(l->bitmap, p);
		bool e = bit(l->either, p) ? b : bit(l->expect, p);

		*set += b;
		if (b != e && diff++ < nbad)
			bad[diff - 1] = p * VHX_PAGE;
	}
	return diff;
}
