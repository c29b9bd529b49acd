// SPDX-License-Identifier: GPL-2.0
/*
 * vhxvsock_conn.c - vhxlib's virtio-vsock connections (see vhxvsock.h):
 * the dispatch of received packets, connect / accept, stream and seqpacket
 * data within the peer's credit, credit updates, SHUTDOWN and RST.
 *
 * Credit, as the virtio spec and Linux count it: the peer may have
 * buf_alloc - (tx_cnt - fwd_cnt) bytes in flight towards the other side,
 * where buf_alloc and fwd_cnt are the receiver's latest header fields and
 * tx_cnt the sender's own count of payload bytes sent.
 */
#define _GNU_SOURCE
#include "vhxvsock.h"
#include "vhxlib_int.h"

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define UNMATCHED_MAX 4096	/* unmatched packets kept (oldest dropped) */
#define CREDIT_REQ_EVERY_MS 500

void vhxl_vsock_conn_init(struct vhxl_vsock *v, struct vhxl_vsock_conn *c,
			  uint16_t type, uint32_t local_port, uint32_t buf_alloc)
{
	memset(c, 0, sizeof(*c));
	c->v = v;
	c->type = type;
	c->local_port = local_port;
	c->buf_alloc = buf_alloc ? buf_alloc : 256 * 1024;
}

static void conn_link(struct vhxl_vsock_conn *c)
{
	struct vhxl_vsock_conn *i;

	for (i = c->v->conns; i; i = i->next)
		if (i == c)
			return;
	c->next = c->v->conns;
	c->v->conns = c;
}

void vhxl_vsock_conn_fini(struct vhxl_vsock_conn *c)
{
	struct vhxl_vsock_conn **pp;

	if (c->v) {
		for (pp = &c->v->conns; *pp; pp = &(*pp)->next) {
			if (*pp == c) {
				*pp = c->next;
				break;
			}
		}
	}
	free(c->rxq);
	free(c->msgs);
	c->rxq = NULL;
	c->msgs = NULL;
	c->rxq_cap = c->rxq_off = 0;
	c->rx_bytes = 0;
	c->nmsgs = c->msgs_cap = 0;
	c->next = NULL;
}

uint32_t vhxl_vsock_peer_credit(const struct vhxl_vsock_conn *c)
{
	int64_t cr = (int64_t)c->peer_buf_alloc - (uint32_t)(c->tx_cnt - c->peer_fwd_cnt);

	return cr > 0 ? (uint32_t)cr : 0;
}

/* A header from this connection, with our credit. */
static void conn_hdr(struct vhxl_vsock_conn *c, struct virtio_vsock_hdr *h,
		     uint16_t op, uint32_t flags, uint32_t len)
{
	vhxl_vsock_hdr(h, c->v->cid, c->local_port, c->peer_cid, c->peer_port,
		       c->type, op, flags, len);
	h->buf_alloc = htole32(c->buf_alloc);
	h->fwd_cnt = htole32(c->fwd_cnt);
}

static int conn_post(struct vhxl_vsock_conn *c, uint16_t op, uint32_t flags,
		     const void *data, uint32_t len, int timeout_ms)
{
	struct virtio_vsock_hdr h;
	int r;

	conn_hdr(c, &h, op, flags, len);
	r = vhxl_vsock_post(c->v, &h, data, len, NULL, timeout_ms);
	if (r < 0)
		return r;
	c->last_fwd_sent = c->fwd_cnt;
	c->pkts_tx++;
	return 0;
}

int vhxl_vsock_send_ctl(struct vhxl_vsock_conn *c, uint16_t op, uint32_t flags)
{
	int r = conn_post(c, op, flags, NULL, 0, 3000);

	if (r)
		return r;
	if (op == VIRTIO_VSOCK_OP_CREDIT_UPDATE)
		c->credit_updates_tx++;
	else if (op == VIRTIO_VSOCK_OP_CREDIT_REQUEST)
		c->credit_requests++;
	return 0;
}

int vhxl_vsock_credit_update(struct vhxl_vsock_conn *c)
{
	return vhxl_vsock_send_ctl(c, VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0);
}

int vhxl_vsock_credit_request(struct vhxl_vsock_conn *c)
{
	return vhxl_vsock_send_ctl(c, VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0);
}

int vhxl_vsock_shutdown(struct vhxl_vsock_conn *c, uint32_t flags)
{
	c->our_shutdown |= flags;
	return vhxl_vsock_send_ctl(c, VIRTIO_VSOCK_OP_SHUTDOWN, flags);
}

int vhxl_vsock_rst(struct vhxl_vsock_conn *c)
{
	c->state = VHXL_VS_CLOSED;
	return vhxl_vsock_send_ctl(c, VIRTIO_VSOCK_OP_RST, 0);
}

int vhxl_vsock_reply_rst(struct vhxl_vsock *v, const struct vhxl_vsock_pkt *p)
{
	struct virtio_vsock_hdr h;

	vhxl_vsock_hdr(&h, v->cid, le32toh(p->hdr.dst_port),
		       le64toh(p->hdr.src_cid), le32toh(p->hdr.src_port),
		       le16toh(p->hdr.type), VIRTIO_VSOCK_OP_RST, 0, 0);
	return vhxl_vsock_post(v, &h, NULL, 0, NULL, 3000) < 0 ? -EIO : 0;
}

/* ------------------------------------------------------------ dispatch */

static struct vhxl_vsock_conn *conn_find(struct vhxl_vsock *v,
					 const struct vhxl_vsock_pkt *p)
{
	struct vhxl_vsock_conn *c;

	for (c = v->conns; c; c = c->next)
		if (c->state != VHXL_VS_IDLE &&
		    le32toh(p->hdr.dst_port) == c->local_port &&
		    le32toh(p->hdr.src_port) == c->peer_port &&
		    le64toh(p->hdr.src_cid) == c->peer_cid)
			return c;
	return NULL;
}

static int rxq_reserve(struct vhxl_vsock_conn *c, size_t len)
{
	size_t need = c->rx_bytes + len;

	if (c->rxq_off + need <= c->rxq_cap)
		return 0;
	if (c->rxq_off) {
		memmove(c->rxq, c->rxq + c->rxq_off, c->rx_bytes);
		c->rxq_off = 0;
	}
	if (need > c->rxq_cap) {
		size_t cap = c->rxq_cap ? c->rxq_cap : c->buf_alloc + 65536;
		uint8_t *q;

		while (cap < need)
			cap *= 2;
		q = realloc(c->rxq, cap);
		if (!q)
			return -ENOMEM;
		c->rxq = q;
		c->rxq_cap = cap;
	}
	return 0;
}

static void msg_push(struct vhxl_vsock_conn *c, uint32_t m)
{
	if (c->nmsgs == c->msgs_cap) {
		unsigned cap = c->msgs_cap ? 2 * c->msgs_cap : 64;
		uint32_t *n = realloc(c->msgs, cap * sizeof(*n));

		if (!n) {
			c->unexpected++;
			return;
		}
		c->msgs = n;
		c->msgs_cap = cap;
	}
	c->msgs[c->nmsgs++] = m;
}

static void conn_data(struct vhxl_vsock_conn *c, const struct vhxl_vsock_pkt *p)
{
	uint32_t flags = le32toh(p->hdr.flags);

	if (c->state != VHXL_VS_ESTABLISHED || le32toh(p->hdr.len) != p->len)
		c->unexpected++;
	if (c->rx_bytes + p->len > c->buf_alloc)
		c->overruns++;
	if (rxq_reserve(c, p->len)) {
		c->unexpected++;
		return;
	}
	memcpy(c->rxq + c->rxq_off + c->rx_bytes, p->data, p->len);
	c->rx_bytes += p->len;
	if (c->type != VIRTIO_VSOCK_TYPE_SEQPACKET)
		return;
	c->msg_part += p->len;
	if (flags & VIRTIO_VSOCK_SEQ_EOM) {
		msg_push(c, c->msg_part |
			 (flags & VIRTIO_VSOCK_SEQ_EOR ? VHXL_VSOCK_MSG_EOR : 0));
		c->msg_part = 0;
	}
}

static void conn_rx(struct vhxl_vsock_conn *c, const struct vhxl_vsock_pkt *p)
{
	uint16_t op = le16toh(p->hdr.op);
	uint32_t flags = le32toh(p->hdr.flags);

	c->pkts_rx++;
	c->peer_buf_alloc = le32toh(p->hdr.buf_alloc);
	c->peer_fwd_cnt = le32toh(p->hdr.fwd_cnt);
	if (le16toh(p->hdr.type) != c->type)
		c->unexpected++;
	switch (op) {
	case VIRTIO_VSOCK_OP_RESPONSE:
		if (c->state == VHXL_VS_CONNECTING)
			c->state = VHXL_VS_ESTABLISHED;
		else
			c->unexpected++;
		break;
	case VIRTIO_VSOCK_OP_RST:
		c->state = VHXL_VS_CLOSED;
		c->rst_rcvd = true;
		break;
	case VIRTIO_VSOCK_OP_RW:
		conn_data(c, p);
		break;
	case VIRTIO_VSOCK_OP_CREDIT_UPDATE:
		c->credit_updates_rx++;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		if (c->state == VHXL_VS_ESTABLISHED)
			vhxl_vsock_credit_update(c);
		break;
	case VIRTIO_VSOCK_OP_SHUTDOWN:
		c->peer_shutdown |= flags & (VIRTIO_VSOCK_SHUTDOWN_RCV |
					     VIRTIO_VSOCK_SHUTDOWN_SEND);
		/* both ways: the side that hears it last resets, as Linux */
		if (c->peer_shutdown == (VIRTIO_VSOCK_SHUTDOWN_RCV |
					 VIRTIO_VSOCK_SHUTDOWN_SEND) &&
		    c->state == VHXL_VS_ESTABLISHED && !c->no_rst_reply)
			vhxl_vsock_rst(c);
		break;
	default:
		c->unexpected++;
		break;
	}
}

static void dispatch(struct vhxl_vsock *v, struct vhxl_vsock_pkt *p)
{
	struct vhxl_vsock_conn *c = conn_find(v, p);

	if (c) {
		conn_rx(c, p);
		vhxl_vsock_pkt_free(p);
		return;
	}
	if (v->u_len >= UNMATCHED_MAX) {
		struct vhxl_vsock_pkt *old = v->u_head;

		v->u_head = old->next;
		if (!v->u_head)
			v->u_tail = &v->u_head;
		v->u_len--;
		v->u_dropped++;
		vhxl_vsock_pkt_free(old);
	}
	p->next = NULL;
	*v->u_tail = p;
	v->u_tail = &p->next;
	v->u_len++;
}

int vhxl_vsock_poll(struct vhxl_vsock *v, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int n = 0;

	for (;;) {
		struct vhxl_vsock_pkt *p;
		long long left;

		vhxl_vsock_tx_reclaim(v);
		vhxl_vsock_pull(v);
		while ((p = vhxl_vsock_q_pop(v))) {
			dispatch(v, p);
			n++;
		}
		if (n)
			return n;
		left = deadline - now_ms();
		if (left <= 0)
			return 0;
		vhxl_vsock_wait(v, (int)left);
	}
}

/* Unlink the first unmatched packet that matches, or NULL. */
static struct vhxl_vsock_pkt *unmatched_take(struct vhxl_vsock *v, uint16_t op,
					     uint32_t dst_port)
{
	struct vhxl_vsock_pkt **pp, *p;

	for (pp = &v->u_head; (p = *pp); pp = &p->next) {
		if (le16toh(p->hdr.op) != op ||
		    (dst_port && le32toh(p->hdr.dst_port) != dst_port))
			continue;
		*pp = p->next;
		if (v->u_tail == &p->next)
			v->u_tail = pp;
		p->next = NULL;
		v->u_len--;
		return p;
	}
	return NULL;
}

struct vhxl_vsock_pkt *vhxl_vsock_expect(struct vhxl_vsock *v, uint16_t op,
					 uint32_t dst_port, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct vhxl_vsock_pkt *p;
		long long left;

		vhxl_vsock_poll(v, 0);
		p = unmatched_take(v, op, dst_port);
		if (p)
			return p;
		left = deadline - now_ms();
		if (left <= 0)
			return NULL;
		vhxl_vsock_poll(v, left > 100 ? 100 : (int)left);
	}
}

/* ------------------------------------------------------ connect, accept */

int vhxl_vsock_connect(struct vhxl_vsock_conn *c, uint64_t peer_cid,
		       uint32_t peer_port, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int r;

	c->peer_cid = peer_cid;
	c->peer_port = peer_port;
	c->state = VHXL_VS_CONNECTING;
	c->rst_rcvd = false;
	conn_link(c);
	r = vhxl_vsock_send_ctl(c, VIRTIO_VSOCK_OP_REQUEST, 0);
	if (r)
		return r;
	while (c->state == VHXL_VS_CONNECTING) {
		long long left = deadline - now_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		vhxl_vsock_poll(c->v, (int)left);
	}
	if (c->state == VHXL_VS_ESTABLISHED)
		return 0;
	return c->rst_rcvd ? -ECONNRESET : -EPROTO;
}

int vhxl_vsock_accept(struct vhxl_vsock_conn *c, int timeout_ms)
{
	struct vhxl_vsock_pkt *p;

	p = vhxl_vsock_expect(c->v, VIRTIO_VSOCK_OP_REQUEST, c->local_port,
			      timeout_ms);
	if (!p)
		return -ETIMEDOUT;
	if (le16toh(p->hdr.type) != c->type) {
		vhxl_vsock_reply_rst(c->v, p);
		vhxl_vsock_pkt_free(p);
		return -EPROTO;
	}
	c->peer_cid = le64toh(p->hdr.src_cid);
	c->peer_port = le32toh(p->hdr.src_port);
	c->peer_buf_alloc = le32toh(p->hdr.buf_alloc);
	c->peer_fwd_cnt = le32toh(p->hdr.fwd_cnt);
	c->pkts_rx++;
	vhxl_vsock_pkt_free(p);
	c->state = VHXL_VS_ESTABLISHED;
	conn_link(c);
	return vhxl_vsock_send_ctl(c, VIRTIO_VSOCK_OP_RESPONSE, 0);
}

/* ---------------------------------------------------------------- data */

/* Linux's rule: tell the peer when we drained the queue or when less than
 * a packet's worth of space is left in what it believes. */
static void maybe_credit_update(struct vhxl_vsock_conn *c)
{
	uint32_t delta = c->fwd_cnt - c->last_fwd_sent;

	if (c->manual_credit || c->state != VHXL_VS_ESTABLISHED || !delta)
		return;
	if (c->rx_bytes == 0 || c->buf_alloc - delta < VHX_VSOCK_MAX_PKT)
		vhxl_vsock_credit_update(c);
}

/* Send @len bytes as RW packets, EOM (and EOR) on the last if @msg. */
static ssize_t conn_send(struct vhxl_vsock_conn *c, const uint8_t *buf,
			 size_t len, bool msg, bool eor, int timeout_ms)
{
	size_t max = c->v->dev.vq[VHX_TX].buf_size - VHX_VSOCK_HDR_LEN, sent = 0;
	long long deadline = now_ms() + timeout_ms, last_req = 0;
	bool stalled = false;

	if (max > VHX_VSOCK_MAX_PKT)
		max = VHX_VSOCK_MAX_PKT;
	while (sent < len) {
		long long left = deadline - now_ms();
		uint32_t cr = vhxl_vsock_peer_credit(c), flags = 0;
		size_t chunk = len - sent;
		int r;

		if (c->state != VHXL_VS_ESTABLISHED)
			return sent ? (ssize_t)sent : c->rst_rcvd ? -ECONNRESET : -EPIPE;
		if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_RCV)
			return sent ? (ssize_t)sent : -EPIPE;
		if (!cr) {
			/* a request per stall, and again while it lasts */
			if (!stalled) {
				c->credit_stalls++;
				last_req = 0;
			}
			stalled = true;
			if (now_ms() - last_req >= CREDIT_REQ_EVERY_MS) {
				vhxl_vsock_credit_request(c);
				last_req = now_ms();
			}
			if (left <= 0)
				return sent ? (ssize_t)sent : -ETIMEDOUT;
			vhxl_vsock_poll(c->v, left > 100 ? 100 : (int)left);
			continue;
		}
		stalled = false;
		if (chunk > cr)
			chunk = cr;
		if (chunk > max)
			chunk = max;
		if (msg && sent + chunk == len)
			flags = VIRTIO_VSOCK_SEQ_EOM | (eor ? VIRTIO_VSOCK_SEQ_EOR : 0);
		r = conn_post(c, VIRTIO_VSOCK_OP_RW, flags, buf + sent, chunk,
			      left > 0 ? (int)left : 0);
		if (r)
			return sent ? (ssize_t)sent : r;
		c->tx_cnt += chunk;
		sent += chunk;
		/* credit updates and the rest, without waiting */
		vhxl_vsock_poll(c->v, 0);
	}
	return sent;
}

ssize_t vhxl_vsock_send(struct vhxl_vsock_conn *c, const void *buf,
			size_t len, int timeout_ms)
{
	return conn_send(c, buf, len, false, false, timeout_ms);
}

ssize_t vhxl_vsock_send_msg(struct vhxl_vsock_conn *c, const void *buf,
			    size_t len, bool eor, int timeout_ms)
{
	if (!len)
		return -EINVAL;
	if (len > c->peer_buf_alloc)
		return -EMSGSIZE;
	return conn_send(c, buf, len, true, eor, timeout_ms);
}

/* Nothing to read: EOF, reset, or wait.  1: wait more. */
static int conn_no_data(struct vhxl_vsock_conn *c, long long deadline)
{
	long long left;

	if (c->peer_shutdown & VIRTIO_VSOCK_SHUTDOWN_SEND)
		return 0;
	if (c->state == VHXL_VS_CLOSED)
		return c->rst_rcvd ? -ECONNRESET : 0;
	left = deadline - now_ms();
	if (left <= 0)
		return -ETIMEDOUT;
	vhxl_vsock_poll(c->v, (int)left);
	return 1;
}

static void consume(struct vhxl_vsock_conn *c, size_t n)
{
	c->rxq_off += n;
	c->rx_bytes -= n;
	c->fwd_cnt += n;
	if (!c->rx_bytes)
		c->rxq_off = 0;
	maybe_credit_update(c);
}

ssize_t vhxl_vsock_recv(struct vhxl_vsock_conn *c, void *buf, size_t len,
			int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		int r;

		if (c->rx_bytes) {
			size_t n = len < c->rx_bytes ? len : c->rx_bytes;

			memcpy(buf, c->rxq + c->rxq_off, n);
			consume(c, n);
			return n;
		}
		r = conn_no_data(c, deadline);
		if (r <= 0)
			return r;
	}
}

ssize_t vhxl_vsock_recv_msg(struct vhxl_vsock_conn *c, void *buf, size_t cap,
			    bool *eor, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		int r;

		if (c->nmsgs) {
			uint32_t m = c->msgs[0], len = m & ~VHXL_VSOCK_MSG_EOR;

			memcpy(buf, c->rxq + c->rxq_off, len < cap ? len : cap);
			if (eor)
				*eor = !!(m & VHXL_VSOCK_MSG_EOR);
			memmove(c->msgs, c->msgs + 1, --c->nmsgs * sizeof(*c->msgs));
			consume(c, len);
			return len;
		}
		r = conn_no_data(c, deadline);
		if (r <= 0)
			return r;
	}
}
