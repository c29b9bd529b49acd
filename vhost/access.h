/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Guest-memory access (access.c): the bottom of the core, under both ring
 * layouts and the dirty log.  Caller holds vq->mutex, in the owner's mm.
 */
#ifndef _VHX_ACCESS_H
#define _VHX_ACCESS_H

#include <linux/uaccess.h>

#include "core.h"

/*
 * Translate [addr, addr + len) into at most @iov_size iovecs of user
 * memory with @access (VHOST_ACCESS_*).  Returns the iovec count, -EAGAIN
 * after queuing an IOTLB miss, -ENOBUFS, -EPERM or -EFAULT.
 */
int vhx_translate(struct vhx_vq *vq, u64 addr, u64 len, struct iovec iov[],
		  int iov_size, int access);

/*
 * Ring metadata: whole-area copies, and single-copy 16-bit fields.
 * vhx_meta_read() is inline for its common case, a user VA without an
 * IOTLB: a descriptor read has a constant size, and copy_from_user() of a
 * constant size needs no hardened-usercopy walk of the stack object at run
 * time (the compiler checks it).
 */
int vhx_meta_read_iotlb(struct vhx_vq *vq, u64 addr, void *dst, size_t len);
int vhx_meta_write(struct vhx_vq *vq, u64 addr, const void *src, size_t len);

static __always_inline int vhx_meta_read(struct vhx_vq *vq, u64 addr,
					 void *dst, size_t len)
{
	if (likely(!vq->iotlb))
		return copy_from_user(dst, u64_to_user_ptr(addr), len) ?
			-EFAULT : 0;
	return vhx_meta_read_iotlb(vq, addr, dst, len);
}

int vhx_read16(struct vhx_vq *vq, u64 addr, u16 *val);
int vhx_write16(struct vhx_vq *vq, u64 addr, u16 val);

/* One descriptor's buffer into a chain's iovecs (and its dirty log). */
int vhx_add_buf(struct vhx_vq *vq, u64 addr, u32 len, bool write,
		struct iovec iov[], unsigned int iov_size,
		unsigned int *out_num, unsigned int *in_num,
		struct vhx_log *log, unsigned int *log_num);
/* Check an indirect table and translate it into vq->indirect. */
int vhx_indirect_table(struct vhx_vq *vq, u64 addr, u32 len);

#endif /* _VHX_ACCESS_H */
