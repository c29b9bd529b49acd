// SPDX-License-Identifier: GPL-2.0
/*
 * blk_dirtylog.c - blk_test's dirty logging: with VHOST_F_LOG_ALL, the
 * pages an IN request and a GET_ID wrote and the status bytes' page are
 * set in the log bitmap, and at most 8 bits in all; only what the device
 * wrote is logged, however large the writable part of a chain (a hostile
 * chain of 1000 descriptors of 511 MiB each over the same guest RAM is
 * answered at once, 256 times over, instead of a walk of 10^8 pages);
 * and a request whose copy of its log cannot be allocated never completes
 * a write to guest memory unlogged.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <time.h>

#include "blk_common.h"

TEST(dirty_log)
{
	const char *why = vhxl_blk_skip_reason();
	struct vhxl_blk_cfg c = { .num = 32, .data_size = 2 << 20 };
	uint64_t data, id, log_base, f, pages, page;
	struct vhxl_blk_io io = { .type = VIRTIO_BLK_T_IN, .sector = 8 };
	char reason[128];
	struct vhxl_blk b;
	struct disk d;
	uint8_t *bm, st;
	uint32_t len;
	unsigned set = 0;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, disk_open(&d, BK_FILE, false, reason, sizeof(reason)));
	ASSERT_EQ(0, vhxl_blk_setup(&b, &c, d.fd));
	pages = (VHX_GPA_BASE + b.mem.size) / 4096 + 1;
	bm = calloc(pages / 8 + 1, 1);
	ASSERT_NONNULL(bm);
	log_base = (uint64_t)(uintptr_t)bm;
	ASSERT_EQ(0, vhxl_ioctl(b.dev.fd, VHOST_SET_LOG_BASE, &log_base));
	f = b.cfg.features | VHX_BIT(VHOST_F_LOG_ALL);
	ASSERT_EQ(0, vhxl_dev_set_features(&b.dev, f));
	data = vhxl_blk_alloc(&b, 3 * 4096);
	id = vhxl_blk_alloc(&b, 4096);
	/* an IN of 2 pages, then a GET_ID into its own page */
	io.data = data;
	io.len = 8192;
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	ASSERT_EQ(0, st);
	io = (struct vhxl_blk_io){ .type = VIRTIO_BLK_T_GET_ID, .data = id, .len = 20 };
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	ASSERT_EQ(0, st);
#define BIT_SET(gpa) (bm[(gpa) / 4096 / 8] & (1 << ((gpa) / 4096 % 8)))
	EXPECT_TRUE(BIT_SET(data));
	EXPECT_TRUE(BIT_SET(data + 4096));
	EXPECT_FALSE(BIT_SET(data + 8192));	/* not written */
	EXPECT_TRUE(BIT_SET(id));
	/* and the status bytes' page (the request slots) */
	EXPECT_TRUE(BIT_SET(b.status_gpa[0][0]));
	for (page = 0; page < pages; page++)
		set += !!(bm[page / 8] & (1 << (page % 8)));
	TH_LOG("%u page bits set", set);
	EXPECT_LE(set, 8u);
	vhxl_blk_teardown(&b);
	disk_close(&d);
	free(bm);
}

/*
 * A device over a tmpfs file with VHOST_F_LOG_ALL and a bitmap over all
 * its guest memory: the bitmap, or NULL.
 */
static uint8_t *log_all(struct vhxl_blk *b, struct disk *d,
			const struct vhxl_blk_cfg *c, uint64_t *pages)
{
	uint64_t log_base, f;
	char reason[128];
	uint8_t *bm;

	if (disk_open(d, BK_FILE, false, reason, sizeof(reason)) ||
	    vhxl_blk_setup(b, c, d->fd))
		return NULL;
	*pages = (VHX_GPA_BASE + b->mem.size) / 4096 + 1;
	bm = calloc(*pages / 8 + 1, 1);
	if (!bm)
		return NULL;
	log_base = (uint64_t)(uintptr_t)bm;
	if (vhxl_ioctl(b->dev.fd, VHOST_SET_LOG_BASE, &log_base))
		return NULL;
	f = b->cfg.features | VHX_BIT(VHOST_F_LOG_ALL);
	if (vhxl_dev_set_features(&b->dev, f))
		return NULL;
	return bm;
}

static unsigned count_bits(const uint8_t *bm, uint64_t pages)
{
	unsigned set = 0;
	uint64_t p;

	for (p = 0; p < pages; p++)
		set += !!(bm[p / 8] & (1 << (p % 8)));
	return set;
}

/*
 * A GET_ID into an 8 MiB buffer and a failing IN (past the capacity) of
 * 4 MiB: the device writes 20 bytes and two status bytes, so at most the
 * id's page and the status page are logged -- not the 3072 pages of
 * writable buffer the chains offered.
 */
TEST(dirty_log_only_written)
{
	const char *why = vhxl_blk_skip_reason();
	struct vhxl_blk_cfg c = { .num = 32, .data_size = 16 << 20 };
	struct vhxl_blk_io io = { .type = VIRTIO_BLK_T_GET_ID, .len = 8 << 20 };
	struct vhxl_blk b;
	struct disk d;
	uint64_t pages;
	uint8_t *bm, st;
	uint32_t len;
	unsigned set;

	if (why)
		SKIP(return, "%s", why);
	bm = log_all(&b, &d, &c, &pages);
	ASSERT_NONNULL(bm);
	io.data = vhxl_blk_alloc(&b, 8 << 20);
	ASSERT_NE(0u, io.data);
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	EXPECT_EQ(VIRTIO_BLK_S_OK, st);
	EXPECT_EQ(21u, len);
	io = (struct vhxl_blk_io){ .type = VIRTIO_BLK_T_IN, .len = 4 << 20,
				   .data = io.data, .sector = d.sectors };
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, st);
	set = count_bits(bm, pages);
	TH_LOG("%u page bits set", set);
	EXPECT_TRUE(BIT_SET(io.data));
	EXPECT_FALSE(BIT_SET(io.data + 4096));
	EXPECT_TRUE(BIT_SET(b.status_gpa[0][0]));
	EXPECT_LE(set, 3u);
	vhxl_blk_teardown(&b);
	disk_close(&d);
	free(bm);
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

TEST_TIMEOUT(dirty_log_hostile_chains, 120)
{
	const char *why = vhxl_blk_skip_reason();
	struct vhxl_blk_cfg c = { .num = 256, .data_size = 512 << 20 };
	const unsigned ndata = 1000, nchains = 256;
	uint64_t pages, hdr, table, ram;
	struct virtio_blk_outhdr *h;
	struct vring_desc *t;
	struct vhxl_vq *vq;
	long long t0, dt;
	struct vhxl_blk b;
	struct disk d;
	uint8_t *bm;
	unsigned i, set;

	if (why)
		SKIP(return, "%s", why);
	bm = log_all(&b, &d, &c, &pages);
	ASSERT_NONNULL(bm);
	vq = &b.dev.vq[0];
	hdr = vhxl_blk_alloc(&b, 4096);
	table = vhxl_blk_alloc(&b, (ndata + 2) * sizeof(*t));
	ram = vhxl_blk_alloc(&b, 4096);
	ASSERT_NE(0u, hdr);
	ASSERT_NE(0u, table);
	ASSERT_NE(0u, ram);
	h = vhxl_blk_ptr(&b, hdr, sizeof(*h));
	h->type = VIRTIO_BLK_T_GET_ID;
	t = vhxl_blk_ptr(&b, table, (ndata + 2) * sizeof(*t));
	/* header, 1000 x 511 MiB from the start of guest RAM, status */
	t[0] = (struct vring_desc){ hdr, sizeof(*h), VRING_DESC_F_NEXT, 1 };
	for (i = 1; i <= ndata; i++)
		t[i] = (struct vring_desc){ ram, 511u << 20,
					    VRING_DESC_F_WRITE | VRING_DESC_F_NEXT,
					    i + 1 };
	t[ndata + 1] = (struct vring_desc){ hdr + 64, 1, VRING_DESC_F_WRITE, 0 };
	t0 = ms_now();
	for (i = 0; i < nchains; i++) {
		vhxl_vq_raw_desc(vq, i, table, (ndata + 2) * sizeof(*t),
				 VRING_DESC_F_INDIRECT, 0);
		vhxl_vq_publish_head(vq, i);
	}
	vhxl_vq_kick_force(vq);
	while (*(volatile uint16_t *)&vq->used->idx != nchains &&
	       ms_now() - t0 < 60000)
		usleep(10000);
	dt = ms_now() - t0;
	set = count_bits(bm, pages);
	TH_LOG("%u of %u hostile GET_IDs answered in %lld ms, %u page bits set",
	       *(volatile uint16_t *)&vq->used->idx, nchains, dt, set);
	EXPECT_EQ(nchains, *(volatile uint16_t *)&vq->used->idx);
	EXPECT_EQ(VIRTIO_BLK_S_OK, *(uint8_t *)vhxl_blk_ptr(&b, hdr + 64, 1));
	EXPECT_LE(set, 3u);
	vhxl_blk_teardown(&b);
	disk_close(&d);
	free(bm);
}

#define FAILALLOC "/sys/module/vhx_failalloc/parameters/"

static long failalloc_read(const char *param)
{
	char path[96];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), FAILALLOC "%s", param);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * The per-request copy of the dirty log (a kmemdup() at submission) fails,
 * through selftests/kmod/vhx_failalloc.ko: an IN and a GET_ID, which would
 * write guest memory the log could not mark, are IOERR and write nothing
 * but their (logged) status byte; an OUT, which writes only its status,
 * completes.  With the allocations back, the same IN is OK and logged.
 */
TEST(dirty_log_copy_fails)
{
	const char *why = vhxl_blk_skip_reason(), *root = getenv("VHX_ROOT");
	struct vhxl_blk_cfg c = { .num = 32, .data_size = 2 << 20 };
	struct vhxl_blk_io io = { .type = VIRTIO_BLK_T_IN, .sector = 8 };
	uint64_t pages, data, id, wr;
	char ko[256];
	struct vhxl_blk b;
	struct disk d;
	uint8_t *bm, *p, st;
	uint32_t len;

	if (why)
		SKIP(return, "%s", why);
	snprintf(ko, sizeof(ko), "%s/selftests/kmod/vhx_failalloc.ko",
		 root ? root : ".");
	if (access(ko, R_OK))
		SKIP(return, "vhx_failalloc.ko not built (make modules)");
	if (sh("insmod %s", ko))
		SKIP(return, "cannot load vhx_failalloc.ko (no kretprobes?)");
	bm = log_all(&b, &d, &c, &pages);
	ASSERT_NONNULL(bm);
	data = vhxl_blk_alloc(&b, 2 * 4096);
	id = vhxl_blk_alloc(&b, 4096);
	wr = vhxl_blk_alloc(&b, 4096);
	ASSERT_NE(0u, wr);
	p = vhxl_blk_ptr(&b, data, 8192);
	memset(p, 0xa5, 8192);
	memset(vhxl_blk_ptr(&b, id, 20), 0xa5, 20);
	ASSERT_EQ(0, sh("echo 1000 > " FAILALLOC "fail"));

	io.data = data;
	io.len = 8192;
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, st);
	EXPECT_EQ(0xa5, p[0]);			/* nothing read into it */
	EXPECT_FALSE(BIT_SET(data));
	EXPECT_FALSE(BIT_SET(data + 4096));
	io = (struct vhxl_blk_io){ .type = VIRTIO_BLK_T_GET_ID, .data = id, .len = 20 };
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	EXPECT_EQ(VIRTIO_BLK_S_IOERR, st);
	EXPECT_EQ(0xa5, *(uint8_t *)vhxl_blk_ptr(&b, id, 1));
	EXPECT_FALSE(BIT_SET(id));
	io = (struct vhxl_blk_io){ .type = VIRTIO_BLK_T_OUT, .data = wr,
				   .len = 4096, .sector = 64 };
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	EXPECT_EQ(VIRTIO_BLK_S_OK, st);
	EXPECT_TRUE(BIT_SET(b.status_gpa[0][0]));
	TH_LOG("%ld log copies failed; IN, GET_ID and OUT gave status %s",
	       failalloc_read("failed"), "IOERR, IOERR, OK (expected)");
	EXPECT_EQ(3, failalloc_read("failed"));

	ASSERT_EQ(0, sh("echo 0 > " FAILALLOC "fail"));
	io = (struct vhxl_blk_io){ .type = VIRTIO_BLK_T_IN, .sector = 8,
				   .data = data, .len = 8192 };
	ASSERT_EQ(0, vhxl_blk_do(&b, 0, &io, &st, &len));
	EXPECT_EQ(VIRTIO_BLK_S_OK, st);
	EXPECT_TRUE(BIT_SET(data));
	EXPECT_TRUE(BIT_SET(data + 4096));
	EXPECT_EQ(3, failalloc_read("failed"));
	vhxl_blk_teardown(&b);
	disk_close(&d);
	free(bm);
	sh("rmmod vhx_failalloc");
}
