// SPDX-License-Identifier: GPL-2.0
/*
 * lifecycle_test - control-plane transitions while traffic is flowing:
 * RESET_OWNER, backend swap (tap A -> tap B), detach (fd -1) and re-attach,
 * stop / GET_VRING_BASE / resume with SET_VRING_BASE, and a SIGKILLed owner.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/eventfd.h>

#include "harness.h"
#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_EVT VHX_BIT(VIRTIO_RING_F_EVENT_IDX)

FIXTURE(lc)
{
	struct vhxl_net n;
	bool up;
	uint8_t f[2048], r[2048];
};

FIXTURE_SETUP(lc)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG | F_EVT, .num = 256,
		.rx_buf = 2048, .tx_buf = 2048, .identity = true,
	};
	const char *why = vhxl_skip_reason();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
}

FIXTURE_TEARDOWN(lc)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

/* Post @count TX frames (seq from @seq0) and kick, without waiting. */
static unsigned post_tx(FIXTURE_DATA(lc) *self, unsigned count, uint32_t seq0)
{
	unsigned i;

	for (i = 0; i < count; i++) {
		vhxl_make_frame(self->f, 200, seq0 + i);
		if (vhxl_tx_post(&self->n.dev, self->f, 200, NULL) < 0)
			break;
	}
	vhxl_vq_kick(&self->n.dev.vq[VHX_TX]);
	return i;
}

/* Expect a frame with @seq on @tap (skipping up to @skip other frames). */
static int expect_seq(FIXTURE_DATA(lc) *self, struct vhxl_tap *tap, uint32_t seq,
		      unsigned skip)
{
	unsigned i;

	for (i = 0; i <= skip; i++) {
		ssize_t got = vhxl_tap_recv(tap, self->r, sizeof(self->r), 3000);

		if (got < 0)
			return (int)got;
		if (got == 200 && vhxl_frame_seq(self->r) == seq)
			return vhxl_check_frame(self->r, 200, seq) ? -EBADMSG : 0;
	}
	return -ENOENT;
}

static void tx_works(struct __test_metadata *_metadata, FIXTURE_DATA(lc) *self,
		     struct vhxl_tap *tap, uint32_t seq)
{
	vhxl_make_frame(self->f, 200, seq);
	ASSERT_EQ(0, vhxl_net_tx_one(&self->n, self->f, 200, NULL, 5000));
	ASSERT_EQ(0, expect_seq(self, tap, seq, 300));
}

static void rx_works(struct __test_metadata *_metadata, FIXTURE_DATA(lc) *self,
		     struct vhxl_tap *tap, uint32_t seq)
{
	unsigned i, nb;

	vhxl_rx_fill(&self->n.dev, 256, NULL);
	vhxl_make_frame(self->f, 300, seq);
	ASSERT_EQ(0, vhxl_tap_inject(tap, self->f, 300));
	for (i = 0; i < 300; i++) {
		ssize_t got = vhxl_rx_recv(&self->n.dev, self->r, sizeof(self->r),
					  NULL, &nb, 3000);

		ASSERT_GT(got, 0);
		if (got == 300 && vhxl_frame_seq(self->r) == seq)
			break;
	}
	ASSERT_LT(i, 300u);
	ASSERT_EQ(0u, vhxl_check_frame(self->r, 300, seq));
}

/* Re-program a device after RESET_OWNER (eventfds, mem, rings, backend). */
static void reprogram(struct __test_metadata *_metadata, struct vhxl_net *n)
{
	unsigned i;

	ASSERT_EQ(0, vhxl_ioctl(n->dev.fd, VHOST_SET_OWNER, NULL));
	ASSERT_EQ(0, vhxl_dev_set_features(&n->dev, n->dev.features));
	ASSERT_EQ(0, vhxl_dev_set_mem(&n->dev));
	for (i = 0; i < VHX_NVQS; i++) {
		struct vhxl_vq *vq = &n->dev.vq[i];
		struct vhost_vring_file f = { .index = i };

		vq->base = 0;
		ASSERT_EQ(0, vhxl_vq_reset(vq));
		f.fd = vq->kick_fd;
		ASSERT_EQ(0, vhxl_ioctl(n->dev.fd, VHOST_SET_VRING_KICK, &f));
		f.fd = vq->call_fd;
		ASSERT_EQ(0, vhxl_ioctl(n->dev.fd, VHOST_SET_VRING_CALL, &f));
		f.fd = vq->err_fd;
		ASSERT_EQ(0, vhxl_ioctl(n->dev.fd, VHOST_SET_VRING_ERR, &f));
		ASSERT_EQ(0, vhxl_set_backend(&n->dev, i, n->tap.fd));
	}
}

TEST_F(lc, reset_owner_under_traffic)
{
	unsigned posted;

	tx_works(_metadata, self, &self->n.tap, 1);
	posted = post_tx(self, 200, 100);
	TH_LOG("%u frames in flight at RESET_OWNER", posted);
	ASSERT_EQ(0, vhxl_ioctl(self->n.dev.fd, VHOST_RESET_OWNER, NULL));
	vhxl_tap_drain(&self->n.tap, 100);
	reprogram(_metadata, &self->n);
	tx_works(_metadata, self, &self->n.tap, 5000);
	rx_works(_metadata, self, &self->n.tap, 6000);
}

TEST_F(lc, backend_swap)
{
	struct vhxl_tap b;
	unsigned i, posted, onb = 0;

	ASSERT_EQ(0, vhxl_tap_open(&b, (int)self->n.dev.hdr_len, 0));
	tx_works(_metadata, self, &self->n.tap, 1);
	posted = post_tx(self, 100, 100);
	/* swap both queues while frames are in flight */
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, b.fd));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_RX, b.fd));
	ASSERT_EQ(0, vhxl_tx_drain(&self->n.dev, 5000));
	/* every in-flight frame went to A or B, exactly once and intact */
	{
		unsigned ona = vhxl_tap_drain(&self->n.tap, 200);

		for (i = 0; vhxl_tap_recv(&b, self->r, sizeof(self->r), 200) >= 0; i++)
			EXPECT_EQ(0u, vhxl_check_frame(self->r, 200, vhxl_frame_seq(self->r)));
		onb = i;
		TH_LOG("%u in flight: %u on tap A, %u on tap B", posted, ona, onb);
		EXPECT_EQ(posted, ona + onb);
	}
	/* after the swap traffic flows on B only */
	tx_works(_metadata, self, &b, 7000);
	EXPECT_EQ(-ETIMEDOUT, vhxl_tap_recv(&self->n.tap, self->r, sizeof(self->r), 200));
	rx_works(_metadata, self, &b, 7001);
	/* and back to A */
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_RX, self->n.tap.fd));
	tx_works(_metadata, self, &self->n.tap, 7002);
	rx_works(_metadata, self, &self->n.tap, 7003);
	vhxl_tap_close(&b);
}

TEST_F(lc, detach_reattach)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	uint16_t used;
	unsigned posted;

	tx_works(_metadata, self, &self->n.tap, 1);
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	used = tx->used->idx;
	posted = post_tx(self, 50, 200);
	ASSERT_EQ(50u, posted);
	usleep(300000);
	/* detached: nothing consumed, nothing sent */
	EXPECT_EQ(used, tx->used->idx);
	EXPECT_EQ(-ETIMEDOUT, vhxl_tap_recv(&self->n.tap, self->r, sizeof(self->r), 100));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	vhxl_vq_kick_force(tx);
	ASSERT_EQ(0, vhxl_tx_drain(&self->n.dev, 5000));
	for (unsigned i = 0; i < posted; i++)
		ASSERT_EQ(0, expect_seq(self, &self->n.tap, 200 + i, 0));
	/* detach under RX traffic too */
	rx_works(_metadata, self, &self->n.tap, 300);
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_RX, -1));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_RX, self->n.tap.fd));
	rx_works(_metadata, self, &self->n.tap, 301);
}

/* QEMU/DPDK stop: SET_BACKEND -1, GET_VRING_BASE; resume: SET_VRING_BASE and
 * a new (zeroed) ring whose indices start at the saved base. */
TEST_F(lc, stop_resume_base)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX], *rx = &self->n.dev.vq[VHX_RX];
	struct vhost_vring_state s = { .index = VHX_TX };
	unsigned i;

	for (i = 0; i < 300; i++)
		tx_works(_metadata, self, &self->n.tap, i);
	rx_works(_metadata, self, &self->n.tap, 999);
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_RX, -1));
	ASSERT_EQ(0, vhxl_ioctl(self->n.dev.fd, VHOST_GET_VRING_BASE, &s));
	TH_LOG("TX base after 300 frames: %u (avail %u)", s.num, tx->avail_idx);
	EXPECT_EQ(tx->avail_idx, s.num);
	tx->base = s.num;
	s.index = VHX_RX;
	ASSERT_EQ(0, vhxl_ioctl(self->n.dev.fd, VHOST_GET_VRING_BASE, &s));
	TH_LOG("RX base: %u (avail %u, used %u)", s.num, rx->avail_idx, rx->used->idx);
	/* RX buffers still posted but unused are given back by resuming at the
	 * used index (the guest reposts them) */
	EXPECT_LE((uint16_t)(s.num - rx->used->idx), (uint16_t)(rx->avail_idx - rx->used->idx));
	rx->base = rx->used->idx;
	ASSERT_EQ(0, vhxl_vq_reset(tx));
	ASSERT_EQ(0, vhxl_vq_reset(rx));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_RX, self->n.tap.fd));
	for (i = 0; i < 20; i++)
		tx_works(_metadata, self, &self->n.tap, 2000 + i);
	EXPECT_EQ((uint16_t)(tx->base + 20), tx->used->idx);
	rx_works(_metadata, self, &self->n.tap, 3000);
	EXPECT_EQ((uint16_t)(rx->base + 1), rx->used->idx);
}

TEST_F_TIMEOUT(lc, killed_owner, 60)
{
	int efd = eventfd(0, 0);
	pid_t pid;
	int st;

	ASSERT_GE(efd, 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		/* child: its own device, runs traffic until killed */
		struct vhxl_net n;
		struct vhxl_net_cfg c = self->n.cfg;
		uint8_t f[256];
		uint64_t one = 1;
		unsigned k = 0;

		if (vhxl_net_setup(&n, &c))
			_exit(1);
		for (;;) {
			vhxl_make_frame(f, 200, k);
			vhxl_tx_post(&n.dev, f, 200, NULL);
			vhxl_vq_kick(&n.dev.vq[VHX_TX]);
			vhxl_tx_reclaim(&n.dev);
			vhxl_rx_fill(&n.dev, 64, NULL);
			vhxl_tap_inject(&n.tap, f, 200);
			while (vhxl_vq_get_used(&n.dev.vq[VHX_RX], NULL, NULL) >= 0)
				;
			if (++k == 200 && write(efd, &one, 8) != 8)
				_exit(2);
		}
	}
	/* wait until the child moved traffic, then kill it mid-flight */
	ASSERT_GT(vhxl_eventfd_wait(efd, 20000), 0u);
	usleep(200000);
	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFSIGNALED(st));
	/* the system is usable: our own device and a brand new one work */
	tx_works(_metadata, self, &self->n.tap, 1);
	rx_works(_metadata, self, &self->n.tap, 2);
	{
		struct vhxl_net_cfg c = self->n.cfg;

		vhxl_net_teardown(&self->n);
		self->up = false;
		ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	}
	self->up = true;
	tx_works(_metadata, self, &self->n.tap, 3);
	rx_works(_metadata, self, &self->n.tap, 4);
	close(efd);
}

TEST_HARNESS_MAIN
