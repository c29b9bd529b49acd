// SPDX-License-Identifier: GPL-2.0
/*
 * dirtylog_test - VHOST_F_LOG_ALL dirty page logging.
 *
 * Guest memory is GPA-based (1 MiB base, GPA != HVA) so the bitmap is small.
 * SET_LOG_BASE, SET_LOG_FD, LOG_ALL acked, VHOST_VRING_F_LOG on both vqs with
 * log_guest_addr = GPA of the used ring.  After RX into known buffers exactly
 * the pages holding the written bytes and the RX used ring page are set;
 * after TX only the TX used ring page.  The bitmap is cleared and the check
 * repeated with other sizes.
 *
 * Packed variant: the device writes used descriptors into the descriptor
 * ring, whose GPA userspace never gave (log_guest_addr is the device event
 * area): vhx maps the ring's HVA back to GPA through the memory table.  So
 * exactly the written buffers, the descriptor ring page and the device event
 * page must be set; never the driver event page.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sys/eventfd.h>

#include "dlog.h"
#include "harness.h"
#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_LOG VHX_BIT(VHOST_F_LOG_ALL)

FIXTURE(dlog)
{
	struct vhxl_net n;
	bool up;
	struct dlog log;
	uint8_t f[8192], r[8192];
};

FIXTURE_VARIANT(dlog)
{
	bool packed;
};

FIXTURE_VARIANT_ADD(dlog, split) { .packed = false };
FIXTURE_VARIANT_ADD(dlog, packed) { .packed = true };

FIXTURE_SETUP(dlog)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG | F_LOG | (variant->packed ? VHX_F_RING_PACKED : 0),
		.num = 64, .rx_buf = 1536, .tx_buf = 2048, .identity = false,
		.no_backend = true, .mtu = 9000,
	};
	const char *why = variant->packed ? vhxl_skip_packed() : vhxl_skip_reason();

	self->log.fd = -1;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
	ASSERT_EQ(0, dlog_start(&self->log, &self->n));
}

FIXTURE_TEARDOWN(dlog)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
	dlog_free(&self->log);
}

/*
 * The pages the device writes ring metadata to, besides buffers.  Packed:
 * the device event structure is written when notifications are switched
 * on or off, which an RX run with buffers to spare does not do: only
 * TX's runs (off at the start, on again at the end) always write it.
 */
static void mark_ring(struct dlog *l, struct vhxl_vq *vq, bool event)
{
	if (vq->packed) {
		dlog_mark(l, vq->desc_gpa, 16 * vq->num);
		if (event)
			dlog_mark(l, vq->used_gpa, sizeof(struct vring_packed_desc_event));
		else
			dlog_may_mark(l, vq->used_gpa, sizeof(struct vring_packed_desc_event));
	} else {
		dlog_mark(l, vq->used_gpa, 6 + 8 * vq->num + 2);
	}
}

TEST_F(dlog, rx_pages)
{
	static const size_t sizes[] = { 60, 1000, 3000, 6000 };
	struct vhxl_dev *d = &self->n.dev;
	struct vhxl_vq *rx = &d->vq[VHX_RX];
	unsigned s;

	vhxl_rx_fill(d, 64, NULL);
	usleep(100000);
	for (s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		uint16_t first = rx->last_used;
		unsigned nb, k;
		ssize_t got;

		dlog_clear(&self->log);
		vhxl_make_frame(self->f, sizes[s], s);
		ASSERT_EQ(0, vhxl_tap_inject(&self->n.tap, self->f, sizes[s]));
		got = vhxl_rx_recv(d, self->r, sizeof(self->r), NULL, &nb, 3000);
		ASSERT_EQ((ssize_t)sizes[s], got);
		ASSERT_EQ(0u, vhxl_check_frame(self->r, got, s));
		/* the buffers the device wrote, with the lengths it reported
		 * (packed: one-descriptor chains, one ring entry each) */
		for (k = 0; k < nb; k++) {
			if (rx->packed) {
				struct vring_packed_desc *pd = &rx->pdesc[(first + k) % rx->num];

				dlog_mark(&self->log, rx->buf[pd->id], pd->len);
			} else {
				struct vring_used_elem *e =
					&rx->used->ring[(uint16_t)(first + k) % rx->num];

				dlog_mark(&self->log, rx->buf[e->id], e->len);
			}
		}
		mark_ring(&self->log, rx, false);
		usleep(50000);
		TH_LOG("RX %zu bytes in %u buffer(s)", sizes[s], nb);
		DLOG_EXPECT_MATCH(&self->log, "");
		EXPECT_GT(vhxl_eventfd_read(self->log.fd), 0u);
		vhxl_rx_fill(d, 64, NULL);
		usleep(50000);
	}
}

TEST_F(dlog, tx_only_used_ring)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	unsigned i;

	dlog_clear(&self->log);
	for (i = 0; i < 10; i++) {
		vhxl_make_frame(self->f, 1000, i);
		ASSERT_EQ(0, vhxl_net_tx_one(&self->n, self->f, 1000, NULL, 3000));
		ASSERT_EQ(1000, vhxl_tap_recv(&self->n.tap, self->r, sizeof(self->r), 3000));
	}
	mark_ring(&self->log, tx, true);
	DLOG_EXPECT_MATCH(&self->log, "");
}

TEST_HARNESS_MAIN
