// SPDX-License-Identifier: GPL-2.0
/*
 * indirect_test - the split ring's indirect-table walk (vhost/vq_split.c,
 * through shim/), on a table that guest memory splits into 64 pieces.
 *
 * A 1024-entry table lies across 64 memory regions of 256 bytes each,
 * mapped in reverse order, so vq->indirect holds 64 segments.  Chains run
 * through it in order (what every driver posts), backwards, in a shuffled
 * order, and into the two malformed shapes (a loop, a next past the end).
 * Checked: every chain comes out with its descriptors in chain order, a
 * malformed one fails the queue, and the walk visits at most
 * 2 * entries + segments iovec segments (shim_iter_steps): a walk that
 * re-seeks the table from its start for each descriptor costs
 * entries * segments / 2 (32 768 here).  Runs in make fuzz-check.
 */
#include "kshim.h"
#include "vq.h"
#include "vq_split.h"

#define REGION		256
#define NREG		64
#define ENTRIES		(NREG * REGION / 16)	/* 1024 */
#define RING_GPA	0x10000ULL
#define DATA_GPA	0x11000ULL
#define NUM		8

extern unsigned long shim_iter_steps;

static unsigned char mem[0x20000] __attribute__((aligned(4096)));
static struct iovec iov[UIO_MAXIOV];
static int failures;

struct ctx {
	struct vhx_dev dev;
	struct vhx_vq vq;
	struct vhx_vq *vqs[1];
	struct eventfd_ctx call, err;
};

/* Region k of the table (GPA k * REGION) lives at the other end of mem. */
static void *table_hva(unsigned int k)
{
	return mem + (NREG - 1 - k) * REGION;
}

static struct vring_desc *entry(unsigned int i)
{
	return (struct vring_desc *)((char *)table_hva(i * 16 / REGION) +
				     i * 16 % REGION);
}

static void setup(struct ctx *c)
{
	unsigned int k;

	memset(c, 0, sizeof(*c));
	memset(mem, 0, sizeof(mem));
	shim_user_reset();
	shim_user_map(mem, sizeof(mem));
	c->vqs[0] = &c->vq;
	c->dev.vqs = c->vqs;
	c->dev.nvqs = 1;
	c->dev.iov_limit = UIO_MAXIOV;
	c->dev.weight = 256;
	c->vq.dev = &c->dev;
	c->vq.iov = iov;
	c->vq.indirect = kmalloc_array(UIO_MAXIOV, sizeof(struct iovec), 0);
	c->vq.umem = vhx_maps_alloc(NREG + 1);
	if (!c->vq.indirect || !c->vq.umem)
		abort();
	for (k = 0; k < NREG; k++)
		if (vhx_maps_add(c->vq.umem, k * REGION, (k + 1) * REGION - 1,
				 (uintptr_t)table_hva(k), VHX_MAP_RW, false))
			abort();
	if (vhx_maps_add(c->vq.umem, RING_GPA, sizeof(mem) - 1,
			 (uintptr_t)mem + RING_GPA, VHX_MAP_RW, false))
		abort();
	c->vq.ops = &vhx_split_ops;
	c->vq.last_avail_wrap = c->vq.last_used_wrap = true;
	c->vq.acked_features = BIT_ULL(VIRTIO_F_VERSION_1) |
			       BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC);
	c->vq.num = NUM;
	c->vq.desc_addr = (uintptr_t)mem + RING_GPA;
	c->vq.avail_addr = c->vq.desc_addr + 16 * NUM;
	c->vq.used_addr = c->vq.desc_addr + 0x200;
	c->vq.call_ctx = &c->call;
	c->vq.error_ctx = &c->err;
	if (vhx_vq_set_base(&c->vq, 0))
		abort();
	c->vq.private_data = c;
	if (vhx_vq_start(&c->vq))
		abort();
}

static void teardown(struct ctx *c)
{
	vhx_vq_free_layouts(&c->vq);
	vhx_maps_free(c->vq.umem);
	kfree(c->vq.indirect);
}

/*
 * Post one indirect chain visiting order[0..n) (order[0] must be 0, where
 * the walk starts); with @loop_to >= 0 the last entry points there.
 * Entry j describes one byte at DATA_GPA + j.
 */
static void post(const unsigned int *order, unsigned int n, int loop_to)
{
	struct vring_desc *ring = (void *)(mem + RING_GPA);
	u16 *avail = (void *)(mem + RING_GPA + 16 * NUM);
	unsigned int k;

	for (k = 0; k < n; k++) {
		struct vring_desc *d = entry(order[k]);

		d->addr = DATA_GPA + order[k];
		d->len = 1;
		d->flags = 0;
		if (k + 1 < n) {
			d->flags = VRING_DESC_F_NEXT;
			d->next = order[k + 1];
		} else if (loop_to >= 0) {
			d->flags = VRING_DESC_F_NEXT;
			d->next = loop_to;
		}
	}
	ring[0].addr = 0;
	ring[0].len = ENTRIES * 16;
	ring[0].flags = VRING_DESC_F_INDIRECT;
	avail[2] = 0;		/* ring[0] = head 0 */
	avail[1] = 1;		/* idx */
}

static void expect(bool ok, const char *name, const char *what)
{
	if (ok)
		return;
	fprintf(stderr, "indirect_test: %s: %s\n", name, what);
	failures++;
}

static void run_ok(const char *name, const unsigned int *order,
		   unsigned int n)
{
	unsigned int out = 0, in = 0, k;
	unsigned long steps;
	struct ctx c;
	int head;
	bool same = true;

	setup(&c);
	post(order, n, -1);
	shim_iter_steps = 0;
	head = vhx_get_vq_desc(&c.vq, iov, UIO_MAXIOV, &out, &in, NULL, NULL);
	steps = shim_iter_steps;
	expect(head == 0 && !c.vq.broken, name, "chain refused");
	expect(out == n && in == 0, name, "wrong descriptor count");
	for (k = 0; k < out && k < n; k++)
		if (iov[k].iov_base != mem + DATA_GPA + order[k] ||
		    iov[k].iov_len != 1)
			same = false;
	expect(same, name, "descriptors out of chain order");
	expect(steps <= 2 * n + NREG, name, "walk re-seeks the table");
	printf("indirect_test: %s: %u descriptors, %lu segment steps (bound %u)\n",
	       name, out, steps, 2 * n + NREG);
	teardown(&c);
}

static void run_bad(const char *name, const unsigned int *order,
		    unsigned int n, int loop_to)
{
	unsigned int out, in;
	struct ctx c;
	int head;

	setup(&c);
	post(order, n, loop_to);
	head = vhx_get_vq_desc(&c.vq, iov, UIO_MAXIOV, &out, &in, NULL, NULL);
	expect(head < 0 && c.vq.broken && c.err.count == 1, name,
	       "malformed table accepted");
	printf("indirect_test: %s: refused (%d), queue failed\n", name, head);
	teardown(&c);
}

int main(void)
{
	static unsigned int order[ENTRIES];
	unsigned long long rng = 0x9e3779b97f4a7c15ULL;
	unsigned int k;

	for (k = 0; k < ENTRIES; k++)
		order[k] = k;
	run_ok("in order", order, ENTRIES);

	for (k = 1; k < ENTRIES; k++)
		order[k] = ENTRIES - k;
	run_ok("backwards", order, ENTRIES);

	for (k = 0; k < ENTRIES; k++)
		order[k] = k;
	for (k = ENTRIES - 1; k > 1; k--) {
		unsigned int j, t;

		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		j = 1 + rng % k;
		t = order[k];
		order[k] = order[j];
		order[j] = t;
	}
	run_ok("shuffled", order, ENTRIES);

	for (k = 0; k < 8; k++)
		order[k] = k;
	run_bad("loop", order, 8, 3);
	run_bad("next past the end", order, 8, ENTRIES);

	printf("indirect_test: %s\n", failures ? "FAIL" : "ok");
	return failures ? 1 : 0;
}
