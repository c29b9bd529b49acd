// SPDX-License-Identifier: GPL-2.0
/*
 * blk_guard.c - blk_test's backend guards: what an owner may not make the
 * device do to a file or block device it hands over, beyond what the
 * kernel's own interfaces let it do with the same fd.
 *
 *  - append-only: an O_APPEND fd (every writable fd of a chattr +a file is
 *    one) is refused with EPERM by GET_INFO and SET_BACKEND; O_APPEND set
 *    on the fd after the attach does not turn WRITE_ZEROES into appends;
 *  - a block device's discard goes through the checks of BLKDISCARD: not
 *    under a mounted file system's metadata (the kernel invalidates instead
 *    of truncating pages it does not own, and fails if they are in use),
 *    and not on an active swap device (ETXTBSY, as a write would be);
 *  - and what one owner may not do to the other tenants: requests of its
 *    that never finish do not hold up another device's blocking requests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "blk_common.h"

static bool have(const char *tool)
{
	return sh("command -v %s >/dev/null 2>&1", tool) == 0;
}

/* One DISCARD or WRITE_ZEROES of [sector, sector + n); its status. */
static int dwz_one(struct vhxl_blk *b, uint32_t type, uint64_t sector,
		   uint32_t n, uint32_t flags, uint8_t *st)
{
	uint64_t buf = vhxl_blk_alloc(b, 4096);
	struct virtio_blk_discard_write_zeroes *s = vhxl_blk_ptr(b, buf, sizeof(*s));
	struct vhxl_blk_io io = { .type = type, .data = buf, .len = sizeof(*s) };

	s->sector = sector;
	s->num_sectors = n;
	s->flags = flags;
	return vhxl_blk_do(b, 0, &io, st, NULL);
}

FIXTURE(guard)
{
	struct vhxl_blk b;
	struct disk d;
	bool up;
	char mnt[32];
	bool mounted, swapon;
};

FIXTURE_SETUP(guard)
{
	const char *no = vhxl_blk_skip_reason();

	self->d.fd = self->d.check = self->d.loop_nr = -1;
	if (no)
		SKIP(return, "%s", no);
}

FIXTURE_TEARDOWN(guard)
{
	if (self->up)
		vhxl_blk_teardown(&self->b);
	if (self->mounted)
		sh("umount %s", self->mnt);
	if (self->mnt[0])
		rmdir(self->mnt);
	if (self->swapon)
		sh("swapoff %s", self->d.loop_path);
	disk_close(&self->d);
}

TEST_F(guard, append_fd_refused)
{
	struct vhxl_blk_cfg c = { .num = 16, .no_backend = true };
	struct vhx_blk_info info = { 0 };
	char why[128] = "";
	int afd;

	ASSERT_EQ(0, disk_open(&self->d, BK_FILE, false, why, sizeof(why)));
	ASSERT_EQ(0, vhxl_blk_setup(&self->b, &c, self->d.fd));
	self->up = true;
	afd = open(self->d.path, O_RDWR | O_APPEND);
	ASSERT_LE(0, afd);
	info.fd = afd;
	EXPECT_EQ(-EPERM, vhxl_ioctl(self->b.dev.fd, VHX_BLK_GET_INFO, &info));
	EXPECT_EQ(-EPERM, vhxl_blk_set_backend(&self->b, 0, afd));
	/* the same file without O_APPEND is fine */
	EXPECT_EQ(0, vhxl_blk_set_backend(&self->b, 0, self->d.fd));
	close(afd);
}

/*
 * tmpfs has no ZERO_RANGE: WRITE_ZEROES without UNMAP writes zero pages
 * through the file, which must land at the sectors asked for even when the
 * owner sets O_APPEND on the attached fd afterwards.
 */
TEST_F(guard, append_set_after_attach)
{
	struct vhxl_blk_cfg c = { .num = 16 };
	uint64_t buf;
	uint8_t st = 0, *p;
	struct stat sb;
	char why[128] = "";
	int fl;

	ASSERT_EQ(0, disk_open(&self->d, BK_FILE, false, why, sizeof(why)));
	ASSERT_EQ(0, vhxl_blk_setup(&self->b, &c, self->d.fd));
	self->up = true;
	buf = vhxl_blk_alloc(&self->b, 8 * 512);
	memset(vhxl_blk_ptr(&self->b, buf, 8 * 512), 0xab, 8 * 512);
	ASSERT_EQ(0, vhxl_blk_rw(&self->b, 0, true, 64, buf, 8 * 512, &st));
	ASSERT_EQ(VIRTIO_BLK_S_OK, st);
	fl = fcntl(self->d.fd, F_GETFL);
	ASSERT_EQ(0, fcntl(self->d.fd, F_SETFL, fl | O_APPEND));
	ASSERT_EQ(0, dwz_one(&self->b, VIRTIO_BLK_T_WRITE_ZEROES, 64, 8, 0, &st));
	EXPECT_EQ(VIRTIO_BLK_S_OK, st);
	ASSERT_EQ(0, fstat(self->d.check, &sb));
	EXPECT_EQ((off_t)DISK_BYTES, sb.st_size);
	memset(vhxl_blk_ptr(&self->b, buf, 8 * 512), 0x5a, 8 * 512);
	ASSERT_EQ(0, vhxl_blk_rw(&self->b, 0, false, 64, buf, 8 * 512, &st));
	ASSERT_EQ(VIRTIO_BLK_S_OK, st);
	p = vhxl_blk_ptr(&self->b, buf, 8 * 512);
	for (fl = 0; fl < 8 * 512; fl++)
		if (p[fl])
			break;
	EXPECT_EQ(8 * 512, fl);
}

/* A loop device over a tmpfs file; > 0: none here (logged). */
static int loop_up(struct __test_metadata *_metadata, FIXTURE_DATA(guard) *self)
{
	char why[128] = "";
	int r = disk_open(&self->d, BK_LOOP, false, why, sizeof(why));

	if (r > 0)
		TH_LOG("%s", why);
	return r;
}

TEST_F(guard, discard_under_mounted_fs)
{
	struct vhxl_blk_cfg c = { .num = 16 };
	uint8_t st = 0;

	if (!have("mkfs.ext4") || !have("e2fsck"))
		SKIP(return, "no mkfs.ext4 / e2fsck");
	if (loop_up(_metadata, self))
		SKIP(return, "no loop device");
	ASSERT_EQ(0, sh("mkfs.ext4 -q -F %s >/dev/null 2>&1", self->d.loop_path));
	snprintf(self->mnt, sizeof(self->mnt), "/tmp/vhxmnt.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->mnt));
	sh("modprobe ext4 2>/dev/null");
	if (sh("mount -t ext4 %s %s", self->d.loop_path, self->mnt))
		SKIP(return, "cannot mount ext4 here");
	self->mounted = true;
	ASSERT_EQ(0, sh("echo vhx > %s/f && sync", self->mnt));
	ASSERT_EQ(0, vhxl_blk_setup(&self->b, &c, self->d.fd));
	self->up = true;
	ASSERT_TRUE(self->b.info.flags & VHX_BLK_INFO_F_DISCARD);
	/* the superblock and group descriptors: in use by the mount */
	ASSERT_EQ(0, dwz_one(&self->b, VIRTIO_BLK_T_DISCARD, 0, 2048, 0, &st));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, st);
	vhxl_blk_teardown(&self->b);
	self->up = false;
	ASSERT_EQ(0, sh("umount %s", self->mnt));
	self->mounted = false;
	EXPECT_EQ(0, sh("e2fsck -fn %s >/dev/null 2>&1", self->d.loop_path));
}

TEST_F(guard, discard_on_swap)
{
	struct vhxl_blk_cfg c = { .num = 16 };
	uint8_t st = 0;

	if (!have("mkswap") || !have("swapon"))
		SKIP(return, "no mkswap / swapon");
	if (loop_up(_metadata, self))
		SKIP(return, "no loop device");
	ASSERT_EQ(0, sh("mkswap %s >/dev/null 2>&1", self->d.loop_path));
	if (sh("swapon %s 2>/dev/null", self->d.loop_path))
		SKIP(return, "swapon failed (no swap support?)");
	self->swapon = true;
	ASSERT_EQ(0, vhxl_blk_setup(&self->b, &c, self->d.fd));
	self->up = true;
	ASSERT_TRUE(self->b.info.flags & VHX_BLK_INFO_F_DISCARD);
	ASSERT_EQ(0, dwz_one(&self->b, VIRTIO_BLK_T_DISCARD, 8, 8, 0, &st));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, st);
}

/*
 * Device A, on a brd RAM disk opened O_DIRECT, gets 96 writes whose
 * buffers are misaligned for direct I/O -- each goes through bounce pages,
 * copied from the guest in the blocking context -- and the page they are
 * in faults until released (userfaultfd), so none of them finishes.
 * Device B, another tenant on a tmpfs file, must still complete a FLUSH
 * (which always takes the blocking path) within a second.
 */
TEST(blocked_tenant_holds_up_no_flush)
{
	struct vhxl_blk_cfg ca = { .num = 128, .data_size = 1 << 20 };
	struct vhxl_blk_cfg cb = { .num = 16 };
	struct vhxl_blk a = { 0 }, b = { 0 };
	struct disk da = { .fd = -1 }, db = { .fd = -1 };
	struct vhxl_blk_io flush = { .type = VIRTIO_BLK_T_FLUSH };
	const char *no = vhxl_blk_skip_reason();
	char why[128] = "";
	int uffd, i, id, got = 0, r;
	uint64_t page;
	uint32_t len;
	uint8_t st;

	if (no)
		SKIP(return, "%s", no);
	da.check = da.loop_nr = db.check = db.loop_nr = -1;
	r = disk_open(&da, BK_RAM_DIRECT, false, why, sizeof(why));
	if (r > 0)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, disk_open(&db, BK_FILE, false, why, sizeof(why)));
	ASSERT_EQ(0, vhxl_blk_setup(&a, &ca, da.fd));
	ASSERT_EQ(0, vhxl_blk_setup(&b, &cb, db.fd));
	page = vhxl_blk_alloc(&a, 4096);
	ASSERT_NE(0u, page);
	uffd = vhxl_mem_stall(&a.mem, page, 4096);
	if (uffd < 0) {
		vhxl_blk_teardown(&a);
		vhxl_blk_teardown(&b);
		disk_close(&da);
		disk_close(&db);
		SKIP(return, "userfaultfd: %s", strerror(-uffd));
	}
	for (i = 0; i < 96; i++) {
		struct vhxl_blk_io io = {
			.type = VIRTIO_BLK_T_OUT, .sector = i, .data = page + 100,
			.len = 512, .indirect = true,
		};

		ASSERT_LE(0, vhxl_blk_post(&a, 0, &io));
	}
	vhxl_blk_kick(&a, 0);
	usleep(500000);
	/* none of A's writes can have finished */
	EXPECT_EQ(-ETIMEDOUT, vhxl_blk_reap(&a, 0, 0, &st, &len));

	ASSERT_LE(0, vhxl_blk_post(&b, 0, &flush));
	vhxl_blk_kick(&b, 0);
	id = vhxl_blk_reap(&b, 0, 1000, &st, &len);
	TH_LOG("other tenant's FLUSH: %s", id >= 0 ? "done" : "not done after 1 s");
	EXPECT_LE(0, id);
	if (id >= 0)
		EXPECT_EQ(VIRTIO_BLK_S_OK, st);

	/* release: A's writes finish (from zeros), B's flush in any case */
	close(uffd);
	if (id < 0)
		vhxl_blk_reap(&b, 0, 10000, &st, &len);
	while (got < 96 && vhxl_blk_reap(&a, 0, 10000, &st, &len) >= 0)
		got++;
	EXPECT_EQ(96, got);
	vhxl_blk_teardown(&a);
	vhxl_blk_teardown(&b);
	disk_close(&da);
	disk_close(&db);
}

