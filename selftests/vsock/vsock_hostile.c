// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_hostile.c - vsock_test's hostile guests (fixture "hostile", one
 * variant per case; the ring-level cases also as NAME_packed on packed
 * rings, which SKIP where bit 34 is not offered).
 *
 * Each case gets a fresh device (64-entry rings, ERR eventfds on both
 * queues) and a host listener, misbehaves in one way, and expects one of:
 *   ERR    the queue's ERR eventfd fires within 3 s, and the malformed
 *          packet (a REQUEST to the listener) reached no one: nothing to
 *          accept.  Mainline signals ERR and drops the packet (its queue
 *          goes on); vhx signals ERR and stops the queue until a reset.
 *          Both pass.
 *   CLEAN  no ERR eventfd on either queue; what else is expected is the
 *          case's: a semantically wrong packet is consumed and answered
 *          with an RST or dropped (REPLY: mainline's reply is asserted
 *          under VHX_TARGET=intree; vhx may answer where mainline is
 *          silent, vsock-iface.md, so either is accepted there unless
 *          the interface says which), or the host side stays bounded
 *          (credit, replies).
 * Then the device is reset (SET_RUNNING 0, both rings re-initialised,
 * SET_RUNNING 1) and a new connection carries data both ways.
 * A kernel splat anywhere fails the VM run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>

#include "vsock_common.h"

#define NUM 64
#define SCRATCH (256 * 1024)
#define ERR_WAIT_MS 3000

struct hctx {
	struct vhxl_vsock v;
	struct vhxl_vsock_conn c;
	bool up, connecting;
	int lfd, hfd;
	uint32_t lport;
	uint8_t buf[131072];
};

enum hexpect { H_ERR, H_CLEAN };
enum hreply { R_ANY, R_RST, R_NONE };

struct hcase;
typedef void (*hcase_fn)(struct __test_metadata *, struct hctx *,
			 const struct hcase *);

struct hcase {
	const char *what;
	enum hexpect expect;
	unsigned vq;		/* H_ERR: the queue whose ERR fires */
	hcase_fn fn;
	bool no_rx;		/* start without RX buffers */
	uint64_t host_buf;	/* the listener's buffer (0: default) */
	/* c_semantic: the packet and the replies expected */
	uint16_t op, type;
	uint64_t dst_cid;	/* 0: the host */
	int src_delta;		/* added to our CID as src_cid */
	enum hreply intree, vhx;
};

FIXTURE(hostile)
{
	struct hctx h;
};

FIXTURE_VARIANT(hostile)
{
	bool packed;
	struct hcase c;
};

/* ------------------------------------------------------------ helpers */

/* A header in scratch memory at @off: a REQUEST-like packet to the
 * listener from guest port @sport; returns its GPA. */
static uint64_t scratch_hdr(struct hctx *h, uint64_t off, uint32_t sport,
			    uint16_t op, uint16_t type, uint32_t len)
{
	uint64_t gpa = h->v.scratch_gpa + off;
	struct virtio_vsock_hdr *hd = vhxl_gpa(&h->v.mem, gpa, VHX_VSOCK_HDR_LEN);

	vhxl_vsock_hdr(hd, h->v.cid, sport, VHX_VSOCK_HOST_CID, h->lport, type,
		       op, 0, len);
	hd->buf_alloc = htole32(65536);
	return gpa;
}

static uint64_t req_hdr(struct hctx *h, uint32_t len)
{
	return scratch_hdr(h, 0, vt_port(), VIRTIO_VSOCK_OP_REQUEST,
			   VIRTIO_VSOCK_TYPE_STREAM, len);
}

static void post_tx(struct __test_metadata *_metadata, struct hctx *h,
		    const struct vhxl_sg *sg, unsigned n)
{
	ASSERT_LE(0, vhxl_vsock_post_sg(&h->v, sg, n, false));
}

/* Post a malformed RX chain, then make the host send something. */
static void post_rx_bad(struct __test_metadata *_metadata, struct hctx *h,
			const struct vhxl_sg *sg, unsigned n)
{
	struct vhxl_vq *rx = &h->v.dev.vq[VHX_RX];

	ASSERT_LE(0, vhxl_vq_add(rx, sg, n, false, NULL));
	vhxl_vq_kick_force(rx);
	h->hfd = host_connect_nb(h->v.cid, vt_port(), SOCK_STREAM, 0);
	ASSERT_GE(h->hfd, 0);
	h->connecting = true;
}

/* Guest connects to the listener: h->c established, h->hfd accepted. */
static void est(struct __test_metadata *_metadata, struct hctx *h, uint32_t buf_alloc)
{
	int r;

	vhxl_vsock_conn_init(&h->v, &h->c, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), buf_alloc);
	r = vhxl_vsock_connect(&h->c, VHX_VSOCK_HOST_CID, h->lport, WAIT_MS);
	if (r) {
		TH_LOG("connect: %s; the host listener %s a connection", strerror(-r),
		       host_pending(h->lfd, 0) ? "has" : "has no");
		LOG_RINGS(&h->v);
		/* queued but not run, or never queued? */
		vhxl_vq_kick_force(&h->v.dev.vq[VHX_RX]);
		vhxl_vsock_poll(&h->v, 1000);
		TH_LOG("after a kick of RX: connection %s", h->c.state == VHXL_VS_ESTABLISHED ?
		       "established (the RESPONSE was waiting)" : "still not established");
		LOG_RINGS(&h->v);
	}
	ASSERT_EQ(0, r);
	h->hfd = host_accept(h->lfd, WAIT_MS);
	ASSERT_GE(h->hfd, 0);
}

/* A header of h->c's connection in scratch at @off. */
static struct virtio_vsock_hdr *conn_hdr_at(struct hctx *h, uint64_t off,
					    uint16_t op, uint32_t len)
{
	struct virtio_vsock_hdr *hd = vhxl_gpa(&h->v.mem, h->v.scratch_gpa + off,
					       VHX_VSOCK_HDR_LEN);

	vhxl_vsock_hdr(hd, h->v.cid, h->c.local_port, VHX_VSOCK_HOST_CID,
		       h->c.peer_port, VIRTIO_VSOCK_TYPE_STREAM, op, 0, len);
	hd->buf_alloc = htole32(h->c.buf_alloc);
	hd->fwd_cnt = htole32(h->c.fwd_cnt);
	return hd;
}

static int host_recv_all(int fd, uint8_t *buf, size_t len)
{
	size_t n = 0;

	while (n < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, WAIT_MS) <= 0)
			return -ETIMEDOUT;
		r = recv(fd, buf + n, len - n, 0);
		if (r <= 0)
			return r ? -errno : -EPIPE;
		n += r;
	}
	return 0;
}

/* Close a host socket and let the guest answer its SHUTDOWN with an RST,
 * so that it does not linger (8 s) holding the module. */
static void host_close(struct hctx *h, struct vhxl_vsock_conn *c, int *fd)
{
	long long t0 = vt_now_ms();

	close(*fd);
	*fd = -1;
	while (c->state == VHXL_VS_ESTABLISHED && vt_now_ms() - t0 < WAIT_MS)
		vhxl_vsock_poll(&h->v, 50);
}

static bool g2g_on(void)
{
	char v = 'N';
	FILE *f = fopen("/sys/module/vhx_vsock/parameters/g2g", "r");

	if (f) {
		if (fread(&v, 1, 1, f) != 1)
			v = 'N';
		fclose(f);
	}
	return v == 'Y' || v == '1';
}

/* --------------------------------------------------- ring-level cases */

static void c_hdr_short(struct __test_metadata *_metadata, struct hctx *h,
			const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = req_hdr(h, 0), .len = 20 };

	(void)k;
	post_tx(_metadata, h, &sg, 1);
}

static void c_hdr_split_short(struct __test_metadata *_metadata, struct hctx *h,
			      const struct hcase *k)
{
	uint64_t g = req_hdr(h, 0);
	struct vhxl_sg sg[3] = { { g, 10, false }, { g + 10, 10, false },
				 { g + 20, 10, false } };

	(void)k;
	post_tx(_metadata, h, sg, 3);
}

static void c_zero_len(struct __test_metadata *_metadata, struct hctx *h,
		       const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = req_hdr(h, 0), .len = 0 };

	(void)k;
	post_tx(_metadata, h, &sg, 1);
}

static void c_len_beyond_chain(struct __test_metadata *_metadata, struct hctx *h,
			       const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = req_hdr(h, 1000), .len = VHX_VSOCK_HDR_LEN + 100 };

	(void)k;
	post_tx(_metadata, h, &sg, 1);
}

static void c_len_over_64k(struct __test_metadata *_metadata, struct hctx *h,
			   const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = req_hdr(h, VHX_VSOCK_MAX_PKT + 1),
			      .len = VHX_VSOCK_HDR_LEN + VHX_VSOCK_MAX_PKT + 1 };

	(void)k;
	post_tx(_metadata, h, &sg, 1);
}

static void c_tx_in_desc(struct __test_metadata *_metadata, struct hctx *h,
			 const struct hcase *k)
{
	uint64_t g = req_hdr(h, 0);
	struct vhxl_sg sg[2] = { { g, VHX_VSOCK_HDR_LEN, false },
				 { g + 4096, 100, true } };

	(void)k;
	post_tx(_metadata, h, sg, 2);
}

static void c_tx_only_in(struct __test_metadata *_metadata, struct hctx *h,
			 const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = req_hdr(h, 0), .len = VHX_VSOCK_HDR_LEN,
			      .write = true };

	(void)k;
	post_tx(_metadata, h, &sg, 1);
}

static void c_rx_readable(struct __test_metadata *_metadata, struct hctx *h,
			  const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = h->v.scratch_gpa + 8192, .len = 4096 };

	(void)k;
	post_rx_bad(_metadata, h, &sg, 1);
}

static void c_rx_tiny(struct __test_metadata *_metadata, struct hctx *h,
		      const struct hcase *k)
{
	struct vhxl_sg sg = { .gpa = h->v.scratch_gpa + 8192, .len = 20, .write = true };

	(void)k;
	post_rx_bad(_metadata, h, &sg, 1);
}

static void c_rx_out_after_in(struct __test_metadata *_metadata, struct hctx *h,
			      const struct hcase *k)
{
	uint64_t g = h->v.scratch_gpa + 8192;
	struct vhxl_sg sg[2] = { { g, 2048, true }, { g + 2048, 2048, false } };

	(void)k;
	post_rx_bad(_metadata, h, sg, 2);
}

/* ------------------------------------------------------ packet cases */

/* One 44-byte packet that makes no sense; the reply per target. */
static void c_semantic(struct __test_metadata *_metadata, struct hctx *h,
		       const struct hcase *k)
{
	uint32_t sport = vt_port();
	uint64_t g = scratch_hdr(h, 0, sport, k->op, k->type, 0);
	struct virtio_vsock_hdr *hd = vhxl_gpa(&h->v.mem, g, VHX_VSOCK_HDR_LEN);
	struct vhxl_sg sg = { .gpa = g, .len = VHX_VSOCK_HDR_LEN };
	enum hreply want = vt_intree() ? k->intree : k->vhx;
	struct vhxl_vsock_pkt *p;

	hd->src_cid = htole64(h->v.cid + k->src_delta);
	if (k->dst_cid)
		hd->dst_cid = htole64(k->dst_cid);
	post_tx(_metadata, h, &sg, 1);
	/* consumed, not refused as a ring error */
	EXPECT_EQ(0, vhxl_vsock_tx_drain(&h->v, WAIT_MS));
	p = vhxl_vsock_expect(&h->v, VIRTIO_VSOCK_OP_RST, sport, 500);
	TH_LOG("op %u type %u src_cid %llu dst_cid %llu: %s", k->op, k->type,
	       (unsigned long long)le64toh(hd->src_cid),
	       (unsigned long long)le64toh(hd->dst_cid), p ? "RST back" : "dropped");
	if (want == R_RST)
		EXPECT_NONNULL(p);
	if (want == R_NONE)
		EXPECT_NULL(p);
	vhxl_vsock_pkt_free(p);
	EXPECT_FALSE(host_pending(h->lfd, 0));
}

/* dst_cid not served: mainline drops; vhx resets unless g2g relays it. */
static void c_dst_not_served(struct __test_metadata *_metadata, struct hctx *h,
			     const struct hcase *k)
{
	struct hcase kk = *k;

	if (!vt_intree() && g2g_on())
		kk.vhx = R_ANY;
	c_semantic(_metadata, h, &kk);
}

static void c_unknown_op_conn(struct __test_metadata *_metadata, struct hctx *h,
			      const struct hcase *k)
{
	struct vhxl_sg sg = { .len = VHX_VSOCK_HDR_LEN };
	long long t0;

	(void)k;
	est(_metadata, h, 0);
	conn_hdr_at(h, 0, 99, 0);
	sg.gpa = h->v.scratch_gpa;
	post_tx(_metadata, h, &sg, 1);
	EXPECT_EQ(0, vhxl_vsock_tx_drain(&h->v, WAIT_MS));
	t0 = vt_now_ms();
	while (!h->c.rst_rcvd && vt_now_ms() - t0 < 500)
		vhxl_vsock_poll(&h->v, 50);
	TH_LOG("op 99 on an established connection: %s",
	       h->c.rst_rcvd ? "reset" : "ignored, connection goes on");
	if (vt_intree())
		EXPECT_FALSE(h->c.rst_rcvd);
	if (!h->c.rst_rcvd) {
		pat_fill(h->buf, 0, 2000);
		ASSERT_EQ(2000, vhxl_vsock_send(&h->c, h->buf, 2000, WAIT_MS));
		ASSERT_EQ(0, host_recv_all(h->hfd, h->buf, 2000));
		EXPECT_EQ(-1, pat_check(h->buf, 0, 2000));
		host_close(h, &h->c, &h->hfd);
	}
}

/* The largest payload, 64 KiB, in one descriptor and in three. */
static void c_len_64k_ok(struct __test_metadata *_metadata, struct hctx *h,
			 const struct hcase *k)
{
	uint64_t g = h->v.scratch_gpa;
	unsigned i;

	(void)k;
	est(_metadata, h, 0);
	for (i = 0; i < 2; i++) {
		struct vhxl_sg one = { g, VHX_VSOCK_HDR_LEN + VHX_VSOCK_MAX_PKT, false };
		struct vhxl_sg three[3] = {
			{ g, VHX_VSOCK_HDR_LEN, false },
			{ g + VHX_VSOCK_HDR_LEN, 30000, false },
			{ g + VHX_VSOCK_HDR_LEN + 30000, VHX_VSOCK_MAX_PKT - 30000, false },
		};

		conn_hdr_at(h, 0, VIRTIO_VSOCK_OP_RW, VHX_VSOCK_MAX_PKT);
		pat_fill(vhxl_gpa(&h->v.mem, g + VHX_VSOCK_HDR_LEN, VHX_VSOCK_MAX_PKT),
			 i * 100, VHX_VSOCK_MAX_PKT);
		post_tx(_metadata, h, i ? three : &one, i ? 3 : 1);
		h->c.tx_cnt += VHX_VSOCK_MAX_PKT;
		ASSERT_EQ(0, vhxl_vsock_tx_drain(&h->v, WAIT_MS));
		ASSERT_EQ(0, host_recv_all(h->hfd, h->buf, VHX_VSOCK_MAX_PKT));
		EXPECT_EQ(-1, pat_check(h->buf, i * 100, VHX_VSOCK_MAX_PKT));
	}
	TH_LOG("two 65536-byte packets (1 and 3 descriptors) received whole");
	host_close(h, &h->c, &h->hfd);
}

/* RW far beyond the host socket's 16 KiB buffer, credit ignored. */
static void c_flood_no_credit(struct __test_metadata *_metadata, struct hctx *h,
			      const struct hcase *k)
{
	struct virtio_vsock_hdr hd;
	long long t0;
	size_t n = 0;
	unsigned i;
	int r;

	(void)k;
	est(_metadata, h, 0);
	EXPECT_EQ(16384u, h->c.peer_buf_alloc);
	for (i = 0; i < 32; i++) {
		vhxl_vsock_hdr(&hd, h->v.cid, h->c.local_port, VHX_VSOCK_HOST_CID,
			       h->c.peer_port, VIRTIO_VSOCK_TYPE_STREAM,
			       VIRTIO_VSOCK_OP_RW, 0, 4096);
		hd.buf_alloc = htole32(h->c.buf_alloc);
		pat_fill(h->buf, i * 4096, 4096);
		ASSERT_LE(0, vhxl_vsock_post(&h->v, &hd, h->buf, 4096, NULL, WAIT_MS));
	}
	EXPECT_EQ(0, vhxl_vsock_tx_drain(&h->v, WAIT_MS));
	t0 = vt_now_ms();
	while (!h->c.rst_rcvd && vt_now_ms() - t0 < WAIT_MS)
		vhxl_vsock_poll(&h->v, 50);
	r = host_drain(h->hfd, h->buf, sizeof(h->buf), &n, WAIT_MS);
	TH_LOG("131072 bytes sent against a 16384-byte window: host kept %zu then %s; guest %s",
	       n, r ? strerror(-r) : "EOF", h->c.rst_rcvd ? "reset" : "not reset");
	EXPECT_LE(n, 16384u);
	EXPECT_EQ(-1, pat_check(h->buf, 0, n < sizeof(h->buf) ? n : sizeof(h->buf)));
	EXPECT_NE(-ETIMEDOUT, r);
	if (vt_intree())
		EXPECT_TRUE(h->c.rst_rcvd);
}

/*
 * The host writes into a guest that gives no more credit (it never sends a
 * CREDIT_UPDATE; with .no_rx it does not even post RX buffers): the send
 * times out with SO_SNDTIMEO having written exactly the window, a
 * non-blocking one says EAGAIN, and close() does not wait.
 */
static void host_writes_into_stuck_guest(struct __test_metadata *_metadata,
					 struct hctx *h, bool no_rx)
{
	struct hjob j = { .op = HJ_CLOSE };
	long long t0;
	ssize_t r;

	ASSERT_EQ(0, host_set_timeo(h->hfd, SO_SNDTIMEO, 500));
	pat_fill(h->buf, 0, sizeof(h->buf));
	t0 = vt_now_ms();
	r = send(h->hfd, h->buf, sizeof(h->buf), MSG_NOSIGNAL);
	TH_LOG("%s: send(%zu) returned %zd after %lld ms (window 32768)",
	       no_rx ? "no RX buffers" : "no credit update", sizeof(h->buf), r,
	       vt_now_ms() - t0);
	EXPECT_EQ(32768, r);
	EXPECT_LT(vt_now_ms() - t0, 3000);
	EXPECT_EQ(-1, send(h->hfd, h->buf, 100, MSG_NOSIGNAL | MSG_DONTWAIT));
	EXPECT_EQ(EAGAIN, errno);
	j.fd = h->hfd;
	h->hfd = -1;
	ASSERT_EQ(0, hjob_start(&j));
	ASSERT_EQ(0, hjob_join(&j, WAIT_MS));
	EXPECT_LT(j.ms, 1000);
	/* the guest catches up: the window's bytes, then SHUTDOWN (RST back) */
	if (no_rx)
		vhxl_vsock_rx_fill(&h->v);
	t0 = vt_now_ms();
	while (h->c.state != VHXL_VS_CLOSED && vt_now_ms() - t0 < WAIT_MS)
		vhxl_vsock_poll(&h->v, 50);
	EXPECT_EQ(32768u, h->c.rx_bytes);
	EXPECT_EQ(-1, pat_check(h->c.rxq + h->c.rxq_off, 0, h->c.rx_bytes));
	EXPECT_EQ(0ul, h->c.overruns);
	EXPECT_EQ((int)VHXL_VS_CLOSED, (int)h->c.state);
	TH_LOG("host close() took %lld ms; the guest then got %u bytes and the SHUTDOWN",
	       j.ms, h->c.rx_bytes);
}

static void c_ignore_credit(struct __test_metadata *_metadata, struct hctx *h,
			    const struct hcase *k)
{
	(void)k;
	est(_metadata, h, 32768);
	h->c.manual_credit = true;
	host_writes_into_stuck_guest(_metadata, h, false);
}

static void c_no_rx_buffers(struct __test_metadata *_metadata, struct hctx *h,
			    const struct hcase *k)
{
	(void)k;
	/* the RESPONSE cannot arrive, the host side is established anyway */
	vhxl_vsock_conn_init(&h->v, &h->c, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 32768);
	EXPECT_EQ(-ETIMEDOUT, vhxl_vsock_connect(&h->c, VHX_VSOCK_HOST_CID, h->lport, 300));
	h->hfd = host_accept(h->lfd, WAIT_MS);
	ASSERT_GE(h->hfd, 0);
	host_writes_into_stuck_guest(_metadata, h, true);
}

/* REQUESTs to a closed port (each one's reply an RST) with no RX buffers. */
static void c_request_flood(struct __test_metadata *_metadata, struct hctx *h,
			    const struct hcase *k)
{
	struct vhxl_vq *tx = &h->v.dev.vq[VHX_TX];
	uint32_t base = 0x10000000u + ((uint32_t)getpid() % 100000) * 2048;
	uint32_t cport = vt_port();
	unsigned posted = 0, rsts = 0, stray = 0, starved;
	struct virtio_vsock_hdr hd;
	struct vhxl_vsock_pkt *p;
	long long t0;

	(void)k;
	while (posted < 1000) {
		long long t;

		vhxl_vsock_hdr(&hd, h->v.cid, base + posted, VHX_VSOCK_HOST_CID, cport,
			       VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
		if (vhxl_vsock_post(&h->v, &hd, NULL, 0, NULL, 0) >= 0) {
			posted++;
			continue;
		}
		/* ring full: any progress within 500 ms? */
		t = vt_now_ms();
		while (!vhxl_vsock_tx_reclaim(&h->v) && vt_now_ms() - t < 500)
			vhxl_vsock_wait(&h->v, 50);
		if (vt_now_ms() - t >= 500)
			break;
	}
	vhxl_vsock_tx_reclaim(&h->v);
	starved = tx->used_total;
	TH_LOG("no RX buffers: %u REQUESTs posted, the device took %u (TX ring %u) and stopped",
	       posted, starved, tx->num);
	EXPECT_LT(posted, 1000u);
	EXPECT_LE(starved, 2u * tx->num);
	if (vt_intree())
		EXPECT_EQ(tx->num, starved);
	/* RX buffers: the replies flow and TX goes on */
	vhxl_vsock_rx_fill(&h->v);
	t0 = vt_now_ms();
	while (posted < 1000) {
		vhxl_vsock_hdr(&hd, h->v.cid, base + posted, VHX_VSOCK_HOST_CID, cport,
			       VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
		ASSERT_LE(0, vhxl_vsock_post(&h->v, &hd, NULL, 0, NULL, WAIT_MS));
		posted++;
	}
	EXPECT_EQ(0, vhxl_vsock_tx_drain(&h->v, WAIT_MS));
	while (rsts < 1000 && !vhxl_vsock_recv_pkt(&h->v, &p, 1000)) {
		uint32_t d = le32toh(p->hdr.dst_port);

		if (vhxl_vsock_op(&p->hdr) == VIRTIO_VSOCK_OP_RST && d >= base &&
		    d < base + 1000)
			rsts++;
		else
			stray++;
		vhxl_vsock_pkt_free(p);
	}
	TH_LOG("then all 1000 taken in %lld ms, %u RSTs back (%u other packets)",
	       vt_now_ms() - t0, rsts, stray);
	EXPECT_EQ(1000ul, tx->used_total);
	EXPECT_GT(rsts, 0u);
	EXPECT_LE(rsts, 1000u);
	if (vt_intree())
		EXPECT_EQ(1000u, rsts);
}

/* -------------------------------------------------------------- cases */

#define CASE_S(name, ...) \
	FIXTURE_VARIANT_ADD(hostile, name) { .c = { __VA_ARGS__ } }
#define CASE_P(name, ...) \
	FIXTURE_VARIANT_ADD(hostile, name##_packed) { .packed = true, .c = { __VA_ARGS__ } }
#define CASE(name, ...) CASE_S(name, __VA_ARGS__); CASE_P(name, __VA_ARGS__)

CASE(tx_hdr_short, "TX chain of 20 bytes (header is 44)", H_ERR, VHX_TX, c_hdr_short);
CASE(tx_hdr_split_short, "TX header in three descriptors of 10 bytes", H_ERR, VHX_TX,
     c_hdr_split_short);
CASE(tx_zero_len, "TX chain of one zero-length descriptor", H_ERR, VHX_TX, c_zero_len);
CASE(tx_len_beyond_chain, "hdr.len 1000 in a chain of 44 + 100 bytes", H_ERR, VHX_TX,
     c_len_beyond_chain);
CASE(tx_len_over_64k, "hdr.len 65537 in a chain that holds it", H_ERR, VHX_TX,
     c_len_over_64k);
CASE(tx_in_desc, "device-writable descriptor in a TX chain", H_ERR, VHX_TX, c_tx_in_desc);
CASE(tx_only_in, "TX chain of one device-writable descriptor", H_ERR, VHX_TX, c_tx_only_in);
CASE(rx_readable, "RX buffer the device may not write", H_ERR, VHX_RX, c_rx_readable,
     .no_rx = true);
CASE(rx_tiny, "RX buffer of 20 bytes (header is 44)", H_ERR, VHX_RX, c_rx_tiny,
     .no_rx = true);
CASE(rx_out_after_in, "RX chain: writable then readable", H_ERR, VHX_RX,
     c_rx_out_after_in, .no_rx = true);
CASE_S(len_64k_ok, "65536-byte payload, the largest (must work)", H_CLEAN, 0, c_len_64k_ok);
/* mainline: a listener answers anything but a REQUEST with an RST */
CASE_S(unknown_op, "op 99 to a listener", H_CLEAN, 0, c_semantic, .op = 99,
       .type = VIRTIO_VSOCK_TYPE_STREAM, .intree = R_RST, .vhx = R_ANY);
/* mainline: ignored on a connection (recv_connected: -EINVAL, dropped) */
CASE_S(unknown_op_conn, "op 99 on an established connection", H_CLEAN, 0,
       c_unknown_op_conn);
CASE_S(unknown_type, "REQUEST of type 9", H_CLEAN, 0, c_semantic,
       .op = VIRTIO_VSOCK_OP_REQUEST, .type = 9, .intree = R_RST, .vhx = R_ANY);
CASE_S(type_mismatch, "SEQPACKET REQUEST to a STREAM listener", H_CLEAN, 0, c_semantic,
       .op = VIRTIO_VSOCK_OP_REQUEST, .type = VIRTIO_VSOCK_TYPE_SEQPACKET,
       .intree = R_RST, .vhx = R_ANY);
/* mainline: TX drops packets not from the guest's CID to the host, silently */
CASE_S(wrong_src_cid, "REQUEST with src_cid = our CID + 1", H_CLEAN, 0, c_semantic,
       .op = VIRTIO_VSOCK_OP_REQUEST, .type = VIRTIO_VSOCK_TYPE_STREAM,
       .src_delta = 1, .intree = R_NONE, .vhx = R_ANY);
/* vsock-iface.md: with g2g off vhx answers an RST (connect fails fast) */
CASE_S(dst_not_served, "REQUEST to CID 7 (no such guest)", H_CLEAN, 0, c_dst_not_served,
       .op = VIRTIO_VSOCK_OP_REQUEST, .type = VIRTIO_VSOCK_TYPE_STREAM,
       .dst_cid = 7, .intree = R_NONE, .vhx = R_RST);
CASE_S(flood_no_credit, "RW far beyond the host's 16 KiB buffer", H_CLEAN, 0,
       c_flood_no_credit, .host_buf = 16384);
CASE_S(ignore_credit, "no CREDIT_UPDATE while the host writes", H_CLEAN, 0,
       c_ignore_credit);
CASE_S(no_rx_buffers, "no RX buffers while the host writes", H_CLEAN, 0,
       c_no_rx_buffers, .no_rx = true);
CASE_S(request_flood, "1000 REQUESTs to a closed port, no RX buffers", H_CLEAN, 0,
       c_request_flood, .no_rx = true);

FIXTURE_SETUP(hostile)
{
	const struct hcase *k = &variant->c;
	struct vhxl_vsock_cfg cfg = {
		.cid = vt_cid(), .packed = variant->packed, .num = NUM,
		.scratch = SCRATCH, .no_rx_fill = k->no_rx,
	};
	const char *why = variant->packed ? vhxl_vsock_skip_packed() :
					    vhxl_vsock_skip_reason();
	struct hctx *h = &self->h;

	h->lfd = h->hfd = -1;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_vsock_setup(&h->v, &cfg));
	h->up = true;
	h->lport = vt_port();
	h->lfd = host_listen(h->lport, SOCK_STREAM, k->host_buf);
	ASSERT_GE(h->lfd, 0);
}

FIXTURE_TEARDOWN(hostile)
{
	struct hctx *h = &self->h;

	if (h->connecting)
		host_connect_wait(h->hfd, 10);
	if (h->up) {
		vhxl_vsock_conn_fini(&h->c);
		vhxl_vsock_teardown(&h->v);
	}
	if (h->hfd >= 0)
		close(h->hfd);
	if (h->lfd >= 0)
		close(h->lfd);
}

/* After a reset: a new connection, data both ways, closed cleanly. */
static void works_after_reset(struct __test_metadata *_metadata, struct hctx *h)
{
	struct vhxl_vsock_conn c;
	int fd;

	ASSERT_EQ(0, vhxl_vsock_reset(&h->v));
	vhxl_vsock_conn_init(&h->v, &c, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 0);
	CONNECT_OK(&c, h->lport);
	fd = host_accept(h->lfd, WAIT_MS);
	ASSERT_GE(fd, 0);
	pat_fill(h->buf, 5, 3000);
	EXPECT_EQ(3000, vhxl_vsock_send(&c, h->buf, 3000, WAIT_MS));
	EXPECT_EQ(0, host_recv_all(fd, h->buf, 3000));
	EXPECT_EQ(-1, pat_check(h->buf, 5, 3000));
	pat_fill(h->buf, 0, 3000);
	EXPECT_EQ(3000, send(fd, h->buf, 3000, 0));
	{
		long long bad;

		EXPECT_EQ(0, guest_recv_pattern(&c, 0, 3000, &bad, WAIT_MS));
	}
	host_close(h, &c, &fd);
	EXPECT_EQ((int)VHXL_VS_CLOSED, (int)c.state);
	vhxl_vsock_conn_fini(&c);
	EXPECT_EQ(0u, vhxl_eventfd_read(h->v.dev.vq[VHX_RX].err_fd));
	EXPECT_EQ(0u, vhxl_eventfd_read(h->v.dev.vq[VHX_TX].err_fd));
}

TEST_F_TIMEOUT(hostile, run, 60)
{
	const struct hcase *k = &variant->c;
	struct hctx *h = &self->h;

	TH_LOG("%s", k->what);
	k->fn(_metadata, h, k);
	if (k->expect == H_ERR) {
		uint64_t e = vhxl_eventfd_wait(h->v.dev.vq[k->vq].err_fd, ERR_WAIT_MS);

		TH_LOG("ERR eventfd of %s: %s", k->vq == VHX_TX ? "TX" : "RX",
		       e ? "signalled" : "silent");
		EXPECT_GT(e, 0u);
		EXPECT_FALSE(host_pending(h->lfd, 100));
	} else {
		EXPECT_EQ(0u, vhxl_eventfd_read(h->v.dev.vq[VHX_RX].err_fd));
		EXPECT_EQ(0u, vhxl_eventfd_read(h->v.dev.vq[VHX_TX].err_fd));
	}
	if (h->connecting) {
		/* the host connect() whose REQUEST hit the bad RX buffer */
		host_connect_wait(h->hfd, 10);
		h->connecting = false;
		close(h->hfd);
		h->hfd = -1;
	}
	if (h->hfd >= 0 && h->c.state == VHXL_VS_ESTABLISHED)
		host_close(h, &h->c, &h->hfd);
	works_after_reset(_metadata, h);
}
