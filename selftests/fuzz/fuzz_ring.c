// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ring - libFuzzer target over the ring walk of vhost/vq.c (with
 * vq_split.c and vq_packed.c), log.c, access.c and mem.c (the module
 * sources, built through selftests/fuzz/shim).  Built twice: fuzz_ring walks
 * split rings, fuzz_packed (-DFUZZ_PACKED) packed rings of any size up to
 * 1024, started through vhx_vq_start() as a backend attach does.
 *
 * Input: a header (ring size, features, indices, ring addresses, log setup),
 * a memory table (or a device IOTLB built with the IOTLB's replace/delete
 * semantics), up to 48 operation bytes, then the guest memory itself.  The
 * operations are the calls the net handlers make: pull chains the way RX
 * does (several chains into one iovec array, log entries accumulating) or
 * TX does, publish used entries one by one or in batches, signal, toggle
 * notifications, log writes and used-ring logging, weights, discard,
 * IOTLB changes and guest writes to its memory between steps.
 *
 * Besides ASan/UBSan, the harness checks the walk's contracts: a head is in
 * [0, num) or == num or a negative errno; out + in never passes the iovec
 * array; log entries never outnumber in-iovecs (CVE-2019-14835); every
 * iovec lies inside one mapping of the table in use and within its
 * permission; a failed queue stays failed.  Packed: positions stay inside
 * the ring, ids come back in any order (batches are rotated), and the
 * driver side may make entries available with the right wrap bits between
 * steps (op 10) so that the walk gets past the first descriptor.
 */
#include "kshim.h"
#include "access.h"
#include "log.h"
#include "vq.h"
#include "vq_packed.h"
#include "vq_split.h"
#include "input.h"

#define GSIZE (32 * 1024)	/* guest memory */
#define LSIZE (2 * 4096)	/* dirty bitmap */
#define IOV_LIMIT (UIO_MAXIOV + 64)	/* as vhx_net */
#define MAX_OPS 48

extern unsigned long shim_requeues, shim_misses;

static u8 *guest, *bitmap;
static struct vhx_dev dev;
static struct vhx_vq vq;
static struct vhx_vq *vqs[1] = { &vq };
static struct eventfd_ctx call_ctx, err_ctx, log_ctx;

static void setup_once(void)
{
	if (guest)
		return;
	guest = aligned_alloc(4096, GSIZE);
	bitmap = aligned_alloc(4096, LSIZE);
	vq.iov = kmalloc_array(IOV_LIMIT, sizeof(*vq.iov), 0);
	vq.indirect = kmalloc_array(UIO_MAXIOV, sizeof(*vq.indirect), 0);
	vq.log = kmalloc_array(IOV_LIMIT, sizeof(*vq.log), 0);
	vq.heads = kmalloc_array(IOV_LIMIT, sizeof(*vq.heads), 0);
	if (!guest || !bitmap || !vq.iov || !vq.indirect || !vq.log || !vq.heads)
		abort();
}

/* An address: mostly inside guest memory, sometimes around or wild. */
static u64 pick_addr(struct in *in, u64 base, u64 size)
{
	u8 how = take(in, 1);

	switch (how & 3) {
	case 0:
	case 1:
		return base + take(in, 2) % size;
	case 2:
		return base + size - (take(in, 1) % 64);	/* straddles the end */
	default:
		return take(in, 8);
	}
}

/*
 * Add a map the way SET_MEM_TABLE / IOTLB_UPDATE do: they refuse a user
 * range that wraps or fails access_ok(), so the fuzzer must too.
 */
static int add_map(struct vhx_maps *maps, u64 start, u64 last, u64 hva,
		   u32 perm, bool replace)
{
	if (last < start || !shim_access_ok(hva, last - start + 1) ||
	    hva + (last - start) < hva)
		return -EFAULT;
	return vhx_maps_add(maps, start, last, hva, perm, replace);
}

/* Every iovec inside one mapping of @maps, with the access asked for. */
static void check_iovs(const struct vhx_maps *maps, const struct iovec *iov,
		       unsigned int n)
{
	unsigned int i, k;

	for (i = 0; i < n; i++) {
		u64 a = (uintptr_t)iov[i].iov_base, l = iov[i].iov_len;
		bool ok = false;

		if (!l)
			abort();
		for (k = 0; maps && k < maps->nmaps; k++) {
			const struct vhx_map *m = &maps->map[k];
			u64 end = m->addr + (m->last - m->start);

			if (a >= m->addr && a + l - 1 <= end && a + l - 1 >= a)
				ok = true;
		}
		if (!ok) {
			fprintf(stderr, "iov %u [0x%llx +0x%llx] outside every map\n",
				i, a, l);
			abort();
		}
	}
}

static void check_maps(const struct vhx_maps *maps)
{
	unsigned int i;

	if (!maps)
		return;
	if (maps->nmaps > maps->limit)
		abort();
	for (i = 0; i < maps->nmaps; i++) {
		if (maps->map[i].last < maps->map[i].start)
			abort();
		if (i && maps->map[i].start <= maps->map[i - 1].last)
			abort();	/* sorted, non-overlapping */
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct in in = { data, size };
	struct vhx_maps *umem = NULL, *iotlb = NULL;
	unsigned int pending[64], npending = 0;
	unsigned int seg = 0, nlogs = 0;
	u8 ops[MAX_OPS];
	unsigned int nops, i, nmaps;
	u8 flags;
	u64 gbase;

	setup_once();
	shim_user_reset();
	memset(guest, 0, GSIZE);
	memset(bitmap, 0, LSIZE);
	shim_user_map(guest, GSIZE);
	shim_user_map(bitmap, LSIZE);
	gbase = (uintptr_t)guest;

	/* ---- device and queue */
	memset(&dev, 0, sizeof(dev));
	dev.vqs = vqs;
	dev.nvqs = 1;
	dev.iov_limit = IOV_LIMIT;
	dev.weight = 256;
	dev.byte_weight = 0x80000;
	{
		struct iovec *iov = vq.iov, *ind = vq.indirect;
		struct vhx_log *log = vq.log;
		struct vring_used_elem *heads = vq.heads;

		memset(&vq, 0, sizeof(vq));
		vq.iov = iov;
		vq.indirect = ind;
		vq.log = log;
		vq.heads = heads;
	}
	vq.dev = &dev;
	vq.log_max = IOV_LIMIT;
	call_ctx.count = err_ctx.count = log_ctx.count = 0;

	flags = take(&in, 1);
#ifdef FUZZ_PACKED
	vq.num = 1 + take(&in, 2) % 1024;
#else
	vq.num = 1u << (take(&in, 1) % 9);
#endif
	vq.acked_features = take(&in, 8) &
		(BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY) | BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) |
		 BIT_ULL(VIRTIO_RING_F_EVENT_IDX) | BIT_ULL(VHOST_F_LOG_ALL) |
		 BIT_ULL(VIRTIO_F_VERSION_1) | BIT_ULL(VIRTIO_F_ACCESS_PLATFORM));
	vq.ops = &vhx_split_ops;
	vq.last_avail_idx = take(&in, 2);
	vq.avail_idx = vq.last_avail_idx;
	vq.last_used_idx = (flags & 0x80) ? take(&in, 2) : vq.last_avail_idx;
#ifdef FUZZ_PACKED
	vq.acked_features |= BIT_ULL(VIRTIO_F_RING_PACKED);
	/* SET_VRING_BASE: a position inside the ring (else attach refuses) */
	vhx_vq_set_base(&vq, (vq.last_avail_idx % vq.num) |
			(vq.last_used_idx & 0x8000));
	if (flags & 0x80)	/* the used half is ignored: still a position */
		vq.last_used_idx = vq.last_used_idx % vq.num;
#endif
	vq.signalled_used = take(&in, 2);
	vq.signalled_used_valid = flags & 0x40;
	vq.call_ctx = (flags & 0x20) ? NULL : &call_ctx;
	vq.error_ctx = &err_ctx;
	vq.log_ctx = (flags & 0x10) ? &log_ctx : NULL;
	/* SET_VRING_ADDR's alignment rules (avail 2, used 4) */
	vq.desc_addr = pick_addr(&in, gbase, GSIZE);
	vq.avail_addr = pick_addr(&in, gbase, GSIZE) & ~1ULL;
	vq.used_addr = pick_addr(&in, gbase, GSIZE) & ~3ULL;
#ifdef FUZZ_PACKED
	/* the spec's alignments, which attach enforces */
	vq.desc_addr &= ~15ULL;
	vq.avail_addr &= ~3ULL;
#endif
	vq.log_used = flags & 0x08;
	vq.log_addr = take(&in, 3) & ~3ULL;
	/* the bitmap, or somewhere else (the log must fail cleanly) */
	vq.log_base = (flags & 0x04) ? take(&in, 8) : (uintptr_t)bitmap;

	/* ---- memory table: GPA -> inside guest memory (or not) */
	nmaps = take(&in, 1) % 9;
	umem = vhx_maps_alloc(nmaps ? nmaps : 1);
	if (!umem)
		abort();
	for (i = 0; i < nmaps; i++) {
		u64 start = take(&in, 3), len = take(&in, 2) + 1;
		u64 hva = (take(&in, 1) & 7) ? gbase + take(&in, 2) % GSIZE : take(&in, 8);

		add_map(umem, start, start + len - 1, hva, VHX_MAP_RW, false);
	}
	check_maps(umem);
	vq.umem = umem;
	dev.umem = umem;

	/* ---- device IOTLB: ring addresses become IOVAs */
	if (flags & 0x01) {
		unsigned int n = take(&in, 1) % 12;

		iotlb = vhx_maps_alloc(1 + take(&in, 1) % 8);
		if (!iotlb)
			abort();
		for (i = 0; i < n; i++) {
			u64 start = take(&in, 2) * 16, len = take(&in, 2) + 1;
			u8 op = take(&in, 1);

			if (op & 0x80)
				vhx_maps_del(iotlb, start, start + len - 1);
			else
				add_map(iotlb, start, start + len - 1,
					gbase + take(&in, 2) % GSIZE, 1 + op % 3, true);
			check_maps(iotlb);
		}
		vq.iotlb = iotlb;
		dev.iotlb = iotlb;
		vq.desc_addr -= gbase;
		vq.avail_addr -= gbase;
		vq.used_addr -= gbase;
	}

	nops = take(&in, 1) % (MAX_OPS + 1);
	for (i = 0; i < nops; i++)
		ops[i] = take(&in, 1);
	/* the rest is guest memory */
	memcpy(guest, in.p, in.n < GSIZE ? in.n : GSIZE);
	in.p += in.n < GSIZE ? in.n : GSIZE;
	in.n -= in.n < GSIZE ? in.n : GSIZE;

#ifdef FUZZ_PACKED
	/* the backend attach: latches the layout, allocates its state */
	vq.private_data = &dev;
	if (vhx_vq_start(&vq)) {
		if (vq.ops != &vhx_split_ops)
			abort();	/* a failed start latches nothing */
		goto out;
	}
	if (vq.ops != &vhx_packed_ops || !vq.packed)
		abort();
#endif

	for (i = 0; i < nops; i++) {
		u8 op = ops[i] & 0x0f, arg = ops[i] >> 4;
		bool was_broken = vq.broken;
		unsigned int out = 0, inn = 0, log_num = 0;
		bool use_log = vhx_has_feature(&vq, VHOST_F_LOG_ALL);
		int head;

		switch (op) {
		case 0:	/* RX: another chain into the same iovec array */
		case 1:
			if (seg >= UIO_MAXIOV)
				seg = nlogs = 0;
			head = vhx_get_vq_desc(&vq, vq.iov + seg, IOV_LIMIT - seg,
					       &out, &inn,
					       use_log ? vq.log + nlogs : NULL,
					       &log_num);
			if (head < 0) {
				if (head != -EAGAIN && !vq.broken)
					abort();	/* errors fail the queue */
				break;
			}
			if ((unsigned int)head > vq.num)
				abort();
			if ((unsigned int)head == vq.num)
				break;
			if (out + inn > IOV_LIMIT - seg)
				abort();
			if (use_log && (log_num > inn || nlogs + log_num > IOV_LIMIT))
				abort();	/* CVE-2019-14835 */
			check_iovs(vq.iotlb ? vq.iotlb : vq.umem, vq.iov + seg,
				   out + inn);
			if (use_log) {
				/* RX logs what it wrote */
				vhx_log_write(&vq, vq.log + nlogs, log_num,
					      arg * 97, vq.iov + seg, inn);
				nlogs += log_num;
			}
			seg += out + inn;
			if (npending < ARRAY_SIZE(pending))
				pending[npending++] = head;
			break;
		case 2:	/* TX: one chain at the start of the array */
			head = vhx_get_vq_desc(&vq, vq.iov, UIO_MAXIOV, &out,
					       &inn, NULL, NULL);
			if (head >= 0 && (unsigned int)head < vq.num) {
				if (out + inn > UIO_MAXIOV)
					abort();
				check_iovs(vq.iotlb ? vq.iotlb : vq.umem,
					   vq.iov, out + inn);
				if (npending < ARRAY_SIZE(pending))
					pending[npending++] = head;
			} else if (head < 0 && head != -EAGAIN && !vq.broken) {
				abort();
			}
			seg = nlogs = 0;
			break;
		case 3:	/* one used entry: the newest first (out of order) */
			if (npending)
				vhx_add_used(&vq, pending[--npending], arg * 300);
			else
				vhx_add_used(&vq, arg, 0);
			break;
		case 4:	/* batch, as vhx_net_signal_used(), rotated by arg */
			for (unsigned int k = 0; k < npending; k++) {
				vq.heads[k].id = pending[(k + arg) % npending];
				vq.heads[k].len = arg;
			}
			vhx_add_used_and_signal_n(&vq, vq.heads, npending);
			npending = 0;
			seg = nlogs = 0;
			break;
		case 5:
			vhx_signal(&vq);
			break;
		case 6:
			vhx_enable_notify(&vq);
			break;
		case 7:
			vhx_disable_notify(&vq);
			break;
		case 8:
			vhx_vq_avail_empty(&vq);
			break;
		case 9:
			if (npending && arg & 1) {
				vhx_discard_vq_desc(&vq, 1);
				npending--;
			}
			vhx_exceeds_weight(&vq, arg * 20, arg * 40000);
			break;
		case 10:
#ifdef FUZZ_PACKED
			/* the driver makes entry last_avail + arg available */
			if (shim_user_ok(vq.desc_addr, 16 * (u64)vq.num)) {
				unsigned int pos = vq.last_avail_idx + arg;
				bool w = vq.last_avail_wrap;
				struct vring_packed_desc *d;

				if (pos >= vq.num) {
					pos %= vq.num;
					w = !w;
				}
				d = (void *)(uintptr_t)(vq.desc_addr + 16 * (u64)pos);
				d->flags = (d->flags & 0x7f7f & ~(arg & 8 ? 0 : 1)) |
					   (w ? 0x80 : 0x8000);
				d->id = arg & 4 ? d->id % vq.num : d->id;
			}
#else
			vhx_vq_update_used_flags(&vq);
#endif
			break;
		case 11:	/* IOTLB update/invalidate between steps */
			if (vq.iotlb) {
				u64 s = (u64)arg * 2048;

				if (ops[i] & 1)
					vhx_maps_del(vq.iotlb, s, s + 4095);
				else
					add_map(vq.iotlb, s, s + 4095,
						gbase + s % GSIZE, VHX_MAP_RW,
						true);
				check_maps(vq.iotlb);
			}
			break;
		case 12:	/* userspace reset: SET_VRING_BASE + ADDR */
			vq.broken = false;
			npending = seg = nlogs = 0;
			was_broken = false;
#ifdef FUZZ_PACKED
			vhx_vq_set_base(&vq, (arg * 4099u % vq.num) |
					(ops[i] & 1) << 15);
			vhx_vq_start(&vq);	/* a new attach */
#else
			vq.last_avail_idx = vq.avail_idx = arg * 4099;
#endif
			break;
		case 13: {	/* a translation as the net code never makes */
			struct iovec iov[8];
			u64 a = (u64)arg << 12;
			int n = vhx_translate(&vq, a, arg * 1000 + 1, iov, 8,
					      1 + (arg & 1));

			if (n > 8)
				abort();
			if (n > 0)
				check_iovs(vq.iotlb ? vq.iotlb : vq.umem, iov, n);
			break;
		}
		case 14:	/* the guest writes its memory meanwhile */
			guest[(arg * 2053 + i * 31) % GSIZE] ^= ops[i];
			break;
		case 15:
			vhx_log_used(&vq, arg * 8, arg + 2);
			break;
		}
		if (was_broken && !vq.broken)
			abort();	/* a failed queue stays failed */
#ifdef FUZZ_PACKED
		if (vq.last_avail_idx >= vq.num || vq.last_used_idx >= vq.num)
			abort();	/* positions stay inside the ring */
		{
			u32 b = vhx_vq_get_base(&vq);	/* GET_VRING_BASE */

			if ((b & 0x7fff) != vq.last_avail_idx ||
			    !!(b & 0x8000) != vq.last_avail_wrap ||
			    (b >> 16 & 0x7fff) != vq.last_used_idx)
				abort();
		}
#endif
	}

#ifdef FUZZ_PACKED
out:
	vhx_vq_free_layouts(&vq);
#endif
	vhx_maps_free(umem);
	vhx_maps_free(iotlb);
	(void)shim_requeues;
	(void)shim_misses;
	return 0;
}
