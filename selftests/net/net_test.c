// SPDX-License-Identifier: GPL-2.0
/*
 * net_test - byte-exact TX and RX through a tap backend.
 *
 * TX: the guest posts a frame on vq 1, vhost sends it into the tap, the frame
 * is read back from an AF_PACKET socket bound to the tap.
 * RX: a frame is injected with AF_PACKET into the tap's transmit path, vhost
 * copies it into guest RX buffers (vq 0); bytes and the virtio-net header
 * (flags/gso zero, num_buffers) are checked.
 *
 * Large frames: the tap MTU is raised to 65521 (tun's max_mtu = 65535 - 14), so
 * a single 65535-byte Ethernet frame travels both ways without GSO; this is
 * the largest frame AF_PACKET may inject on the tap.  TX does not depend on
 * the MTU (tun does not check it on input) but the same sizes are used.
 *
 * Variants cover mergeable on/off, VERSION_1 off (10-byte header), indirect
 * descriptors, EVENT_IDX on/off, ring sizes 64/256/1024, non-identity memory
 * over several regions, and header-by-vhost (VHOST_NET_F_VIRTIO_NET_HDR with
 * a tap without IFF_VNET_HDR).
 *
 * Every variant runs twice: on split rings, and as NAME_packed on packed
 * rings (VIRTIO_F_RING_PACKED) of a size that is not a power of two
 * (3/4 of the split size, plus one: 49, 193, 769), through the same tests
 * and the same vhxlib helpers.  The packed ones SKIP when the device does
 * not offer bit 34 (the in-tree vhost_net).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/ioctl.h>
#include <time.h>

#include "harness.h"
#include "vhxlib.h"

#define MAX_FRAME 65535
#define TAP_MTU (MAX_FRAME - 14)

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_EVT VHX_BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_IND VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_HDR VHX_BIT(VHOST_NET_F_VIRTIO_NET_HDR)
#define F_PACKED VHX_F_RING_PACKED

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

FIXTURE(net)
{
	struct vhxl_net n;
	bool up;
	uint8_t *frame, *rbuf;
	struct vhxl_tx_opts txo;
	struct vhxl_rx_opts rxo;
	unsigned long rx_frames;
};

FIXTURE_VARIANT(net)
{
	bool packed;		/* packed rings, size num * 3 / 4 + 1 */
	uint64_t features;
	unsigned num;
	size_t rx_buf;		/* per RX buffer */
	bool indirect;		/* post chains through indirect tables */
	unsigned tx_segs;	/* TX descriptors per frame */
	unsigned rx_segs;	/* RX descriptors per buffer */
	bool gpa_offset;	/* GPA != HVA, several regions */
	unsigned nregions;
	unsigned busyloop_us;	/* VHOST_SET_VRING_BUSYLOOP_TIMEOUT */
};

/* Each variant on split rings, and as NAME_packed on packed rings. */
#define NET_VARIANT(name, ...)						\
	FIXTURE_VARIANT_ADD(net, name) { __VA_ARGS__ };			\
	FIXTURE_VARIANT_ADD(net, name##_packed) { .packed = true, __VA_ARGS__ }

/* VERSION_1 + mergeable, the DPDK shape, 256 entries */
NET_VARIANT(mrg,
	.features = F_V1 | F_MRG | F_IND, .num = 256, .rx_buf = 1536,
	.tx_segs = 1, .rx_segs = 1);
/* VERSION_1, no mergeable: one big buffer per packet */
NET_VARIANT(nomrg,
	.features = F_V1, .num = 64, .rx_buf = MAX_FRAME + 12,
	.tx_segs = 2, .rx_segs = 1);
/* legacy: no VERSION_1, no mergeable → 10-byte header, no num_buffers */
NET_VARIANT(legacy,
	.features = 0, .num = 64, .rx_buf = MAX_FRAME + 10,
	.tx_segs = 1, .rx_segs = 3);
/* legacy + mergeable: 12-byte header */
NET_VARIANT(legacy_mrg,
	.features = F_MRG | F_EVT, .num = 256, .rx_buf = 4096,
	.tx_segs = 3, .rx_segs = 2);
/* indirect tables for TX and RX, event idx */
NET_VARIANT(indirect,
	.features = F_V1 | F_MRG | F_IND | F_EVT, .num = 64, .rx_buf = 2048,
	.indirect = true, .tx_segs = 4, .rx_segs = 3);
/* indirect without mergeable: large indirect RX chains */
NET_VARIANT(indirect_nomrg,
	.features = F_V1 | F_IND, .num = 256, .rx_buf = MAX_FRAME + 12,
	.indirect = true, .tx_segs = 16, .rx_segs = 16);
/* event idx, 1024-entry ring */
NET_VARIANT(evtidx_1024,
	.features = F_V1 | F_MRG | F_EVT, .num = 1024, .rx_buf = 1536,
	.tx_segs = 2, .rx_segs = 1);
/* QEMU-like memory: GPA != HVA, 8 regions (buffers straddle regions) */
NET_VARIANT(gpa_regions,
	.features = F_V1 | F_MRG | F_EVT, .num = 256, .rx_buf = 1536,
	.tx_segs = 1, .rx_segs = 1, .gpa_offset = true, .nregions = 8);
/* busy polling on both queues (QEMU's poll-us=) */
NET_VARIANT(busypoll,
	.features = F_V1 | F_MRG | F_EVT, .num = 256, .rx_buf = 1536,
	.tx_segs = 1, .rx_segs = 1, .busyloop_us = 50);
/* header added/stripped by vhost, tap without IFF_VNET_HDR */
NET_VARIANT(vhost_hdr,
	.features = F_V1 | F_MRG | F_HDR, .num = 256, .rx_buf = 1536,
	.tx_segs = 2, .rx_segs = 1);
/* header by vhost, no mergeable, legacy 10-byte header */
NET_VARIANT(vhost_hdr_legacy,
	.features = F_HDR | F_EVT, .num = 64, .rx_buf = MAX_FRAME + 10,
	.tx_segs = 1, .rx_segs = 1);

FIXTURE_SETUP(net)
{
	struct vhxl_net_cfg c = {
		.features = variant->features | (variant->packed ? F_PACKED : 0),
		.num = variant->packed ? variant->num * 3 / 4 + 1 : variant->num,
		.rx_buf = variant->rx_buf,
		.tx_buf = MAX_FRAME + 64,
		.ind_max = variant->indirect ? 32 : 0,
		.identity = !variant->gpa_offset,
		.nregions = variant->nregions,
		.mtu = TAP_MTU,
	};
	const char *why = variant->packed ? vhxl_skip_packed() : vhxl_skip_reason();
	int r;

	if (why)
		SKIP(return, "%s", why);
	/* keep the big-TX-buffer variants affordable */
	if (variant->num > 256)
		c.tx_buf = 16384;
	r = vhxl_net_setup(&self->n, &c);
	if (r)
		TH_LOG("vhxl_net_setup: %s", strerror(-r));
	ASSERT_EQ(0, r);
	self->up = true;
	for (unsigned q = 0; variant->busyloop_us && q < VHX_NVQS; q++) {
		struct vhost_vring_state st = { .index = q, .num = variant->busyloop_us };

		ASSERT_EQ(0, ioctl(self->n.dev.fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &st));
	}
	self->frame = malloc(MAX_FRAME + 64);
	self->rbuf = malloc(MAX_FRAME + 64);
	ASSERT_NONNULL(self->frame);
	ASSERT_NONNULL(self->rbuf);
	self->txo = (struct vhxl_tx_opts){
		.nsegs = variant->tx_segs, .hdr_separate = variant->tx_segs > 1,
		.indirect = variant->indirect,
	};
	self->rxo = (struct vhxl_rx_opts){
		.nsegs = variant->rx_segs, .indirect = variant->indirect,
	};
}

FIXTURE_TEARDOWN(net)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
	free(self->frame);
	free(self->rbuf);
}

/* TX one frame of @len bytes and check it arrives byte-exact on the tap. */
static void tx_check(struct __test_metadata *_metadata,
		     FIXTURE_DATA(net) *self, size_t len, uint32_t seq,
		     const struct vhxl_tx_opts *o)
{
	ssize_t got;
	size_t bad;
	int r;

	if (o->nsegs + 1 > self->n.dev.vq[VHX_TX].num_free && !o->indirect)
		vhxl_tx_reclaim(&self->n.dev);
	vhxl_make_frame(self->frame, len, seq);
	r = vhxl_net_tx_one(&self->n, self->frame, len, o, 5000);
	if (r)
		TH_LOG("tx of %zu bytes: %s", len, strerror(-r));
	ASSERT_EQ(0, r);
	got = vhxl_tap_recv(&self->n.tap, self->rbuf, MAX_FRAME + 64, 5000);
	if (got < 0)
		TH_LOG("tap recv (frame %zu bytes): %s", len, strerror((int)-got));
	ASSERT_EQ((ssize_t)len, got);
	bad = vhxl_check_frame(self->rbuf, len, seq);
	if (bad)
		TH_LOG("frame %zu bytes differs at offset %zu", len, bad - 1);
	ASSERT_EQ(0u, bad);
}

/* Inject one frame into the tap and check the guest receives it. */
static void rx_check(struct __test_metadata *_metadata,
		     FIXTURE_DATA(net) *self, size_t len, uint32_t seq)
{
	struct vhxl_dev *d = &self->n.dev;
	struct virtio_net_hdr_mrg_rxbuf h;
	unsigned nbufs = 0;
	ssize_t got;
	size_t bad;
	int r;

	vhxl_rx_fill(d, d->vq[VHX_RX].num, &self->rxo);
	vhxl_make_frame(self->frame, len, seq);
	r = vhxl_tap_inject(&self->n.tap, self->frame, len);
	if (r)
		TH_LOG("inject %zu bytes: %s", len, strerror(-r));
	ASSERT_EQ(0, r);
	memset(&h, 0xee, sizeof(h));
	got = vhxl_rx_recv(d, self->rbuf, MAX_FRAME + 64, &h, &nbufs, 5000);
	if (got < 0)
		TH_LOG("rx of %zu bytes: %s", len, strerror((int)-got));
	ASSERT_EQ((ssize_t)len, got);
	bad = vhxl_check_frame(self->rbuf, len, seq);
	if (bad)
		TH_LOG("rx frame %zu bytes differs at offset %zu", len, bad - 1);
	ASSERT_EQ(0u, bad);
	EXPECT_EQ(0, h.hdr.flags);
	EXPECT_EQ(VIRTIO_NET_HDR_GSO_NONE, h.hdr.gso_type);
	EXPECT_EQ(0, h.hdr.gso_size);
	EXPECT_EQ(0, h.hdr.csum_start);
	EXPECT_EQ(0, h.hdr.csum_offset);
	if (d->features & F_MRG) {
		EXPECT_EQ(nbufs, h.num_buffers);
	} else if (d->features & F_V1) {
		/*
		 * VERSION_1 without mergeable: 6.1 vhost-net leaves num_buffers
		 * alone (the tap writes only 10 bytes: our buffers hold 0 or an
		 * older header there); mainline since "vhost/net: Set
		 * num_buffers for virtio 1.0" (2025) and vhx write 1.
		 */
		EXPECT_TRUE(h.num_buffers == 1 || h.num_buffers == 0);
	}
	if (!(d->features & F_MRG))
		EXPECT_EQ(1u, nbufs);
	self->rx_frames++;
}

static const size_t sizes[] = { 15, 60, 61, 1514, 4110, 9014, 32768, MAX_FRAME };

TEST_F(net, tx_sizes)
{
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		if (sizes[i] + 16 > self->n.dev.vq[VHX_TX].buf_size)
			continue;
		tx_check(_metadata, self, sizes[i], i, &self->txo);
	}
	EXPECT_EQ(0, vhxl_tap_drain(&self->n.tap, 50));
	EXPECT_EQ(0u, vhxl_eventfd_read(self->n.dev.vq[VHX_TX].err_fd));
}

TEST_F(net, tx_scatter)
{
	static const unsigned segs[] = { 1, 2, 5, 16, 33 };
	unsigned i, j;
	uint32_t seq = 100;

	for (i = 0; i < sizeof(segs) / sizeof(segs[0]); i++) {
		for (j = 0; j < 2; j++) {
			struct vhxl_tx_opts o = {
				.nsegs = segs[i], .hdr_separate = j,
				.indirect = self->txo.indirect,
			};

			if (o.indirect && o.nsegs > self->n.dev.vq[VHX_TX].ind_max)
				continue;
			if (!o.indirect && o.nsegs > self->n.dev.vq[VHX_TX].num)
				continue;
			tx_check(_metadata, self, 1514, seq++, &o);
			tx_check(_metadata, self, 61, seq++, &o);
			if (self->n.dev.vq[VHX_TX].buf_size > 9100)
				tx_check(_metadata, self, 9014, seq++, &o);
		}
	}
}

TEST_F(net, rx_sizes)
{
	unsigned i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		rx_check(_metadata, self, sizes[i], 1000 + i);
	TH_LOG("%lu frames received", self->rx_frames);
	EXPECT_EQ(0u, vhxl_eventfd_read(self->n.dev.vq[VHX_RX].err_fd));
}

/* A frame larger than the posted buffer (non-mergeable) is dropped, the next
 * one is still received intact. */
TEST_F(net, rx_too_big_dropped)
{
	struct vhxl_rx_opts o = self->rxo;
	struct vhxl_dev *d = &self->n.dev;

	if (d->features & F_MRG)
		SKIP(return, "mergeable: vhost spreads the frame over buffers");
	o.len = 1000;
	ASSERT_GT(vhxl_rx_fill(d, d->vq[VHX_RX].num, &o), 0);
	vhxl_make_frame(self->frame, 1514, 7);
	ASSERT_EQ(0, vhxl_tap_inject(&self->n.tap, self->frame, 1514));
	vhxl_make_frame(self->frame, 500, 8);
	ASSERT_EQ(0, vhxl_tap_inject(&self->n.tap, self->frame, 500));
	{
		unsigned nb;
		ssize_t got = vhxl_rx_recv(d, self->rbuf, MAX_FRAME, NULL, &nb, 5000);

		ASSERT_EQ(500, got);
		EXPECT_EQ(8u, vhxl_frame_seq(self->rbuf));
		EXPECT_EQ(0u, vhxl_check_frame(self->rbuf, 500, 8));
	}
}

/*
 * Start both rings at index 65536 - 100 (SET_VRING_BASE, used->idx) so the
 * free-running 16-bit indices wrap during the test; run traffic both ways.
 * Packed: start 5 entries before the end of the ring, so that the wrap
 * counters flip at once, and many times over the 400 frames.
 */
TEST_F(net, index_wrap)
{
	struct vhxl_net_cfg c = self->n.cfg;
	unsigned i, n = 400;
	int r;

	vhxl_net_teardown(&self->n);
	self->up = false;
	c.base = variant->packed ? c.num - 5 : 0xffff - 100;
	r = vhxl_net_setup(&self->n, &c);
	ASSERT_EQ(0, r);
	self->up = true;
	for (unsigned q = 0; variant->busyloop_us && q < VHX_NVQS; q++) {
		struct vhost_vring_state st = { .index = q, .num = variant->busyloop_us };

		ASSERT_EQ(0, ioctl(self->n.dev.fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &st));
	}
	for (i = 0; i < n; i++) {
		tx_check(_metadata, self, 60 + (i % 200), i, &self->txo);
		rx_check(_metadata, self, 60 + (i % 300), 5000 + i);
	}
	{
		struct vhost_vring_state s = { .index = VHX_TX };

		struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];

		ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
		ASSERT_EQ(0, vhxl_ioctl(self->n.dev.fd, VHOST_GET_VRING_BASE, &s));
		TH_LOG("TX base after %u frames: 0x%x (driver 0x%x)", n, s.num,
		       vhxl_vq_expected_base(tx));
		EXPECT_EQ(vhxl_vq_expected_base(tx), s.num);
		EXPECT_EQ((unsigned long)n, tx->used_total);
		if (!tx->packed) {
			EXPECT_EQ((uint16_t)(c.base + n), s.num);
			EXPECT_EQ((uint16_t)(c.base + n), tx->used->idx);
		}
	}
}

/* Many frames in flight at once: fill the TX ring, one kick, all arrive in
 * order; then the same for RX with a burst of injected frames. */
TEST_F(net, burst)
{
	struct vhxl_dev *d = &self->n.dev;
	struct vhxl_vq *tx = &d->vq[VHX_TX];
	unsigned i, posted = 0, seen = 0, budget = 3000, segs = self->txo.nsegs;
	double t0 = now_s();

	while (seen < budget) {
		/*
		 * Every frame posted so far reached the tap, but the device
		 * may publish their used entries a little later (it batches
		 * them): wait for those before posting more, or a full ring
		 * would never be reclaimed.
		 */
		if (seen == posted)
			ASSERT_EQ(0, vhxl_tx_drain(d, 5000));
		while (posted < budget) {
			vhxl_make_frame(self->frame, 128, posted);
			if (vhxl_tx_post(d, self->frame, 128, &self->txo) < 0)
				break;
			posted++;
		}
		ASSERT_LT(seen, posted);
		vhxl_vq_kick(tx);
		while (seen < posted) {
			ssize_t got = vhxl_tap_recv(&self->n.tap, self->rbuf, 2048, 5000);

			ASSERT_EQ(128, got);
			ASSERT_EQ(seen, vhxl_frame_seq(self->rbuf));
			ASSERT_EQ(0u, vhxl_check_frame(self->rbuf, 128, seen));
			seen++;
			vhxl_tx_reclaim(d);
			if (tx->num_free >= (segs > 1 && !self->txo.indirect ? segs : 1) * 16)
				break;
		}
	}
	ASSERT_EQ(0, vhxl_tx_drain(d, 5000));
	TH_LOG("TX %u frames in %.2f s, %lu kicks (%lu suppressed), %lu calls",
	       budget, now_s() - t0, tx->kicks, tx->suppressed_kicks, tx->calls);

	/* RX burst: inject up to the posted-buffer count, then collect. */
	t0 = now_s();
	seen = 0;
	for (i = 0; i < 10; i++) {
		unsigned k, batch = d->vq[VHX_RX].num / 2;

		if (batch > 200)
			batch = 200;
		vhxl_rx_fill(d, d->vq[VHX_RX].num, &self->rxo);
		/* never inject more frames than buffers are posted (multi-
		 * descriptor buffers: fewer buffers than ring entries) */
		if (batch > vhxl_vq_inflight(&d->vq[VHX_RX]))
			batch = vhxl_vq_inflight(&d->vq[VHX_RX]);
		for (k = 0; k < batch; k++) {
			vhxl_make_frame(self->frame, 100 + k, i * 1000 + k);
			ASSERT_EQ(0, vhxl_tap_inject(&self->n.tap, self->frame, 100 + k));
		}
		for (k = 0; k < batch; k++) {
			unsigned nb;
			ssize_t got = vhxl_rx_recv(d, self->rbuf, 2048, NULL, &nb, 5000);

			if (got != (ssize_t)(100 + k))
				TH_LOG("batch %u frame %u: got %zd, avail %u last_used %u free %u inflight %u",
				       i, k, got, d->vq[VHX_RX].avail_idx,
				       d->vq[VHX_RX].last_used, d->vq[VHX_RX].num_free,
				       vhxl_vq_inflight(&d->vq[VHX_RX]));
			ASSERT_EQ((ssize_t)(100 + k), got);
			ASSERT_EQ(i * 1000 + k, vhxl_frame_seq(self->rbuf));
			ASSERT_EQ(0u, vhxl_check_frame(self->rbuf, got, i * 1000 + k));
			seen++;
		}
	}
	TH_LOG("RX %u frames in %.2f s, %lu calls", seen, now_s() - t0,
	       d->vq[VHX_RX].calls);
}

/* Interrupt suppression: with NO_INTERRUPT (or used_event behind) vhost must
 * not signal the call eventfd (event idx: at most one initial signal). */
TEST_F(net, tx_no_interrupt)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	uint64_t calls;
	unsigned i;

	vhxl_eventfd_read(tx->call_fd);
	vhxl_vq_disable_cb(tx);
	for (i = 0; i < 100; i++) {
		vhxl_make_frame(self->frame, 200, i);
		ASSERT_LE(0, vhxl_tx_post(&self->n.dev, self->frame, 200, &self->txo));
		vhxl_vq_kick(tx);
		ASSERT_EQ(0, vhxl_vq_wait_used(tx, 5000));
		vhxl_tx_reclaim(&self->n.dev);
		ASSERT_EQ(200, vhxl_tap_recv(&self->n.tap, self->rbuf, 2048, 5000));
		ASSERT_EQ(i, vhxl_frame_seq(self->rbuf));
	}
	usleep(100000);
	calls = vhxl_eventfd_read(tx->call_fd);
	TH_LOG("call eventfd count with interrupts disabled: %llu (event idx %d)",
	       (unsigned long long)calls, tx->event_idx);
	EXPECT_LE(calls, tx->event_idx ? 1u : 0u);
	/* re-enable: the next completion must interrupt */
	vhxl_vq_enable_cb(tx);
	vhxl_make_frame(self->frame, 200, 999);
	ASSERT_LE(0, vhxl_tx_post(&self->n.dev, self->frame, 200, &self->txo));
	vhxl_vq_kick(tx);
	EXPECT_GT(vhxl_eventfd_wait(tx->call_fd, 5000), 0u);
}

/*
 * Wrap the 16-bit ring indices for real: > 65536 descriptors through one
 * 64-entry TX ring starting at index 0 (70000 frames), read back from the tap.
 * Packed: a 61-entry ring, whose wrap counters flip more than 1100 times.
 */
FIXTURE(wrap)
{
	struct vhxl_net n;
	bool up;
};

FIXTURE_VARIANT(wrap)
{
	bool packed;
};

FIXTURE_VARIANT_ADD(wrap, split) { .packed = false };
FIXTURE_VARIANT_ADD(wrap, packed) { .packed = true };

FIXTURE_SETUP(wrap)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG | F_EVT | (variant->packed ? F_PACKED : 0),
		.num = variant->packed ? 61 : 64,
		.rx_buf = 1536, .tx_buf = 256, .identity = true,
	};
	const char *why = variant->packed ? vhxl_skip_packed() : vhxl_skip_reason();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
}

FIXTURE_TEARDOWN(wrap)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

TEST_F_TIMEOUT(wrap, tx_70000, 240)
{
	struct vhxl_dev *d = &self->n.dev;
	struct vhxl_vq *tx = &d->vq[VHX_TX];
	unsigned total = 70000, posted = 0, seen = 0;
	uint8_t f[64], r[256];
	double t0 = now_s();

	while (seen < total) {
		while (posted < total && posted - seen < 48) {
			vhxl_make_frame(f, 64, posted);
			if (vhxl_tx_post(d, f, 64, NULL) < 0)
				break;
			posted++;
		}
		vhxl_vq_kick(tx);
		while (seen < posted) {
			ssize_t got = vhxl_tap_recv(&self->n.tap, r, sizeof(r), 5000);

			if (got != 64 || vhxl_frame_seq(r) != seen)
				TH_LOG("frame %u: got %zd bytes seq %u", seen, got,
				       got >= 18 ? vhxl_frame_seq(r) : 0);
			ASSERT_EQ(64, got);
			ASSERT_EQ(seen, vhxl_frame_seq(r));
			seen++;
			if (!(seen % 16))
				break;
		}
		vhxl_tx_reclaim(d);
	}
	ASSERT_EQ(0, vhxl_tx_drain(d, 5000));
	if (!tx->packed)
		EXPECT_EQ((uint16_t)total, tx->used->idx);
	EXPECT_EQ((unsigned long)total, tx->used_total);
	EXPECT_EQ(tx->num, tx->num_free);
	{
		struct vhost_vring_state st = { .index = VHX_TX };

		ASSERT_EQ(0, vhxl_ioctl(d->fd, VHOST_GET_VRING_BASE, &st));
		EXPECT_EQ(vhxl_vq_expected_base(tx), st.num);
	}
	TH_LOG("%u frames through a %u-entry ring in %.1f s (%lu kicks, %lu suppressed)",
	       total, tx->num, now_s() - t0, tx->kicks, tx->suppressed_kicks);
}

/*
 * The single-store rule, aimed at: the TX ring is re-based so that every
 * frame moves used->idx from 0xNNff to 0xNN+1 00 (the high byte changes),
 * tens of thousands of times, while a second thread polls used->idx.  In
 * each round the only values it may see are the base and base + 1; a
 * device writing the index a byte at a time shows 0xNN00 or 0xNN+1 ff.
 */
struct base_watch {
	struct vhxl_vq *vq;
	pthread_t thread;
	atomic_bool stop;
	atomic_uint gen;	/* odd while the ring is being re-based */
	atomic_ushort base;
	unsigned long reads, bad;
	uint16_t bad_val, bad_base;
};

static void *base_watch_fn(void *arg)
{
	struct base_watch *w = arg;

	while (!atomic_load(&w->stop)) {
		unsigned g = atomic_load(&w->gen);
		uint16_t b = atomic_load(&w->base);
		uint16_t v = __atomic_load_n(&w->vq->used->idx, __ATOMIC_ACQUIRE);

		if ((g & 1) || g != atomic_load(&w->gen))
			continue;
		w->reads++;
		if (v != b && v != (uint16_t)(b + 1) && !w->bad++) {
			w->bad_val = v;
			w->bad_base = b;
		}
	}
	return NULL;
}

TEST_F_TIMEOUT(wrap, used_idx_single_store, 240)
{
	struct vhxl_dev *d = &self->n.dev;
	struct vhxl_vq *tx = &d->vq[VHX_TX];
	struct base_watch w = { .vq = tx };
	unsigned rounds = 0;
	uint8_t f[64], r[256];
	double t0 = now_s();

	if (variant->packed)
		SKIP(return, "split rings only: a packed ring has no used index (used descriptors are published by their flags, net_test *_packed and packed_test cover those)");
	atomic_init(&w.stop, false);
	atomic_init(&w.gen, 0);
	atomic_init(&w.base, tx->used->idx);
	ASSERT_EQ(0, pthread_create(&w.thread, NULL, base_watch_fn, &w));
	while (now_s() - t0 < 60 && rounds < 300000) {
		uint16_t b = (uint16_t)(0xff + 0x100 * (rounds & 0xff));
		struct vhost_vring_state st = { .index = VHX_TX, .num = b };

		atomic_fetch_add(&w.gen, 1);
		ASSERT_EQ(0, vhxl_set_backend(d, VHX_TX, -1));
		tx->used->idx = b;
		tx->avail->idx = b;
		tx->avail_idx = b;
		tx->last_used = b;
		tx->kick_old = b;
		ASSERT_EQ(0, vhxl_ioctl(d->fd, VHOST_SET_VRING_BASE, &st));
		atomic_store(&w.base, b);
		ASSERT_EQ(0, vhxl_set_backend(d, VHX_TX, self->n.tap.fd));
		atomic_fetch_add(&w.gen, 1);

		vhxl_make_frame(f, 64, rounds);
		ASSERT_EQ(0, vhxl_net_tx_one(&self->n, f, 64, NULL, 5000));
		ASSERT_EQ((uint16_t)(b + 1), tx->used->idx);
		ASSERT_EQ(64, vhxl_tap_recv(&self->n.tap, r, sizeof(r), 5000));
		ASSERT_EQ(rounds, vhxl_frame_seq(r));
		rounds++;
	}
	atomic_store(&w.stop, true);
	pthread_join(w.thread, NULL);
	TH_LOG("%u high-byte carries of used->idx in %.1f s, read %lu times: %lu torn (first: 0x%04x with base 0x%04x)",
	       rounds, now_s() - t0, w.reads, w.bad, w.bad_val, w.bad_base);
	EXPECT_GT(rounds, 1000u);
	EXPECT_EQ(0ul, w.bad);
}

/* Same on the RX ring: 70000 injected frames through 64 RX buffers. */
TEST_F_TIMEOUT(wrap, rx_70000, 240)
{
	struct vhxl_dev *d = &self->n.dev;
	struct vhxl_vq *rx = &d->vq[VHX_RX];
	unsigned total = 70000, seen = 0, k;
	uint8_t f[64], r[2048];
	double t0 = now_s();

	while (seen < total) {
		unsigned batch = total - seen < 32 ? total - seen : 32;

		vhxl_rx_fill(d, rx->num, NULL);
		for (k = 0; k < batch; k++) {
			vhxl_make_frame(f, 64, seen + k);
			ASSERT_EQ(0, vhxl_tap_inject(&self->n.tap, f, 64));
		}
		for (k = 0; k < batch; k++) {
			unsigned nb;
			ssize_t got = vhxl_rx_recv(d, r, sizeof(r), NULL, &nb, 5000);

			if (got != 64 || vhxl_frame_seq(r) != seen)
				TH_LOG("frame %u: got %zd bytes seq %u", seen, got,
				       got >= 18 ? vhxl_frame_seq(r) : 0);
			ASSERT_EQ(64, got);
			ASSERT_EQ(seen, vhxl_frame_seq(r));
			ASSERT_EQ(0u, vhxl_check_frame(r, 64, seen));
			seen++;
		}
	}
	if (!rx->packed)
		EXPECT_EQ((uint16_t)total, rx->used->idx);
	EXPECT_EQ((unsigned long)total, rx->used_total);
	TH_LOG("%u frames through a %u-entry RX ring in %.1f s (%lu calls)",
	       total, rx->num, now_s() - t0, rx->calls);
}

TEST_HARNESS_MAIN
