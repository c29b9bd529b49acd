// SPDX-License-Identifier: GPL-2.0
/*
 * blk_ioctl.c - blk_test's ioctl errors: /dev/vhost-blk unowned, owned,
 * with backends that are not files or block devices, a queue index past
 * the device's, a write-only file, two files for one device, and an owner
 * that is another process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>

#include "blk_common.h"

TEST(ioctl_errors)
{
	struct vhost_vring_file f = { .index = 0 };
	struct vhx_blk_info info = { .fd = -1 };
	struct vhx_blk_serial ser = { .id = "x" };
	const char *why = vhxl_blk_skip_reason();
	struct disk a, b2;
	struct vhxl_blk b;
	uint64_t feat = 1ULL << 63;
	char reason[128];
	int fd, pfd[2], efd;
	pid_t pid;
	int st;

	if (why)
		SKIP(return, "%s", why);
	fd = open(vhxl_blk_dev_path(), O_RDWR);
	ASSERT_GE(fd, 0);
	/* unowned */
	EXPECT_EQ(-EPERM, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	EXPECT_EQ(-EPERM, vhxl_ioctl(fd, VHX_BLK_SET_SERIAL, &ser));
	EXPECT_EQ(0, vhxl_ioctl(fd, VHOST_GET_FEATURES, &feat));
	EXPECT_EQ(-ENXIO, vhxl_ioctl(fd, VHX_BLK_GET_INFO, &info));
	ASSERT_EQ(0, vhxl_ioctl(fd, VHOST_SET_OWNER, NULL));
	EXPECT_EQ(-EBUSY, vhxl_ioctl(fd, VHOST_SET_OWNER, NULL));
	feat = 1ULL << 63;
	EXPECT_EQ(-EOPNOTSUPP, vhxl_ioctl(fd, VHOST_SET_FEATURES, &feat));
	feat = 1;
	EXPECT_EQ(-EOPNOTSUPP, vhxl_ioctl(fd, VHOST_SET_BACKEND_FEATURES, &feat));
	/* backends that are not files or block devices */
	ASSERT_EQ(0, pipe(pfd));
	efd = eventfd(0, 0);
	f.fd = pfd[0];
	EXPECT_EQ(-ENOTBLK, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	f.fd = efd;
	EXPECT_EQ(-ENOTBLK, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	f.fd = fd;	/* itself */
	EXPECT_EQ(-ENOTBLK, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	f.fd = 9999;
	EXPECT_EQ(-EBADF, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	info.fd = pfd[1];
	EXPECT_EQ(-ENOTBLK, vhxl_ioctl(fd, VHX_BLK_GET_INFO, &info));
	/* a queue index past the device's */
	f.index = 64;
	f.fd = -1;
	EXPECT_EQ(-ENOBUFS, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	f.index = 0;
	/* a write-only file cannot be read */
	ASSERT_EQ(0, disk_open(&a, BK_FILE, false, reason, sizeof(reason)));
	f.fd = open(a.path, O_WRONLY);
	ASSERT_GE(f.fd, 0);
	EXPECT_EQ(-EBADF, vhxl_ioctl(fd, VHX_BLK_SET_BACKEND, &f));
	close(f.fd);
	close(fd);
	close(pfd[0]);
	close(pfd[1]);
	close(efd);

	/* all queues share one file; another is EBUSY */
	struct vhxl_blk_cfg c = { .num = 32, .nqueues = 2, .no_backend = true };

	ASSERT_EQ(0, disk_open(&b2, BK_FILE, false, reason, sizeof(reason)));
	ASSERT_EQ(0, vhxl_blk_setup(&b, &c, a.fd));
	EXPECT_EQ(0, vhxl_blk_set_backend(&b, 0, a.fd));
	EXPECT_EQ(-EBUSY, vhxl_blk_set_backend(&b, 1, b2.fd));
	EXPECT_EQ(0, vhxl_blk_set_backend(&b, 1, a.fd));
	/* another process (another mm) is not the owner */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid)
		_exit(vhxl_blk_set_backend(&b, 0, -1) == -EPERM ? 0 : 1);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_EQ(0, WEXITSTATUS(st));
	EXPECT_EQ(0, vhxl_blk_attach_all(&b, -1));
	/* with every queue detached, another file is fine */
	EXPECT_EQ(0, vhxl_blk_set_backend(&b, 1, b2.fd));
	vhxl_blk_teardown(&b);
	disk_close(&a);
	disk_close(&b2);
}
