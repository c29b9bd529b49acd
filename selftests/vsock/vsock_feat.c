// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_feat.c - vsock_test's migration and IOMMU features, split and
 * packed rings (fixture "feat"):
 *
 * dirty_log: VHOST_F_LOG_ALL, SET_LOG_BASE / SET_LOG_FD, VHOST_VRING_F_LOG
 * on both queues (log address: the used ring, or the packed device event
 * area); a host socket connects, data flows both ways, and the bitmap
 * must hold exactly the pages the device wrote: the used rings (packed:
 * the descriptor rings, the device event areas optional), never a TX
 * buffer, and for vhx the pages of every RX buffer written, as the used
 * entries say.  Mainline vhost_vsock does not log RX data pages (its RX
 * path passes no log to vhost_get_vq_desc(): a known gap, migration can
 * lose received packets): under VHX_TARGET=intree the expectation is
 * exactly the used rings and the RX buffer pages must be clear.
 *
 * iotlb: VIRTIO_F_ACCESS_PLATFORM + VHOST_BACKEND_F_IOTLB_MSG_V2, ring and
 * buffer addresses are IOVAs (our GPAs, 1 MiB based).  Only the used ring
 * pages are mapped before SET_RUNNING; then a host socket connects and
 * every miss the device reports (read from the device fd while the guest
 * driver waits, checked: a v2 MISS inside guest memory) is answered with
 * an UPDATE of that one page, until the connection and 64 KiB each way
 * went through; INVALIDATE of
 * everything makes the next transfer miss again; with all memory mapped
 * by one UPDATE, traffic needs no miss.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "../net/dlog.h"
#include "../net/iotlbfix.h"
#include "vsock_common.h"

FIXTURE(feat)
{
	struct vhxl_vsock v;
	struct vhxl_vsock_conn c;
	struct dlog log;
	bool up;
	int hfd;
	uint8_t buf[65536];
};

FIXTURE_VARIANT(feat)
{
	bool packed;
};

FIXTURE_VARIANT_ADD(feat, split) { .packed = false };
FIXTURE_VARIANT_ADD(feat, packed) { .packed = true };

FIXTURE_SETUP(feat)
{
	const char *why = variant->packed ? vhxl_vsock_skip_packed() :
					    vhxl_vsock_skip_reason();

	self->hfd = -1;
	self->log.fd = -1;
	if (why)
		SKIP(return, "%s", why);
}

FIXTURE_TEARDOWN(feat)
{
	if (self->up) {
		vhxl_vsock_conn_fini(&self->c);
		vhxl_vsock_teardown(&self->v);
	}
	if (self->hfd >= 0)
		close(self->hfd);
	dlog_free(&self->log);
}

/* ----------------------------------------------------------- dirty log */

/* net/dlog.c's bitmap over a vsock device, then the device started. */
static int vlog_start(struct dlog *l, struct vhxl_vsock *v)
{
	int r = dlog_init(l, &v->dev, &v->mem);

	return r ? r : vhxl_vsock_start(v);
}

/* The ring areas the device writes. */
static void mark_ring(struct dlog *l, struct vhxl_vq *vq)
{
	if (vq->packed) {
		dlog_mark(l, vq->desc_gpa, 16 * vq->num);
		dlog_may_mark(l, vq->used_gpa, sizeof(struct vring_packed_desc_event));
	} else {
		dlog_mark(l, vq->used_gpa, 6 + 8 * vq->num + 2);
	}
}

/* Used entries of @vq from position @first (split: index) up to its
 * last_used: each buffer and length the device reported. */
static unsigned for_each_used(struct vhxl_vq *vq, uint16_t first, bool wrap,
			      void (*fn)(void *, uint64_t, uint32_t), void *arg)
{
	unsigned n = 0;

	if (!vq->packed) {
		uint16_t i;

		for (i = first; i != vq->last_used; i++, n++) {
			struct vring_used_elem *e = &vq->used->ring[i % vq->num];

			fn(arg, vq->buf[e->id], e->len);
		}
		return n;
	}
	while (first != vq->last_used || wrap != vq->used_wrap) {
		struct vring_packed_desc *d = &vq->pdesc[first];

		fn(arg, vq->buf[d->id], d->len);
		n++;
		if (++first == vq->num) {
			first = 0;
			wrap = !wrap;
		}
	}
	return n;
}

static void mark_buf(void *l, uint64_t gpa, uint32_t len)
{
	dlog_mark(l, gpa, len);
}

static void count_buf(void *p, uint64_t gpa, uint32_t len)
{
	(void)gpa;
	*(uint64_t *)p += len;
}

TEST_F(feat, dirty_log)
{
	struct vhxl_vsock_cfg cfg = {
		.cid = vt_cid(), .packed = variant->packed, .log_all = true,
		.no_start = true, .num = 64,
	};
	struct vhxl_vq *rx = &self->v.dev.vq[VHX_RX], *tx = &self->v.dev.vq[VHX_TX];
	uint32_t gport = vt_port();
	uint64_t rx_bytes = 0;
	unsigned long upd0;
	unsigned nbuf, i;
	long long t0;
	uint16_t first;
	bool wrap;
	size_t n;

	ASSERT_EQ(0, vhxl_vsock_setup(&self->v, &cfg));
	self->up = true;
	ASSERT_EQ(0, vlog_start(&self->log, &self->v));
	self->hfd = host_connect_nb(self->v.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(self->hfd, 0);
	vhxl_vsock_conn_init(&self->v, &self->c, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
	self->c.manual_credit = true;	/* only the packets below */
	ACCEPT_OK(&self->c);
	ASSERT_EQ(0, host_connect_wait(self->hfd, WAIT_MS));
	ASSERT_EQ(0, vhxl_vsock_tx_drain(&self->v, WAIT_MS));

	/*
	 * No RX buffer goes back until the walk below: a packed ring's used
	 * descriptors are overwritten by the buffers posted again.
	 */
	self->v.cfg.no_repost = true;
	dlog_clear(&self->log);
	first = rx->last_used;
	wrap = rx->used_wrap;
	/* host -> guest: 100, 5000 and 9000 bytes (several RX buffers) */
	for (i = 0; i < 3; i++) {
		size_t len = i == 0 ? 100 : i == 1 ? 5000 : 9000;

		pat_fill(self->buf, i, len);
		ASSERT_EQ((ssize_t)len, send(self->hfd, self->buf, len, 0));
		for (n = 0; n < len;) {
			ssize_t r = vhxl_vsock_recv(&self->c, self->buf, len - n, WAIT_MS);

			ASSERT_GT(r, 0);
			EXPECT_EQ(-1, pat_check(self->buf, i + n, r));
			n += r;
		}
	}
	/* guest -> host: 3000 bytes (only the TX used ring is written) */
	pat_fill(self->buf, 0, 3000);
	ASSERT_EQ(3000, vhxl_vsock_send(&self->c, self->buf, 3000, WAIT_MS));
	ASSERT_EQ(0, vhxl_vsock_tx_drain(&self->v, WAIT_MS));
	upd0 = self->c.credit_updates_rx;
	for (n = 0; n < 3000;) {
		ssize_t r = recv(self->hfd, self->buf, 3000 - n, 0);

		ASSERT_GT(r, 0);
		n += r;
	}
	/* the host read all: its CREDIT_UPDATE is the last RX packet */
	t0 = vt_now_ms();
	while (self->c.credit_updates_rx == upd0 && vt_now_ms() - t0 < WAIT_MS)
		vhxl_vsock_poll(&self->v, 50);
	EXPECT_GT(self->c.credit_updates_rx, upd0);
	nbuf = for_each_used(rx, first, wrap, count_buf, &rx_bytes);
	ASSERT_LT(nbuf, rx->num);	/* the walk must not lap the ring */
	mark_ring(&self->log, rx);
	mark_ring(&self->log, tx);
	if (vt_intree()) {
		TH_LOG("in-tree vhost_vsock logs the used rings only, not the %u RX buffers it wrote (%llu bytes): expecting exactly that",
		       nbuf, (unsigned long long)rx_bytes);
	} else {
		for_each_used(rx, first, wrap, mark_buf, &self->log);
		TH_LOG("%u RX buffers written (%llu bytes): their pages and the used rings expected",
		       nbuf, (unsigned long long)rx_bytes);
	}
	EXPECT_GE(nbuf, 5u);
	DLOG_EXPECT_MATCH(&self->log, "");
	EXPECT_GT(vhxl_eventfd_read(self->log.fd), 0u);
}

/* ---------------------------------------------------------------- IOTLB */

struct misses {
	int answered;
	int bad;		/* not a v2 MISS inside guest memory */
	uint64_t bad_iova;
};

/*
 * The library's idle hook: answer every pending miss with its page, then
 * kick both queues (the device retries on the UPDATE; a kick covers a
 * retry it might owe).
 */
static void answer_misses(struct vhxl_vsock *v, void *arg)
{
	struct misses *ms = arg;
	int n = 0;

	for (;;) {
		struct pollfd p = { .fd = v->dev.fd, .events = POLLIN };
		struct vhost_msg_v2 m;
		uint64_t page;
		void *hva;

		if (poll(&p, 1, 0) <= 0)
			break;
		if (read(v->dev.fd, &m, sizeof(m)) != sizeof(m)) {
			ms->bad++;
			break;
		}
		page = m.iotlb.iova & ~(VHX_PAGE - 1);
		hva = vhxl_gpa(&v->mem, page, VHX_PAGE);
		if (m.type != VHOST_IOTLB_MSG_V2 || m.iotlb.type != VHOST_IOTLB_MISS ||
		    !hva) {
			ms->bad++;
			ms->bad_iova = m.iotlb.iova;
			continue;
		}
		if (iotlb_send(v->dev.fd, true, VHOST_IOTLB_UPDATE, page, VHX_PAGE,
			       (uintptr_t)hva, VHOST_ACCESS_RW) != sizeof(struct vhost_msg_v2))
			ms->bad++;
		n++;
	}
	if (n) {
		ms->answered += n;
		vhxl_vq_kick_force(&v->dev.vq[VHX_RX]);
		vhxl_vq_kick_force(&v->dev.vq[VHX_TX]);
	}
}

/* 64 KiB each way (the guest waits answer the misses). */
static void iotlb_traffic(struct __test_metadata *_metadata,
			  FIXTURE_DATA(feat) *self, uint64_t off)
{
	struct hjob hs = { .op = HJ_SEND, .len = 65536, .off = off, .fd = self->hfd };
	struct hjob hr = { .op = HJ_RECV, .len = 65536, .off = off, .fd = self->hfd };
	long long bad;

	ASSERT_EQ(0, hjob_start(&hs));
	EXPECT_EQ(0, guest_recv_pattern(&self->c, off, 65536, &bad, WAIT_MS));
	EXPECT_EQ(-1, bad);
	ASSERT_EQ(0, hjob_join(&hs, WAIT_MS));
	EXPECT_EQ(65536u, hs.done);
	ASSERT_EQ(0, hjob_start(&hr));
	pat_fill(self->buf, off, 65536);
	EXPECT_EQ(65536, vhxl_vsock_send(&self->c, self->buf, 65536, WAIT_MS));
	EXPECT_EQ(0, vhxl_vsock_tx_drain(&self->v, WAIT_MS));
	ASSERT_EQ(0, hjob_join(&hr, WAIT_MS));
	EXPECT_EQ(65536u, hr.done);
	EXPECT_EQ(-1, hr.bad);
}

TEST_F(feat, iotlb)
{
	struct vhxl_vsock_cfg cfg = {
		.cid = vt_cid(), .packed = variant->packed, .platform = true,
		.no_start = true, .num = 64, .tx_buf = 16384 + VHX_VSOCK_HDR_LEN,
	};
	uint64_t bf = 1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2;
	struct misses ms = { 0 };
	uint32_t gport = vt_port();
	int i, m0, m1, m2;
	long long t0;

	ASSERT_EQ(0, vhxl_vsock_setup(&self->v, &cfg));
	self->up = true;
	ASSERT_EQ(0, vhxl_ioctl(self->v.dev.fd, VHOST_SET_BACKEND_FEATURES, &bf));
	/* the used rings (written at SET_RUNNING by mainline), nothing else */
	for (i = 0; i < VHX_NVQS; i++) {
		struct vhxl_vq *vq = &self->v.dev.vq[i];

		ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2),
			  iotlb_send(self->v.dev.fd, true, VHOST_IOTLB_UPDATE, vq->used_gpa,
				     VHX_PAGE, (uintptr_t)vhxl_gpa(&self->v.mem, vq->used_gpa, 1),
				     VHOST_ACCESS_RW));
	}
	ASSERT_EQ(0, vhxl_vsock_start(&self->v));
	self->v.idle = answer_misses;
	self->v.idle_arg = &ms;

	/* the connection: rings and buffers of both queues miss first */
	self->hfd = host_connect_nb(self->v.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(self->hfd, 0);
	vhxl_vsock_conn_init(&self->v, &self->c, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
	ACCEPT_OK(&self->c);
	ASSERT_EQ(0, vhxl_vsock_tx_drain(&self->v, WAIT_MS));
	ASSERT_EQ(0, host_connect_wait(self->hfd, WAIT_MS));
	iotlb_traffic(_metadata, self, 0);
	m0 = ms.answered;
	TH_LOG("%d misses answered page by page: connection and 64 KiB each way", m0);
	EXPECT_GE(m0, 4);

	/* INVALIDATE everything: the next transfer misses again */
	ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2),
		  iotlb_send(self->v.dev.fd, true, VHOST_IOTLB_INVALIDATE,
			     self->v.mem.r[0].gpa, self->v.mem.size, 0, 0));
	iotlb_traffic(_metadata, self, 1000);
	m1 = ms.answered - m0;
	EXPECT_GE(m1, 2);

	/* everything mapped by one UPDATE (misses still queued from before
	 * answered first): no miss */
	ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2),
		  iotlb_send(self->v.dev.fd, true, VHOST_IOTLB_UPDATE,
			     self->v.mem.r[0].gpa, self->v.mem.size,
			     (uintptr_t)self->v.mem.base, VHOST_ACCESS_RW));
	for (t0 = vt_now_ms(); vt_now_ms() - t0 < 300;)
		vhxl_vsock_poll(&self->v, 50);
	m2 = ms.answered;
	iotlb_traffic(_metadata, self, 2000);
	m2 = ms.answered - m2;
	EXPECT_EQ(0, m2);
	TH_LOG("after INVALIDATE: %d misses; all memory mapped: %d; bad messages %d (iova 0x%llx)",
	       m1, m2, ms.bad, (unsigned long long)ms.bad_iova);
	EXPECT_EQ(0, ms.bad);
	EXPECT_EQ(0ul, self->c.unexpected);
}
