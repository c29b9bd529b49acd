// SPDX-License-Identifier: GPL-2.0
/*
 * loop_test - the module's ring walk (loop_dev.c) against the selftests'
 * guest driver (tools/lib/vhxlib.c, vhxmem.c, vhxring_*.c), in
 * one process, for split and packed rings: random adds (chains of 1-4
 * descriptors, indirect tables), handler runs that take chains, discard some
 * and complete others out of order, reclaims, and both sides' notification
 * suppression, with and without EVENT_IDX, at ring sizes that are not powers
 * of two (packed) and bases near the 16-bit wrap (split).
 *
 * Checked at every step: every chain the device takes is one the driver
 * posted, with its byte counts; every used entry the driver reclaims is
 * one the device completed, with its length; no notification is lost (a
 * device that re-enabled kicks and found nothing gets a kick for the next
 * buffer; a driver that re-enabled interrupts and found nothing gets a
 * signal for the next used entry); nothing is left over at the end and
 * GET_VRING_BASE matches the driver's position.  Runs in make fuzz-check.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vhxlib.h"
#include "loop.h"

#define MAXQ 1024
#define STEPS 30000

static unsigned long long rng = 88172645463325252ULL;

static unsigned rnd(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? (unsigned)(rng % n) : 0;
}

#define CHECK(c, ...) do {						\
	if (!(c)) {							\
		fprintf(stderr, "loop_test %s num %u evt %d step %u: ",	\
			t->packed ? "packed" : "split", t->num, t->evt, step); \
		fprintf(stderr, __VA_ARGS__);				\
		fprintf(stderr, "\n");					\
		abort();						\
	}								\
} while (0)

struct scen {
	bool packed, evt;
	unsigned num;
	uint16_t base;
	bool dpdk;	/* packed: SET_VRING_BASE with the used half 0 */
};

/* Driver-side model of each buffer id. */
struct model {
	bool posted, taken, done;
	size_t out, in;
	unsigned len;
};

static void run(const struct scen *t)
{
	static struct model m[MAXQ];
	struct vhxl_mem mem;
	struct vhxl_dev d;
	struct vhxl_vq *vq = &d.vq[0];
	struct vhxl_vq_cfg c = { .num = t->num, .buf_size = 512, .ind_max = 8,
				.base = t->base };
	unsigned taken[MAXQ], ntaken = 0, step = 0;
	bool dev_idle = false, drv_waiting = false;	/* attach runs a handler */
	unsigned long posted = 0, used = 0, kicks = 0, signals = 0;
	struct devq *dq;
	uint32_t base;

	memset(m, 0, sizeof(m));
	if (vhxl_mem_init(&mem, t->num * (512 + 128 + 16) + 64 * 4096, 1, true, 0))
		abort();
	memset(&d, 0, sizeof(d));
	d.fd = -1;
	d.mem = &mem;
	vq->dev = &d;
	vq->kick_fd = vq->call_fd = vq->err_fd = -1;
	vq->packed = t->packed;
	vq->event_idx = t->evt;
	/* fails at the first ioctl (no device): the ring is set up by then */
	vhxl_vq_setup(&d, 0, &c);
	vq->kick_fd = eventfd(0, EFD_NONBLOCK);
	base = t->packed ? vhxl_vq_expected_base(vq) : t->base;
	if (t->dpdk)
		base &= 0xffff;		/* e.g. 0x00008000 */
	dq = devq_new(mem.base, mem.size, t->packed, t->evt, t->num,
		      (uintptr_t)vq->desc, (uintptr_t)vq->avail,
		      (uintptr_t)vq->used, base);

	for (step = 0; step < STEPS; step++) {
		unsigned what = rnd(100);

		if (what < 40) {		/* the driver posts a chain */
			struct vhxl_sg sg[8];
			unsigned n = 1 + rnd(4), k, id;
			bool ind = rnd(4) == 0;
			size_t out = 0, in = 0;
			uint64_t b;

			if (ind)
				n = 1 + rnd(8);
			else if (n > vq->num_free)
				n = vq->num_free;
			if (!vq->num_free)
				continue;
			b = vq->buf[vq->free_head];
			for (k = 0; k < n; k++) {
				bool w = k >= n / 2 && rnd(2);

				if (k && sg[k - 1].write)
					w = true;	/* out before in */
				sg[k] = (struct vhxl_sg){ .gpa = b + 64 * k,
							 .len = 1 + rnd(64), .write = w };
				if (w)
					in += sg[k].len;
				else
					out += sg[k].len;
			}
			id = vhxl_vq_add(vq, sg, n, ind, NULL);
			CHECK((int)id >= 0 && id < t->num, "add: %d", (int)id);
			CHECK(!m[id].posted, "id %u posted twice", id);
			m[id] = (struct model){ .posted = true, .out = out, .in = in };
			posted++;
			if (vhxl_vq_kick(vq)) {
				kicks++;
				dev_idle = false;
			} else {
				CHECK(!dev_idle, "kick suppressed while the device waits");
			}
		} else if (what < 70 && !dev_idle) {	/* a handler run */
			unsigned want = 1 + rnd(6), done[64], lens[64], nd = 0;
			unsigned first = ntaken;
			size_t out, in;
			int id;

			devq_disable(dq);
			while (want--) {
				id = devq_get(dq, &out, &in);
				CHECK(id != -2, "vq error on a good ring");
				if (id < 0)
					break;
				CHECK(m[id].posted && !m[id].taken, "took id %d not posted", id);
				CHECK(m[id].out == out && m[id].in == in,
				      "id %d: %zu/%zu bytes, posted %zu/%zu", id, out, in,
				      m[id].out, m[id].in);
				m[id].taken = true;
				taken[ntaken++] = id;
			}
			/* give back some taken in this run (the newest) */
			if (ntaken > first && rnd(5) == 0) {
				unsigned g = 1 + rnd(ntaken - first);

				devq_discard(dq, g);
				while (g--)
					m[taken[--ntaken]].taken = false;
			}
			/* complete a random subset in random order */
			while (ntaken && nd < 64 && rnd(3)) {
				unsigned j = rnd(ntaken);

				id = taken[j];
				taken[j] = taken[--ntaken];
				done[nd] = id;
				lens[nd] = m[id].in ? rnd(m[id].in + 1) : 0;
				m[id].len = lens[nd];
				m[id].done = true;
				nd++;
			}
			if (nd) {
				bool sig;

				CHECK(!devq_used(dq, done, lens, nd), "add_used failed");
				sig = devq_signal(dq);
				signals += sig;
				if (drv_waiting)
					CHECK(sig, "signal suppressed while the driver waits");
				if (sig)
					drv_waiting = false;
			}
			/* at the end of a run: ask for kicks if empty */
			if (devq_empty(dq) && !devq_enable(dq))
				dev_idle = true;
		} else if (what < 90) {		/* the driver reclaims */
			uint32_t len;
			int id;

			while ((id = vhxl_vq_get_used(vq, &len, NULL)) >= 0) {
				CHECK(id < (int)t->num && m[id].done,
				      "reclaimed id %d the device did not complete", id);
				CHECK(len == m[id].len, "id %d len %u, device said %u",
				      id, len, m[id].len);
				m[id] = (struct model){ 0 };
				used++;
			}
			if (id != -EAGAIN) {
				struct vring_packed_desc *pd = &vq->pdesc[vq->last_used];

				fprintf(stderr, "last_used %u wrap %d: id %u len %u flags 0x%x chain %u\n",
					vq->last_used, vq->used_wrap, pd->id, pd->len, pd->flags,
					pd->id < t->num ? vq->chain[pd->id] : 0);
			}
			CHECK(id == -EAGAIN, "get_used: %d", id);
			if (rnd(2)) {
				/* sleep for interrupts, or poll */
				if (!vhxl_vq_enable_cb(vq))
					drv_waiting = true;
			} else {
				vhxl_vq_disable_cb(vq);
				drv_waiting = false;
			}
		} else if (rnd(4) == 0) {	/* a spurious handler wakeup */
			dev_idle = false;
		}
	}
	/* drain: the device completes everything, the driver reclaims */
	for (;;) {
		unsigned ids[64], lens[64], n = 0;
		size_t out, in;
		int id;

		while (ntaken && n < 64) {
			id = taken[--ntaken];
			ids[n] = id;
			lens[n++] = 0;
			m[id].len = 0;
			m[id].done = true;
		}
		while (n < 64 && (id = devq_get(dq, &out, &in)) >= 0) {
			m[id].taken = m[id].done = true;
			m[id].len = 0;
			ids[n] = id;
			lens[n++] = 0;
		}
		if (n)
			CHECK(!devq_used(dq, ids, lens, n), "drain add_used");
		while ((id = vhxl_vq_get_used(vq, NULL, NULL)) >= 0) {
			CHECK(m[id].done, "drain: id %d", id);
			m[id] = (struct model){ 0 };
			used++;
		}
		CHECK(id == -EAGAIN, "drain get_used: %d", id);
		if (!n)
			break;
	}
	if (vhxl_vq_inflight(vq)) {
		unsigned k;

		for (k = 0; k < t->num; k++)
			if (m[k].posted)
				fprintf(stderr, "id %u posted taken %d done %d\n", k, m[k].taken, m[k].done);
		fprintf(stderr, "pending %u empty %d ntaken %u base 0x%x\n", vhxl_vq_pending_used(vq),
			devq_empty(dq), ntaken, devq_base(dq));
	}
	CHECK(!devq_broken(dq), "vq failed");
	CHECK(vhxl_vq_inflight(vq) == 0, "%u chains left in flight", vhxl_vq_inflight(vq));
	CHECK(vq->num_free == vq->num, "%u of %u descriptors free", vq->num_free, vq->num);
	CHECK(devq_base(dq) == vhxl_vq_expected_base(vq), "base 0x%x, driver 0x%x",
	      devq_base(dq), vhxl_vq_expected_base(vq));
	printf("loop_test: %-6s num %4u evt %d base 0x%08x: %lu posted, %lu used, %lu kicks, %lu signals\n",
	       t->packed ? "packed" : "split", t->num, t->evt, base, posted, used,
	       kicks, signals);
	devq_free(dq);
	vhxl_dev_close(&d);
	vhxl_mem_fini(&mem);
}

int main(void)
{
	static const struct scen s[] = {
		{ false, false, 64, 0 }, { false, true, 256, 0xffff - 40 },
		{ false, true, 1, 0 }, { false, false, 1024, 0xfff0 },
		{ true, false, 100, 0 }, { true, true, 100, 97 },
		{ true, true, 257, 0, true }, { true, false, 1000, 990, true },
		{ true, true, 1, 0 }, { true, true, 2, 1 }, { true, false, 64, 0 },
	};
	unsigned i;

	setvbuf(stdout, NULL, _IONBF, 0);
	for (i = 0; i < sizeof(s) / sizeof(s[0]); i++)
		run(&s[i]);
	return 0;
}
