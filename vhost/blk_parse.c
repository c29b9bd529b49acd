// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_blk request parsing.  Everything here comes from the guest and is
 * checked: the chain's layout is not assumed (the header may be split or
 * share a descriptor with data, the status is the chain's last byte),
 * ranges are checked against the capacity without overflow, and the
 * DISCARD / WRITE_ZEROES segments against the backend's limits.
 *
 * No locking: the callers own the iovecs.  The same source builds in the
 * userspace fuzzer (selftests/fuzz/fuzz_hdr.c).
 */

#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "blk_parse.h"

#define VHX_SECTOR_SHIFT 9
#define VHX_SECTOR_SIZE 512

/* Drop @skip bytes from the front of @iov[0..*n), in place. */
static struct iovec *vhx_blk_skip(struct iovec *iov, unsigned int *n,
				  size_t skip)
{
	while (*n && skip >= iov->iov_len) {
		skip -= iov->iov_len;
		iov++;
		(*n)--;
	}
	if (*n) {
		iov->iov_base += skip;
		iov->iov_len -= skip;
	}
	return iov;
}

/*
 * The status byte is the last byte of the chain: take it off the writable
 * iovecs (dropping any that end up empty).  NULL if there is none.
 */
static u8 __user *vhx_blk_take_status(struct iovec *iov, unsigned int *n)
{
	u8 __user *status;

	while (*n && !iov[*n - 1].iov_len)
		(*n)--;
	if (!*n)
		return NULL;
	iov[*n - 1].iov_len--;
	status = (u8 __user *)iov[*n - 1].iov_base + iov[*n - 1].iov_len;
	if (!iov[*n - 1].iov_len)
		(*n)--;
	return status;
}

/*
 * Take apart the chain in @iov: @out readable iovecs, then @in writable.
 * -EINVAL: no 16-byte header or no writable byte (a malformed chain);
 * -EFAULT: the header could not be read.
 */
int vhx_blk_parse_chain(struct iovec *iov, unsigned int out, unsigned int in,
			struct vhx_blk_chain *c)
{
	struct virtio_blk_outhdr hdr;
	struct iov_iter from;
	size_t out_len = iov_length(iov, out);

	if (out_len < sizeof(hdr))
		return -EINVAL;
	c->in = iov + out;
	c->nin = in;
	c->status = vhx_blk_take_status(c->in, &c->nin);
	if (!c->status)
		return -EINVAL;
	c->in_len = iov_length(c->in, c->nin);
	iov_iter_init(&from, ITER_SOURCE, iov, out, out_len);
	if (copy_from_iter(&hdr, sizeof(hdr), &from) != sizeof(hdr))
		return -EFAULT;
	c->type = le32_to_cpu((__force __le32)hdr.type);
	c->sector = le64_to_cpu((__force __le64)hdr.sector);
	c->nout = out;
	c->out = vhx_blk_skip(iov, &c->nout, sizeof(hdr));
	c->out_len = out_len - sizeof(hdr);
	return 0;
}

/* Is [sector, sector + bytes / 512) inside the disk? */
bool vhx_blk_range_ok(const struct vhx_blk_props *p, u64 sector, u64 bytes)
{
	u64 n = bytes >> VHX_SECTOR_SHIFT;

	return sector <= p->capacity && n <= p->capacity - sector;
}

/* IN / OUT of @len bytes at @sector: 0 to go ahead, else the status. */
u8 vhx_blk_check_rw(const struct vhx_blk_props *p, u32 type, u64 sector,
		    size_t len)
{
	if (type == VIRTIO_BLK_T_OUT && (p->flags & VHX_BLK_INFO_F_RO))
		return VIRTIO_BLK_S_IOERR;
	if (len & (VHX_SECTOR_SIZE - 1) || !vhx_blk_range_ok(p, sector, len))
		return VIRTIO_BLK_S_IOERR;
	return 0;
}

/*
 * Read and check the DISCARD (@wz false) or WRITE_ZEROES segments in the
 * @len readable bytes of @iov[0..n).  0 with *@segs allocated (kfree it),
 * or a status: IOERR for a ragged payload, too many segments, a range
 * past the end or over the limit, or misalignment; UNSUPP for unknown
 * flags and for UNMAP on DISCARD.
 */
u8 vhx_blk_parse_segs(const struct vhx_blk_props *p, bool wz,
		      const struct iovec *iov, unsigned int n, size_t len,
		      struct virtio_blk_discard_write_zeroes **segs,
		      unsigned int *nsegs)
{
	struct virtio_blk_discard_write_zeroes *s;
	u32 max = wz ? p->max_wz_sectors : p->max_discard_sectors;
	u64 mask = (p->lbs >> VHX_SECTOR_SHIFT) - 1;
	struct iov_iter from;
	unsigned int i;

	*segs = NULL;
	*nsegs = 0;
	if (!len || len % sizeof(*s) || len / sizeof(*s) > VHX_BLK_MAX_DWZ_SEG)
		return VIRTIO_BLK_S_IOERR;
	s = kmalloc(len, GFP_KERNEL_ACCOUNT);
	if (!s)
		return VIRTIO_BLK_S_IOERR;
	iov_iter_init(&from, ITER_SOURCE, iov, n, len);
	if (copy_from_iter(s, len, &from) != len)
		goto ioerr;
	for (i = 0; i < len / sizeof(*s); i++) {
		u64 sector = le64_to_cpu(s[i].sector);
		u32 num = le32_to_cpu(s[i].num_sectors);
		u32 flags = le32_to_cpu(s[i].flags);

		/* UNMAP means something only for WRITE_ZEROES. */
		if (flags & ~VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP ||
		    (!wz && flags)) {
			kfree(s);
			return VIRTIO_BLK_S_UNSUPP;
		}
		/*
		 * A segment of no sectors is IOERR (the spec leaves it open;
		 * no driver sends one): it has no last byte to compute.
		 */
		if (!num || num > max ||
		    !vhx_blk_range_ok(p, sector, (u64)num << VHX_SECTOR_SHIFT))
			goto ioerr;
		/* The backend works in logical blocks. */
		if ((sector | num) & mask)
			goto ioerr;
	}
	*segs = s;
	*nsegs = len / sizeof(*s);
	return 0;
ioerr:
	kfree(s);
	return VIRTIO_BLK_S_IOERR;
}

/* Can direct I/O take these buffers as they are (@lbs-aligned)? */
bool vhx_blk_iov_aligned(const struct iovec *iov, unsigned int n, u32 lbs)
{
	unsigned long mask = lbs - 1;
	unsigned int i;

	for (i = 0; i < n; i++)
		if (iov[i].iov_len &&
		    (((unsigned long)iov[i].iov_base | iov[i].iov_len) & mask))
			return false;
	return true;
}
