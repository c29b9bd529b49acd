// SPDX-License-Identifier: GPL-2.0
/*
 * hostile_cases.c - the case functions of hostile_test: each builds one
 * malformed (or unusual) chain on the case's vq, split or packed, through
 * vhxlib's raw-chain helpers, and kicks or injects a frame; the setup-time
 * cases program a bad used ring address instead.  What each is expected
 * to cause is in the case table of hostile_test.c.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "hostile_cases.h"


/* ------------------------------------------------------------ helpers */

/*
 * Descriptor @i of the raw chain on the case's vq: split desc[i] with
 * @next; packed slot i, @next as its buffer id (the last one's counts).
 */
static void setd(struct hctx *h, unsigned i, uint64_t addr, uint32_t len,
		 uint32_t flags, uint16_t next)
{
	vhxl_vq_raw_desc(h->vq, i, addr, len, flags, next);
	if (i + 1 > h->nd)
		h->nd = i + 1;
}

/* Entry @k of an indirect table at @t, in the layout of the case's vq. */
static void tdesc(struct hctx *h, void *t, unsigned k, uint64_t addr,
		  uint32_t len, uint16_t flags, uint16_t next)
{
	if (h->vq->packed) {
		struct vring_packed_desc *d = (struct vring_packed_desc *)t + k;

		d->addr = addr;
		d->len = len;
		d->id = next;
		d->flags = flags;
	} else {
		struct vring_desc *d = (struct vring_desc *)t + k;

		d->addr = addr;
		d->len = len;
		d->flags = flags;
		d->next = next;
	}
}

/* A valid TX buffer (zero vnet header + 60-byte frame) at per-head buffer k. */
static uint64_t tx_buf(struct hctx *h, unsigned k, uint32_t *len)
{
	struct vhxl_vq *vq = &h->n.dev.vq[VHX_TX];
	uint8_t *p = vhxl_gpa(&h->n.mem, vq->buf[k], vq->buf_size);

	memset(p, 0, h->n.dev.hdr_len);
	vhxl_make_frame(p + h->n.dev.hdr_len, 60, 0xbad00000 + k);
	*len = h->n.dev.hdr_len + 60;
	return vq->buf[k];
}

static void publish_kick(struct hctx *h, unsigned vqi, uint16_t head)
{
	struct vhxl_vq *vq = &h->n.dev.vq[vqi];

	vhxl_vq_raw_publish(vq, head, h->nd ? h->nd : 1);
	h->nd = 0;
	if (vqi == VHX_TX) {
		vhxl_vq_kick_force(vq);
	} else {
		vhxl_make_frame(h->frame, 100, 0xbad0ffff);
		vhxl_tap_inject(&h->n.tap, h->frame, 100);
		vhxl_vq_kick_force(vq);
	}
}

static uint64_t rx_buf(struct hctx *h, unsigned k)
{
	return h->n.dev.vq[VHX_RX].buf[k];
}

static void *ind_table(struct hctx *h, unsigned entries)
{
	h->extra_gpa = vhxl_mem_alloc(&h->n.mem, 16 * entries, 16);
	if (!h->extra_gpa)
		return NULL;
	return vhxl_gpa(&h->n.mem, h->extra_gpa, 16 * entries);
}

/* Where a descriptor given as data points, and its length. */
static void hdesc_resolve(struct hctx *h, const struct hdesc *d,
			  uint64_t table, uint64_t *addr, uint32_t *len)
{
	*addr = d->addr;
	*len = 0;
	if (d->where == TXBUF)
		*addr += tx_buf(h, d->k, len);
	else if (d->where == RXBUF)
		*addr += rx_buf(h, d->k);
	else if (d->where == IND)
		*addr += table;
	if (d->len >= 0)
		*len = (uint32_t)d->len;
	else
		*len -= (uint32_t)(-1 - d->len);
}

/* The cases given as data (struct hcase's .chain and .table) */
int hcase_chain(struct hctx *h, const struct hcase *c)
{
	uint64_t table = 0, a;
	unsigned i;
	uint32_t l;

	if (c->ntable) {
		void *t = ind_table(h, HTABLE_MAX);

		if (!t)
			return -ENOMEM;
		table = h->extra_gpa;
		for (i = 0; i < c->ntable; i++) {
			const struct hdesc *d = &c->table[i];

			hdesc_resolve(h, d, table, &a, &l);
			tdesc(h, t, i, a, l, d->flags, d->next);
		}
	}
	for (i = 0; i < c->nchain; i++) {
		const struct hdesc *d = &c->chain[i];

		hdesc_resolve(h, d, table, &a, &l);
		setd(h, i, a, l, d->flags, d->next);
	}
	publish_kick(h, c->vq, c->head);
	return 0;
}

/* --------------------------------------------------------- TX cases */

int c_chain_longer_than_ring(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);
	unsigned i;

	for (i = 0; i < NUM; i++)
		setd(h, i, a, 1, VRING_DESC_F_NEXT, (i + 1) % NUM);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

int c_avail_idx_jump(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	setd(h, 0, a, l, 0, 0);
	h->vq->avail->ring[0] = 0;
	h->vq->avail->idx = NUM + 1;
	vhxl_vq_kick_force(h->vq);
	return 0;
}

int c_indirect_nested(struct hctx *h)
{
	void *t = ind_table(h, 4), *t2 = ind_table(h, 2);
	uint64_t t2gpa = h->extra_gpa;
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	if (!t || !t2)
		return -ENOMEM;
	tdesc(h, t2, 0, a, l, 0, 0);
	tdesc(h, t, 0, t2gpa, 16, VRING_DESC_F_INDIRECT, 0);
	setd(h, 0, vhxl_hva_to_gpa(&h->n.mem, t), 16, VRING_DESC_F_INDIRECT, 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

int c_indirect_and_next(struct hctx *h)
{
	void *t = ind_table(h, 4);
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	if (!t)
		return -ENOMEM;
	/* header + 30 bytes in the table, the rest through the ring's "next" */
	tdesc(h, t, 0, a, l - 30, 0, 0);
	setd(h, 0, h->extra_gpa, 16, VRING_DESC_F_INDIRECT | VRING_DESC_F_NEXT, 1);
	setd(h, 1, a + l - 30, 30, 0, 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

int c_too_many_iov_indirect(struct hctx *h)
{
	unsigned i, n = 1100;
	void *t = ind_table(h, n);
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	if (!t)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		tdesc(h, t, i, a + (i % 64), 1, i + 1 < n ? VRING_DESC_F_NEXT : 0,
		      i + 1 < n ? i + 1 : 0);
	setd(h, 0, h->extra_gpa, 16 * n, VRING_DESC_F_INDIRECT, 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

/* 64 memory regions: one descriptor over all of guest memory is 64 iovecs,
 * 17 of them are 1088 > UIO_MAXIOV. */
int c_too_many_iov_regions(struct hctx *h)
{
	const struct vhxl_mem *m = &h->n.mem;
	unsigned i, n = 17;

	for (i = 0; i < n; i++)
		setd(h, i, m->r[0].gpa, (uint32_t)m->size,
		     i + 1 < n ? VRING_DESC_F_NEXT : 0, i + 1 < n ? i + 1 : 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

static int unmap_page(struct hctx *h, void *p)
{
	if (munmap(p, VHX_PAGE))
		return -errno;
	h->unmapped = p;
	return 0;
}

/*
 * split: the avail ring; packed: the driver event area, which the device
 * reads only to decide on a signal, after the chain was sent.
 */
int c_avail_unmapped(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	/* nothing published before the unmap: the device must not see a valid
	 * ring in between (it may run on a socket wakeup at any time) */
	setd(h, 0, a, l, 0, 0);
	if (unmap_page(h, h->vq->avail))
		return -errno;
	if (h->vq->packed)
		publish_kick(h, VHX_TX, 0);
	else
		vhxl_vq_kick_force(h->vq);
	return 0;
}

int c_desc_unmapped(struct hctx *h)
{
	/* packed: the device reads the flags at its position, and faults */
	if (!h->vq->packed) {
		h->vq->avail->ring[0] = 0;
		h->vq->avail->idx = 1;
	}
	if (unmap_page(h, h->vq->desc))
		return -errno;
	vhxl_vq_kick_force(h->vq);
	return 0;
}

int c_used_unmapped(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	setd(h, 0, a, l, 0, 0);
	if (unmap_page(h, h->vq->used))
		return -errno;
	publish_kick(h, VHX_TX, 0);
	return 0;
}

int c_buffer_unmapped(struct hctx *h)
{
	/* buffer inside a memory region but its page is gone from the mm */
	uint32_t l;
	uint64_t a = tx_buf(h, 3, &l);
	void *p = vhxl_gpa(&h->n.mem, a & ~(VHX_PAGE - 1), VHX_PAGE);

	setd(h, 0, a, l, 0, 0);
	if (unmap_page(h, p))
		return -errno;
	publish_kick(h, VHX_TX, 0);
	return 0;
}

/* --------------------------------------------------------- RX cases */

int c_rx_indirect_nested(struct hctx *h)
{
	void *t = ind_table(h, 2);

	if (!t)
		return -ENOMEM;
	tdesc(h, t, 0, h->extra_gpa, 32, VRING_DESC_F_INDIRECT, 0);
	setd(h, 0, h->extra_gpa, 32, VRING_DESC_F_INDIRECT, 0);
	publish_kick(h, VHX_RX, 0);
	return 0;
}

/* ------------------------------------------------ packed-only cases */

/* The AVAIL/USED bits of the lap before (or after) slot @slot's. */
static uint32_t other_lap(struct hctx *h, unsigned slot)
{
	return VHX_RAW_OWN_WRAP | (vhxl_vq_packed_avail_bits(h->vq, slot) ^
				   ((1u << VRING_PACKED_DESC_F_AVAIL) |
				    (1u << VRING_PACKED_DESC_F_USED)));
}

/* The second descriptor of a chain carries the other lap's wrap bits. */
int c_wrap_confused(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	setd(h, 0, a, 20, VRING_DESC_F_NEXT, 0);
	setd(h, 1, a + 20, l - 20, other_lap(h, 1), 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

/* A head with AVAIL == USED: a used descriptor, not an available one. */
int c_head_looks_used(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	setd(h, 0, a, l, VHX_RAW_OWN_WRAP | (1u << VRING_PACKED_DESC_F_AVAIL) |
	     (1u << VRING_PACKED_DESC_F_USED), 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

/* A head made available with the previous lap's wrap counter. */
int c_head_prev_lap(struct hctx *h)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	setd(h, 0, a, l, other_lap(h, 0), 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

/* Two chains with the same buffer id: the second one is refused. */
int c_id_in_flight(struct hctx *h)
{
	uint32_t l, l2;
	uint64_t a = tx_buf(h, 0, &l), b = tx_buf(h, 1, &l2);

	/*
	 * Both chains are published before the one kick: kicked in between,
	 * the worker may complete the first before the second is there, and
	 * then the id is no longer in flight (seen once in a quiet lab VM).
	 */
	setd(h, 0, a, l, 0, 3);
	vhxl_vq_raw_publish(h->vq, 3, 1);
	h->nd = 0;
	setd(h, 0, b, l2, 0, 3);
	publish_kick(h, VHX_TX, 3);
	return 0;
}

/* INDIRECT on the last descriptor of a chain linked by NEXT. */
int c_indirect_in_chain(struct hctx *h)
{
	void *t = ind_table(h, 2);
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	if (!t)
		return -ENOMEM;
	tdesc(h, t, 0, a + 20, l - 20, 0, 0);
	setd(h, 0, a, 20, VRING_DESC_F_NEXT, 0);
	setd(h, 1, h->extra_gpa, 16, VRING_DESC_F_INDIRECT, 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

/*
 * An indirect table as DPDK writes it: NEXT and the wrap bits on its
 * entries, ids that mean nothing.  Only WRITE counts: the frame goes out.
 */
int c_indirect_flags_ignored(struct hctx *h)
{
	void *t = ind_table(h, 3);
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);
	uint16_t bits = vhxl_vq_packed_avail_bits(h->vq, 0);

	if (!t)
		return -ENOMEM;
	tdesc(h, t, 0, a, 10, VRING_DESC_F_NEXT | bits, 0xfffe);
	tdesc(h, t, 1, a + 10, 30, VRING_DESC_F_NEXT | bits, 77);
	tdesc(h, t, 2, a + 40, l - 40, bits, 0x8000);
	setd(h, 0, h->extra_gpa, 48, VRING_DESC_F_INDIRECT, 5);
	publish_kick(h, VHX_TX, 5);
	return 0;
}

/* The driver event structure says something the device cannot obey. */
static int driver_event(struct hctx *h, uint16_t off_wrap, uint16_t flags)
{
	uint32_t l;
	uint64_t a = tx_buf(h, 0, &l);

	h->vq->drv_event->off_wrap = off_wrap;
	h->vq->drv_event->flags = flags;
	setd(h, 0, a, l, 0, 0);
	publish_kick(h, VHX_TX, 0);
	return 0;
}

int c_drv_event_reserved(struct hctx *h)
{
	return driver_event(h, 0, 3);
}

int c_drv_event_desc_no_evtidx(struct hctx *h)
{
	return driver_event(h, 1 | 1u << 15, VRING_PACKED_EVENT_FLAG_DESC);
}

int c_drv_event_off_ge_num(struct hctx *h)
{
	return driver_event(h, (NUM + 7) | 1u << 15, VRING_PACKED_EVENT_FLAG_DESC);
}

/* num + 1 writable RX descriptors chained: past its own head. */
int c_rx_chain_longer_than_ring(struct hctx *h)
{
	unsigned i;

	for (i = 0; i < NUM; i++)
		setd(h, i, rx_buf(h, i), 64, VRING_DESC_F_WRITE | VRING_DESC_F_NEXT, 0);
	publish_kick(h, VHX_RX, 0);
	return 0;
}

/* ------------------------------------------------ setup-time cases */

int c_used_addr_hole(struct hctx *h)
{
	void *p = mmap(NULL, VHX_PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct vhost_vring_addr a = {
		.index = h->vq->index,
		.desc_user_addr = (uintptr_t)h->vq->desc,
		.avail_user_addr = (uintptr_t)h->vq->avail,
		.log_guest_addr = h->vq->used_gpa,
	};

	if (p == MAP_FAILED)
		return -errno;
	munmap(p, VHX_PAGE);
	a.used_user_addr = (uintptr_t)p;
	return vhxl_ioctl(h->n.dev.fd, VHOST_SET_VRING_ADDR, &a);
}

int c_used_addr_kernel(struct hctx *h)
{
	struct vhost_vring_addr a = {
		.index = h->vq->index,
		.desc_user_addr = (uintptr_t)h->vq->desc,
		.avail_user_addr = (uintptr_t)h->vq->avail,
		.used_user_addr = 0xffff888000000000ULL,
		.log_guest_addr = h->vq->used_gpa,
	};

	return vhxl_ioctl(h->n.dev.fd, VHOST_SET_VRING_ADDR, &a);
}
