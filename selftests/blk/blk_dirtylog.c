// SPDX-License-Identifier: GPL-2.0
/*
 * blk_dirtylog.c - blk_test's dirty logging: with VHOST_F_LOG_ALL, the
 * pages an IN request and a GET_ID wrote and the status bytes' page are
 * set in the log bitmap, and at most 8 bits in all.
 */
#define _GNU_SOURCE

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
