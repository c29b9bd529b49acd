// SPDX-License-Identifier: GPL-2.0
/*
 * vhxnet.c - vhxlib's virtio-net side (see vhxlib.h): TX posting and reclaim,
 * RX buffers and mergeable receive, and vhxl_net_setup(), the whole device
 * with its tap in one call.
 */
#define _GNU_SOURCE
#include "vhxlib.h"
#include "vhxlib_int.h"

#include <errno.h>
#include <string.h>

/* ============================================================ net helpers */

int vhxl_tx_post(struct vhxl_dev *d, const void *frame, size_t len,
		const struct vhxl_tx_opts *o)
{
	struct vhxl_vq *vq = &d->vq[VHX_TX];
	struct vhxl_tx_opts def = { .nsegs = 1 };
	struct vhxl_sg sg[64];
	size_t total = d->hdr_len + len, off, piece;
	unsigned n, k, head, first = 0;
	char *p;

	if (!o)
		o = &def;
	n = o->nsegs ? o->nsegs : 1;
	if (n > 64)
		return -E2BIG;
	if (total > vq->buf_size)
		return -EMSGSIZE;
	if (!o->indirect && n > vq->num_free)
		return -ENOSPC;
	if (!vq->num_free)
		return -ENOSPC;
	head = vq->free_head;	/* vhxl_vq_add() takes the head from here */
	p = vhxl_gpa(d->mem, vq->buf[head], total);
	memset(p, 0, d->hdr_len);
	if (o->hdr)
		memcpy(p, o->hdr, d->hdr_len);
	memcpy(p + d->hdr_len, frame, len);

	off = 0;
	if (o->hdr_separate && n > 1) {
		sg[0] = (struct vhxl_sg){ .gpa = vq->buf[head], .len = d->hdr_len };
		off = d->hdr_len;
		first = 1;
	}
	for (k = first; k < n; k++) {
		size_t remain = total - off;
		unsigned left = n - k;

		piece = (remain + left - 1) / left;
		if (!piece)
			break;
		sg[k] = (struct vhxl_sg){ .gpa = vq->buf[head] + off, .len = piece };
		off += piece;
	}
	n = k;
	vq->posted_len[head] = total;
	return vhxl_vq_add(vq, sg, n, o->indirect, NULL);
}

int vhxl_tx_reclaim(struct vhxl_dev *d)
{
	int n = 0;

	while (vhxl_vq_get_used(&d->vq[VHX_TX], NULL, NULL) >= 0)
		n++;
	return n;
}

int vhxl_tx_drain(struct vhxl_dev *d, int timeout_ms)
{
	struct vhxl_vq *vq = &d->vq[VHX_TX];
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		vhxl_tx_reclaim(d);
		if (vq->num_free == vq->num)
			return 0;
		if (now_ms() > deadline)
			return -ETIMEDOUT;
		vhxl_vq_wait_used(vq, 50);
	}
}

int vhxl_rx_fill(struct vhxl_dev *d, unsigned count, const struct vhxl_rx_opts *o)
{
	struct vhxl_vq *vq = &d->vq[VHX_RX];
	struct vhxl_rx_opts def = { .nsegs = 1 };
	struct vhxl_sg sg[64];
	unsigned posted = 0, n, k;
	size_t len, off, piece;

	if (!o)
		o = &def;
	n = o->nsegs ? o->nsegs : 1;
	if (n > 64)
		return -E2BIG;
	len = o->len && o->len <= vq->buf_size ? o->len : vq->buf_size;
	while (posted < count) {
		uint16_t head = vq->free_head;
		unsigned m;
		int r;

		if (!vq->num_free || (!o->indirect && n > vq->num_free))
			break;
		off = 0;
		for (k = 0, m = 0; k < n; k++) {
			piece = (len - off + (n - k) - 1) / (n - k);
			if (!piece)
				break;
			sg[k] = (struct vhxl_sg){ .gpa = vq->buf[head] + off,
						 .len = piece, .write = true };
			off += piece;
			m++;
		}
		vq->posted_len[head] = len;
		r = vhxl_vq_add(vq, sg, m, o->indirect, NULL);
		if (r < 0)
			break;
		posted++;
	}
	if (posted)
		vhxl_vq_kick(vq);
	return posted;
}

ssize_t vhxl_rx_recv(struct vhxl_dev *d, void *buf, size_t cap, void *hdr,
		    unsigned *nbufs, int timeout_ms)
{
	struct vhxl_vq *vq = &d->vq[VHX_RX];
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned want = 1, got = 0;
	size_t total = 0;
	bool mrg = d->features & VHX_BIT(VIRTIO_NET_F_MRG_RXBUF);

	if (nbufs)
		*nbufs = 0;
	while (got < want) {
		uint32_t len;
		const char *p;
		size_t skip = 0, copy;
		int head;

		if (vhxl_vq_wait_used(vq, got ? 2000 : timeout_ms))
			return got ? -EPROTO : -ETIMEDOUT;
		head = vhxl_vq_get_used(vq, &len, NULL);
		if (head < 0)
			return -EPROTO;
		got++;
		if (nbufs)
			*nbufs = got;
		if (len > vq->posted_len[head])
			return -EPROTO;
		p = vhxl_gpa(d->mem, vq->buf[head], len);
		if (got == 1) {
			if (len < d->hdr_len)
				return -EPROTO;
			memset(&h, 0, sizeof(h));
			memcpy(&h, p, d->hdr_len);
			if (hdr)
				memcpy(hdr, p, d->hdr_len);
			skip = d->hdr_len;
			if (mrg)
				want = h.num_buffers;
			if (!want)
				return -EPROTO;
		}
		copy = len - skip;
		if (total < cap)
			memcpy((char *)buf + total, p + skip,
			       copy < cap - total ? copy : cap - total);
		total += copy;
	}
	return total;
}

/* ======================================================== convenience */

int vhxl_net_setup(struct vhxl_net *n, const struct vhxl_net_cfg *c)
{
	struct vhxl_vq_cfg rx = { .num = c->num, .buf_size = c->rx_buf,
				 .ind_max = c->ind_max, .base = c->base };
	struct vhxl_vq_cfg tx = { .num = c->num, .buf_size = c->tx_buf,
				 .ind_max = c->ind_max, .base = c->base };
	size_t need;
	int r;

	memset(n, 0, sizeof(*n));
	n->cfg = *c;
	n->dev.fd = n->tap.fd = n->tap.pkt = -1;
	need = c->num * (align_up(c->rx_buf, 64) + align_up(c->tx_buf, 64) +
			 2 * 16 * c->ind_max) + 64 * VHX_PAGE + 8 * 16 * c->num;
	if (c->mem_size > need)
		need = c->mem_size;
	r = vhxl_mem_init(&n->mem, need, c->nregions, c->identity, VHX_GPA_BASE);
	if (r)
		return r;
	r = vhxl_dev_open(&n->dev, &n->mem);
	if (r)
		return r;
	r = vhxl_dev_set_features(&n->dev, c->features);
	if (r)
		return r;
	r = vhxl_dev_set_mem(&n->dev);
	if (r)
		return r;
	r = vhxl_vq_setup(&n->dev, VHX_RX, &rx);
	if (r)
		return r;
	r = vhxl_vq_setup(&n->dev, VHX_TX, &tx);
	if (r)
		return r;
	r = vhxl_tap_open(&n->tap, n->dev.vhost_hdr ? 0 : (int)n->dev.hdr_len, c->mtu);
	if (r)
		return r;
	if (c->no_backend)
		return 0;
	r = vhxl_set_backend(&n->dev, VHX_RX, n->tap.fd);
	if (r)
		return r;
	return vhxl_set_backend(&n->dev, VHX_TX, n->tap.fd);
}

void vhxl_net_teardown(struct vhxl_net *n)
{
	vhxl_dev_close(&n->dev);
	vhxl_tap_close(&n->tap);
	vhxl_mem_fini(&n->mem);
}

int vhxl_net_tx_one(struct vhxl_net *n, const void *frame, size_t len,
		   const struct vhxl_tx_opts *o, int timeout_ms)
{
	struct vhxl_vq *vq = &n->dev.vq[VHX_TX];
	int r = vhxl_tx_post(&n->dev, frame, len, o);

	if (r < 0)
		return r;
	vhxl_vq_kick(vq);
	r = vhxl_vq_wait_used(vq, timeout_ms);
	if (r)
		return r;
	vhxl_tx_reclaim(&n->dev);
	return 0;
}
