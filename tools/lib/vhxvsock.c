// SPDX-License-Identifier: GPL-2.0
/*
 * vhxvsock.c - vhxlib's virtio-vsock guest driver (see vhxvsock.h): the
 * device, its two rings and packets.  The connection layer is
 * vhxvsock_conn.c.
 */
#define _GNU_SOURCE
#include "vhxvsock.h"
#include "vhxlib_int.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

/* ============================================================== device */

const char *vhxl_vsock_dev_path(void)
{
	const char *p = getenv("VHX_VSOCK_DEV");

	return p && *p ? p : "/dev/vhost-vsock";
}

const char *vhxl_vsock_skip_reason(void)
{
	static char why[256];
	int fd;

	if (geteuid() != 0)
		return "not root";
	fd = open(vhxl_vsock_dev_path(), O_RDWR);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open %s: %s",
			 vhxl_vsock_dev_path(), strerror(errno));
		return why;
	}
	close(fd);
	fd = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (fd < 0) {
		snprintf(why, sizeof(why), "no AF_VSOCK sockets: %s", strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}

int vhxl_vsock_offered(uint64_t *features)
{
	int fd = open(vhxl_vsock_dev_path(), O_RDWR), r;

	if (fd < 0)
		return -errno;
	r = vhxl_ioctl(fd, VHOST_GET_FEATURES, features);
	close(fd);
	return r;
}

const char *vhxl_vsock_skip_packed(void)
{
	static char why[256];
	const char *r = vhxl_vsock_skip_reason();
	uint64_t f = 0;
	int e;

	if (r)
		return r;
	e = vhxl_vsock_offered(&f);
	if (e) {
		snprintf(why, sizeof(why), "GET_FEATURES on %s: %s",
			 vhxl_vsock_dev_path(), strerror(-e));
		return why;
	}
	if (!(f & VHX_F_RING_PACKED)) {
		snprintf(why, sizeof(why),
			 "%s does not offer VIRTIO_F_RING_PACKED (bit 34; features 0x%llx)",
			 vhxl_vsock_dev_path(), (unsigned long long)f);
		return why;
	}
	return NULL;
}

int vhxl_vsock_set_cid_fd(int fd, uint64_t cid)
{
	return vhxl_ioctl(fd, VHOST_VSOCK_SET_GUEST_CID, &cid);
}

int vhxl_vsock_set_cid(struct vhxl_vsock *v, uint64_t cid)
{
	int r = vhxl_vsock_set_cid_fd(v->dev.fd, cid);

	if (!r)
		v->cid = cid;
	return r;
}

int vhxl_vsock_set_running(struct vhxl_vsock *v, int on)
{
	int r = vhxl_ioctl(v->dev.fd, VHOST_VSOCK_SET_RUNNING, &on);

	if (!r)
		v->running = !!on;
	return r;
}

int vhxl_vsock_rx_fill(struct vhxl_vsock *v)
{
	struct vhxl_rx_opts o = {
		.nsegs = v->cfg.rx_nsegs ? v->cfg.rx_nsegs : 1,
		.indirect = v->cfg.rx_indirect,
	};

	return vhxl_rx_fill(&v->dev, v->dev.vq[VHX_RX].num, &o);
}

static uint64_t vsock_features(const struct vhxl_vsock_cfg *c)
{
	if (c->features)
		return c->features;
	return VHX_BIT(VIRTIO_F_VERSION_1) |
	       (c->packed ? VHX_F_RING_PACKED : 0) |
	       (c->event_idx ? VHX_BIT(VIRTIO_RING_F_EVENT_IDX) : 0) |
	       (c->seqpacket ? VHX_VSOCK_F_SEQPACKET : 0) |
	       (c->indirect ? VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
	       (c->log_all ? VHX_BIT(VHOST_F_LOG_ALL) : 0) |
	       (c->platform ? VHX_BIT(VIRTIO_F_ACCESS_PLATFORM) : 0);
}

int vhxl_vsock_setup(struct vhxl_vsock *v, const struct vhxl_vsock_cfg *c)
{
	struct vhxl_vsock_cfg cfg = *c;
	struct vhxl_vq_cfg rx, tx;
	size_t need;
	int r, i;

	memset(v, 0, sizeof(*v));
	v->dev.fd = -1;
	for (i = 0; i < VHX_MAX_VQS; i++)
		v->dev.vq[i].kick_fd = v->dev.vq[i].call_fd = v->dev.vq[i].err_fd = -1;
	v->q_tail = &v->q_head;
	v->u_tail = &v->u_head;
	if (!cfg.num)
		cfg.num = 128;
	if (!cfg.rx_buf)
		cfg.rx_buf = 4096;
	if (!cfg.tx_buf)
		cfg.tx_buf = 4096 + VHX_VSOCK_HDR_LEN;
	if (!cfg.ind_max)
		cfg.ind_max = 8;
	v->cfg = cfg;
	rx = (struct vhxl_vq_cfg){ .num = cfg.num, .buf_size = cfg.rx_buf,
				   .ind_max = cfg.ind_max, .no_err_fd = cfg.no_err_fd };
	tx = (struct vhxl_vq_cfg){ .num = cfg.num, .buf_size = cfg.tx_buf,
				   .ind_max = cfg.ind_max, .no_err_fd = cfg.no_err_fd };
	need = cfg.num * (align_up(cfg.rx_buf, 64) + align_up(cfg.tx_buf, 64) +
			  2 * 16 * cfg.ind_max) +
	       64 * VHX_PAGE + 8 * 16 * cfg.num + align_up(cfg.scratch, VHX_PAGE);
	r = vhxl_mem_init(&v->mem, need, cfg.nregions, cfg.identity, VHX_GPA_BASE);
	if (r)
		return r;
	r = vhxl_dev_open_path(&v->dev, &v->mem, vhxl_vsock_dev_path());
	if (r)
		return r;
	r = vhxl_dev_set_features(&v->dev, vsock_features(&cfg));
	if (r)
		return r;
	r = vhxl_dev_set_mem(&v->dev);
	if (r)
		return r;
	r = vhxl_vq_setup(&v->dev, VHX_RX, &rx);
	if (r)
		return r;
	r = vhxl_vq_setup(&v->dev, VHX_TX, &tx);
	if (r)
		return r;
	if (cfg.scratch) {
		v->scratch_gpa = vhxl_mem_alloc(&v->mem, cfg.scratch, VHX_PAGE);
		if (!v->scratch_gpa)
			return -ENOMEM;
	}
	return cfg.no_start ? 0 : vhxl_vsock_start(v);
}

int vhxl_vsock_start(struct vhxl_vsock *v)
{
	int r;

	if (v->cfg.cid) {
		r = vhxl_vsock_set_cid(v, v->cfg.cid);
		if (r)
			return r;
	}
	if (!v->cfg.no_rx_fill)
		vhxl_vsock_rx_fill(v);
	return vhxl_vsock_set_running(v, 1);
}

static void pkt_list_free(struct vhxl_vsock_pkt **head)
{
	while (*head) {
		struct vhxl_vsock_pkt *p = *head;

		*head = p->next;
		vhxl_vsock_pkt_free(p);
	}
}

int vhxl_vsock_flush(struct vhxl_vsock *v)
{
	int n = v->q_len + v->u_len;

	pkt_list_free(&v->q_head);
	pkt_list_free(&v->u_head);
	v->q_tail = &v->q_head;
	v->u_tail = &v->u_head;
	v->q_len = v->u_len = 0;
	return n;
}

/* Forget every connection (they stay the caller's, closed). */
static void forget_conns(struct vhxl_vsock *v)
{
	while (v->conns) {
		struct vhxl_vsock_conn *c = v->conns;

		v->conns = c->next;
		c->next = NULL;
		c->state = VHXL_VS_CLOSED;
	}
}

void vhxl_vsock_teardown(struct vhxl_vsock *v)
{
	vhxl_vsock_flush(v);
	forget_conns(v);
	vhxl_dev_close(&v->dev);
	vhxl_mem_fini(&v->mem);
}

int vhxl_vsock_reset(struct vhxl_vsock *v)
{
	int r, i;

	r = vhxl_vsock_set_running(v, 0);
	if (r)
		return r;
	for (i = 0; i < VHX_NVQS; i++) {
		r = vhxl_vq_reset(&v->dev.vq[i]);
		if (r)
			return r;
	}
	vhxl_vsock_flush(v);
	forget_conns(v);
	vhxl_vsock_rx_fill(v);
	return vhxl_vsock_set_running(v, 1);
}

/* ============================================================= packets */

void vhxl_vsock_hdr(struct virtio_vsock_hdr *h, uint64_t src_cid,
		    uint32_t src_port, uint64_t dst_cid, uint32_t dst_port,
		    uint16_t type, uint16_t op, uint32_t flags, uint32_t len)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = htole64(src_cid);
	h->dst_cid = htole64(dst_cid);
	h->src_port = htole32(src_port);
	h->dst_port = htole32(dst_port);
	h->type = htole16(type);
	h->op = htole16(op);
	h->flags = htole32(flags);
	h->len = htole32(len);
}

uint16_t vhxl_vsock_op(const struct virtio_vsock_hdr *h)
{
	return le16toh(h->op);
}

const char *vhxl_vsock_op_name(uint16_t op)
{
	static const char *const names[] = {
		"INVALID", "REQUEST", "RESPONSE", "RST", "SHUTDOWN", "RW",
		"CREDIT_UPDATE", "CREDIT_REQUEST",
	};

	return op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

void vhxl_vsock_pkt_free(struct vhxl_vsock_pkt *p)
{
	if (!p)
		return;
	free(p->data);
	free(p);
}

int vhxl_vsock_tx_reclaim(struct vhxl_vsock *v)
{
	int n = 0;

	while (vhxl_vq_get_used(&v->dev.vq[VHX_TX], NULL, NULL) >= 0)
		n++;
	return n;
}

int vhxl_vsock_pull(struct vhxl_vsock *v)
{
	struct vhxl_vq *vq = &v->dev.vq[VHX_RX];
	int n = 0;

	for (;;) {
		struct vhxl_vsock_pkt *p;
		const uint8_t *b;
		uint32_t len;
		int head = vhxl_vq_get_used(vq, &len, NULL);

		if (head < 0)
			break;
		n++;
		if (len < VHX_VSOCK_HDR_LEN || len > vq->posted_len[head]) {
			v->rx_bad++;
			continue;
		}
		b = vhxl_gpa(&v->mem, vq->buf[head], len);
		p = calloc(1, sizeof(*p));
		if (p)
			p->data = malloc(len - VHX_VSOCK_HDR_LEN + 1);
		if (!p || !p->data || !b) {
			vhxl_vsock_pkt_free(p);
			v->rx_bad++;
			continue;
		}
		memcpy(&p->hdr, b, VHX_VSOCK_HDR_LEN);
		p->used_len = len;
		p->len = len - VHX_VSOCK_HDR_LEN;
		memcpy(p->data, b + VHX_VSOCK_HDR_LEN, p->len);
		*v->q_tail = p;
		v->q_tail = &p->next;
		v->q_len++;
		v->rx_pkts++;
		v->rx_bytes += p->len;
	}
	if (n && !v->cfg.no_repost)
		vhxl_vsock_rx_fill(v);
	return n;
}

int vhxl_vsock_wait(struct vhxl_vsock *v, int timeout_ms)
{
	struct vhxl_vq *rx = &v->dev.vq[VHX_RX], *tx = &v->dev.vq[VHX_TX];
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p[3] = {
			{ .fd = rx->call_fd, .events = POLLIN },
			{ .fd = tx->call_fd, .events = POLLIN },
			{ .fd = v->dev.fd, .events = POLLIN },
		};
		long long left;

		if (v->idle)
			v->idle(v, v->idle_arg);
		if (vhxl_vq_pending_used(rx) || vhxl_vq_pending_used(tx))
			return 1;
		left = deadline - now_ms();
		if (left < 0)
			return 0;
		if (vhxl_vq_enable_cb(rx) | vhxl_vq_enable_cb(tx))
			return 1;
		if (poll(p, v->idle ? 3 : 2, left > 100 ? 100 : (int)left) > 0) {
			if (vhxl_eventfd_read(rx->call_fd))
				rx->calls++;
			if (vhxl_eventfd_read(tx->call_fd))
				tx->calls++;
		}
	}
}

/* Reclaim TX until @descs descriptors are free, pulling RX meanwhile. */
static int tx_space(struct vhxl_vsock *v, unsigned descs, int timeout_ms)
{
	struct vhxl_vq *vq = &v->dev.vq[VHX_TX];
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left;

		vhxl_vsock_tx_reclaim(v);
		if (vq->num_free >= descs)
			return 0;
		vhxl_vsock_pull(v);
		left = deadline - now_ms();
		if (left < 0)
			return -ETIMEDOUT;
		vhxl_vsock_wait(v, left > 50 ? 50 : (int)left);
	}
}

int vhxl_vsock_post(struct vhxl_vsock *v, const struct virtio_vsock_hdr *h,
		    const void *data, size_t len,
		    const struct vhxl_vsock_tx_opts *o, int timeout_ms)
{
	struct vhxl_vq *vq = &v->dev.vq[VHX_TX];
	struct vhxl_vsock_tx_opts def = {
		.nsegs = v->cfg.tx_nsegs, .hdr_separate = v->cfg.tx_hdr_separate,
		.indirect = v->cfg.tx_indirect,
	};
	size_t total = VHX_VSOCK_HDR_LEN + len, off = 0;
	struct vhxl_sg sg[64];
	unsigned n, k, first = 0;
	uint8_t *p;
	int head, r;

	if (!o)
		o = &def;
	n = o->nsegs ? o->nsegs : 1;
	if (n > 64 || (o->indirect && n > vq->ind_max))
		return -E2BIG;
	if (total > vq->buf_size)
		return -EMSGSIZE;
	r = tx_space(v, o->indirect ? 1 : n, timeout_ms);
	if (r)
		return r;
	head = vq->free_head;	/* vhxl_vq_add() takes this head */
	p = vhxl_gpa(&v->mem, vq->buf[head], total);
	memcpy(p, h, VHX_VSOCK_HDR_LEN);
	if (len)
		memcpy(p + VHX_VSOCK_HDR_LEN, data, len);
	if (o->hdr_separate && n > 1) {
		sg[0] = (struct vhxl_sg){ .gpa = vq->buf[head], .len = VHX_VSOCK_HDR_LEN };
		off = VHX_VSOCK_HDR_LEN;
		first = 1;
	}
	for (k = first; k < n; k++) {
		size_t piece = (total - off + (n - k) - 1) / (n - k);

		if (!piece)
			break;
		sg[k] = (struct vhxl_sg){ .gpa = vq->buf[head] + off, .len = piece };
		off += piece;
	}
	vq->posted_len[head] = total;
	r = vhxl_vq_add(vq, sg, k, o->indirect, NULL);
	if (r < 0)
		return r;
	if (!o->no_kick)
		vhxl_vq_kick(vq);
	v->tx_pkts++;
	v->tx_bytes += len;
	return r;
}

int vhxl_vsock_post_sg(struct vhxl_vsock *v, const struct vhxl_sg *sg,
		       unsigned n, bool indirect)
{
	struct vhxl_vq *vq = &v->dev.vq[VHX_TX];
	int r = tx_space(v, indirect ? 1 : n, 3000);

	if (r)
		return r;
	r = vhxl_vq_add(vq, sg, n, indirect, NULL);
	if (r >= 0)
		vhxl_vq_kick(vq);
	return r;
}

int vhxl_vsock_tx_drain(struct vhxl_vsock *v, int timeout_ms)
{
	struct vhxl_vq *vq = &v->dev.vq[VHX_TX];
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left;

		vhxl_vsock_tx_reclaim(v);
		if (!vhxl_vq_inflight(vq))
			return 0;
		vhxl_vsock_pull(v);
		left = deadline - now_ms();
		if (left < 0)
			return -ETIMEDOUT;
		vhxl_vsock_wait(v, left > 50 ? 50 : (int)left);
	}
}

/* Pop the first queued packet, NULL if none. */
struct vhxl_vsock_pkt *vhxl_vsock_q_pop(struct vhxl_vsock *v)
{
	struct vhxl_vsock_pkt *p = v->q_head;

	if (!p)
		return NULL;
	v->q_head = p->next;
	if (!v->q_head)
		v->q_tail = &v->q_head;
	p->next = NULL;
	v->q_len--;
	return p;
}

int vhxl_vsock_recv_pkt(struct vhxl_vsock *v, struct vhxl_vsock_pkt **pp,
			int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left;

		*pp = vhxl_vsock_q_pop(v);
		if (*pp)
			return 0;
		vhxl_vsock_tx_reclaim(v);
		if (vhxl_vsock_pull(v))
			continue;
		left = deadline - now_ms();
		if (left < 0)
			return -ETIMEDOUT;
		vhxl_vsock_wait(v, (int)left);
	}
}
