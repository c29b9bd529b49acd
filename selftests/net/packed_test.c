// SPDX-License-Identifier: GPL-2.0
/*
 * packed_test - what only packed virtqueues (VIRTIO_F_RING_PACKED) have.
 *
 *   psize.*     traffic both ways for several laps of rings whose size is not
 *               a power of two (100, 257, 1000), chains of 1-3 descriptors
 *               crossing the end of the ring, with and without EVENT_IDX;
 *               GET_VRING_BASE must match the driver's position and wrap
 *               counter after every lap
 *   pk.vring_num        sizes: any up to 32768 once RING_PACKED is acked, the
 *                       power-of-two rule otherwise, checked again at attach
 *   pk.base_roundtrip   GET/SET_VRING_BASE mid-stream, in the second lap
 *                       (wrap counter 0), traffic goes on afterwards
 *   pk.base_dpdk        DPDK virtio-user's initial 0x00008000 (used half 0):
 *                       vhx takes the used position from the avail half
 *   pk.base_bad         a base position outside the ring: EINVAL at attach
 *   pk.event_disable    driver event DISABLE: no interrupt for 100 completions
 *   pk.event_enable     driver event ENABLE: an interrupt for each
 *   pk.event_desc       EVENT_IDX: an interrupt exactly when the used entry at
 *                       the driver's offset/wrap is written, none for an
 *                       offset in the lap before
 *   pk.device_event     the device event structure vhx writes: ENABLE, or
 *                       DESC at its avail position with EVENT_IDX, when idle
 *   pk.flip_storm       a thread flips AVAIL/USED bits of the TX ring while
 *                       traffic runs: the device may send whatever the
 *                       flipped ring describes (guest data) or fail the
 *                       queue, but never splats or hangs, and the queue
 *                       works after a reset
 *   pk.counters         vhx's debugfs view says layout=packed
 *
 * Everything SKIPs when the device does not offer bit 34 (in-tree vhost_net).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/ioctl.h>

#include "harness.h"
#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_EVT VHX_BIT(VIRTIO_RING_F_EVENT_IDX)
#define F_IND VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_PK  VHX_F_RING_PACKED
#define WRAP (1u << VRING_PACKED_EVENT_F_WRAP_CTR)

static uint32_t get_base(struct __test_metadata *_metadata, int fd, unsigned q)
{
	struct vhost_vring_state s = { .index = q };

	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_GET_VRING_BASE, &s));
	return s.num;
}

/* TX @len bytes in @segs descriptors; the frame must reach the tap intact. */
static void tx_one(struct __test_metadata *_metadata, struct vhxl_net *n,
		   size_t len, unsigned segs, uint32_t seq)
{
	struct vhxl_tx_opts o = { .nsegs = segs, .hdr_separate = segs > 1 };
	uint8_t f[2048], r[2048];

	vhxl_make_frame(f, len, seq);
	ASSERT_EQ(0, vhxl_net_tx_one(n, f, len, &o, 5000));
	ASSERT_EQ((ssize_t)len, vhxl_tap_recv(&n->tap, r, sizeof(r), 5000));
	ASSERT_EQ(0u, vhxl_check_frame(r, len, seq));
}

static void rx_one(struct __test_metadata *_metadata, struct vhxl_net *n,
		   size_t len, uint32_t seq)
{
	uint8_t f[2048], r[2048];
	unsigned nb;

	vhxl_rx_fill(&n->dev, n->dev.vq[VHX_RX].num, NULL);
	vhxl_make_frame(f, len, seq);
	ASSERT_EQ(0, vhxl_tap_inject(&n->tap, f, len));
	ASSERT_EQ((ssize_t)len, vhxl_rx_recv(&n->dev, r, sizeof(r), NULL, &nb, 5000));
	ASSERT_EQ(seq, vhxl_frame_seq(r));
	ASSERT_EQ(0u, vhxl_check_frame(r, len, seq));
}

/* ------------------------------------------------------- ring sizes */

FIXTURE(psize)
{
	struct vhxl_net n;
	bool up;
};

FIXTURE_VARIANT(psize)
{
	unsigned num;
	uint64_t features;
};

FIXTURE_VARIANT_ADD(psize, n100) { .num = 100, .features = F_V1 | F_MRG };
FIXTURE_VARIANT_ADD(psize, n100_evtidx) { .num = 100, .features = F_V1 | F_MRG | F_EVT };
FIXTURE_VARIANT_ADD(psize, n257_evtidx) { .num = 257, .features = F_V1 | F_EVT | F_IND };
FIXTURE_VARIANT_ADD(psize, n1000) { .num = 1000, .features = F_V1 | F_MRG };
FIXTURE_VARIANT_ADD(psize, n3) { .num = 3, .features = F_V1 | F_MRG | F_EVT };

FIXTURE_SETUP(psize)
{
	struct vhxl_net_cfg c = {
		.features = variant->features | F_PK, .num = variant->num,
		.rx_buf = 2048, .tx_buf = 2048, .identity = true,
	};
	const char *why = vhxl_skip_packed();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
}

FIXTURE_TEARDOWN(psize)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

/* Three laps and a half of TX, chains of 1, 2, 3 descriptors in turn. */
TEST_F(psize, tx_laps)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	unsigned i, descs = 0, laps = 0, target = 7 * tx->num / 2;
	bool wrap = tx->avail_wrap;

	for (i = 0; descs < target; i++) {
		unsigned segs = 1 + i % 3;

		if (segs > tx->num)
			segs = tx->num;
		tx_one(_metadata, &self->n, 60 + i % 700, segs, i);
		descs += segs;
		if (tx->avail_wrap != wrap) {
			wrap = tx->avail_wrap;
			laps++;
			/* the device's position, at every lap */
			EXPECT_EQ(vhxl_vq_expected_base(tx),
				  get_base(_metadata, self->n.dev.fd, VHX_TX));
		}
	}
	TH_LOG("%u frames, %u descriptors, %u wrap counter flips, ring of %u",
	       i, descs, laps, tx->num);
	EXPECT_GE(laps, 3u);
	EXPECT_EQ(vhxl_vq_expected_base(tx), get_base(_metadata, self->n.dev.fd, VHX_TX));
	EXPECT_EQ(0u, vhxl_eventfd_read(tx->err_fd));
}

/* Three laps and a half of RX: the ring is refilled before every frame. */
TEST_F(psize, rx_laps)
{
	struct vhxl_vq *rx = &self->n.dev.vq[VHX_RX];
	unsigned i, n = 7 * rx->num / 2 + 1;

	for (i = 0; i < n; i++)
		rx_one(_metadata, &self->n, 60 + (i * 37) % 1400, 1000 + i);
	EXPECT_EQ((unsigned long)n, rx->used_total);
	EXPECT_EQ(0u, vhxl_eventfd_read(rx->err_fd));
}

/* ----------------------------------------------- one 100-entry device */

FIXTURE(pk)
{
	struct vhxl_net n;
	bool up;
	struct vhxl_net_cfg c;
};

FIXTURE_SETUP(pk)
{
	const char *why = vhxl_skip_packed();

	self->c = (struct vhxl_net_cfg){
		.features = F_V1 | F_MRG | F_PK, .num = 100,
		.rx_buf = 2048, .tx_buf = 2048, .identity = true,
	};
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &self->c));
	self->up = true;
}

FIXTURE_TEARDOWN(pk)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

static void restart(struct __test_metadata *_metadata, FIXTURE_DATA(pk) *self)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
	self->up = false;
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &self->c));
	self->up = true;
}

/*
 * Any size up to 32768 with RING_PACKED acked; the split rule without it.
 * A size set while packed was acked is checked again at attach: with split
 * features negotiated since, the attach fails with EINVAL.  (QEMU and DPDK
 * ack the features before SET_VRING_NUM.)
 */
TEST_F(pk, vring_num)
{
	static const unsigned good[] = { 1, 3, 100, 257, 1000, 32767, 32768 };
	static const unsigned bad[] = { 0, 32769, 65535, 65536, 0x80000000u };
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = VHX_TX };
	uint64_t f;
	unsigned i;

	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		s.num = good[i];
		EXPECT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_NUM, &s));
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.num = bad[i];
		EXPECT_EQ(-EINVAL, vhxl_ioctl(fd, VHOST_SET_VRING_NUM, &s));
	}
	/* split features: the power-of-two rule */
	f = F_V1 | F_MRG;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_FEATURES, &f));
	s.num = 100;
	EXPECT_EQ(-EINVAL, vhxl_ioctl(fd, VHOST_SET_VRING_NUM, &s));
	s.num = 128;
	EXPECT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_NUM, &s));
	/* sized 100 under packed, attached under split: refused */
	f |= F_PK;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_FEATURES, &f));
	s.num = 100;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_NUM, &s));
	f &= ~F_PK;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_FEATURES, &f));
	s.num = 0;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(-EINVAL, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	/* and everything is fine again with packed and a ring that fits */
	ASSERT_EQ(0, vhxl_dev_set_features(&self->n.dev, self->c.features));
	ASSERT_EQ(0, vhxl_vq_reset(&self->n.dev.vq[VHX_TX]));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	tx_one(_metadata, &self->n, 100, 1, 1);
}

/*
 * The stop/resume a migration or a per-vq reset does, in the second lap:
 * detach, GET_VRING_BASE (position 50, wrap 0 in both halves), SET it back,
 * attach, and the same ring goes on.
 */
TEST_F(pk, base_roundtrip)
{
	int fd = self->n.dev.fd;
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	struct vhost_vring_state s = { .index = VHX_TX };
	uint32_t got;
	unsigned i;

	for (i = 0; i < 150; i++)
		tx_one(_metadata, &self->n, 80, 1, i);
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	got = get_base(_metadata, fd, VHX_TX);
	TH_LOG("GET_VRING_BASE after 150 one-descriptor chains on 100 entries: 0x%08x", got);
	EXPECT_EQ(0x00320032u, got);
	EXPECT_EQ(vhxl_vq_expected_base(tx), got);
	s.num = got;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(got, get_base(_metadata, fd, VHX_TX));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	for (i = 150; i < 300; i++)
		tx_one(_metadata, &self->n, 80 + i % 100, 1 + i % 2, i);
	EXPECT_EQ(vhxl_vq_expected_base(tx), get_base(_metadata, fd, VHX_TX));
	EXPECT_EQ(0u, vhxl_eventfd_read(tx->err_fd));
}

/*
 * DPDK virtio-user sends 0x00008000 at start: avail position 0, wrap 1, the
 * used half all zero.  Taken literally the device's used wrap counter would
 * be 0 and the driver would never see a used buffer; vhx takes the used
 * position from the avail half (nothing is in flight while a ring is
 * stopped) and reports 0x80008000.  Traffic must flow for laps both ways.
 */
TEST_F(pk, base_dpdk)
{
	unsigned i;

	self->c.dpdk_base = true;
	restart(_metadata, self);
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	EXPECT_EQ(0x80008000u, get_base(_metadata, self->n.dev.fd, VHX_TX));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	for (i = 0; i < 250; i++) {
		tx_one(_metadata, &self->n, 64 + i, 1, i);
		rx_one(_metadata, &self->n, 64 + i, 5000 + i);
	}
	EXPECT_EQ(vhxl_vq_expected_base(&self->n.dev.vq[VHX_TX]),
		  get_base(_metadata, self->n.dev.fd, VHX_TX));
}

/* A position outside the ring: SET_VRING_BASE takes it, attach refuses. */
TEST_F(pk, base_bad)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = VHX_TX, .num = WRAP | 100 };

	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(-EINVAL, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	s.num = 0x7fff;
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(-EINVAL, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	ASSERT_EQ(0, vhxl_vq_reset(&self->n.dev.vq[VHX_TX]));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	tx_one(_metadata, &self->n, 100, 1, 1);
}

/* Completions without waiting for interrupts (busy-polling the ring). */
static void tx_polled(struct __test_metadata *_metadata, struct vhxl_net *n,
		      unsigned count, uint32_t seq)
{
	struct vhxl_vq *tx = &n->dev.vq[VHX_TX];
	uint8_t f[256], r[256];
	unsigned i;

	for (i = 0; i < count; i++) {
		int t;

		vhxl_make_frame(f, 100, seq + i);
		ASSERT_LE(0, vhxl_tx_post(&n->dev, f, 100, NULL));
		vhxl_vq_kick(tx);
		for (t = 0; t < 5000 && !vhxl_vq_pending_used(tx); t++)
			usleep(1000);
		ASSERT_EQ(1, vhxl_tx_reclaim(&n->dev));
		ASSERT_EQ(100, vhxl_tap_recv(&n->tap, r, sizeof(r), 5000));
	}
}

TEST_F(pk, event_disable)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	uint64_t calls;

	vhxl_vq_disable_cb(tx);
	ASSERT_EQ(VRING_PACKED_EVENT_FLAG_DISABLE, tx->drv_event->flags);
	vhxl_eventfd_read(tx->call_fd);
	tx_polled(_metadata, &self->n, 100, 0);
	usleep(100000);
	calls = vhxl_eventfd_read(tx->call_fd);
	TH_LOG("interrupts with the driver event DISABLE: %llu", (unsigned long long)calls);
	EXPECT_EQ(0u, calls);
}

TEST_F(pk, event_enable)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	unsigned i, with = 0;

	vhxl_vq_enable_cb(tx);
	ASSERT_EQ(VRING_PACKED_EVENT_FLAG_ENABLE, tx->drv_event->flags);
	vhxl_eventfd_read(tx->call_fd);
	for (i = 0; i < 50; i++) {
		/* one frame at a time: each completion must interrupt */
		tx_polled(_metadata, &self->n, 1, i);
		with += vhxl_eventfd_wait(tx->call_fd, 2000) > 0;
	}
	TH_LOG("completions that interrupted with ENABLE: %u of 50", with);
	EXPECT_EQ(50u, with);
}

/*
 * EVENT_IDX: the driver asks for an interrupt at the used entry 5 ahead of
 * its position, then sends 10 frames one by one without waiting: exactly
 * one interrupt.  An offset in the lap before: none.  The position is in
 * the second lap (wrap counter 0), and the event offset crosses the end of
 * the ring.
 */
TEST_F(pk, event_desc)
{
	struct vhxl_vq *tx;
	uint64_t calls;
	uint16_t ev;

	self->c.features |= F_EVT;
	restart(_metadata, self);
	tx = &self->n.dev.vq[VHX_TX];
	tx_polled(_metadata, &self->n, 197, 0);	/* position 97, wrap 0 */
	ASSERT_EQ(97, tx->last_used);
	ASSERT_FALSE(tx->used_wrap);
	/* 97 + 5 = 102: offset 2 in the next lap (wrap 1) */
	tx->no_interrupt = true;	/* keep vhxlib off the event offset */
	ev = 2 | WRAP;
	tx->drv_event->off_wrap = ev;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	tx->drv_event->flags = VRING_PACKED_EVENT_FLAG_DESC;
	vhxl_eventfd_read(tx->call_fd);
	tx_polled(_metadata, &self->n, 10, 1000);
	usleep(100000);
	calls = vhxl_eventfd_read(tx->call_fd);
	TH_LOG("interrupts for 10 completions with the event at offset 2 wrap 1: %llu",
	       (unsigned long long)calls);
	EXPECT_EQ(1u, calls);
	/* now at 7 (wrap 1): an offset in the lap before, 90 wrap 0 */
	tx->drv_event->off_wrap = 90;
	vhxl_eventfd_read(tx->call_fd);
	tx_polled(_metadata, &self->n, 10, 2000);
	usleep(100000);
	calls = vhxl_eventfd_read(tx->call_fd);
	TH_LOG("interrupts for 10 completions with the event in the lap before: %llu",
	       (unsigned long long)calls);
	EXPECT_EQ(0u, calls);
}

/*
 * The device event structure once the device is idle: ENABLE without
 * EVENT_IDX; with it, DESC at the device's avail position -- where the
 * driver's next chain goes -- so the driver's next kick is needed and the
 * one after it is suppressed.
 */
TEST_F(pk, device_event)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	uint16_t want;
	int i;

	tx_one(_metadata, &self->n, 100, 1, 1);
	usleep(50000);
	EXPECT_EQ(VRING_PACKED_EVENT_FLAG_ENABLE, tx->dev_event->flags);

	self->c.features |= F_EVT;
	restart(_metadata, self);
	tx = &self->n.dev.vq[VHX_TX];
	for (i = 0; i < 130; i++)
		tx_one(_metadata, &self->n, 100, 1 + i % 2, i);
	usleep(50000);
	want = tx->avail_idx | (tx->avail_wrap ? WRAP : 0);
	TH_LOG("device event: flags %u off_wrap 0x%04x; driver at 0x%04x",
	       tx->dev_event->flags, tx->dev_event->off_wrap, want);
	EXPECT_EQ(VRING_PACKED_EVENT_FLAG_DESC, tx->dev_event->flags);
	EXPECT_EQ(want, tx->dev_event->off_wrap);
	/* the next chain goes where the device waits: the kick is needed */
	{
		uint8_t f[128], r[256];

		vhxl_make_frame(f, 100, 9000);
		ASSERT_LE(0, vhxl_tx_post(&self->n.dev, f, 100, NULL));
		EXPECT_EQ(1, vhxl_vq_kick(tx));
		ASSERT_EQ(0, vhxl_tx_drain(&self->n.dev, 5000));
		ASSERT_EQ(100, vhxl_tap_recv(&self->n.tap, r, sizeof(r), 5000));
	}
}

/* ------------------------------------------------- flags flipped under */

struct flipper {
	struct vhxl_vq *vq;
	atomic_bool stop, pause;
	atomic_ulong flips;
	unsigned seed;
};

static void *flip_fn(void *arg)
{
	struct flipper *fl = arg;
	uint16_t bits = (1u << VRING_PACKED_DESC_F_AVAIL) | (1u << VRING_PACKED_DESC_F_USED);

	while (!atomic_load(&fl->stop)) {
		unsigned i = rand_r(&fl->seed) % fl->vq->num;
		uint16_t *f = &fl->vq->pdesc[i].flags;

		if (atomic_load(&fl->pause)) {
			usleep(100);
			continue;
		}
		__atomic_fetch_xor(f, rand_r(&fl->seed) % 2 ? bits :
				   1u << VRING_PACKED_DESC_F_AVAIL, __ATOMIC_RELAXED);
		if (!(atomic_fetch_add(&fl->flips, 1) % 16))
			usleep(200);
	}
	return NULL;
}

/*
 * Rounds of traffic under the flipper until the queue fails, each followed
 * by a reset (the flipper paused meanwhile), for 3 s.
 */
TEST_F_TIMEOUT(pk, flip_storm, 60)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	struct flipper fl = { .vq = tx, .seed = 1 };
	struct vhxl_tx_opts o = { .nsegs = 2, .hdr_separate = true };
	unsigned sent = 0, got = 0, bad = 0, errors = 0, wedged = 0, full = 0, i;
	uint8_t f[512], r[2048];
	double t0;
	pthread_t th;

	atomic_init(&fl.stop, false);
	atomic_init(&fl.pause, false);
	atomic_init(&fl.flips, 0);
	ASSERT_EQ(0, pthread_create(&th, NULL, flip_fn, &fl));
	{
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	}
	for (i = 0;; i++) {
		struct timespec ts;
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec + ts.tv_nsec / 1e9 - t0 > 3)
			break;
		vhxl_tx_reclaim(&self->n.dev);
		vhxl_make_frame(f, 200, i);
		if (vhxl_tx_post(&self->n.dev, f, 200, &o) >= 0) {
			sent++;
			full = 0;
		} else {
			full++;
		}
		vhxl_vq_kick_force(tx);
		while ((n = vhxl_tap_recv(&self->n.tap, r, sizeof(r), 0)) >= 0) {
			got++;
			if (n != 200 || vhxl_check_frame(r, 200, vhxl_frame_seq(r)))
				bad++;
		}
		if (vhxl_eventfd_read(tx->err_fd)) {
			errors++;
		} else if (full > 200) {
			wedged++;	/* a flipped used entry hid the rest */
		} else {
			continue;
		}
		{
			/* reset, the flipper paused */
			full = 0;
			atomic_store(&fl.pause, true);
			usleep(1000);
			ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
			ASSERT_EQ(0, vhxl_vq_reset(tx));
			ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
			atomic_store(&fl.pause, false);
		}
	}
	atomic_store(&fl.stop, true);
	pthread_join(th, NULL);
	while (vhxl_tap_recv(&self->n.tap, r, sizeof(r), 300) >= 0)
		got++;
	/*
	 * A flipped bit can make a stale descriptor available again, or join
	 * two chains: such frames are the guest's own data, not checked.
	 */
	TH_LOG("%lu flips, %u frames posted, %u reached the tap (%u not as posted), %u vq errors, %u driver-side wedges",
	       (unsigned long)atomic_load(&fl.flips), sent, got, bad, errors, wedged);
	EXPECT_GT(atomic_load(&fl.flips), 0ul);
	EXPECT_GT(errors, 0u);
	/* a reset brings the queue back */
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	ASSERT_EQ(0, vhxl_vq_reset(tx));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	vhxl_tap_drain(&self->n.tap, 100);
	tx_one(_metadata, &self->n, 300, 2, 4242);
}

/* ------------------------------------------------------------ counters */

TEST_F(pk, counters)
{
	char line[1024], want[64];
	unsigned n = 0, dev = 0;
	FILE *f;

	if (!getenv("VHX_TARGET") || strcmp(getenv("VHX_TARGET"), "vhx"))
		SKIP(return, "vhx's debugfs counters only");
	tx_one(_metadata, &self->n, 100, 1, 1);
	f = fopen("/sys/kernel/debug/vhx/devices", "r");
	if (!f) {
		if (system("mount -t debugfs none /sys/kernel/debug 2>/dev/null"))
			TH_LOG("mounting debugfs failed");
		f = fopen("/sys/kernel/debug/vhx/devices", "r");
	}
	ASSERT_NONNULL(f);
	snprintf(want, sizeof(want), " owner=%d ", getpid());
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "dev ", 4) && strstr(line, want))
			sscanf(line, "dev id=%u", &dev);
		else if (dev && !strncmp(line, "vq ", 3)) {
			char d[32];

			snprintf(d, sizeof(d), "vq dev=%u ", dev);
			if (strncmp(line, d, strlen(d)))
				continue;
			TH_LOG("%.160s", line);
			EXPECT_NONNULL(strstr(line, " layout=packed "));
			EXPECT_NONNULL(strstr(line, " avail_wrap="));
			n++;
		}
	}
	fclose(f);
	EXPECT_EQ(2u, n);
}

TEST_HARNESS_MAIN
