// SPDX-License-Identifier: GPL-2.0
/* vhxblk - guest-driver helpers for /dev/vhost-blk (see vhxblk.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "vhxblk.h"

#define SLOT_SIZE 64		/* header at 0, status descriptor at 32 */
#define SLOT_STATUS 32
#define MAX_SEGS 1024

const char *vhxl_blk_dev_path(void)
{
	const char *p = getenv("VHX_BLK_DEV");

	return p && *p ? p : "/dev/vhost-blk";
}

const char *vhxl_blk_skip_reason(void)
{
	static char why[256];
	int fd;

	if (geteuid() != 0)
		return "not root";
	fd = open(vhxl_blk_dev_path(), O_RDWR);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open %s: %s (vhx_blk not loaded?)",
			 vhxl_blk_dev_path(), strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}

const char *vhxl_blk_skip_packed(void)
{
	static char why[256];
	const char *r = vhxl_blk_skip_reason();
	uint64_t f = 0;
	int fd;

	if (r)
		return r;
	fd = open(vhxl_blk_dev_path(), O_RDWR);
	if (fd < 0 || ioctl(fd, VHOST_GET_FEATURES, &f) < 0) {
		snprintf(why, sizeof(why), "GET_FEATURES on %s: %s",
			 vhxl_blk_dev_path(), strerror(errno));
		if (fd >= 0)
			close(fd);
		return why;
	}
	close(fd);
	if (!(f & VHX_BIT(VIRTIO_F_RING_PACKED)))
		return "the device does not offer VIRTIO_F_RING_PACKED (bit 34)";
	return NULL;
}

uint64_t vhxl_blk_alloc(struct vhxl_blk *b, size_t size)
{
	return vhxl_mem_alloc(&b->mem, size ? size : 1, VHX_PAGE);
}

void *vhxl_blk_ptr(struct vhxl_blk *b, uint64_t gpa, size_t len)
{
	return vhxl_gpa(&b->mem, gpa, len ? len : 1);
}

int vhxl_blk_set_backend(struct vhxl_blk *b, unsigned q, int fd)
{
	struct vhost_vring_file f = { .index = q, .fd = fd };

	return vhxl_ioctl(b->dev.fd, VHX_BLK_SET_BACKEND, &f);
}

int vhxl_blk_attach_all(struct vhxl_blk *b, int fd)
{
	unsigned q;
	int r;

	for (q = 0; q < b->cfg.nqueues; q++) {
		r = vhxl_blk_set_backend(b, q, fd);
		if (r)
			return r;
	}
	return 0;
}

static int setup_slots(struct vhxl_blk *b, unsigned q)
{
	unsigned n = b->cfg.num, i;

	b->slot[q] = calloc(n, sizeof(*b->slot[q]));
	b->status_gpa[q] = calloc(n, sizeof(*b->status_gpa[q]));
	b->slot_free[q] = calloc(n, sizeof(*b->slot_free[q]));
	if (!b->slot[q] || !b->status_gpa[q] || !b->slot_free[q])
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		b->slot[q][i] = vhxl_mem_alloc(&b->mem, SLOT_SIZE, SLOT_SIZE);
		if (!b->slot[q][i])
			return -ENOMEM;
		b->slot_free[q][i] = n - 1 - i;
	}
	b->nfree[q] = n;
	return 0;
}

int vhxl_blk_setup(struct vhxl_blk *b, const struct vhxl_blk_cfg *c, int backend_fd)
{
	struct vhxl_vq_cfg qc = { 0 };
	size_t ring, mem;
	unsigned q;
	int r;

	memset(b, 0, sizeof(*b));
	b->dev.fd = -1;
	b->cfg = *c;
	if (!b->cfg.num)
		b->cfg.num = 128;
	if (!b->cfg.nqueues)
		b->cfg.nqueues = 1;
	if (!b->cfg.ind_max)
		b->cfg.ind_max = 8;
	if (!b->cfg.data_size)
		b->cfg.data_size = 8 << 20;
	if (!b->cfg.nregions)
		b->cfg.nregions = 1;
	if (b->cfg.nqueues > VHX_MAX_VQS)
		return -EINVAL;
	if (!b->cfg.features) {
		b->cfg.features = VHX_BLK_DEFAULT_FEATURES;
		if (b->cfg.nqueues > 1)
			b->cfg.features |= VHX_BIT(VIRTIO_BLK_F_MQ);
		if (b->cfg.event_idx)
			b->cfg.features |= VHX_BIT(VIRTIO_RING_F_EVENT_IDX);
		if (b->cfg.packed)
			b->cfg.features |= VHX_BIT(VIRTIO_F_RING_PACKED);
	}
	b->backend_fd = backend_fd;
	ring = (16 + 2 + 8 + 16 * b->cfg.ind_max + SLOT_SIZE) * (size_t)b->cfg.num +
	       4 * VHX_PAGE;
	mem = b->cfg.data_size + ring * b->cfg.nqueues + 16 * VHX_PAGE;
	r = vhxl_mem_init(&b->mem, mem, b->cfg.nregions, b->cfg.identity,
			 VHX_GPA_BASE);
	if (r)
		return r;
	r = vhxl_dev_open_path(&b->dev, &b->mem, vhxl_blk_dev_path());
	if (r)
		goto err;
	b->info.fd = backend_fd;
	r = vhxl_ioctl(b->dev.fd, VHX_BLK_GET_INFO, &b->info);
	if (r)
		goto err;
	r = vhxl_dev_set_features(&b->dev, b->cfg.features);
	if (r)
		goto err;
	r = vhxl_dev_set_mem(&b->dev);
	if (r)
		goto err;
	qc.num = b->cfg.num;
	qc.ind_max = b->cfg.ind_max;
	for (q = 0; q < b->cfg.nqueues; q++) {
		b->dev.vq[q].event_idx = b->cfg.event_idx;
		r = vhxl_vq_setup(&b->dev, q, &qc);
		if (!r)
			r = setup_slots(b, q);
		if (r)
			goto err;
	}
	if (!b->cfg.no_backend) {
		r = vhxl_blk_attach_all(b, backend_fd);
		if (r)
			goto err;
	}
	return 0;
err:
	vhxl_blk_teardown(b);
	return r;
}

void vhxl_blk_teardown(struct vhxl_blk *b)
{
	unsigned q;

	vhxl_dev_close(&b->dev);
	for (q = 0; q < VHX_MAX_VQS; q++) {
		free(b->slot[q]);
		free(b->status_gpa[q]);
		free(b->slot_free[q]);
		b->slot[q] = b->status_gpa[q] = NULL;
		b->slot_free[q] = NULL;
	}
	vhxl_mem_fini(&b->mem);
}

static bool default_writable(uint32_t type)
{
	return type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
}

int vhxl_blk_post(struct vhxl_blk *b, unsigned q, const struct vhxl_blk_io *io)
{
	struct vhxl_vq *vq = &b->dev.vq[q];
	bool wr = io->write_data || default_writable(io->type);
	unsigned dsegs = io->data_segs ? io->data_segs : 1;
	unsigned slen = io->status_len ? io->status_len : 1;
	static __thread struct vhxl_sg sg[MAX_SEGS];
	struct virtio_blk_outhdr *hdr;
	unsigned n = 0, i, id;
	uint64_t slot, status;
	uint8_t *sp;
	int head;

	if (q >= b->cfg.nqueues || !b->nfree[q])
		return -ENOSPC;
	if (slen > SLOT_SIZE - SLOT_STATUS || dsegs + 4 > MAX_SEGS ||
	    (io->len && dsegs > io->len) || (io->hdr_with_data && wr) ||
	    (io->status_with_data && (!wr || !io->len)))
		return -EINVAL;
	id = b->slot_free[q][b->nfree[q] - 1];
	slot = b->slot[q][id];

	/* header */
	if (io->hdr_with_data)
		hdr = vhxl_blk_ptr(b, io->data - sizeof(*hdr), sizeof(*hdr));
	else
		hdr = vhxl_blk_ptr(b, slot, sizeof(*hdr));
	if (!hdr)
		return -EFAULT;
	hdr->type = io->type;
	hdr->ioprio = io->ioprio;
	hdr->sector = io->sector;
	if (io->hdr_with_data) {
		sg[n++] = (struct vhxl_sg){ io->data - sizeof(*hdr),
					   sizeof(*hdr) + io->len, false };
	} else if (io->hdr_split) {
		sg[n++] = (struct vhxl_sg){ slot, 8, false };
		sg[n++] = (struct vhxl_sg){ slot + 8, 8, false };
	} else {
		sg[n++] = (struct vhxl_sg){ slot, sizeof(*hdr), false };
	}
	/* data */
	if (io->len && !io->hdr_with_data) {
		uint32_t per = io->len / dsegs, off = 0;

		for (i = 0; i < dsegs; i++) {
			uint32_t l = i + 1 < dsegs ? per : io->len - off;

			sg[n++] = (struct vhxl_sg){ io->data + off, l, wr };
			off += l;
		}
	}
	/* status */
	if (io->status_with_data) {
		sg[n - 1].len++;
		status = io->data + io->len;
	} else {
		sg[n++] = (struct vhxl_sg){ slot + SLOT_STATUS, slen, true };
		status = slot + SLOT_STATUS + slen - 1;
	}
	sp = vhxl_blk_ptr(b, status, 1);
	if (!sp)
		return -EFAULT;
	*sp = VHX_BLK_STATUS_UNSET;
	b->status_gpa[q][id] = status;
	head = vhxl_vq_add(vq, sg, n, io->indirect, (void *)(uintptr_t)(id + 1));
	if (head < 0)
		return head;
	b->nfree[q]--;
	return id;
}

void vhxl_blk_kick(struct vhxl_blk *b, unsigned q)
{
	vhxl_vq_kick(&b->dev.vq[q]);
}

int vhxl_blk_reap(struct vhxl_blk *b, unsigned q, int timeout_ms,
		 uint8_t *status, uint32_t *used_len)
{
	struct vhxl_vq *vq = &b->dev.vq[q];
	void *cookie = NULL;
	uint32_t len;
	uint8_t *sp;
	unsigned id;
	int r;

	r = vhxl_vq_wait_used(vq, timeout_ms);
	if (r)
		return r;
	r = vhxl_vq_get_used(vq, &len, &cookie);
	if (r < 0)
		return r;
	id = (unsigned)(uintptr_t)cookie;
	if (!id || id > b->cfg.num)
		return -EPROTO;
	id--;
	sp = vhxl_blk_ptr(b, b->status_gpa[q][id], 1);
	if (status)
		*status = sp ? *sp : VHX_BLK_STATUS_UNSET;
	if (used_len)
		*used_len = len;
	b->slot_free[q][b->nfree[q]++] = id;
	return id;
}

int vhxl_blk_do(struct vhxl_blk *b, unsigned q, const struct vhxl_blk_io *io,
	       uint8_t *status, uint32_t *used_len)
{
	int r = vhxl_blk_post(b, q, io);

	if (r < 0)
		return r;
	vhxl_blk_kick(b, q);
	r = vhxl_blk_reap(b, q, 10000, status, used_len);
	return r < 0 ? r : 0;
}

int vhxl_blk_rw(struct vhxl_blk *b, unsigned q, bool write, uint64_t sector,
	       uint64_t data, uint32_t len, uint8_t *status)
{
	struct vhxl_blk_io io = {
		.type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
		.sector = sector,
		.data = data,
		.len = len,
	};

	return vhxl_blk_do(b, q, &io, status, NULL);
}
