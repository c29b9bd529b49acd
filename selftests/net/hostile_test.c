// SPDX-License-Identifier: GPL-2.0
/*
 * hostile_test - a catalogue of malformed rings, split and packed.
 *
 * Every case that has a meaning in both layouts runs twice: NAME on a split
 * ring and NAME_packed on a packed ring (VIRTIO_F_RING_PACKED), built by the
 * same case function through vhxlib's layout-neutral raw-chain helpers
 * (vhxl_vq_raw_desc: split desc[i] / packed ring slot i with its lap's
 * AVAIL/USED bits; vhxl_vq_raw_publish).  Split-only cases (next pointers,
 * avail index) and packed-only cases (wrap counters, buffer ids in flight,
 * event structures, indirect rules) have one variant.  Packed variants SKIP
 * when the device does not offer bit 34 (the in-tree vhost_net).
 *
 * Each case sets up a fresh device (ERR eventfd on both vqs, tap backend),
 * corrupts the ring in one way, kicks (TX) or injects a frame (RX) and then
 * expects, depending on the case:
 *   ERR         the ERR eventfd fires within 3 s and, for TX, no frame leaks
 *               into the tap;
 *   ERR_MAY_SEND the ERR eventfd fires; the chain itself was valid, so the
 *               frame may have been sent intact before the failure (e.g. the
 *               used ring write fails after transmission);
 *   ERR_OR_DROP the ERR eventfd fires or the packet is dropped (mainline drops
 *               some malformed-but-translatable packets silently); no leak;
 *   TOLERATED   mainline processes it (spec violation it does not check); the
 *               ERR eventfd or a correct frame are both accepted;
 *   SETUP_EFAULT the bad ring address is refused with EFAULT at
 *               NET_SET_BACKEND;
 *   IGNORED     not an available buffer (packed: wrong wrap bits on a
 *               head): no ERR eventfd within 1 s, no frame;
 *   SENT        a valid if unusual chain: no ERR, the frame arrives intact.
 * Then the vq is reset (SET_BACKEND -1, ring re-initialised, NUM/BASE/ADDR,
 * SET_BACKEND tap) and traffic must work again.  Nothing asserts that a queue
 * keeps running after an error without a reset: mainline retries on the next
 * kick, vhx deliberately stops the queue until it is reset.
 *
 * This file holds the case table and the runner.  A case whose ring is one
 * chain of descriptors is given as data (.chain, published at .head by
 * hcase_chain()); the others, which corrupt what a chain cannot say (ring
 * indices, unmapped pages, indirect tables, wrap bits), are functions in
 * hostile_cases.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "harness.h"
#include "hostile_cases.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_IND VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_HDR VHX_BIT(VHOST_NET_F_VIRTIO_NET_HDR)

#define ERR_WAIT_MS 3000

/* ---------------------------------------------------------- fixture */

FIXTURE(hostile)
{
	struct hctx h;
	bool up;
};

FIXTURE_VARIANT(hostile)
{
	bool packed;
	struct hcase c;
};

/* CASE: both layouts; CASE_S: split rings only; CASE_P: packed only. */
#define CASE_S(name, ...) \
	FIXTURE_VARIANT_ADD(hostile, name) { .c = { __VA_ARGS__ } }
#define CASE_P(name, ...) \
	FIXTURE_VARIANT_ADD(hostile, name##_packed) { .packed = true, .c = { __VA_ARGS__ } }
#define CASE(name, ...) CASE_S(name, __VA_ARGS__); CASE_P(name, __VA_ARGS__)

CASE_S(desc_loop, "descriptor loop (next points back)", VHX_TX, ERR, .nchain = 2,
       .chain = { { TXBUF, 0, 0, TXLEN, VRING_DESC_F_NEXT, 1 },
		  { TXBUF, 0, 0, TXLEN, VRING_DESC_F_NEXT, 0 } });
CASE(chain_longer_than_ring, "chain of num+1 descriptors", VHX_TX, ERR, .fn = c_chain_longer_than_ring);
CASE(addr_outside, "descriptor address outside every region", VHX_TX, ERR, .nchain = 1,
     .chain = { { AT, 0, BAD_GPA, 100, 0, 0 } });
CASE(addr_len_wrap, "addr + len wraps 2^64", VHX_TX, ERR, .nchain = 1,
     .chain = { { AT, 0, 0xfffffffffffff000ULL, 0x2000, 0, 0 } });
/* starts inside guest memory (the last head's buffer), runs off the end */
CASE(huge_len, "len 4 GiB-1 running off guest memory", VHX_TX, ERR, .nchain = 1,
     .chain = { { TXBUF, NUM - 1, 0, 0xffffffffu, 0, 0 } });
CASE_S(avail_idx_jump, "avail idx moved by more than num", VHX_TX, ERR, .fn = c_avail_idx_jump);
CASE(head_ge_num, "avail head index (packed: buffer id) >= num", VHX_TX, ERR, .nchain = 1,
     .chain = { { TXBUF, 0, 0, TXLEN, 0, NUM + 5 } }, .head = NUM + 5);
CASE_S(next_ge_num, "next index >= num", VHX_TX, ERR, .nchain = 1,
       .chain = { { TXBUF, 0, 0, 14, VRING_DESC_F_NEXT, NUM + 3 } });
CASE(indirect_nested, "indirect inside indirect", VHX_TX, ERR, .fn = c_indirect_nested);
CASE(indirect_len_unaligned, "indirect len not a multiple of 16", VHX_TX, ERR,
     .ntable = 1, .table = { { TXBUF, 0, 0, TXLEN, 0, 0 } },
     .nchain = 1, .chain = { { IND, 0, 0, 17, VRING_DESC_F_INDIRECT, 0 } });
CASE(indirect_len_zero, "indirect table of length 0", VHX_TX, ERR_OR_DROP,
     .ntable = 1, .table = { { TXBUF, 0, 0, TXLEN, 0, 0 } },
     .nchain = 1, .chain = { { IND, 0, 0, 0, VRING_DESC_F_INDIRECT, 0 } });
/* packed rings forbid INDIRECT in chains linked by NEXT: vhx refuses it */
CASE(indirect_and_next, "INDIRECT together with NEXT", VHX_TX, TOLERATED, ERR,
     .fn = c_indirect_and_next);
CASE(indirect_outside, "indirect table outside memory", VHX_TX, ERR, .nchain = 1,
     .chain = { { AT, 0, BAD_GPA, 64, VRING_DESC_F_INDIRECT, 0 } });
CASE_S(indirect_loop, "loop inside an indirect table", VHX_TX, ERR, .ntable = 2,
       .table = { { TXBUF, 0, 0, 10, VRING_DESC_F_NEXT, 1 },
		  { TXBUF, 0, 0, 10, VRING_DESC_F_NEXT, 0 } },
       .nchain = 1, .chain = { { IND, 0, 0, 32, VRING_DESC_F_INDIRECT, 0 } });
/* mainline reads an indirect table sequentially and ignores "next" */
CASE_S(indirect_next_outside, "indirect next beyond the table", VHX_TX, TOLERATED, .ntable = 2,
       .table = { { TXBUF, 0, 0, 10, VRING_DESC_F_NEXT, 7 },
		  { TXBUF, 0, 10, TXREST(10), 0, 0 } },
       .nchain = 1, .chain = { { IND, 0, 0, 32, VRING_DESC_F_INDIRECT, 0 } });
CASE(tx_writable_desc, "device-writable descriptor on TX", VHX_TX, ERR, .nchain = 2,
     .chain = { { TXBUF, 0, 0, TXLEN, VRING_DESC_F_NEXT, 1 },
		{ TXBUF, 0, 1024, 100, VRING_DESC_F_WRITE, 0 } });
/* header by vhost: 4 bytes cannot hold the 12-byte header */
CASE(tx_hdr_too_short, "TX chain shorter than the vnet header (header by vhost)", VHX_TX, ERR,
     .vhost_hdr = true, .nchain = 1, .chain = { { TXBUF, 0, 0, 4, 0, 0 } });
CASE(tx_zero_len, "zero-length TX chain (header on the tap)", VHX_TX, ERR_OR_DROP, .nchain = 1,
     .chain = { { TXBUF, 0, 0, 0, 0, 0 } });
CASE(too_many_iov_indirect, "1100 one-byte descriptors in an indirect table", VHX_TX, ERR,
     .fn = c_too_many_iov_indirect);
CASE(too_many_iov_regions, "17 descriptors x 64 regions = 1088 iovecs", VHX_TX, ERR,
     .nregions = 64, .mem = 64 * 65536, .fn = c_too_many_iov_regions);
/* packed: the driver event area is read after the frame went out */
CASE(avail_unmapped, "avail ring (packed: driver event area) unmapped after setup", VHX_TX,
     ERR, ERR_MAY_SEND, .fn = c_avail_unmapped);
CASE(desc_unmapped, "descriptor table unmapped after setup", VHX_TX, ERR, .fn = c_desc_unmapped);
CASE(used_unmapped, "used ring (packed: device event area) unmapped after setup", VHX_TX,
     ERR_MAY_SEND, .fn = c_used_unmapped);
CASE(buffer_unmapped, "TX buffer page unmapped (inside a region)", VHX_TX, ERR_OR_DROP,
     .fn = c_buffer_unmapped);
CASE(rx_out_after_in, "RX chain with out after in", VHX_RX, ERR, .nchain = 3,
     .chain = { { RXBUF, 0, 0, 1024, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 },
		{ RXBUF, 1, 0, 1024, VRING_DESC_F_NEXT, 2 },
		{ RXBUF, 2, 0, 1024, VRING_DESC_F_WRITE, 0 } });
CASE(rx_only_readable, "RX chain with only device-readable descriptors", VHX_RX, ERR,
     .nchain = 1, .chain = { { RXBUF, 0, 0, 2048, 0, 0 } });
CASE(rx_addr_outside, "RX buffer outside every region", VHX_RX, ERR, .nchain = 1,
     .chain = { { AT, 0, BAD_GPA, 2048, VRING_DESC_F_WRITE, 0 } });
CASE(rx_head_ge_num, "RX avail head (packed: buffer id) 0xffff", VHX_RX, ERR, .nchain = 1,
     .chain = { { RXBUF, 0, 0, 2048, VRING_DESC_F_WRITE, 0xffff } }, .head = 0xffff);
CASE(rx_indirect_nested, "RX indirect table pointing at itself (nested)", VHX_RX, ERR,
     .fn = c_rx_indirect_nested);
CASE_S(rx_desc_loop, "RX descriptor loop", VHX_RX, ERR, .nchain = 2,
       .chain = { { RXBUF, 0, 0, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 1 },
		  { RXBUF, 1, 0, 8, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0 } });
CASE(used_addr_hole, "used ring at an unmapped address: EFAULT at SET_BACKEND", VHX_TX,
     SETUP_EFAULT, .fn = c_used_addr_hole);
CASE(used_addr_kernel, "used ring at a kernel address: EFAULT at SET_BACKEND", VHX_TX,
     SETUP_EFAULT, .fn = c_used_addr_kernel);
/* packed rings only: wrap counters, buffer ids, event structures */
CASE_P(wrap_confused, "second descriptor of a chain with the other lap's wrap bits",
       VHX_TX, ERR, .fn = c_wrap_confused);
CASE_P(head_looks_used, "head with AVAIL == USED (a used descriptor)", VHX_TX, IGNORED,
       .fn = c_head_looks_used);
CASE_P(head_prev_lap, "head made available with the previous lap's wrap counter", VHX_TX,
       IGNORED, .fn = c_head_prev_lap);
CASE_P(id_in_flight, "two chains with the same buffer id in flight", VHX_TX, ERR_MAY_SEND,
       .fn = c_id_in_flight);
CASE_P(indirect_in_chain, "INDIRECT on the last descriptor of a NEXT chain", VHX_TX, ERR,
       .fn = c_indirect_in_chain);
CASE_P(indirect_flags_ignored, "indirect table with NEXT, wrap bits and junk ids (DPDK's shape)",
       VHX_TX, SENT, .fn = c_indirect_flags_ignored);
CASE_P(drv_event_reserved, "driver event flags 0x3 (reserved)", VHX_TX, ERR_MAY_SEND,
       .fn = c_drv_event_reserved);
CASE_P(drv_event_desc_no_evtidx, "driver event DESC without EVENT_IDX", VHX_TX, ERR_MAY_SEND,
       .fn = c_drv_event_desc_no_evtidx);
CASE_P(drv_event_off_ge_num, "driver event offset >= num (EVENT_IDX)", VHX_TX, ERR_MAY_SEND,
       .event_idx = true, .fn = c_drv_event_off_ge_num);
CASE_P(rx_chain_longer_than_ring, "RX chain of num+1 writable descriptors", VHX_RX, ERR,
       .fn = c_rx_chain_longer_than_ring);

FIXTURE_SETUP(hostile)
{
	const struct hcase *c = &variant->c;
	struct vhxl_net_cfg cfg = {
		.features = F_V1 | F_MRG | F_IND | (c->vhost_hdr ? F_HDR : 0) |
			    (c->event_idx ? VHX_BIT(VIRTIO_RING_F_EVENT_IDX) : 0) |
			    (variant->packed ? VHX_F_RING_PACKED : 0),
		.num = NUM, .rx_buf = 2048, .tx_buf = 2048, .ind_max = 8,
		.identity = true, .nregions = c->nregions, .mem_size = c->mem,
		.no_backend = true,
	};
	const char *why = variant->packed ? vhxl_skip_packed() : vhxl_skip_reason();
	int r;

	if (why)
		SKIP(return, "%s", why);
	r = vhxl_net_setup(&self->h.n, &cfg);
	ASSERT_EQ(0, r);
	self->up = true;
	self->h.vq = &self->h.n.dev.vq[c->vq];
	if (c->expect != SETUP_EFAULT) {
		ASSERT_EQ(0, vhxl_set_backend(&self->h.n.dev, VHX_RX, self->h.n.tap.fd));
		ASSERT_EQ(0, vhxl_set_backend(&self->h.n.dev, VHX_TX, self->h.n.tap.fd));
	}
}

FIXTURE_TEARDOWN(hostile)
{
	if (self->up)
		vhxl_net_teardown(&self->h.n);
}

/* Working traffic on @vqi (after a reset). */
static void check_traffic(struct __test_metadata *_metadata, struct hctx *h,
			  unsigned vqi)
{
	struct vhxl_dev *d = &h->n.dev;
	uint8_t buf[2048];
	int i;

	if (vqi == VHX_TX) {
		vhxl_make_frame(h->frame, 300, 4242);
		ASSERT_EQ(0, vhxl_net_tx_one(&h->n, h->frame, 300, NULL, 5000));
		for (i = 0; i < 4; i++) {
			ssize_t got = vhxl_tap_recv(&h->n.tap, buf, sizeof(buf), 3000);

			ASSERT_GT(got, 0);
			if (got == 300 && vhxl_frame_seq(buf) == 4242)
				break;
			TH_LOG("stale frame of %zd bytes after reset", got);
		}
		ASSERT_LT(i, 4);
		EXPECT_EQ(0u, vhxl_check_frame(buf, 300, 4242));
	} else {
		ASSERT_GT(vhxl_rx_fill(d, NUM, NULL), 0);
		vhxl_make_frame(h->frame, 300, 4343);
		ASSERT_EQ(0, vhxl_tap_inject(&h->n.tap, h->frame, 300));
		for (i = 0; i < 4; i++) {
			unsigned nb;
			ssize_t got = vhxl_rx_recv(d, buf, sizeof(buf), NULL, &nb, 3000);

			ASSERT_GT(got, 0);
			if (got == 300 && vhxl_frame_seq(buf) == 4343)
				break;
			/* the frame injected during the hostile phase may
			 * still be queued in the tap: it must be intact */
			EXPECT_EQ(0u, vhxl_check_frame(buf, got, vhxl_frame_seq(buf)));
		}
		ASSERT_LT(i, 4);
		EXPECT_EQ(0u, vhxl_check_frame(buf, 300, 4343));
	}
}

static void reset_vq(struct __test_metadata *_metadata, struct hctx *h, unsigned vqi)
{
	struct vhxl_vq *vq = &h->n.dev.vq[vqi];

	ASSERT_EQ(0, vhxl_set_backend(&h->n.dev, vqi, -1));
	if (h->unmapped) {
		void *p = mmap(h->unmapped, VHX_PAGE, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

		ASSERT_EQ(h->unmapped, p);
		h->unmapped = NULL;
	}
	ASSERT_EQ(0, vhxl_vq_reset(vq));
	ASSERT_EQ(0, vhxl_set_backend(&h->n.dev, vqi, h->n.tap.fd));
}

TEST_F(hostile, run)
{
	const struct hcase *c = &variant->c;
	enum expect expect = variant->packed && c->pexpect ? c->pexpect : c->expect;
	struct hctx *h = &self->h;
	struct vhxl_vq *vq = h->vq;
	uint16_t used_before = vq->packed ? 0 : vq->used->idx;
	uint64_t err;
	int leaked, r;
	uint8_t buf[2048];

	TH_LOG("case: %s (%s vq, %s ring)", c->what, c->vq == VHX_TX ? "TX" : "RX",
	       vq->packed ? "packed" : "split");
	vhxl_eventfd_read(vq->err_fd);

	if (expect == SETUP_EFAULT) {
		r = c->fn ? c->fn(h) : hcase_chain(h, c);
		TH_LOG("SET_VRING_ADDR: %s", r ? strerror(-r) : "ok");
		ASSERT_EQ(0, r);
		EXPECT_EQ(-EFAULT, vhxl_set_backend(&h->n.dev, c->vq, h->n.tap.fd));
		/* restore the right addresses and attach both queues */
		ASSERT_EQ(0, vhxl_vq_reset(vq));
		ASSERT_EQ(0, vhxl_set_backend(&h->n.dev, VHX_RX, h->n.tap.fd));
		ASSERT_EQ(0, vhxl_set_backend(&h->n.dev, VHX_TX, h->n.tap.fd));
		check_traffic(_metadata, h, c->vq);
		return;
	}

	r = c->fn ? c->fn(h) : hcase_chain(h, c);
	ASSERT_EQ(0, r);
	err = vhxl_eventfd_wait(vq->err_fd,
			       expect == ERR ? ERR_WAIT_MS : 1000);
	leaked = 0;
	if (c->vq == VHX_TX) {
		ssize_t got;

		while ((got = vhxl_tap_recv(&h->n.tap, buf, sizeof(buf), 200)) >= 0) {
			TH_LOG("frame of %zd bytes reached the tap", got);
			leaked++;
		}
	}
	if (vq->packed)
		TH_LOG("err eventfd: %llu, frames on tap: %d", (unsigned long long)err,
		       leaked);
	else
		TH_LOG("err eventfd: %llu, frames on tap: %d, used idx %u -> %u",
		       (unsigned long long)err, leaked, used_before,
		       h->unmapped == vq->used ? 0 : vq->used->idx);

	switch (expect) {
	case ERR:
		EXPECT_GT(err, 0u);
		EXPECT_EQ(0, leaked);
		break;
	case ERR_MAY_SEND:
		EXPECT_GT(err, 0u);
		EXPECT_LE(leaked, 1);
		if (leaked)
			EXPECT_EQ(0u, vhxl_check_frame(buf, 60, 0xbad00000));
		break;
	case ERR_OR_DROP:
		if (!err)
			TH_LOG("no vq error: the packet was dropped (mainline behaviour)");
		EXPECT_EQ(0, leaked);
		break;
	case TOLERATED:
		if (leaked) {
			/* processed as a valid (if non-conforming) chain */
			EXPECT_EQ(1, leaked);
			EXPECT_EQ(0u, vhxl_check_frame(buf, 60, 0xbad00000));
			TH_LOG("tolerated: frame delivered intact");
		} else {
			EXPECT_GT(err, 0u);
		}
		break;
	case IGNORED:
		EXPECT_EQ(0u, err);
		EXPECT_EQ(0, leaked);
		break;
	case SENT:
		EXPECT_EQ(0u, err);
		EXPECT_EQ(1, leaked);
		if (leaked)
			EXPECT_EQ(0u, vhxl_check_frame(buf, 60, 0xbad00000));
		break;
	default:
		break;
	}

	reset_vq(_metadata, h, c->vq);
	vhxl_eventfd_read(vq->err_fd);
	check_traffic(_metadata, h, c->vq);
	/* and the other queue was never disturbed */
	check_traffic(_metadata, h, c->vq == VHX_TX ? VHX_RX : VHX_TX);
}

#define DYNDBG "/sys/kernel/debug/dynamic_debug/control"

/*
 * A vq error's debug line (dynamic debug on for vhx_core) carries the
 * module's prefix once: "vhx_core: loop in chain ...", not twice.
 */
TEST(vq_error_log_line)
{
	struct vhxl_net_cfg cfg = {
		.features = F_V1 | F_MRG, .num = NUM, .rx_buf = 2048,
		.tx_buf = 2048, .identity = true,
	};
	const char *why = vhxl_skip_reason();
	char rec[1024], *line, *found = NULL;
	struct vhxl_net n;
	struct vhxl_vq *tx;
	int kmsg, twice = 0;
	ssize_t got;

	if (why)
		SKIP(return, "%s", why);
	if (strcmp(getenv("VHX_TARGET") ? : "vhx", "vhx"))
		SKIP(return, "vhx's own log lines");
	if (vhxl_write_str(DYNDBG, "module vhx_core +p"))
		SKIP(return, "no dynamic debug for vhx_core (%s)", DYNDBG);
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, kmsg);
	lseek(kmsg, 0, SEEK_END);
	ASSERT_EQ(0, vhxl_net_setup(&n, &cfg));
	tx = &n.dev.vq[VHX_TX];
	vhxl_eventfd_read(tx->err_fd);
	vhxl_vq_raw_desc(tx, 0, tx->buf[0], 64, VRING_DESC_F_NEXT, 1);
	vhxl_vq_raw_desc(tx, 1, tx->buf[0], 64, VRING_DESC_F_NEXT, 0);
	vhxl_vq_raw_publish(tx, 0, 2);
	vhxl_vq_kick_force(tx);
	EXPECT_GT(vhxl_eventfd_wait(tx->err_fd, ERR_WAIT_MS), 0u);
	vhxl_net_teardown(&n);
	vhxl_write_str(DYNDBG, "module vhx_core -p");
	while ((got = read(kmsg, rec, sizeof(rec) - 1)) > 0) {
		rec[got] = 0;
		line = strchr(rec, ';');
		line = line ? line + 1 : rec;
		if (!strstr(line, "loop in chain"))
			continue;
		TH_LOG("logged: %.*s", (int)strcspn(line, "\n"), line);
		found = line;
		twice += !!strstr(line, "vhx_core: vhx_core:");
	}
	close(kmsg);
	ASSERT_NE(NULL, found);
	EXPECT_EQ(0, strncmp(found, "vhx_core: loop in chain", 23));
	EXPECT_EQ(0, twice);
}

TEST_HARNESS_MAIN
