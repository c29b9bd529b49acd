// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_hdr - libFuzzer target over the device-level parsing of what the
 * guest puts in its buffers: vhost/blk_parse.c (a virtio-blk request chain
 * taken apart, range and read-only checks, DISCARD / WRITE_ZEROES segments,
 * direct-I/O alignment) and vhost/net_hdr.c (the TX virtio-net header's
 * checksum fix-up, the RX header's num_buffers), the module's own sources
 * built through selftests/fuzz/shim.
 *
 * Input: a mode byte, backend properties (capacity, logical block size,
 * flags and limits), up to 16 iovecs (offset and length into guest memory,
 * a few wild or past its end, empty ones), how many are readable, then the
 * guest memory itself.
 *
 * Beyond ASan/UBSan it checks the parsers' contracts: a parsed chain's
 * readable part is the chain's readable bytes less the 16-byte header and
 * lies inside them; its writable part is the writable bytes less the status
 * byte, which is the chain's last byte; a range that passes the checks is
 * inside the disk; accepted segments are inside the disk, under the limit
 * and aligned; a fixed-up TX header covers its checksum field within the
 * packet; num_buffers lands in the header's bytes.
 */
#include "kshim.h"
#include "blk_parse.h"
#include "net_hdr.h"
#include "input.h"

#define GSIZE (16 * 1024)
#define MAX_IOV 16

static u8 *guest;

static void check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_hdr: %s\n", what);
		abort();
	}
}

/* Is [a, a + l) inside one of @iov[0..n)? */
static bool inside(const struct iovec *iov, unsigned int n, const void *a,
		   size_t l)
{
	uintptr_t p = (uintptr_t)a;
	unsigned int i;

	if (!l)
		return true;
	for (i = 0; i < n; i++) {
		uintptr_t b = (uintptr_t)iov[i].iov_base;

		if (p >= b && p + l <= b + iov[i].iov_len)
			return true;
	}
	return false;
}

static size_t total(const struct iovec *iov, unsigned int n)
{
	size_t t = 0;

	while (n--)
		t += iov[n].iov_len;
	return t;
}

static void fuzz_blk(struct in *in, struct iovec *iov, unsigned int out,
		     unsigned int nin)
{
	struct iovec orig[MAX_IOV];
	struct vhx_blk_props p = { 0 };
	struct virtio_blk_discard_write_zeroes *segs;
	struct vhx_blk_chain c;
	size_t out_len = total(iov, out), in_len = total(iov + out, nin);
	unsigned int i, nsegs, last;
	bool wz;
	u8 st;
	int r;

	p.capacity = take(in, 1) & 1 ? take(in, 8) : take(in, 3);
	p.lbs = 512u << (take(in, 1) % 4);
	p.flags = take(in, 1);
	p.max_discard_sectors = take(in, 4);
	p.max_wz_sectors = take(in, 4);
	memcpy(orig, iov, sizeof(*iov) * (out + nin));

	r = vhx_blk_parse_chain(iov, out, nin, &c);
	if (r) {
		check(r == -EINVAL || r == -EFAULT, "parse: unexpected errno");
		check(r != -EINVAL || out_len < 16 || !in_len,
		      "parse: a chain with header and status refused");
		return;
	}
	check(out_len >= 16 && in_len >= 1, "parse: accepted a short chain");
	check(c.out_len == out_len - 16, "parse: readable length");
	check(c.in_len == in_len - 1, "parse: writable length");
	check(total(c.out, c.nout) == c.out_len, "parse: readable iovecs");
	check(total(c.in, c.nin) == c.in_len, "parse: writable iovecs");
	for (i = 0; i < c.nout; i++)
		check(inside(orig, out, c.out[i].iov_base, c.out[i].iov_len),
		      "parse: readable data outside the chain");
	for (i = 0; i < c.nin; i++)
		check(inside(orig + out, nin, c.in[i].iov_base, c.in[i].iov_len),
		      "parse: writable data outside the chain");
	/* the status is the last byte of the last non-empty writable iovec */
	for (last = out + nin; last > out && !orig[last - 1].iov_len; last--)
		;
	check(last > out, "parse: no writable iovec");
	check((u8 *)c.status == (u8 *)orig[last - 1].iov_base +
	      orig[last - 1].iov_len - 1, "parse: status is not the last byte");

	st = vhx_blk_check_rw(&p, c.type, c.sector, c.type == VIRTIO_BLK_T_IN ?
			      c.in_len : c.out_len);
	if (!st) {
		size_t len = c.type == VIRTIO_BLK_T_IN ? c.in_len : c.out_len;

		check(!(len & 511), "rw: ragged length accepted");
		check(c.sector <= p.capacity &&
		      len / 512 <= p.capacity - c.sector, "rw: range past the end");
		check(c.type != VIRTIO_BLK_T_OUT || !(p.flags & VHX_BLK_INFO_F_RO),
		      "rw: write to a read-only disk");
	} else {
		check(st == VIRTIO_BLK_S_IOERR, "rw: unexpected status");
	}
	vhx_blk_iov_aligned(c.in, c.nin, p.lbs);

	wz = take(in, 1) & 1;
	st = vhx_blk_parse_segs(&p, wz, c.out, c.nout, c.out_len, &segs, &nsegs);
	if (st) {
		check(!segs && !nsegs, "segs: allocated on failure");
		check(st == VIRTIO_BLK_S_IOERR || st == VIRTIO_BLK_S_UNSUPP,
		      "segs: unexpected status");
		return;
	}
	check(nsegs && nsegs <= VHX_BLK_MAX_DWZ_SEG &&
	      nsegs * sizeof(*segs) == c.out_len, "segs: count");
	for (i = 0; i < nsegs; i++) {
		u64 s = le64_to_cpu(segs[i].sector);
		u32 n = le32_to_cpu(segs[i].num_sectors);

		check(n <= (wz ? p.max_wz_sectors : p.max_discard_sectors),
		      "segs: over the limit");
		check(s <= p.capacity && n <= p.capacity - s, "segs: past the end");
		check(!((s | n) & (p.lbs / 512 - 1)), "segs: misaligned");
	}
	kfree(segs);
}

static void fuzz_net(struct in *in, struct iovec *iov, unsigned int n)
{
	struct virtio_net_hdr h;
	struct iov_iter it;
	size_t len = take(in, 2), hlen = take(in, 1) & 1 ? 12 : 0;
	u16 nb = take(in, 2);
	static u8 before[GSIZE];
	int r;

	/* TX: the header as the guest left it at the start of its buffer */
	memcpy(&h, guest, sizeof(h));
	r = vhx_net_tx_fixup_hdr(&h, len);
	if (!r && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) {
		u32 need = le16_to_cpu(h.csum_start) + le16_to_cpu(h.csum_offset) + 2;

		check(le16_to_cpu(h.hdr_len) >= need, "tx: hdr_len below the checksum");
		check(need <= len || le16_to_cpu(h.hdr_len) ==
		      le16_to_cpu(((struct virtio_net_hdr *)guest)->hdr_len),
		      "tx: raised hdr_len past the packet");
	} else if (r) {
		check(r == -EINVAL && (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM),
		      "tx: refused a header without NEEDS_CSUM");
	}

	/* RX: num_buffers in the header of the first buffer */
	if (!n)
		return;
	memcpy(before, guest, sizeof(before));
	iov_iter_init(&it, ITER_DEST, iov, n, total(iov, n));
	if (hlen)
		iov_iter_advance(&it, hlen < total(iov, n) ? hlen : total(iov, n));
	r = vhx_net_rx_put_num_buffers(iov, &it, hlen, nb);
	check(!r || r == -EFAULT, "rx: unexpected errno");
	/* Only the 2 bytes of num_buffers may change, inside the iovecs. */
	for (size_t i = 0, changed = 0; i < sizeof(before); i++) {
		if (before[i] == guest[i])
			continue;
		check(++changed <= 2, "rx: more than num_buffers written");
		check(inside(iov, n, guest + i, 1), "rx: write outside the buffer");
	}
}

int LLVMFuzzerTestOneInput(const u8 *data, size_t size)
{
	struct in in = { data, size };
	struct iovec iov[MAX_IOV];
	unsigned int n, out, i;
	u8 mode;

	if (!guest) {
		guest = aligned_alloc(4096, GSIZE);
		if (!guest)
			abort();
	}
	shim_user_reset();
	shim_user_map(guest, GSIZE);
	mode = take(&in, 1);
	n = take(&in, 1) % (MAX_IOV + 1);
	out = n ? take(&in, 1) % (n + 1) : 0;
	for (i = 0; i < n; i++) {
		u8 how = take(&in, 1);
		u64 off = take(&in, 2), len = take(&in, 2) % 8192;

		if ((how & 7) == 7)
			/*
			 * wild, but as vhx_translate() makes them: a user
			 * address (access_ok), not NULL, not wrapping
			 */
			off = (take(&in, 8) & ((1ULL << 46) - 1)) | 0x1000;
		else if ((how & 7) == 6)
			off = GSIZE - (off % 64);	/* straddles the end */
		else
			off %= GSIZE;
		if ((how & 0x18) == 0x18)
			len = 0;
		else if (how & 0x20)
			len = 1 + len % 32;
		iov[i].iov_base = (void *)((uintptr_t)guest + off);
		if ((how & 7) == 7)
			iov[i].iov_base = (void *)(uintptr_t)off;
		iov[i].iov_len = len;
	}
	memset(guest, 0, GSIZE);
	memcpy(guest, in.p, in.n < GSIZE ? in.n : GSIZE);
	if (mode & 1)
		fuzz_net(&in, iov, n);
	else
		fuzz_blk(&in, iov, out, n - out);
	return 0;
}
