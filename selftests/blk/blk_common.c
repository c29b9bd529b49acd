// SPDX-License-Identifier: GPL-2.0
/*
 * blk_common.c - blk_test's shared helpers: the backends (a tmpfs file, a
 * loop device, brd and null_blk opened O_DIRECT), the device set-up of
 * every fixture, one request, a write/read round trip checked in the
 * backend too, bursts of writes, and the per-queue debugfs counters.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <linux/fs.h>
#include <linux/loop.h>

#include "blk_common.h"

int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int r;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	r = system(cmd);
	return r == -1 ? -errno : WEXITSTATUS(r);
}

static int tmpfile16(struct disk *d)
{
	snprintf(d->path, sizeof(d->path), "/tmp/vhxblk.XXXXXX");
	d->check = mkstemp(d->path);
	if (d->check < 0)
		return -errno;
	unlink(d->path);
	if (ftruncate(d->check, DISK_BYTES))
		return -errno;
	return 0;
}

/* Returns 0, or a reason to skip in @why. */
int disk_open(struct disk *d, enum backend kind, bool ro, char *why,
	      size_t whylen)
{
	int r, ctl;

	memset(d, 0, sizeof(*d));
	d->kind = kind;
	d->fd = d->check = d->loop_nr = -1;
	d->sectors = DISK_SECTORS;
	switch (kind) {
	case BK_FILE:
		r = tmpfile16(d);
		if (r)
			return r;
		snprintf(d->path, sizeof(d->path), "/proc/self/fd/%d", d->check);
		d->fd = open(d->path, ro ? O_RDONLY : O_RDWR);
		return d->fd < 0 ? -errno : 0;
	case BK_LOOP:
		r = tmpfile16(d);
		if (r)
			return r;
		sh("modprobe loop 2>/dev/null");
		ctl = open("/dev/loop-control", O_RDWR);
		if (ctl < 0) {
			snprintf(why, whylen, "no /dev/loop-control: %s", strerror(errno));
			return 1;
		}
		d->loop_nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		close(ctl);
		if (d->loop_nr < 0)
			return -errno;
		snprintf(d->loop_path, sizeof(d->loop_path), "/dev/loop%d", d->loop_nr);
		d->fd = open(d->loop_path, O_RDWR);
		if (d->fd < 0)
			return -errno;
		if (ioctl(d->fd, LOOP_SET_FD, d->check))
			return -errno;
		if (ro) {
			close(d->fd);
			d->fd = open(d->loop_path, O_RDONLY);
			if (d->fd < 0)
				return -errno;
		}
		return 0;
	case BK_RAM_DIRECT:
		if (access("/dev/ram0", F_OK))
			sh("modprobe brd rd_nr=1 rd_size=16384 2>/dev/null");
		d->fd = open("/dev/ram0", (ro ? O_RDONLY : O_RDWR) | O_DIRECT);
		if (d->fd < 0) {
			snprintf(why, whylen, "no brd RAM disk /dev/ram0: %s",
				 strerror(errno));
			return 1;
		}
		d->check = open("/dev/ram0", O_RDWR | O_DIRECT);
		if (d->check < 0)
			return -errno;
		/* Start from zeros: brd keeps data between tests. */
		r = sh("dd if=/dev/zero of=/dev/ram0 bs=1M count=16 oflag=direct status=none");
		return r ? -EIO : 0;
	case BK_NULL_SLOW:
		/*
		 * null_blk, memory-backed, completing each request after 5 ms
		 * from a timer, 64 tags: requests really are in flight.
		 */
		if (access("/dev/nullb0", F_OK))
			sh("modprobe null_blk nr_devices=1 gb=1 bs=512 memory_backed=1 "
			    "discard=1 irqmode=2 completion_nsec=5000000 "
			    "hw_queue_depth=64 2>/dev/null");
		d->fd = open("/dev/nullb0", (ro ? O_RDONLY : O_RDWR) | O_DIRECT);
		if (d->fd < 0) {
			snprintf(why, whylen, "no null_blk /dev/nullb0: %s",
				 strerror(errno));
			return 1;
		}
		d->check = open("/dev/nullb0", O_RDWR | O_DIRECT);
		if (d->check < 0 || ioctl(d->check, BLKGETSIZE64, &d->sectors))
			return -errno;
		d->sectors /= 512;
		return 0;
	}
	return -EINVAL;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->loop_nr >= 0) {
		int fd = open(d->loop_path, O_RDWR);

		if (fd >= 0) {
			ioctl(fd, LOOP_CLR_FD, 0);
			close(fd);
		}
	}
	if (d->check >= 0)
		close(d->check);
	d->fd = d->check = d->loop_nr = -1;
}

/* Read what the backend holds at @off (bypassing vhost-blk). */
int disk_pread(struct disk *d, void *buf, size_t len, off_t off)
{
	void *b;
	int r;

	if (posix_memalign(&b, 4096, len))
		return -ENOMEM;
	r = pread(d->check, b, len, off) == (ssize_t)len ? 0 : -EIO;
	memcpy(buf, b, len);
	free(b);
	return r;
}

void pattern(void *buf, size_t len, uint32_t seed)
{
	uint32_t *p = buf, x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len / 4; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = x;
	}
}

/*
 * Fixture set-up shared by every fixture with a device @b over a disk @d:
 * 0, or 1 with @why filled when the test must be skipped.
 */
int blk_up(struct vhxl_blk *b, struct disk *d, enum backend kind,
	   const struct vhxl_blk_cfg *c, char *why, size_t whylen)
{
	const char *no = vhxl_blk_skip_reason();
	int r;

	d->fd = d->check = d->loop_nr = -1;
	if (no) {
		snprintf(why, whylen, "%s", no);
		return 1;
	}
	r = disk_open(d, kind, false, why, whylen);
	/* the ram disk may be missing: fall back to a file */
	if (r > 0 && kind == BK_RAM_DIRECT && c->nqueues > 1)
		r = disk_open(d, BK_FILE, false, why, whylen);
	if (r)
		return r;
	return vhxl_blk_setup(b, c, d->fd);
}

/* One request, expecting @status and (if >= 0) @used_len. */
void do_io(struct __test_metadata *_metadata, struct vhxl_blk *b,
	   const struct vhxl_blk_io *io, uint8_t status, int64_t used_len)
{
	uint32_t len = 0;
	uint8_t st = 0;

	ASSERT_EQ(0, vhxl_blk_do(b, 0, io, &st, &len));
	EXPECT_EQ(status, st);
	if (used_len >= 0)
		EXPECT_EQ((uint32_t)used_len, len);
}

/* Write a pattern, read it back through the device and from the backend. */
void rt(struct __test_metadata *_metadata, struct vhxl_blk *b,
	struct disk *disk, uint64_t sector, uint32_t len, uint32_t seed,
	const struct vhxl_blk_io *layout)
{
	uint64_t w = vhxl_blk_alloc(b, len + 4096), r = vhxl_blk_alloc(b, len + 4096);
	struct vhxl_blk_io io = layout ? *layout : (struct vhxl_blk_io){ 0 };
	uint8_t *wp, *rp, *chk;

	ASSERT_NE(0u, w);
	ASSERT_NE(0u, r);
	/* room for a header in front of the data (hdr_with_data) */
	w += 16;
	wp = vhxl_blk_ptr(b, w, len);
	rp = vhxl_blk_ptr(b, r, len);
	pattern(wp, len, seed);
	memset(rp, 0x5a, len);
	io.type = VIRTIO_BLK_T_OUT;
	io.sector = sector;
	io.data = w;
	io.len = len;
	io.status_with_data = false;
	do_io(_metadata, b, &io, VIRTIO_BLK_S_OK, 1);
	io = layout ? *layout : (struct vhxl_blk_io){ 0 };
	io.type = VIRTIO_BLK_T_IN;
	io.sector = sector;
	io.data = r;
	io.len = len;
	io.hdr_with_data = false;
	io.status_len = 0;	/* IN: the extra bytes would count as data */
	do_io(_metadata, b, &io, VIRTIO_BLK_S_OK, len + 1);
	ASSERT_EQ(0, memcmp(wp, rp, len));
	chk = malloc(len);
	ASSERT_NONNULL(chk);
	if (disk->kind == BK_LOOP) {
		/* the check fd is the backing file: write back the loop
		 * device's page cache first */
		struct vhxl_blk_io fl = { .type = VIRTIO_BLK_T_FLUSH };

		do_io(_metadata, b, &fl, VIRTIO_BLK_S_OK, 1);
	}
	ASSERT_EQ(0, disk_pread(disk, chk, len, sector * 512));
	EXPECT_EQ(0, memcmp(wp, chk, len));
	free(chk);
}

/* Post @n writes of @len bytes on queue @q and kick; returns how many. */
unsigned post_writes(struct vhxl_blk *b, unsigned q, unsigned n,
		     uint32_t len, uint64_t sector0)
{
	uint64_t buf = vhxl_blk_alloc(b, len);
	unsigned i;

	pattern(vhxl_blk_ptr(b, buf, len), len, 77);
	for (i = 0; i < n; i++) {
		struct vhxl_blk_io io = {
			.type = VIRTIO_BLK_T_OUT, .data = buf, .len = len,
			.indirect = true,
			.sector = (sector0 + (uint64_t)i * (len / 512)) % (DISK_SECTORS - len / 512),
		};

		if (vhxl_blk_post(b, q, &io) < 0)
			break;
	}
	vhxl_blk_kick(b, q);
	return i;
}

/* Counter @key of queue @q of the blk device owned by @owner, or -1. */
long long vq_counter(pid_t owner, unsigned q, const char *key)
{
	FILE *f = fopen("/sys/kernel/debug/vhx/devices", "r");
	char line[1024], pat[64], want[32];
	long long v = -1;
	int mine = 0;

	if (!f)
		return -1;
	snprintf(pat, sizeof(pat), " %s=", key);
	snprintf(want, sizeof(want), " idx=%u ", q);
	while (fgets(line, sizeof(line), f)) {
		int dev, o;
		char *p;

		if (sscanf(line, "dev id=%d kind=blk owner=%d", &dev, &o) == 2) {
			mine = o == owner;
			continue;
		}
		if (!strncmp(line, "dev ", 4))
			mine = 0;
		if (mine && !strncmp(line, "vq ", 3) && strstr(line, want) &&
		    (p = strstr(line, pat)))
			v = atoll(p + strlen(pat));
	}
	fclose(f);
	return v;
}
