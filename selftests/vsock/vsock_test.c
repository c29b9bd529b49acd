// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_test - /dev/vhost-vsock through the mainline UAPI, driven by
 * vhxlib's guest driver (tools/lib/vhxvsock.h) against real AF_VSOCK
 * sockets of the lab VM (the host, CID 2).
 *
 * This file: the ring layouts.  Fixture "vsock", one variant per layout:
 * split and packed rings (packed SKIPs where bit 34 is not offered: the
 * in-tree vhost_vsock), EVENT_IDX off and on, packets in one descriptor,
 * header apart from the payload over three descriptors, indirect tables on
 * both queues, RX buffers in two descriptors.  Each variant: a guest
 * connects to a host listener and accept() returns it; a host socket
 * connects to a guest port (REQUEST seen, RESPONSE answered); 4 MiB
 * byte-exact each way across many ring wraps with small credit windows
 * (the guest advertises 16 KiB: the host must wait for the guest's
 * CREDIT_UPDATEs; the host socket's buffer is 16 KiB: the guest runs out of
 * credit, sends CREDIT_REQUESTs and is answered).
 *
 * The other files of the program (linked in this order, the order their
 * tests run in): vsock_proto.c (RST, half-close, close, seqpacket),
 * vsock_cid.c (CID rules), vsock_feat.c (dirty log, device IOTLB),
 * vsock_hostile.c (malformed rings and rude guests), vsock_owner.c (a
 * killed owner; vhx's counters).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>

#include "vsock_common.h"

#define STREAM_BYTES (4u << 20)
#define SMALL_WINDOW 16384u

FIXTURE(vsock)
{
	struct vhxl_vsock v;
	bool up;
	int lfd, hfd;
};

FIXTURE_VARIANT(vsock)
{
	bool packed, event_idx, indirect;
	unsigned tx_nsegs, rx_nsegs;
	bool hdr_separate;
	unsigned num;
};

FIXTURE_VARIANT_ADD(vsock, split) { .num = 128 };
FIXTURE_VARIANT_ADD(vsock, split_evt) {
	.event_idx = true, .tx_nsegs = 3, .hdr_separate = true, .rx_nsegs = 2,
	.num = 64,
};
FIXTURE_VARIANT_ADD(vsock, split_indirect) {
	.event_idx = true, .indirect = true, .tx_nsegs = 4, .rx_nsegs = 3,
	.num = 128,
};
FIXTURE_VARIANT_ADD(vsock, packed) { .packed = true, .num = 128 };
FIXTURE_VARIANT_ADD(vsock, packed_evt) {
	.packed = true, .event_idx = true, .tx_nsegs = 3, .hdr_separate = true,
	.rx_nsegs = 2, .num = 100,
};

FIXTURE_SETUP(vsock)
{
	struct vhxl_vsock_cfg c = {
		.cid = vt_cid(), .num = variant->num, .packed = variant->packed,
		.event_idx = variant->event_idx, .indirect = variant->indirect,
		.rx_indirect = variant->indirect, .tx_indirect = variant->indirect,
		.tx_nsegs = variant->tx_nsegs, .rx_nsegs = variant->rx_nsegs,
		.tx_hdr_separate = variant->hdr_separate,
		.tx_buf = 16384 + VHX_VSOCK_HDR_LEN,
	};
	const char *why = variant->packed ? vhxl_vsock_skip_packed() :
					    vhxl_vsock_skip_reason();

	self->lfd = self->hfd = -1;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_vsock_setup(&self->v, &c));
	self->up = true;
}

/*
 * The device first: its release resets the host sockets still connected to
 * it, which then close at once (closed first, an established host socket
 * would wait 8 s for the guest's RST, holding the module).
 */
FIXTURE_TEARDOWN(vsock)
{
	if (self->up)
		vhxl_vsock_teardown(&self->v);
	if (self->hfd >= 0)
		close(self->hfd);
	if (self->lfd >= 0)
		close(self->lfd);
}

/* A few bytes each way over an established connection. */
static void ping_pong(struct __test_metadata *_metadata, struct vhxl_vsock_conn *c,
		      int hfd, uint32_t seed)
{
	uint8_t out[1000], in[1000];
	size_t n;

	pat_fill(out, seed, sizeof(out));
	ASSERT_EQ((ssize_t)sizeof(out), vhxl_vsock_send(c, out, sizeof(out), WAIT_MS));
	for (n = 0; n < sizeof(in);) {
		struct pollfd p = { .fd = hfd, .events = POLLIN };
		ssize_t r;

		ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
		r = recv(hfd, in + n, sizeof(in) - n, 0);
		ASSERT_GT(r, 0);
		n += r;
	}
	EXPECT_EQ(-1, pat_check(in, seed, sizeof(in)));
	ASSERT_EQ((ssize_t)sizeof(out), send(hfd, out, sizeof(out), 0));
	for (n = 0; n < sizeof(in);) {
		ssize_t r = vhxl_vsock_recv(c, in + n, sizeof(in) - n, WAIT_MS);

		ASSERT_GT(r, 0);
		n += r;
	}
	EXPECT_EQ(-1, pat_check(in, seed, sizeof(in)));
}

TEST_F(vsock, guest_connects)
{
	struct vhxl_vsock_conn c;
	uint32_t port = vt_port(), gport = vt_port();
	struct sockaddr_vm peer;
	socklen_t l = sizeof(peer);
	long long t0;

	self->lfd = host_listen(port, SOCK_STREAM, 0);
	ASSERT_GE(self->lfd, 0);
	vhxl_vsock_conn_init(&self->v, &c, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
	t0 = vt_now_ms();
	CONNECT_OK(&c, port);
	self->hfd = host_accept(self->lfd, WAIT_MS);
	ASSERT_GE(self->hfd, 0);
	TH_LOG("guest %u:%u -> host port %u: RESPONSE and accept() in %lld ms, host buf_alloc %u",
	       (unsigned)self->v.cid, gport, port, vt_now_ms() - t0, c.peer_buf_alloc);
	ASSERT_EQ(0, getpeername(self->hfd, (struct sockaddr *)&peer, &l));
	EXPECT_EQ(self->v.cid, peer.svm_cid);
	EXPECT_EQ(gport, peer.svm_port);
	EXPECT_GT(c.peer_buf_alloc, 0u);
	ping_pong(_metadata, &c, self->hfd, 7);
	EXPECT_EQ(0ul, c.unexpected);
	vhxl_vsock_conn_fini(&c);
}

TEST_F(vsock, host_connects)
{
	struct vhxl_vsock_conn c;
	uint32_t gport = vt_port();
	struct sockaddr_vm me;
	socklen_t l = sizeof(me);
	long long t0 = vt_now_ms();

	self->hfd = host_connect_nb(self->v.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(self->hfd, 0);
	vhxl_vsock_conn_init(&self->v, &c, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
	ACCEPT_OK(&c);
	EXPECT_EQ((uint64_t)VHX_VSOCK_HOST_CID, c.peer_cid);
	ASSERT_EQ(0, host_connect_wait(self->hfd, WAIT_MS));
	ASSERT_EQ(0, getsockname(self->hfd, (struct sockaddr *)&me, &l));
	EXPECT_EQ(c.peer_port, me.svm_port);
	TH_LOG("host port %u -> guest %u:%u: REQUEST seen, connect() done in %lld ms",
	       c.peer_port, (unsigned)self->v.cid, gport, vt_now_ms() - t0);
	ping_pong(_metadata, &c, self->hfd, 11);
	EXPECT_EQ(0ul, c.unexpected);
	vhxl_vsock_conn_fini(&c);
}

/* Host -> guest: the guest's 16 KiB window paces the host. */
TEST_F_TIMEOUT(vsock, stream_to_guest, 90)
{
	struct vhxl_vq *rx = &self->v.dev.vq[VHX_RX];
	struct hjob j = { .op = HJ_SEND, .len = STREAM_BYTES };
	struct vhxl_vsock_conn c;
	uint32_t port = vt_port();
	unsigned long used0;
	long long bad, t0;

	self->lfd = host_listen(port, SOCK_STREAM, 0);
	ASSERT_GE(self->lfd, 0);
	vhxl_vsock_conn_init(&self->v, &c, VIRTIO_VSOCK_TYPE_STREAM, vt_port(),
			     SMALL_WINDOW);
	CONNECT_OK(&c, port);
	self->hfd = host_accept(self->lfd, WAIT_MS);
	ASSERT_GE(self->hfd, 0);
	used0 = rx->used_total;
	j.fd = self->hfd;
	t0 = vt_now_ms();
	ASSERT_EQ(0, hjob_start(&j));
	EXPECT_EQ(0, guest_recv_pattern(&c, 0, STREAM_BYTES, &bad, 20000));
	ASSERT_EQ(0, hjob_join(&j, 20000));
	TH_LOG("%u bytes host->guest in %lld ms: %lu RX buffers (ring of %u), %lu CREDIT_UPDATEs from the guest, first bad byte %lld",
	       STREAM_BYTES, vt_now_ms() - t0, rx->used_total - used0, rx->num,
	       c.credit_updates_tx, bad);
	EXPECT_EQ(0, j.err);
	EXPECT_EQ((uint64_t)STREAM_BYTES, j.done);
	EXPECT_EQ(-1, bad);
	/* the host never had more than our window in flight ... */
	EXPECT_EQ(0ul, c.overruns);
	/* ... so it needed our updates to send the rest */
	EXPECT_GE(c.credit_updates_tx, (unsigned long)(STREAM_BYTES / SMALL_WINDOW - 1));
	EXPECT_GT(rx->used_total - used0, 4ul * rx->num);
	EXPECT_EQ(0ul, c.unexpected);
	EXPECT_EQ(0ul, self->v.rx_bad);
	vhxl_vsock_conn_fini(&c);
}

/* Guest -> host: the host socket's 16 KiB buffer paces the guest. */
TEST_F_TIMEOUT(vsock, stream_to_host, 90)
{
	struct vhxl_vq *tx = &self->v.dev.vq[VHX_TX];
	struct hjob j = { .op = HJ_RECV, .len = STREAM_BYTES };
	static uint8_t buf[65536];
	struct vhxl_vsock_conn c;
	uint32_t port = vt_port();
	unsigned long used0, upd0;
	uint64_t off, n;
	long long t0;

	self->lfd = host_listen(port, SOCK_STREAM, SMALL_WINDOW);
	ASSERT_GE(self->lfd, 0);
	vhxl_vsock_conn_init(&self->v, &c, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 0);
	CONNECT_OK(&c, port);
	EXPECT_EQ(SMALL_WINDOW, c.peer_buf_alloc);
	self->hfd = host_accept(self->lfd, WAIT_MS);
	ASSERT_GE(self->hfd, 0);
	/*
	 * The host's window filled while nobody reads: a CREDIT_REQUEST is
	 * answered by a CREDIT_UPDATE that gives nothing more.
	 */
	pat_fill(buf, 0, SMALL_WINDOW);
	ASSERT_EQ((ssize_t)SMALL_WINDOW, vhxl_vsock_send(&c, buf, SMALL_WINDOW, WAIT_MS));
	EXPECT_EQ(0u, vhxl_vsock_peer_credit(&c));
	upd0 = c.credit_updates_rx;
	t0 = vt_now_ms();
	ASSERT_EQ(0, vhxl_vsock_credit_request(&c));
	while (c.credit_updates_rx == upd0 && vt_now_ms() - t0 < WAIT_MS)
		vhxl_vsock_poll(&self->v, 100);
	EXPECT_EQ(upd0 + 1, c.credit_updates_rx);
	EXPECT_EQ(0u, vhxl_vsock_peer_credit(&c));
	TH_LOG("window of %u bytes full: CREDIT_REQUEST answered by CREDIT_UPDATE in %lld ms, credit %u",
	       SMALL_WINDOW, vt_now_ms() - t0, vhxl_vsock_peer_credit(&c));
	j.fd = self->hfd;
	used0 = tx->used_total;
	t0 = vt_now_ms();
	ASSERT_EQ(0, hjob_start(&j));
	for (off = SMALL_WINDOW; off < STREAM_BYTES; off += n) {
		n = STREAM_BYTES - off < sizeof(buf) ? STREAM_BYTES - off : sizeof(buf);
		pat_fill(buf, off, n);
		ASSERT_EQ((ssize_t)n, vhxl_vsock_send(&c, buf, n, 20000));
	}
	ASSERT_EQ(0, hjob_join(&j, 20000));
	vhxl_vsock_tx_drain(&self->v, WAIT_MS);
	TH_LOG("%u bytes guest->host in %lld ms: %lu TX chains (ring of %u), %lu credit stalls, %lu CREDIT_REQUESTs, %lu CREDIT_UPDATEs from the host",
	       STREAM_BYTES, vt_now_ms() - t0, tx->used_total - used0, tx->num,
	       c.credit_stalls, c.credit_requests, c.credit_updates_rx);
	EXPECT_EQ(0, j.err);
	EXPECT_EQ((uint64_t)STREAM_BYTES, j.done);
	EXPECT_EQ(-1, j.bad);
	EXPECT_GT(c.credit_stalls, 0ul);
	EXPECT_GT(c.credit_requests, 0ul);
	EXPECT_GT(c.credit_updates_rx, 0ul);
	EXPECT_GT(tx->used_total - used0, 2ul * tx->num);
	EXPECT_EQ(0ul, c.unexpected);
	vhxl_vsock_conn_fini(&c);
}

TEST_HARNESS_MAIN
