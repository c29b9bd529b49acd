/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhx_blk request parsing: pure functions over a chain's iovecs, built in
 * the module and, through selftests/fuzz/shim, in the userspace fuzzer.
 */
#ifndef _VHX_BLK_PARSE_H
#define _VHX_BLK_PARSE_H

#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio_blk.h>
#include <linux/vhx_blk.h>

/* Discard / write-zeroes segments per request. */
#define VHX_BLK_MAX_DWZ_SEG 32

/* What vhx does with a backend file (VHX_BLK_GET_INFO reports it). */
struct vhx_blk_props {
	u64 capacity;		/* 512-byte sectors */
	u32 flags;		/* VHX_BLK_INFO_F_* */
	u32 lbs;		/* logical block size, bytes: a power of two */
	u32 pbs;
	u32 max_discard_sectors;
	u32 discard_alignment;	/* sectors */
	u32 max_wz_sectors;
	bool wz_emulated;	/* write-zeroes writes zeros by hand */
	bool nowait;		/* IOCB_NOWAIT is honoured by the file */
};

/*
 * A request chain taken apart: the header's type and sector, the readable
 * bytes after the header (@out), the writable bytes before the status byte
 * (@in), and the status byte.  @out and @in point into the chain's iovecs,
 * which vhx_blk_parse_chain() trims in place.
 */
struct vhx_blk_chain {
	u32 type;
	u64 sector;
	struct iovec *out;
	unsigned int nout;
	size_t out_len;
	struct iovec *in;
	unsigned int nin;
	size_t in_len;
	u8 __user *status;
};

int vhx_blk_parse_chain(struct iovec *iov, unsigned int out, unsigned int in,
			struct vhx_blk_chain *c);
bool vhx_blk_range_ok(const struct vhx_blk_props *p, u64 sector, u64 bytes);
u8 vhx_blk_check_rw(const struct vhx_blk_props *p, u32 type, u64 sector,
		    size_t len);
u8 vhx_blk_parse_segs(const struct vhx_blk_props *p, bool wz,
		      const struct iovec *iov, unsigned int n, size_t len,
		      struct virtio_blk_discard_write_zeroes **segs,
		      unsigned int *nsegs);
bool vhx_blk_iov_aligned(const struct iovec *iov, unsigned int n, u32 lbs);

#endif /* _VHX_BLK_PARSE_H */
