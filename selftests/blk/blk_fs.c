// SPDX-License-Identifier: GPL-2.0
/*
 * blk_fs.c - blk_test over buffered files on XFS, btrfs and f2fs.
 *
 * The device first issues a backend's I/O with IOCB_NOWAIT from its
 * worker; what the file system cannot do without blocking must go to the
 * device's workqueue, whatever errno says so.  ext4 refuses a NOWAIT
 * buffered write with EOPNOTSUPP or EAGAIN; XFS (6.0 on) and btrfs (6.1
 * on) do it or say EAGAIN; a file system that opens files FMODE_NOWAIT
 * without FMODE_BUF_WASYNC (f2fs on 6.1) lets the write reach
 * generic_write_checks(), which refuses it with EINVAL.  A device that
 * takes that EINVAL for an I/O error fails every guest write to the file.
 *
 * For each file system: a 512 MiB sparse image on a loop device, a
 * sparse buffered (not O_DIRECT) 16 MiB file on it as the backend; 1 MiB
 * written in 64 KiB requests, FLUSH, read back through the device and
 * through the file, and every status OK.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "blk_common.h"

#define FS_CHUNK (64u << 10)
#define FS_SPAN (1u << 20)

struct fs_img {
	char dir[32];
	char img[64];
	char mnt[64];
	char loop[32];
	bool mounted;
};

static void fs_img_down(struct fs_img *f)
{
	if (f->mounted)
		sh("umount %s", f->mnt);
	if (f->loop[0])
		sh("losetup -d %s", f->loop);
	if (f->img[0])
		unlink(f->img);
	rmdir(f->mnt);
	rmdir(f->dir);
}

/* 0, or 1 with @why set when the file system cannot be made here. */
static int fs_img_up(struct fs_img *f, const char *fs, char *why, size_t len)
{
	char out[96];
	FILE *p;

	memset(f, 0, sizeof(*f));
	snprintf(f->dir, sizeof(f->dir), "/tmp/vhxfs.XXXXXX");
	if (!mkdtemp(f->dir))
		return -errno;
	snprintf(f->img, sizeof(f->img), "%s/img", f->dir);
	snprintf(f->mnt, sizeof(f->mnt), "%s/mnt", f->dir);
	if (mkdir(f->mnt, 0700) || sh("truncate -s 512M %s", f->img))
		return -EIO;
	sh("modprobe loop 2>/dev/null; modprobe %s 2>/dev/null", fs);
	snprintf(out, sizeof(out), "losetup -f --show %s", f->img);
	p = popen(out, "r");
	if (!p || !fgets(f->loop, sizeof(f->loop), p)) {
		if (p)
			pclose(p);
		snprintf(why, len, "no free loop device");
		f->loop[0] = 0;
		return 1;
	}
	pclose(p);
	f->loop[strcspn(f->loop, "\n")] = 0;
	if (sh("mkfs.%s -q -f %s >/dev/null 2>&1", fs, f->loop)) {
		snprintf(why, len, "mkfs.%s failed", fs);
		return 1;
	}
	if (sh("mount -t %s %s %s", fs, f->loop, f->mnt)) {
		snprintf(why, len, "the kernel cannot mount %s", fs);
		return 1;
	}
	f->mounted = true;
	return 0;
}

static void buffered_on(struct __test_metadata *_metadata, const char *fs)
{
	struct vhxl_blk_cfg c = { .num = 16, .data_size = 2 * FS_SPAN };
	struct vhxl_blk_io fl = { .type = VIRTIO_BLK_T_FLUSH };
	uint8_t *want, *got, st;
	unsigned ok = 0, bad = 0;
	struct vhxl_blk b;
	struct fs_img f;
	char why[96] = "", file[80];
	uint64_t wbuf, rbuf, off;
	int fd, r;

	if (sh("command -v mkfs.%s >/dev/null 2>&1", fs)) {
		SKIP(return, "no mkfs.%s (install-deps.sh installs it)", fs);
	}
	r = fs_img_up(&f, fs, why, sizeof(why));
	if (r) {
		fs_img_down(&f);
		if (r > 0)
			SKIP(return, "%s", why);
		ASSERT_EQ(0, r);
	}
	snprintf(file, sizeof(file), "%s/disk", f.mnt);
	fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, DISK_BYTES));
	r = vhxl_blk_setup(&b, &c, fd);
	if (r) {
		close(fd);
		fs_img_down(&f);
		ASSERT_EQ(0, r);
	}
	wbuf = vhxl_blk_alloc(&b, FS_SPAN);
	rbuf = vhxl_blk_alloc(&b, FS_SPAN);
	ASSERT_NE(0ull, wbuf);
	ASSERT_NE(0ull, rbuf);
	want = vhxl_blk_ptr(&b, wbuf, FS_SPAN);
	got = vhxl_blk_ptr(&b, rbuf, FS_SPAN);
	pattern(want, FS_SPAN, 31);
	for (off = 0; off < FS_SPAN; off += FS_CHUNK) {
		st = 0xff;
		r = vhxl_blk_rw(&b, 0, true, (4096 + off) / 512, wbuf + off,
				FS_CHUNK, &st);
		if (r == 0 && st == VIRTIO_BLK_S_OK)
			ok++;
		else
			bad++;
	}
	TH_LOG("%s: %u of %u buffered writes OK, %u failed; %lld punted to the workqueue",
	       fs, ok, ok + bad, bad, vq_counter(getpid(), 0, "punted"));
	EXPECT_EQ(0u, bad);
	do_io(_metadata, &b, &fl, VIRTIO_BLK_S_OK, 1);
	st = 0xff;
	EXPECT_EQ(0, vhxl_blk_rw(&b, 0, false, 4096 / 512, rbuf, FS_SPAN, &st));
	EXPECT_EQ(VIRTIO_BLK_S_OK, st);
	EXPECT_EQ(0, memcmp(want, got, FS_SPAN));
	memset(got, 0, FS_SPAN);
	EXPECT_EQ((ssize_t)FS_SPAN, pread(fd, got, FS_SPAN, 4096));
	EXPECT_EQ(0, memcmp(want, got, FS_SPAN));
	vhxl_blk_teardown(&b);
	close(fd);
	fs_img_down(&f);
}

TEST(buffered_xfs)
{
	const char *no = vhxl_blk_skip_reason();

	if (no)
		SKIP(return, "%s", no);
	buffered_on(_metadata, "xfs");
}

TEST(buffered_btrfs)
{
	const char *no = vhxl_blk_skip_reason();

	if (no)
		SKIP(return, "%s", no);
	buffered_on(_metadata, "btrfs");
}

TEST(buffered_f2fs)
{
	const char *no = vhxl_blk_skip_reason();

	if (no)
		SKIP(return, "%s", no);
	buffered_on(_metadata, "f2fs");
}
