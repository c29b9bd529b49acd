// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_cid.c - vsock_test's CID rules (VHOST_VSOCK_SET_GUEST_CID, as
 * mainline): 0, 1, 2 (the reserved and the host's), U32_MAX and anything
 * above 32 bits are EINVAL; a CID another open device holds is
 * EADDRINUSE (a device may set its own CID again, and may move to another,
 * freeing the old one); the CID is released when the device is closed: a
 * host connect() to it then fails with ENODEV and a new device can take it.
 * Every CID, the lowest and the highest included, is reachable both ways.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>

#include "vsock_common.h"

static int open_owned(void)
{
	int fd = open(vhxl_vsock_dev_path(), O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (vhxl_ioctl(fd, VHOST_SET_OWNER, NULL)) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

TEST(cid_rules)
{
	static const uint64_t bad[] = {
		0, 1, 2, 0xffffffffULL, 0x100000000ULL, 0x100000005ULL,
		0xffffffffffffffffULL,
	};
	const char *why = vhxl_vsock_skip_reason();
	uint64_t good = vt_cid();
	unsigned i;
	int fd;

	if (why)
		SKIP(return, "%s", why);
	fd = open_owned();
	ASSERT_GE(fd, 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = vhxl_vsock_set_cid_fd(fd, bad[i]);

		TH_LOG("SET_GUEST_CID 0x%llx: %s", (unsigned long long)bad[i],
		       r ? strerror(-r) : "ok");
		EXPECT_EQ(-EINVAL, r);
	}
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(fd, 3));
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(fd, good));
	/* its own CID again */
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(fd, good));
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(fd, 0xfffffffeULL));
	close(fd);
}

TEST(cid_in_use)
{
	const char *why = vhxl_vsock_skip_reason();
	uint64_t x = vt_cid(), y = vt_cid(), z = vt_cid();
	int a, b, c;

	if (why)
		SKIP(return, "%s", why);
	a = open_owned();
	b = open_owned();
	ASSERT_GE(a, 0);
	ASSERT_GE(b, 0);
	ASSERT_EQ(0, vhxl_vsock_set_cid_fd(a, x));
	EXPECT_EQ(-EADDRINUSE, vhxl_vsock_set_cid_fd(b, x));
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(b, y));
	EXPECT_EQ(-EADDRINUSE, vhxl_vsock_set_cid_fd(a, y));
	/* a moves to z: x is free, z is taken */
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(a, z));
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(b, x));
	EXPECT_EQ(-EADDRINUSE, vhxl_vsock_set_cid_fd(b, z));
	/* closing a releases z */
	close(a);
	c = open_owned();
	ASSERT_GE(c, 0);
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(c, z));
	EXPECT_EQ(-EADDRINUSE, vhxl_vsock_set_cid_fd(c, x));
	close(b);
	EXPECT_EQ(0, vhxl_vsock_set_cid_fd(c, x));
	close(c);
	TH_LOG("CIDs %llu, %llu, %llu: EADDRINUSE while held, free after SET to another CID or close",
	       (unsigned long long)x, (unsigned long long)y, (unsigned long long)z);
}

#define REACH_MS 2000	/* plenty here: a connection takes a few ms */

/*
 * Every CID is reachable both ways: the lowest and the highest, and some
 * that a table keyed by a 64-bit CID but searched with a 32-bit one would
 * put in another bucket (hash_64(cid, 8) != hash_32(cid, 8) for 9197 and
 * 102616: a guest with such a CID never got its RESPONSE).
 */
TEST_TIMEOUT(cid_reachable, 60)
{
	static const uint32_t cids[] = { 3, 9197, 102616, 0x7fffffff, 0xfffffffe };
	const char *why = vhxl_vsock_skip_reason();
	uint32_t lport = vt_port();
	unsigned i, tried = 0;
	int lfd;

	if (why)
		SKIP(return, "%s", why);
	lfd = host_listen(lport, SOCK_STREAM, 0);
	ASSERT_GE(lfd, 0);
	for (i = 0; i < sizeof(cids) / sizeof(cids[0]); i++) {
		struct vhxl_vsock_cfg cfg = { .cid = cids[i], .num = 32 };
		struct vhxl_vsock_conn c;
		struct vhxl_vsock_pkt *p;
		uint32_t gport = vt_port();
		struct vhxl_vsock v;
		int r, fd, hfd;

		r = vhxl_vsock_setup(&v, &cfg);
		if (r == -EADDRINUSE) {
			TH_LOG("CID %u in use elsewhere: not tried", cids[i]);
			vhxl_vsock_teardown(&v);
			continue;
		}
		ASSERT_EQ(0, r);
		tried++;
		/* guest -> host: the RESPONSE finds the device */
		vhxl_vsock_conn_init(&v, &c, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
		r = vhxl_vsock_connect(&c, VHX_VSOCK_HOST_CID, lport, REACH_MS);
		fd = host_accept(lfd, r ? 0 : REACH_MS);
		TH_LOG("CID %u: guest connect %s, host accept %s", cids[i],
		       r ? strerror(-r) : "ok", fd >= 0 ? "ok" : strerror(-fd));
		EXPECT_EQ(0, r);
		EXPECT_GE(fd, 0);
		vhxl_vsock_conn_fini(&c);
		/* host -> guest: the REQUEST finds it too */
		hfd = host_connect_nb(cids[i], gport + 1, SOCK_STREAM, 0);
		ASSERT_GE(hfd, 0);
		p = vhxl_vsock_expect(&v, VIRTIO_VSOCK_OP_REQUEST, gport + 1, REACH_MS);
		EXPECT_NONNULL(p);
		if (p)
			vhxl_vsock_reply_rst(&v, p);
		vhxl_vsock_pkt_free(p);
		r = host_connect_wait(hfd, p ? REACH_MS : 10);
		TH_LOG("CID %u: host connect answered: %s", cids[i], strerror(-r));
		EXPECT_EQ(-ECONNRESET, r);
		/* the device first: the accepted socket is reset, not left
		 * waiting for the guest's answer to its SHUTDOWN */
		vhxl_vsock_teardown(&v);
		close(hfd);
		if (fd >= 0)
			close(fd);
	}
	close(lfd);
	EXPECT_GT(tried, 0u);
}

TEST(cid_released_at_close)
{
	struct vhxl_vsock_cfg cfg = { .cid = vt_cid() };
	const char *why = vhxl_vsock_skip_reason();
	uint32_t gport = vt_port();
	struct vhxl_vsock_pkt *p;
	struct vhxl_vsock v;
	int fd;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_vsock_setup(&v, &cfg));
	/* reachable while open ... */
	fd = host_connect_nb(cfg.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(fd, 0);
	p = vhxl_vsock_expect(&v, VIRTIO_VSOCK_OP_REQUEST, gport, WAIT_MS);
	ASSERT_NONNULL(p);
	vhxl_vsock_reply_rst(&v, p);
	vhxl_vsock_pkt_free(p);
	EXPECT_EQ(-ECONNRESET, host_connect_wait(fd, WAIT_MS));
	close(fd);
	vhxl_vsock_teardown(&v);
	/* ... not once closed ... */
	fd = host_connect_nb(cfg.cid, gport, SOCK_STREAM, 0);
	if (fd >= 0) {
		EXPECT_EQ(-ENODEV, host_connect_wait(fd, WAIT_MS));
		close(fd);
	} else {
		EXPECT_EQ(-ENODEV, fd);
	}
	/* ... and a new device takes the CID at once */
	ASSERT_EQ(0, vhxl_vsock_setup(&v, &cfg));
	fd = host_connect_nb(cfg.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(fd, 0);
	p = vhxl_vsock_expect(&v, VIRTIO_VSOCK_OP_REQUEST, gport, WAIT_MS);
	EXPECT_NONNULL(p);
	if (p)
		vhxl_vsock_reply_rst(&v, p);
	vhxl_vsock_pkt_free(p);
	EXPECT_EQ(-ECONNRESET, host_connect_wait(fd, WAIT_MS));
	vhxl_vsock_teardown(&v);
	close(fd);
	TH_LOG("CID %llu: host connect ENODEV after close, a new device took it and got the next REQUEST",
	       (unsigned long long)cfg.cid);
}
