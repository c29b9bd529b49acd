// SPDX-License-Identifier: GPL-2.0
/*
 * blk_cred.c - blk_test's credentials check: a backend's I/O is the
 * owner's, wherever the device issues it.
 *
 * An unprivileged owner (uid VHX_QUOTA_UID, no capabilities) with a disk
 * quota of Q on an ext4 file system writes 2Q through a sparse buffered
 * file.  Buffered writes to ext4 cannot be issued NOWAIT, so every one
 * goes through the device's workqueue: with the kworker's credentials the
 * kernel ignores the hard limit (CAP_SYS_RESOURCE) and the file grows to
 * 2Q; with the owner's, the writes past Q complete IOERR and the file
 * stays within its quota.
 *
 * And the owner's RLIMIT_FSIZE: the device's workers (a kworker, a
 * kthread) have no limit of their own, so a write at or past the owner's
 * limit would land; the owner's own write(2) there gets EFBIG.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/mman.h>
#include <sys/quota.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>

#include "blk_common.h"

#define VHX_QUOTA_UID 4242
#define QUOTA_BYTES (2u << 20)
#define CHUNK (128u << 10)

struct quota_run {
	int setup;		/* 0, or -errno of the owner's set-up step */
	int step;		/* which step failed */
	unsigned ok, ioerr, other;
	uint64_t ok_bytes;
};

/* The owner: drops to the quota'd user, then writes 2Q in CHUNKs. */
static void quota_owner(struct quota_run *res, const char *node,
			const char *file)
{
	struct vhxl_blk_cfg c = { .num = 16, .data_size = 1 << 20 };
	struct vhxl_blk b;
	uint64_t buf, off;
	uint8_t st;
	int fd, r;

	setenv("VHX_BLK_DEV", node, 1);
	res->step = 1;
	if (setgroups(0, NULL) || setresgid(VHX_QUOTA_UID, VHX_QUOTA_UID, VHX_QUOTA_UID) ||
	    setresuid(VHX_QUOTA_UID, VHX_QUOTA_UID, VHX_QUOTA_UID))
		goto fail;
	res->step = 2;
	fd = open(file, O_RDWR);
	if (fd < 0)
		goto fail;
	res->step = 3;
	r = vhxl_blk_setup(&b, &c, fd);
	if (r) {
		res->setup = r;
		_exit(0);
	}
	buf = vhxl_blk_alloc(&b, CHUNK);
	pattern(vhxl_blk_ptr(&b, buf, CHUNK), CHUNK, 7);
	for (off = 0; off < 2ull * QUOTA_BYTES; off += CHUNK) {
		st = 0xff;
		r = vhxl_blk_rw(&b, 0, true, off / 512, buf, CHUNK, &st);
		if (r == 0 && st == VIRTIO_BLK_S_OK) {
			res->ok++;
			res->ok_bytes += CHUNK;
		} else if (r == 0 && st == VIRTIO_BLK_S_IOERR) {
			res->ioerr++;
		} else {
			res->other++;
		}
	}
	vhxl_blk_teardown(&b);
	_exit(0);
fail:
	res->setup = -errno;
	_exit(0);
}

TEST(quota_is_the_owners)
{
	const char *no = vhxl_blk_skip_reason();
	struct disk d = { .fd = -1, .check = -1, .loop_nr = -1 };
	char mnt[32] = "/tmp/vhxq.XXXXXX", file[64], node[64] = "";
	struct if_dqblk dq = { 0 };
	struct quota_run *res;
	bool mounted = false;
	struct stat sb;
	char why[128] = "";
	pid_t pid;
	int fd, status;

	if (no)
		SKIP(return, "%s", no);
	if (sh("command -v mkfs.ext4 >/dev/null 2>&1"))
		SKIP(return, "no mkfs.ext4");
	if (disk_open(&d, BK_LOOP, false, why, sizeof(why)))
		SKIP(return, "no loop device: %s", why);
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	ASSERT_EQ(0, sh("mkfs.ext4 -q -F -O quota -E quotatype=usrquota %s >/dev/null 2>&1",
			d.loop_path));
	ASSERT_NONNULL(mkdtemp(mnt));
	/* ext4's quota files are in the v2 format, a module of its own */
	sh("modprobe ext4 2>/dev/null; modprobe quota_v2 2>/dev/null");
	if (sh("mount -t ext4 -o usrquota %s %s", d.loop_path, mnt)) {
		rmdir(mnt);
		disk_close(&d);
		SKIP(return, "cannot mount ext4 with usrquota here");
	}
	mounted = true;
	dq.dqb_bhardlimit = QUOTA_BYTES / 1024;	/* in 1 KiB quota blocks */
	dq.dqb_valid = QIF_BLIMITS;
	if (quotactl(QCMD(Q_SETQUOTA, USRQUOTA), d.loop_path, VHX_QUOTA_UID,
		     (caddr_t)&dq)) {
		TH_LOG("Q_SETQUOTA: %s", strerror(errno));
		goto skip;
	}
	snprintf(file, sizeof(file), "%s/disk", mnt);
	fd = open(file, O_RDWR | O_CREAT | O_EXCL, 0600);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, ftruncate(fd, 2 * QUOTA_BYTES));
	ASSERT_EQ(0, fchown(fd, VHX_QUOTA_UID, VHX_QUOTA_UID));
	close(fd);
	/*
	 * The device node as the unprivileged owner's own (as libvirt hands
	 * QEMU an fd it opened): a private node of the same device.
	 */
	ASSERT_EQ(0, stat(vhxl_blk_dev_path(), &sb));
	snprintf(node, sizeof(node), "/dev/vhx-quota-%d", getpid());
	ASSERT_EQ(0, mknod(node, S_IFCHR | 0600, sb.st_rdev));
	ASSERT_EQ(0, chown(node, VHX_QUOTA_UID, VHX_QUOTA_UID));

	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		quota_owner(res, node, file);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	unlink(node);
	EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	if (res->setup) {
		TH_LOG("owner's set-up step %d: %s", res->step, strerror(-res->setup));
		EXPECT_EQ(0, res->setup);
		goto out;
	}
	ASSERT_EQ(0, stat(file, &sb));
	TH_LOG("quota %u KiB: %u writes of %u KiB OK, %u IOERR, %u other; file holds %lld KiB",
	       QUOTA_BYTES >> 10, res->ok, CHUNK >> 10, res->ioerr, res->other,
	       (long long)sb.st_blocks / 2);
	EXPECT_EQ(0u, res->other);
	EXPECT_LT(0u, res->ok);
	EXPECT_LT(0u, res->ioerr);
	EXPECT_GE((uint64_t)QUOTA_BYTES, res->ok_bytes);
	EXPECT_GE((long long)QUOTA_BYTES, (long long)sb.st_blocks * 512);
	goto out;
skip:
	sh("umount %s", mnt);
	rmdir(mnt);
	disk_close(&d);
	munmap(res, sizeof(*res));
	SKIP(return, "no disk quota support here");
out:
	if (mounted)
		sh("umount %s", mnt);
	rmdir(mnt);
	disk_close(&d);
	munmap(res, sizeof(*res));
}

#define FSIZE_LIMIT (1u << 20)

struct fsize_run {
	int setup;
	unsigned ok, ioerr, other;
	uint8_t straddle, zeroes;	/* status of each */
};

/*
 * The owner: RLIMIT_FSIZE of 1 MiB (SIGXFSZ left at its default, so a
 * signal the device made it take would kill it), then 2 MiB of writes in
 * 128 KiB, a write across the limit and a WRITE_ZEROES past it.
 */
static void fsize_owner(struct fsize_run *res, int fd)
{
	struct vhxl_blk_cfg c = { .num = 16, .data_size = 1 << 20 };
	struct rlimit rl = { FSIZE_LIMIT, FSIZE_LIMIT };
	struct virtio_blk_discard_write_zeroes *seg;
	struct vhxl_blk_io io = { 0 };
	struct vhxl_blk b;
	uint64_t buf, off, sb;
	uint32_t len;
	uint8_t st;
	int r;

	if (setrlimit(RLIMIT_FSIZE, &rl)) {
		res->setup = -errno;
		_exit(0);
	}
	r = vhxl_blk_setup(&b, &c, fd);
	if (r) {
		res->setup = r;
		_exit(0);
	}
	buf = vhxl_blk_alloc(&b, CHUNK);
	sb = vhxl_blk_alloc(&b, 4096);
	pattern(vhxl_blk_ptr(&b, buf, CHUNK), CHUNK, 9);
	for (off = 0; off < 2ull * FSIZE_LIMIT; off += CHUNK) {
		st = 0xff;
		r = vhxl_blk_rw(&b, 0, true, off / 512, buf, CHUNK, &st);
		if (r == 0 && st == VIRTIO_BLK_S_OK)
			res->ok++;
		else if (r == 0 && st == VIRTIO_BLK_S_IOERR)
			res->ioerr++;
		else
			res->other++;
	}
	st = 0xff;
	vhxl_blk_rw(&b, 0, true, (FSIZE_LIMIT - CHUNK / 2) / 512, buf, CHUNK, &st);
	res->straddle = st;
	seg = vhxl_blk_ptr(&b, sb, sizeof(*seg));
	memset(seg, 0, sizeof(*seg));
	seg->sector = (3ull * FSIZE_LIMIT / 2) / 512;
	seg->num_sectors = 64;
	io.type = VIRTIO_BLK_T_WRITE_ZEROES;
	io.data = sb;
	io.len = sizeof(*seg);
	st = 0xff;
	vhxl_blk_do(&b, 0, &io, &st, &len);
	res->zeroes = st;
	vhxl_blk_teardown(&b);
	_exit(0);
}

TEST(fsize_limit_is_the_owners)
{
	const char *no = vhxl_blk_skip_reason();
	struct disk d = { .fd = -1, .check = -1, .loop_nr = -1 };
	uint8_t *want, *got, *zero;
	struct fsize_run *res;
	char why[128] = "";
	int status;
	pid_t pid;

	if (no)
		SKIP(return, "%s", no);
	ASSERT_EQ(0, disk_open(&d, BK_FILE, false, why, sizeof(why)));
	/* 0xee past the limit: what a write that should not land replaces */
	got = malloc(FSIZE_LIMIT);
	ASSERT_NONNULL(got);
	memset(got, 0xee, FSIZE_LIMIT);
	ASSERT_EQ((ssize_t)FSIZE_LIMIT, pwrite(d.check, got, FSIZE_LIMIT, FSIZE_LIMIT));
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		fsize_owner(res, d.fd);
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	if (WIFSIGNALED(status))
		TH_LOG("owner killed by signal %d", WTERMSIG(status));
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(0, res->setup);
	TH_LOG("RLIMIT_FSIZE %u KiB: %u writes of %u KiB OK, %u IOERR, %u other; across the limit: %u, WRITE_ZEROES past it: %u",
	       FSIZE_LIMIT >> 10, res->ok, CHUNK >> 10, res->ioerr, res->other,
	       res->straddle, res->zeroes);
	EXPECT_EQ(FSIZE_LIMIT / CHUNK, res->ok);
	EXPECT_EQ(FSIZE_LIMIT / CHUNK, res->ioerr);
	EXPECT_EQ(0u, res->other);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, res->straddle);
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, res->zeroes);
	/* below the limit the data, past it nothing changed */
	want = malloc(CHUNK);
	zero = malloc(FSIZE_LIMIT);
	ASSERT_NONNULL(want);
	ASSERT_NONNULL(zero);
	pattern(want, CHUNK, 9);
	memset(zero, 0xee, FSIZE_LIMIT);
	ASSERT_EQ((ssize_t)CHUNK, pread(d.check, got, CHUNK, 0));
	EXPECT_EQ(0, memcmp(want, got, CHUNK));
	ASSERT_EQ((ssize_t)FSIZE_LIMIT, pread(d.check, got, FSIZE_LIMIT, FSIZE_LIMIT));
	EXPECT_EQ(0, memcmp(zero, got, FSIZE_LIMIT));
	free(want);
	free(zero);
	free(got);
	munmap(res, sizeof(*res));
	disk_close(&d);
}
