// SPDX-License-Identifier: GPL-2.0
/*
 * blk_hostile.c - blk_test's hostile chains (the hb fixture): 13 malformed
 * request chains on a split ring (short or missing header and status,
 * out after in, indexes out of range, loops, addresses outside memory,
 * bad indirect tables): each raises the ERR eventfd, counts one error and
 * completes nothing; after a queue reset the device works again.
 */
#define _GNU_SOURCE

#include "blk_common.h"

FIXTURE(hb)
{
	struct vhxl_blk b;
	struct disk d;
	bool up;
};

FIXTURE_SETUP(hb)
{
	BLK_SETUP(BK_FILE, .num = 64, .ind_max = 8, .data_size = 4 << 20);
}

FIXTURE_TEARDOWN(hb)
{
	BLK_TEARDOWN();
}

struct rawd {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

FIXTURE_VARIANT(hb)
{
	const char *what;
	int n;
	struct rawd d[6];
	int head;		/* avail entry (default 0) */
	int idx_jump;		/* add to avail idx beyond the chain */
	bool indirect_tbl;	/* d[1..] go into an indirect table at d[0] */
};

#define R VRING_DESC_F_NEXT
#define W VRING_DESC_F_WRITE
/* Addresses: H = header slot, S = status, D = data (set at run time). */
#define H 1
#define S 2
#define D 3

FIXTURE_VARIANT_ADD(hb, short_header) {
	.what = "8-byte header", .n = 2, .d = { { H, 8, R, 1 }, { S, 1, W, 0 } } };
FIXTURE_VARIANT_ADD(hb, no_status) {
	.what = "no writable byte", .n = 1, .d = { { H, 16, 0, 0 } } };
FIXTURE_VARIANT_ADD(hb, status_only) {
	.what = "no header", .n = 1, .d = { { S, 1, W, 0 } } };
FIXTURE_VARIANT_ADD(hb, out_after_in) {
	.what = "readable after writable", .n = 3,
	.d = { { H, 16, R, 1 }, { S, 1, W | R, 2 }, { D, 512, 0, 0 } } };
FIXTURE_VARIANT_ADD(hb, head_out_of_range) {
	.what = "head >= num", .n = 2, .head = 64 + 3,
	.d = { { H, 16, R, 1 }, { S, 1, W, 0 } } };
FIXTURE_VARIANT_ADD(hb, avail_idx_jump) {
	.what = "avail idx + num + 1", .n = 2, .idx_jump = 64,
	.d = { { H, 16, R, 1 }, { S, 1, W, 0 } } };
FIXTURE_VARIANT_ADD(hb, loop) {
	.what = "descriptor loop", .n = 3,
	.d = { { H, 16, R, 1 }, { D, 512, R, 2 }, { D, 512, R, 1 } } };
FIXTURE_VARIANT_ADD(hb, next_out_of_range) {
	.what = "next >= num", .n = 1, .d = { { H, 16, R, 200 } } };
FIXTURE_VARIANT_ADD(hb, outside_memory) {
	.what = "header outside guest memory", .n = 2,
	.d = { { 0xdead00000000ULL, 16, R, 1 }, { S, 1, W, 0 } } };
FIXTURE_VARIANT_ADD(hb, length_overflow) {
	.what = "data length wraps the address", .n = 3,
	.d = { { H, 16, R, 1 }, { 0xfffffffffffff000ULL, 0x2000, W | R, 2 }, { S, 1, W, 0 } } };
FIXTURE_VARIANT_ADD(hb, nested_indirect) {
	.what = "indirect inside indirect", .n = 3, .indirect_tbl = true,
	.d = { { 0, 0, VRING_DESC_F_INDIRECT, 0 },
	       { H, 16, R, 1 }, { 0, 16, VRING_DESC_F_INDIRECT, 0 } } };
FIXTURE_VARIANT_ADD(hb, indirect_bad_len) {
	.what = "indirect table of 17 bytes", .n = 1,
	.d = { { D, 17, VRING_DESC_F_INDIRECT, 0 } } };
FIXTURE_VARIANT_ADD(hb, indirect_with_next) {
	.what = "INDIRECT together with NEXT", .n = 2,
	.d = { { D, 32, VRING_DESC_F_INDIRECT | R, 1 }, { S, 1, W, 0 } } };

static uint64_t resolve(uint64_t a, uint64_t h, uint64_t s, uint64_t d)
{
	return a == H ? h : a == S ? s : a == D ? d : a;
}

TEST_F(hb, rejected_then_recovers)
{
	struct vhxl_vq *vq = &self->b.dev.vq[0];
	uint64_t h = vhxl_blk_alloc(&self->b, 4096), d = vhxl_blk_alloc(&self->b, 4096);
	uint64_t s = h + 64, tbl = vhxl_blk_alloc(&self->b, 4096);
	struct virtio_blk_outhdr *hdr = vhxl_blk_ptr(&self->b, h, 16);
	struct vring_desc *t = vhxl_blk_ptr(&self->b, tbl, 4096);
	int i, first = 0;

	hdr->type = VIRTIO_BLK_T_IN;
	hdr->sector = 0;
	vhxl_eventfd_read(vq->err_fd);
	if (variant->indirect_tbl) {
		/* d[0] is the ring descriptor pointing at d[1..n-1] */
		for (i = 1; i < variant->n; i++) {
			t[i - 1].addr = resolve(variant->d[i].addr, h, s, tbl);
			t[i - 1].len = variant->d[i].len;
			t[i - 1].flags = variant->d[i].flags;
			t[i - 1].next = variant->d[i].next - 1;
		}
		vq->desc[0].addr = tbl;
		vq->desc[0].len = 16 * (variant->n - 1);
		vq->desc[0].flags = VRING_DESC_F_INDIRECT;
		vq->desc[0].next = 0;
	} else {
		for (i = 0; i < variant->n; i++) {
			vq->desc[i].addr = resolve(variant->d[i].addr, h, s, d);
			vq->desc[i].len = variant->d[i].len;
			vq->desc[i].flags = variant->d[i].flags;
			vq->desc[i].next = variant->d[i].next;
		}
	}
	if (variant->idx_jump) {
		/*
		 * One store of the bad index: published as idx 1 first, a
		 * worker that runs in between takes the chain, and idx 65 is
		 * then a legal jump of exactly num (seen on 6.12).
		 */
		vq->avail->ring[vq->avail_idx % vq->num] = first;
		__atomic_store_n(&vq->avail->idx,
				 (uint16_t)(vq->avail_idx + 1 + variant->idx_jump),
				 __ATOMIC_RELEASE);
	} else {
		vhxl_vq_publish_head(vq, variant->head ? variant->head : first);
	}
	vhxl_vq_kick_force(vq);
	TH_LOG("%s", variant->what);
	ASSERT_GT(vhxl_eventfd_wait(vq->err_fd, 3000), 0u);
	EXPECT_EQ(1, vq_counter(getpid(), 0, "errors"));
	EXPECT_EQ(0u, vhxl_vq_pending_used(vq));
	/* reset the queue: detach, re-program the ring, attach */
	ASSERT_EQ(0, vhxl_blk_set_backend(&self->b, 0, -1));
	vq->base = 0;
	ASSERT_EQ(0, vhxl_vq_reset(vq));
	self->b.nfree[0] = 0;
	for (i = 0; i < (int)self->b.cfg.num; i++)
		self->b.slot_free[0][self->b.nfree[0]++] = i;
	ASSERT_EQ(0, vhxl_blk_set_backend(&self->b, 0, self->d.fd));
	roundtrip(_metadata, self, 0, 4096, 99, NULL);
}
