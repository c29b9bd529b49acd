// SPDX-License-Identifier: GPL-2.0
/*
 * vhxblk.c - guest-driver side of /dev/vhost-blk (see vhxblk.h).
 */
#define _GNU_SOURCE
#include "vhxblk.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

const char *vhxblk_dev_path(void)
{
	const char *p = getenv("VHX_BLK_DEV");

	return p && *p ? p : "/dev/vhost-blk";
}

int vhxblk_get_info(int fd, int backend_fd, struct vhx_blk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = backend_fd;
	return ioctl(fd, VHX_BLK_GET_INFO, info) < 0 ? -errno : 0;
}

uint64_t vhxblk_features(uint64_t offered, const struct vhx_blk_info *info, unsigned nq)
{
	uint64_t f = offered & (VHXBLK_CORE_FEATURES | VHX_BIT(VIRTIO_BLK_F_SEG_MAX) |
				 VHX_BIT(VIRTIO_BLK_F_BLK_SIZE));

	if (info->flags & VHX_BLK_INFO_F_FLUSH)
		f |= offered & VHX_BIT(VIRTIO_BLK_F_FLUSH);
	if (info->flags & VHX_BLK_INFO_F_RO)
		f |= offered & VHX_BIT(VIRTIO_BLK_F_RO);
	if ((info->flags & VHX_BLK_INFO_F_DISCARD) && !(info->flags & VHX_BLK_INFO_F_RO) &&
	    info->max_discard_sectors && info->max_discard_seg)
		f |= offered & VHX_BIT(VIRTIO_BLK_F_DISCARD);
	if ((info->flags & VHX_BLK_INFO_F_WRITE_ZEROES) && !(info->flags & VHX_BLK_INFO_F_RO) &&
	    info->max_write_zeroes_sectors && info->max_write_zeroes_seg)
		f |= offered & VHX_BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (nq > 1)
		f |= offered & VHX_BIT(VIRTIO_BLK_F_MQ);
	if (!info->seg_max)
		f &= ~VHX_BIT(VIRTIO_BLK_F_SEG_MAX);
	if (!info->logical_block_size)
		f &= ~VHX_BIT(VIRTIO_BLK_F_BLK_SIZE);
	return f;
}

size_t vhxblk_config(struct virtio_blk_config *cfg, const struct vhx_blk_info *info,
		     uint64_t f, unsigned nq)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(info->capacity);
	if (f & VHX_BIT(VIRTIO_BLK_F_SEG_MAX))
		cfg->seg_max = htole32(info->seg_max);
	if (f & VHX_BIT(VIRTIO_BLK_F_BLK_SIZE))
		cfg->blk_size = htole32(info->logical_block_size);
	if (f & VHX_BIT(VIRTIO_BLK_F_MQ))
		cfg->num_queues = htole16((uint16_t)nq);
	if (f & VHX_BIT(VIRTIO_BLK_F_DISCARD)) {
		cfg->max_discard_sectors = htole32(info->max_discard_sectors);
		cfg->max_discard_seg = htole32(info->max_discard_seg);
		cfg->discard_sector_alignment = htole32(info->discard_sector_alignment);
	}
	if (f & VHX_BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		cfg->max_write_zeroes_sectors = htole32(info->max_write_zeroes_sectors);
		cfg->max_write_zeroes_seg = htole32(info->max_write_zeroes_seg);
		cfg->write_zeroes_may_unmap = info->write_zeroes_may_unmap;
	}
	return sizeof(*cfg);
}

const char *vhxblk_info_str(const struct vhx_blk_info *i, char *buf, size_t len)
{
	snprintf(buf, len,
		 "capacity=%llu sectors (%llu MiB) lbs=%u pbs=%u queues=%u seg_max=%u%s%s%s%s%s%s%s "
		 "discard=%u/%u/%u write_zeroes=%u/%u/unmap%u",
		 (unsigned long long)i->capacity, (unsigned long long)(i->capacity >> 11),
		 i->logical_block_size, i->physical_block_size, i->num_queues, i->seg_max,
		 i->flags & VHX_BLK_INFO_F_RO ? " ro" : "",
		 i->flags & VHX_BLK_INFO_F_FLUSH ? " flush" : "",
		 i->flags & VHX_BLK_INFO_F_DISCARD ? " discard" : "",
		 i->flags & VHX_BLK_INFO_F_WRITE_ZEROES ? " write_zeroes" : "",
		 i->flags & VHX_BLK_INFO_F_DISCARD_ZEROES ? " discard_zeroes" : "",
		 i->flags & VHX_BLK_INFO_F_BDEV ? " bdev" : " file",
		 i->flags & VHX_BLK_INFO_F_DIRECT ? " direct" : "",
		 i->max_discard_sectors, i->max_discard_seg, i->discard_sector_alignment,
		 i->max_write_zeroes_sectors, i->max_write_zeroes_seg, i->write_zeroes_may_unmap);
	return buf;
}

/* ============================================================ driver */

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int vhxblk_open(struct vhxblk *b, const struct vhxblk_cfg *cfg)
{
	struct vhx_vq_cfg vc = { 0 };
	size_t mem, per_q;
	unsigned q, s;
	int r;

	memset(b, 0, sizeof(*b));
	b->dev.fd = -1;
	b->cfg = *cfg;
	for (q = 0; q < VHXBLK_MAX_QUEUES; q++)
		b->vq[q].kick_fd = b->vq[q].call_fd = b->vq[q].err_fd = -1;
	if (!b->cfg.nq)
		b->cfg.nq = 1;
	if (!b->cfg.num)
		b->cfg.num = 256;
	if (!b->cfg.slots || b->cfg.slots > b->cfg.num)
		b->cfg.slots = b->cfg.num;
	if (!b->cfg.max_data)
		b->cfg.max_data = 65536;
	if (b->cfg.nq > VHXBLK_MAX_QUEUES || b->cfg.max_data > (1u << 30))
		return -EINVAL;
	b->cfg.max_data = align_up(b->cfg.max_data, VHX_PAGE);
	b->nq = b->cfg.nq;

	/* three ring areas + per-slot header and data + indirect tables + slack */
	per_q = 3 * align_up(16 * (size_t)b->cfg.num + 16, VHX_PAGE) +
		(size_t)b->cfg.slots * (b->cfg.max_data + VHX_PAGE) +
		align_up((size_t)b->cfg.num * 16 * 4, VHX_PAGE) + 2 * VHX_PAGE;
	mem = per_q * b->nq + 16 * VHX_PAGE;
	r = vhx_mem_init(&b->mem, mem, b->cfg.nregions ? b->cfg.nregions : 1,
			 b->cfg.identity, VHX_GPA_BASE);
	if (r)
		return r;

	r = open(vhxblk_dev_path(), O_RDWR | O_CLOEXEC);
	if (r < 0) {
		r = -errno;
		goto fail;
	}
	b->dev.fd = r;
	b->dev.mem = &b->mem;
	r = vhx_ioctl(b->dev.fd, VHOST_SET_OWNER, NULL);
	if (r)
		goto fail;
	r = vhx_ioctl(b->dev.fd, VHOST_GET_FEATURES, &b->offered);
	if (r)
		goto fail;
	if (b->cfg.backend_fd >= 0) {
		r = vhxblk_get_info(b->dev.fd, b->cfg.backend_fd, &b->info);
		if (r)
			goto fail;
	}
	if (!b->cfg.features) {
		b->cfg.features = (b->offered & VHXBLK_CORE_FEATURES & ~VHX_BIT(VHOST_F_LOG_ALL)) |
				  (b->cfg.backend_fd >= 0 ?
				   vhxblk_features(b->offered, &b->info, b->nq) : 0);
		if (b->cfg.no_event_idx)
			b->cfg.features &= ~VHX_BIT(VIRTIO_RING_F_EVENT_IDX);
	}
	r = vhx_ioctl(b->dev.fd, VHOST_SET_FEATURES, &b->cfg.features);
	if (r)
		goto fail;
	b->dev.features = b->cfg.features;
	r = vhx_dev_set_mem(&b->dev);
	if (r)
		goto fail;

	vc.num = b->cfg.num;
	vc.ind_max = b->cfg.indirect ? 4 : 0;
	for (q = 0; q < b->nq; q++) {
		struct vhx_vq *vq = &b->vq[q];

		vq->event_idx = !!(b->cfg.features & VHX_BIT(VIRTIO_RING_F_EVENT_IDX));
		r = vhx_vq_setup_at(&b->dev, vq, q, &vc);
		if (r)
			goto fail;
		b->slot[q] = calloc(b->cfg.slots, sizeof(*b->slot[q]));
		if (!b->slot[q]) {
			r = -ENOMEM;
			goto fail;
		}
		for (s = 0; s < b->cfg.slots; s++) {
			struct vhxblk_slot *sl = &b->slot[q][s];

			sl->hdr_gpa = vhx_mem_alloc(&b->mem, 64, 64);
			sl->data_gpa = vhx_mem_alloc(&b->mem, b->cfg.max_data, VHX_PAGE);
			if (!sl->hdr_gpa || !sl->data_gpa) {
				r = -ENOMEM;
				goto fail;
			}
			sl->hdr = vhx_gpa(&b->mem, sl->hdr_gpa, 17);
			sl->status = (uint8_t *)sl->hdr + 16;
			sl->data = vhx_gpa(&b->mem, sl->data_gpa, b->cfg.max_data);
		}
	}
	return 0;
fail:
	vhxblk_close(b);
	return r;
}

void vhxblk_close(struct vhxblk *b)
{
	unsigned q;

	if (b->dev.fd >= 0)
		close(b->dev.fd);	/* drains what is in flight */
	b->dev.fd = -1;
	for (q = 0; q < VHXBLK_MAX_QUEUES; q++) {
		vhx_vq_free(&b->vq[q]);
		free(b->slot[q]);
		b->slot[q] = NULL;
	}
	vhx_mem_fini(&b->mem);
}

int vhxblk_attach_queue(struct vhxblk *b, unsigned q, int fd)
{
	struct vhost_vring_file f = { .index = q, .fd = fd };

	return vhx_ioctl(b->dev.fd, VHX_BLK_SET_BACKEND, &f);
}

int vhxblk_attach(struct vhxblk *b, int fd)
{
	unsigned q;
	int r;

	for (q = 0; q < b->nq; q++) {
		r = vhxblk_attach_queue(b, q, fd);
		if (r)
			return r;
	}
	return 0;
}

int vhxblk_post(struct vhxblk *b, unsigned q, unsigned s, uint32_t type,
		uint64_t sector, uint32_t len)
{
	struct vhxblk_slot *sl;
	struct vhx_sg sg[3];
	unsigned n = 0;
	bool dev_writes;
	int r;

	if (q >= b->nq || s >= b->cfg.slots)
		return -EINVAL;
	sl = &b->slot[q][s];
	if (sl->busy)
		return -EBUSY;
	if (len > b->cfg.max_data)
		return -EMSGSIZE;
	sl->hdr->type = htole32(type);
	sl->hdr->ioprio = 0;
	sl->hdr->sector = htole64(sector);
	*sl->status = 0xff;	/* the device must overwrite it */
	sl->len = len;
	sl->type = type;
	dev_writes = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	sg[n++] = (struct vhx_sg){ .gpa = sl->hdr_gpa, .len = 16 };
	if (len)
		sg[n++] = (struct vhx_sg){ .gpa = sl->data_gpa, .len = len, .write = dev_writes };
	sg[n++] = (struct vhx_sg){ .gpa = sl->hdr_gpa + 16, .len = 1, .write = true };
	r = vhx_vq_add(&b->vq[q], sg, n, b->cfg.indirect, sl);
	if (r >= 0)
		sl->busy = true;
	return r;
}

int vhxblk_reap(struct vhxblk *b, unsigned q, uint32_t *used_len)
{
	void *cookie = NULL;
	struct vhxblk_slot *sl;
	int r;

	r = vhx_vq_get_used(&b->vq[q], used_len, &cookie);
	if (r < 0)
		return r;
	sl = cookie;
	if (!sl || sl < b->slot[q] || sl >= b->slot[q] + b->cfg.slots || !sl->busy)
		return -EPROTO;
	sl->busy = false;
	return (int)(sl - b->slot[q]);
}

int vhxblk_rw_sync(struct vhxblk *b, unsigned q, uint32_t type, uint64_t sector,
		   uint32_t len, int timeout_ms)
{
	int r;

	r = vhxblk_post(b, q, 0, type, sector, len);
	if (r < 0)
		return r;
	vhx_vq_kick(&b->vq[q]);
	r = vhx_vq_wait_used(&b->vq[q], timeout_ms);
	if (r)
		return r;
	r = vhxblk_reap(b, q, NULL);
	if (r < 0)
		return r;
	return *b->slot[q][r].status;
}
