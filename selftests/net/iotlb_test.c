// SPDX-License-Identifier: GPL-2.0
/*
 * iotlb_test - device IOTLB (VIRTIO_F_ACCESS_PLATFORM + IOTLB_MSG_V2).
 *
 * Rings and buffers are addressed by IOVA (= our GPA space, 1 MiB based, not
 * the HVA).  Before any mapping a kick produces VHOST_IOTLB_MISS messages read
 * from the device fd; UPDATE messages make traffic resume; INVALIDATE makes the
 * next access miss again; UPDATE with size 0 is EINVAL.  Every byte of every
 * message read must be defined (buffer pre-filled with 0xA5; hole and padding
 * must read 0 — CVE-2018-1118 class).  Both ring layouts: on a packed ring
 * the three areas (descriptor ring, driver and device event structures) are
 * IOVAs too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>

#include "harness.h"
#include "iotlbfix.h"
#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_AP  VHX_BIT(VIRTIO_F_ACCESS_PLATFORM)

FIXTURE(iotlb)
{
	struct vhxl_net n;
	bool up;
	uint8_t f[2048], r[2048];
};

FIXTURE_VARIANT(iotlb)
{
	bool packed;
};

FIXTURE_VARIANT_ADD(iotlb, split) { .packed = false };
FIXTURE_VARIANT_ADD(iotlb, packed) { .packed = true };

FIXTURE_SETUP(iotlb)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG | F_AP | (variant->packed ? VHX_F_RING_PACKED : 0),
		.num = variant->packed ? 60 : 64,
		.rx_buf = 2048, .tx_buf = 2048, .identity = false,
		.no_backend = true,
	};
	const char *why = variant->packed ? vhxl_skip_packed() : vhxl_skip_reason();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
	ASSERT_EQ(0, iotlb_start(&self->n, true));
}

FIXTURE_TEARDOWN(iotlb)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

/* Read every pending message (wait up to @ms for the first); check each is a
 * well-formed v2 MISS with all padding zero.  Returns the number read. */
static int read_misses(struct __test_metadata *_metadata, int fd, int ms,
		       const struct vhxl_mem *m)
{
	int n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t raw[sizeof(struct vhost_msg_v2) + 16];
		struct vhost_msg_v2 *msg = (void *)raw;
		ssize_t r;
		size_t i;

		if (poll(&p, 1, n ? 50 : ms) <= 0)
			return n;
		memset(raw, 0xa5, sizeof(raw));
		r = read(fd, raw, sizeof(struct vhost_msg_v2));
		ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2), r);
		n++;
		TH_LOG("msg: type %u asid %u iotlb.type %u iova 0x%llx size 0x%llx perm %u",
		       msg->type, msg->asid, msg->iotlb.type,
		       (unsigned long long)msg->iotlb.iova,
		       (unsigned long long)msg->iotlb.size, msg->iotlb.perm);
		EXPECT_EQ((uint32_t)VHOST_IOTLB_MSG_V2, msg->type);
		EXPECT_EQ(0u, msg->asid);
		EXPECT_EQ(VHOST_IOTLB_MISS, msg->iotlb.type);
		EXPECT_TRUE(msg->iotlb.perm >= VHOST_ACCESS_RO &&
			    msg->iotlb.perm <= VHOST_ACCESS_RW);
		EXPECT_GE(msg->iotlb.iova, m->r[0].gpa);
		EXPECT_LT(msg->iotlb.iova, m->r[0].gpa + m->size);
		/* bytes after the iotlb member's last field up to the end */
		for (i = offsetof(struct vhost_msg_v2, iotlb) +
			 offsetof(struct vhost_iotlb_msg, type) + 1;
		     i < sizeof(struct vhost_msg_v2); i++) {
			if (raw[i]) {
				TH_LOG("byte %zu of the message is 0x%02x (undefined?)", i, raw[i]);
				_metadata->res->failed = 1;
				break;
			}
		}
		/* nothing written beyond the message */
		EXPECT_EQ(0xa5, raw[sizeof(struct vhost_msg_v2)]);
	}
}

/* Every message of this test is in the v2 format. */
static ssize_t send_msg(int fd, uint8_t type, uint64_t iova, uint64_t size,
			uint64_t uaddr, uint8_t perm)
{
	return iotlb_send(fd, true, type, iova, size, uaddr, perm);
}

static ssize_t map_all(struct vhxl_net *n)
{
	return send_msg(n->dev.fd, VHOST_IOTLB_UPDATE, n->mem.r[0].gpa, n->mem.size,
			(uintptr_t)n->mem.base, VHOST_ACCESS_RW);
}

TEST_F(iotlb, miss_update_invalidate)
{
	struct vhxl_net *n = &self->n;
	int fd = n->dev.fd, misses;
	ssize_t got;

	/* TX before any mapping: a miss, nothing sent */
	vhxl_make_frame(self->f, 200, 1);
	ASSERT_LE(0, vhxl_tx_post(&n->dev, self->f, 200, NULL));
	vhxl_vq_kick_force(&n->dev.vq[VHX_TX]);
	misses = read_misses(_metadata, fd, 3000, &n->mem);
	TH_LOG("%d miss message(s) before mapping", misses);
	ASSERT_GT(misses, 0);
	EXPECT_EQ(-ETIMEDOUT, vhxl_tap_recv(&n->tap, self->r, sizeof(self->r), 100));

	/* map everything: the pending TX completes */
	ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2), map_all(n));
	if (vhxl_vq_wait_used(&n->dev.vq[VHX_TX], 1000))
		vhxl_vq_kick_force(&n->dev.vq[VHX_TX]);	/* tolerate a needed re-kick */
	ASSERT_EQ(0, vhxl_tx_drain(&n->dev, 5000));
	got = vhxl_tap_recv(&n->tap, self->r, sizeof(self->r), 3000);
	ASSERT_EQ(200, got);
	ASSERT_EQ(0u, vhxl_check_frame(self->r, 200, 1));
	read_misses(_metadata, fd, 10, &n->mem);

	/* RX works through the IOTLB too */
	{
		unsigned nb;

		vhxl_rx_fill(&n->dev, 64, NULL);
		vhxl_make_frame(self->f, 500, 2);
		ASSERT_EQ(0, vhxl_tap_inject(&n->tap, self->f, 500));
		got = vhxl_rx_recv(&n->dev, self->r, sizeof(self->r), NULL, &nb, 3000);
		ASSERT_EQ(500, got);
		ASSERT_EQ(0u, vhxl_check_frame(self->r, 500, 2));
	}

	/* invalidate: the next TX misses again */
	ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2),
		  send_msg(fd, VHOST_IOTLB_INVALIDATE, n->mem.r[0].gpa, n->mem.size, 0, 0));
	vhxl_make_frame(self->f, 200, 3);
	ASSERT_LE(0, vhxl_tx_post(&n->dev, self->f, 200, NULL));
	vhxl_vq_kick_force(&n->dev.vq[VHX_TX]);
	misses = read_misses(_metadata, fd, 3000, &n->mem);
	TH_LOG("%d miss message(s) after INVALIDATE", misses);
	EXPECT_GT(misses, 0);
	EXPECT_EQ(-ETIMEDOUT, vhxl_tap_recv(&n->tap, self->r, sizeof(self->r), 100));
	ASSERT_EQ((ssize_t)sizeof(struct vhost_msg_v2), map_all(n));
	if (vhxl_vq_wait_used(&n->dev.vq[VHX_TX], 1000))
		vhxl_vq_kick_force(&n->dev.vq[VHX_TX]);
	ASSERT_EQ(0, vhxl_tx_drain(&n->dev, 5000));
	got = vhxl_tap_recv(&n->tap, self->r, sizeof(self->r), 3000);
	ASSERT_EQ(200, got);
	ASSERT_EQ(0u, vhxl_check_frame(self->r, 200, 3));
}

TEST_F(iotlb, bad_messages)
{
	int fd = self->n.dev.fd;
	ssize_t r;

	r = send_msg(fd, VHOST_IOTLB_UPDATE, self->n.mem.r[0].gpa, 0,
		     (uintptr_t)self->n.mem.base, VHOST_ACCESS_RW);
	EXPECT_EQ(-1, r);
	EXPECT_EQ(EINVAL, errno);
	/* unknown type: doc says EINVAL, 6.1 mainline returns EFAULT */
	r = send_msg(fd, 77, 0, 4096, 0, VHOST_ACCESS_RW);
	EXPECT_EQ(-1, r);
	TH_LOG("unknown message type: %s", strerror(errno));
	EXPECT_TRUE(errno == EINVAL || errno == EFAULT);
	/* a good one still works */
	EXPECT_EQ((ssize_t)sizeof(struct vhost_msg_v2), map_all(&self->n));
}

TEST_HARNESS_MAIN
