// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl_test - every vhost-net ioctl: success paths and the documented errnos
 * (shared/docs/vhost-uapi.md §3).  Mainline (6.1 vhost_net) is the reference.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>

#include "harness.h"
#include <linux/vhx.h>

#include "vhxlib.h"

#define REQUIRE_DEV() do { \
	const char *__why = vhxl_skip_reason(); \
	if (__why) \
		SKIP(return, "%s", __why); \
} while (0)

static int xioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? errno : 0;
}

/*
 * Features: vhost-uapi.md §4 gives 0x1033d008000 (bit 40 RING_RESET included)
 * as the 6.1 mask.  Debian's real 6.1 vhost_net offers 0x33d008000: RING_RESET
 * is not there.  Require every other bit exactly; bit 40 and bit 34
 * (RING_PACKED, which no in-tree vhost offers) are required only for the vhx
 * target (VHX_TARGET=vhx, set by the VM runner): 0x1073d008000.
 */
#define F_RING_RESET (1ULL << 40)
#define F_VHX_ONLY (F_RING_RESET | VHX_F_RING_PACKED)
#define BASE_FEATURES (VHX_NET_FEATURES & ~F_RING_RESET)

static bool target_is_vhx(void)
{
	const char *t = getenv("VHX_TARGET");

	return t && !strcmp(t, "vhx");
}

static uint64_t dev_features(int fd)
{
	uint64_t f = 0;

	if (ioctl(fd, VHOST_GET_FEATURES, &f) < 0)
		return 0;
	return f;
}

/* An owned device with memory and both rings set up, no backend. */
FIXTURE(dev)
{
	struct vhxl_net n;
	bool up;
};

FIXTURE_SETUP(dev)
{
	struct vhxl_net_cfg c = {
		.features = VHX_BIT(VIRTIO_F_VERSION_1) | VHX_BIT(VIRTIO_NET_F_MRG_RXBUF),
		.num = 64, .rx_buf = 2048, .tx_buf = 2048, .identity = true,
		.no_backend = true,
	};
	const char *why = vhxl_skip_reason();
	int r;

	if (why)
		SKIP(return, "%s", why);
	r = vhxl_net_setup(&self->n, &c);
	ASSERT_EQ(0, r);
	self->up = true;
}

FIXTURE_TEARDOWN(dev)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

TEST(get_features_mask)
{
	uint64_t f = 0;
	int fd;

	REQUIRE_DEV();
	fd = vhxl_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, xioctl(fd, VHOST_GET_FEATURES, &f));
	TH_LOG("GET_FEATURES = 0x%llx", (unsigned long long)f);
	EXPECT_EQ(BASE_FEATURES, f & ~F_VHX_ONLY);
	if (target_is_vhx())
		EXPECT_EQ(VHX_NET_FEATURES | VHX_F_RING_PACKED, f);
	close(fd);
}

TEST(set_features)
{
	uint64_t f, offered;
	int fd, b;

	REQUIRE_DEV();
	fd = vhxl_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, xioctl(fd, VHOST_SET_OWNER, NULL));
	offered = dev_features(fd);
	f = offered;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_FEATURES, &f));
	f = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_FEATURES, &f));
	/* every bit outside the mask is refused */
	for (b = 0; b < 64; b++) {
		if (offered & VHX_BIT(b))
			continue;
		f = VHX_BIT(b) | VHX_BIT(VIRTIO_F_VERSION_1);
		if (xioctl(fd, VHOST_SET_FEATURES, &f) != EOPNOTSUPP) {
			TH_LOG("bit %d accepted or wrong errno", b);
			_metadata->res->failed = 1;
		}
	}
	close(fd);
}

TEST(unowned_fd)
{
	struct vhost_vring_state s = { .index = 0, .num = 64 };
	struct vhost_vring_file f = { .index = 0, .fd = -1 };
	struct vhost_memory m = { 0 };
	uint64_t v = 0;
	int fd;

	REQUIRE_DEV();
	fd = vhxl_open();
	ASSERT_GE(fd, 0);
	/* not owner-checked */
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_FEATURES, &v));
	v = VHX_BIT(VIRTIO_F_VERSION_1);
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_FEATURES, &v));
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_BACKEND_FEATURES, &v));
	EXPECT_EQ(1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2, v);
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_BACKEND_FEATURES, &v));
	/* owner-checked */
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_SET_MEM_TABLE, &m));
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_SET_LOG_FD, &f.fd));
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_RESET_OWNER, NULL));
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_NET_SET_BACKEND, &f));
	close(fd);
}

TEST(set_owner_twice)
{
	int fd;

	REQUIRE_DEV();
	fd = vhxl_open();
	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, xioctl(fd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(EBUSY, xioctl(fd, VHOST_SET_OWNER, NULL));
	close(fd);
}

/* A forked child of the owner is not the owner (different mm). */
TEST_F(dev, forked_child_not_owner)
{
	int fd = self->n.dev.fd, st = 0;
	pid_t pid;

	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct vhost_vring_state s = { .index = 0, .num = 64 };
		struct vhost_vring_file f = { .index = 0, .fd = -1 };
		struct vhost_memory m = { 0 };
		uint64_t v;
		int bad = 0;

		bad |= xioctl(fd, VHOST_GET_FEATURES, &v) != 0;
		bad |= (xioctl(fd, VHOST_SET_OWNER, NULL) != EBUSY) << 1;
		bad |= (xioctl(fd, VHOST_SET_MEM_TABLE, &m) != EPERM) << 2;
		bad |= (xioctl(fd, VHOST_SET_VRING_NUM, &s) != EPERM) << 3;
		bad |= (xioctl(fd, VHOST_GET_VRING_BASE, &s) != EPERM) << 4;
		bad |= (xioctl(fd, VHOST_NET_SET_BACKEND, &f) != EPERM) << 5;
		bad |= (xioctl(fd, VHOST_RESET_OWNER, NULL) != EPERM) << 6;
		_exit(bad);
	}
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	/* the owner itself still works */
	{
		struct vhost_vring_state s = { .index = 0 };

		EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	}
}

TEST_F(dev, vring_index)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = 2, .num = 64 };
	struct vhost_vring_file f = { .index = 2, .fd = -1 };
	struct vhost_vring_addr a = { .index = 2 };

	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_ADDR, &a));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_CALL, &f));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_ERR, &f));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s));
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_NET_SET_BACKEND, &f));
	s.index = 0xffffffffu;
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	f.index = 0x80000000u;
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHOST_NET_SET_BACKEND, &f));
}

TEST_F(dev, vring_num)
{
	int fd = self->n.dev.fd;
	static const unsigned bad[] = { 0, 3, 6, 100, 0xffff, 0x10000, 0x20000,
					0x80000000u, 0xffffffffu };
	static const unsigned good[] = { 1, 2, 256, 1024, 32768 };
	struct vhost_vring_state s = { .index = 1 };
	unsigned i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.num = bad[i];
		if (xioctl(fd, VHOST_SET_VRING_NUM, &s) != EINVAL) {
			TH_LOG("SET_VRING_NUM %u not refused with EINVAL", bad[i]);
			_metadata->res->failed = 1;
		}
	}
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		s.num = good[i];
		EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	}
}

TEST_F(dev, vring_addr)
{
	int fd = self->n.dev.fd;
	struct vhxl_vq *vq = &self->n.dev.vq[VHX_TX];
	struct vhost_vring_addr a = {
		.index = VHX_TX,
		.desc_user_addr = (uintptr_t)vq->desc,
		.avail_user_addr = (uintptr_t)vq->avail,
		.used_user_addr = (uintptr_t)vq->used,
		.log_guest_addr = vq->used_gpa,
	}, b;

	b = a;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b.flags = 1u << VHOST_VRING_F_LOG;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b.flags = 2;
	EXPECT_EQ(EOPNOTSUPP, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b.flags = 0x80000000u;
	EXPECT_EQ(EOPNOTSUPP, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.avail_user_addr += 1;
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.used_user_addr += 2;
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.used_user_addr += 1;
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	b.log_guest_addr += 2;
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
	b = a;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_ADDR, &b));
}

TEST_F(dev, vring_base)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = VHX_RX, .num = 1234 };

	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(1234u, s.num);
	EXPECT_EQ((unsigned)VHX_RX, s.index);
	s.num = 0xffff;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0xffffu, s.num);
	s.num = 0x10000;
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	s.num = 0x80008000u;	/* packed-style value: split ring refuses */
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0xffffu, s.num);
	s.index = VHX_TX;
	s.num = 7;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(7u, s.num);
}

TEST_F(dev, busy_with_backend)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = VHX_TX, .num = 64 };

	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	EXPECT_EQ(EBUSY, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	s.num = 0;
	EXPECT_EQ(EBUSY, xioctl(fd, VHOST_SET_VRING_BASE, &s));
	/* the other vq is not busy */
	s.index = VHX_RX;
	s.num = 64;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	/* GET_VRING_BASE works while attached; ADDR too (access-checked) */
	s.index = VHX_TX;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0, vhxl_vq_set_addr(&self->n.dev.vq[VHX_TX]));
	/* detach: allowed again */
	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, -1));
	s.num = 64;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_NUM, &s));
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_BASE, &s));
}

TEST_F(dev, busyloop_timeout)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = VHX_RX, .num = 50 };

	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s));
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
	EXPECT_EQ(50u, s.num);
	s.index = VHX_TX;
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
	EXPECT_EQ(0u, s.num);
	s.index = VHX_RX;
	s.num = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &s));
	s.num = 99;
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BUSYLOOP_TIMEOUT, &s));
	EXPECT_EQ(0u, s.num);
}

TEST_F(dev, vring_eventfds)
{
	int fd = self->n.dev.fd, p[2], efd;
	struct vhost_vring_file f = { .index = VHX_TX };

	ASSERT_EQ(0, pipe(p));
	efd = eventfd(0, 0);
	ASSERT_GE(efd, 0);

	f.fd = p[0];
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_CALL, &f));
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_VRING_ERR, &f));
	f.fd = 4000;	/* not open */
	EXPECT_EQ(EBADF, xioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(EBADF, xioctl(fd, VHOST_SET_VRING_CALL, &f));
	f.fd = efd;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_CALL, &f));
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_ERR, &f));
	f.fd = -1;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_KICK, &f));
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_CALL, &f));
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_VRING_ERR, &f));
	close(p[0]);
	close(p[1]);
	close(efd);
}

TEST_F(dev, log_fd_and_base)
{
	int fd = self->n.dev.fd, efd, p[2], m1 = -1;
	uint64_t base;
	static uint8_t bitmap[4096] __attribute__((aligned(8)));

	efd = eventfd(0, 0);
	ASSERT_GE(efd, 0);
	ASSERT_EQ(0, pipe(p));
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_LOG_FD, &efd));
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_LOG_FD, &m1));
	EXPECT_EQ(EINVAL, xioctl(fd, VHOST_SET_LOG_FD, &p[0]));
	base = (uintptr_t)bitmap;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_LOG_BASE, &base));
	close(efd);
	close(p[0]);
	close(p[1]);
}

TEST_F(dev, backend_features)
{
	int fd = self->n.dev.fd;
	uint64_t v = 0;

	EXPECT_EQ(0, xioctl(fd, VHOST_GET_BACKEND_FEATURES, &v));
	EXPECT_EQ(1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2, v);
	v = 1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_BACKEND_FEATURES, &v));
	v = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_BACKEND_FEATURES, &v));
	v = 1ULL << VHOST_BACKEND_F_IOTLB_BATCH;
	EXPECT_EQ(EOPNOTSUPP, xioctl(fd, VHOST_SET_BACKEND_FEATURES, &v));
	v = (1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2) | (1ULL << VHOST_BACKEND_F_IOTLB_ASID);
	EXPECT_EQ(EOPNOTSUPP, xioctl(fd, VHOST_SET_BACKEND_FEATURES, &v));
	v = 1ULL << 63;
	EXPECT_EQ(EOPNOTSUPP, xioctl(fd, VHOST_SET_BACKEND_FEATURES, &v));
}

TEST_F(dev, mem_table)
{
	int fd = self->n.dev.fd;
	struct vhost_memory *t;
	unsigned i;
	uint64_t base = (uintptr_t)self->n.mem.base;

	t = calloc(1, sizeof(*t) + 66 * sizeof(t->regions[0]));
	ASSERT_NONNULL(t);
	/* 64 regions (the 6.1 max_mem_regions default) are accepted */
	t->nregions = 64;
	for (i = 0; i < 66; i++) {
		t->regions[i].guest_phys_addr = base + i * VHX_PAGE;
		t->regions[i].userspace_addr = base + i * VHX_PAGE;
		t->regions[i].memory_size = VHX_PAGE;
	}
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_MEM_TABLE, t));
	t->nregions = 65;
	EXPECT_EQ(E2BIG, xioctl(fd, VHOST_SET_MEM_TABLE, t));
	t->nregions = 0xffffffffu;
	EXPECT_EQ(E2BIG, xioctl(fd, VHOST_SET_MEM_TABLE, t));
	t->nregions = 1;
	t->padding = 1;
	EXPECT_EQ(EOPNOTSUPP, xioctl(fd, VHOST_SET_MEM_TABLE, t));
	t->padding = 0;
	t->nregions = 0;
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_MEM_TABLE, t));
	free(t);
	/* restore the real table */
	EXPECT_EQ(0, vhxl_dev_set_mem(&self->n.dev));
}

TEST_F(dev, set_backend_errors)
{
	struct vhxl_dev *d = &self->n.dev;
	int p[2], file, udp, pkt;
	char path[] = "/tmp/vhx-ioctl-XXXXXX";

	ASSERT_EQ(0, pipe(p));
	file = mkstemp(path);
	ASSERT_GE(file, 0);
	unlink(path);
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_GE(udp, 0);

	EXPECT_EQ(-ENOTSOCK, vhxl_set_backend(d, VHX_TX, file));
	EXPECT_EQ(-ENOTSOCK, vhxl_set_backend(d, VHX_TX, p[0]));
	EXPECT_EQ(-ENOTSOCK, vhxl_set_backend(d, VHX_TX, udp));
	EXPECT_EQ(-ENOTSOCK, vhxl_set_backend(d, VHX_TX, d->vq[0].kick_fd));
	EXPECT_EQ(-ENOTSOCK, vhxl_set_backend(d, VHX_TX, 4000));
	EXPECT_EQ(-ENOBUFS, vhxl_set_backend(d, 2, self->n.tap.fd));
	/* tap and AF_PACKET raw sockets are accepted; -1 detaches */
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_TX, self->n.tap.fd));
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_RX, self->n.tap.fd));
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_TX, -1));
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_RX, -1));
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_RX, -1));
	pkt = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	ASSERT_GE(pkt, 0);
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_TX, pkt));
	EXPECT_EQ(0, vhxl_set_backend(d, VHX_TX, -1));
	close(pkt);
	close(udp);
	close(file);
	close(p[0]);
	close(p[1]);
}

TEST_F(dev, reset_owner)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = VHX_RX };
	uint64_t f = 0;

	ASSERT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
	EXPECT_EQ(0, xioctl(fd, VHOST_RESET_OWNER, NULL));
	/* unowned again: generic ioctls refused, features still fine */
	EXPECT_EQ(EPERM, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_FEATURES, &f));
	EXPECT_EQ(BASE_FEATURES, f & ~F_VHX_ONLY);
	EXPECT_EQ(0, xioctl(fd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(0, xioctl(fd, VHOST_GET_VRING_BASE, &s));
	EXPECT_EQ(0u, s.num);
	EXPECT_EQ(EBUSY, xioctl(fd, VHOST_SET_OWNER, NULL));
	/* and the device can be fully set up again */
	EXPECT_EQ(0, vhxl_dev_set_features(&self->n.dev, self->n.dev.features));
	EXPECT_EQ(0, vhxl_dev_set_mem(&self->n.dev));
	EXPECT_EQ(0, vhxl_vq_reset(&self->n.dev.vq[VHX_TX]));
	EXPECT_EQ(0, vhxl_set_backend(&self->n.dev, VHX_TX, self->n.tap.fd));
}

TEST_F(dev, unknown_ioctls)
{
	int fd = self->n.dev.fd;
	struct vhost_vring_state s = { .index = 0, .num = 0 };
	unsigned long worker_new = _IOR(VHOST_VIRTIO, 0x08, int);

	EXPECT_EQ(ENOTTY, xioctl(fd, VHOST_SET_VRING_ENDIAN, &s));
	EXPECT_EQ(ENOTTY, xioctl(fd, VHOST_GET_VRING_ENDIAN, &s));
	/*
	 * Mainline quirk: an unknown command falls through to the vring ioctl
	 * handler, which reads the leading __u32 index from the argument
	 * first: a NULL argument gives EFAULT, index >= 2 gives ENOBUFS, and
	 * only a readable index < 2 reaches -ENOIOCTLCMD (ENOTTY).
	 */
	EXPECT_EQ(ENOTTY, xioctl(fd, _IO(VHOST_VIRTIO, 0x50), &s));
	EXPECT_EQ(ENOTTY, xioctl(fd, _IO(VHOST_VIRTIO, 0xff), &s));
	{
		int e = xioctl(fd, _IO(VHOST_VIRTIO, 0x50), NULL);

		TH_LOG("unknown ioctl with NULL argument: %s", strerror(e));
		EXPECT_TRUE(e == EFAULT || e == ENOTTY);
	}
	EXPECT_EQ(ENOTTY, xioctl(fd, worker_new, &s));
	EXPECT_EQ(ENOTTY, xioctl(fd, _IOW('T', 0xca, int), &s));
}

/* VHX_GET_QUEUE_STATS (vhx only): any fd of the device, owned or not. */
TEST(queue_stats_unowned)
{
	struct vhx_queue_stats st = { .index = 0 };
	int fd;

	REQUIRE_DEV();
	if (!target_is_vhx())
		SKIP(return, "VHX_GET_QUEUE_STATS is vhx's (target %s)",
		     getenv("VHX_TARGET") ?: "unset");
	fd = vhxl_open();
	ASSERT_GE(fd, 0);
	memset(&st, 0xff, sizeof(st));
	st.index = 0;
	ASSERT_EQ(0, xioctl(fd, VHX_GET_QUEUE_STATS, &st));
	EXPECT_EQ(2u, st.nvqs);
	EXPECT_EQ(0u, st.flags & VHX_QSTATS_F_OWNED);
	EXPECT_EQ(0, st.owner_pid);
	EXPECT_EQ(0, st.worker_pid);
	EXPECT_EQ(0, strcmp("net", st.kind));
	EXPECT_EQ(0, strcmp("rx", st.name));
	EXPECT_EQ(0u, st.packets);
	/* zeroed, not left as given */
	EXPECT_EQ(0u, st.vsock_drops);
	EXPECT_EQ(0u, st.reserved[2]);
	st.index = 2;
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHX_GET_QUEUE_STATS, &st));
	st.index = 0x80000000u;
	EXPECT_EQ(ENOBUFS, xioctl(fd, VHX_GET_QUEUE_STATS, &st));
	EXPECT_EQ(EFAULT, xioctl(fd, VHX_GET_QUEUE_STATS, NULL));
	close(fd);
}

TEST_F(dev, queue_stats)
{
	struct vhx_queue_stats st = { .index = 1 };

	if (!target_is_vhx())
		SKIP(return, "VHX_GET_QUEUE_STATS is vhx's");
	ASSERT_EQ(0, xioctl(self->n.dev.fd, VHX_GET_QUEUE_STATS, &st));
	EXPECT_EQ(1u, st.index);
	EXPECT_EQ(2u, st.nvqs);
	EXPECT_NE(0u, st.flags & VHX_QSTATS_F_OWNED);
	EXPECT_EQ(0u, st.flags & (VHX_QSTATS_F_BACKEND | VHX_QSTATS_F_BROKEN |
				  VHX_QSTATS_F_PACKED | VHX_QSTATS_F_BLK));
	EXPECT_EQ(getpid(), st.owner_pid);
	EXPECT_LT(0, st.worker_pid);
	EXPECT_EQ(64u, st.num);
	EXPECT_EQ(0, strcmp("tx", st.name));
	EXPECT_EQ(0, strcmp("-", st.backend));
	EXPECT_EQ(self->n.cfg.features, st.features);
	TH_LOG("queue 1: dev %u, worker %d, num %u, features 0x%llx",
	       st.dev_id, st.worker_pid, st.num, (unsigned long long)st.features);
}

TEST_HARNESS_MAIN
