// SPDX-License-Identifier: GPL-2.0
/*
 * Guest-memory access, the bottom of the core: translation of guest
 * addresses (a user VA through the memory table, or an IOVA through the
 * device IOTLB) into the owner's user memory, ring metadata reads and
 * writes, and the accounting of one descriptor's buffer into a chain.
 * Both ring layouts and the dirty log are built on this file; it calls
 * nothing above it but the IOTLB miss report.
 *
 * Everything here runs with vq->mutex held, in the owner's mm (the worker
 * has adopted it, or the caller is the owner itself).
 */

#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "access.h"
#include "iotlb.h"

#define VHX_META_IOVS 8

int vhx_translate(struct vhx_vq *vq, u64 addr, u64 len, struct iovec iov[],
		  int iov_size, int access)
{
	const struct vhx_maps *maps = vq->iotlb ? vq->iotlb : vq->umem;
	u64 done = 0;
	int ret = 0;

	if (!len)
		return 0;
	if (addr + len - 1 < addr)
		return -EFAULT;
	while (done < len) {
		const struct vhx_map *m;
		u64 size;

		if (ret >= iov_size)
			return -ENOBUFS;
		m = vhx_maps_find(maps, addr);
		if (!m) {
			if (vq->iotlb) {
				vhx_iotlb_miss(vq, addr, access);
				return -EAGAIN;
			}
			return -EFAULT;
		}
		if ((m->perm & access) != access)
			return -EPERM;
		/* min(bytes left in the map, bytes left to do), overflow-safe */
		size = min(m->last - addr, len - done - 1) + 1;
		iov[ret].iov_base = u64_to_user_ptr(m->addr + (addr - m->start));
		iov[ret].iov_len = size;
		done += size;
		addr += size;
		ret++;
	}
	return ret;
}
EXPORT_SYMBOL_GPL(vhx_translate);

/* Ring metadata through the device IOTLB (vhx_meta_read() is inline). */
int vhx_meta_read_iotlb(struct vhx_vq *vq, u64 addr, void *dst, size_t len)
{
	struct iovec iov[VHX_META_IOVS];
	int i, n;

	n = vhx_translate(vq, addr, len, iov, ARRAY_SIZE(iov),
			  VHOST_ACCESS_RO);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (copy_from_user(dst, iov[i].iov_base, iov[i].iov_len))
			return -EFAULT;
		dst += iov[i].iov_len;
	}
	return 0;
}

int vhx_meta_write(struct vhx_vq *vq, u64 addr, const void *src, size_t len)
{
	struct iovec iov[VHX_META_IOVS];
	int i, n;

	if (!vq->iotlb)
		return copy_to_user(u64_to_user_ptr(addr), src, len) ?
			-EFAULT : 0;
	n = vhx_translate(vq, addr, len, iov, ARRAY_SIZE(iov),
			  VHOST_ACCESS_WO);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		if (copy_to_user(iov[i].iov_base, src, iov[i].iov_len))
			return -EFAULT;
		src += iov[i].iov_len;
	}
	return 0;
}

/*
 * The 16-bit ring fields (indices, flags, event indices, packed descriptor
 * flags) are read and written by the driver concurrently: access them with
 * one aligned load or store, never with copy_{from,to}_user(), which may
 * move them a byte at a time (rep movsb) and let the driver see a torn
 * value -- a used index that briefly jumps by 255 makes the driver reclaim
 * buffers it never got back.  Gives the user pointer of @addr, or NULL
 * when @addr straddles two IOTLB mappings (the caller then falls back to a
 * byte copy).
 */
static int vhx_meta_ptr16(struct vhx_vq *vq, u64 addr, int access,
			  __le16 __user **ptr)
{
	struct iovec iov[2];
	int n;

	if (!vq->iotlb) {
		*ptr = u64_to_user_ptr(addr);
		return 0;
	}
	n = vhx_translate(vq, addr, sizeof(__le16), iov, ARRAY_SIZE(iov),
			  access);
	if (n < 0)
		return n;
	*ptr = n == 1 ? iov[0].iov_base : NULL;
	return 0;
}

int vhx_read16(struct vhx_vq *vq, u64 addr, u16 *val)
{
	__le16 __user *p;
	__le16 v;
	int r;

	r = vhx_meta_ptr16(vq, addr, VHOST_ACCESS_RO, &p);
	if (r)
		return r;
	if (p)
		r = get_user(v, p) ? -EFAULT : 0;
	else
		r = vhx_meta_read(vq, addr, &v, sizeof(v));
	if (!r)
		*val = le16_to_cpu(v);
	return r;
}

int vhx_write16(struct vhx_vq *vq, u64 addr, u16 val)
{
	__le16 v = cpu_to_le16(val);
	__le16 __user *p;
	int r;

	r = vhx_meta_ptr16(vq, addr, VHOST_ACCESS_WO, &p);
	if (r)
		return r;
	if (p)
		return put_user(v, p) ? -EFAULT : 0;
	return vhx_meta_write(vq, addr, &v, sizeof(v));
}

/*
 * Account one buffer of a chain (a ring or an indirect descriptor): translate
 * it into the chain's iovecs, enforce "device-readable before
 * device-writable", and note writable ranges for the dirty log.
 */
int vhx_add_buf(struct vhx_vq *vq, u64 addr, u32 len, bool write,
		struct iovec iov[], unsigned int iov_size,
		unsigned int *out_num, unsigned int *in_num,
		struct vhx_log *log, unsigned int *log_num)
{
	unsigned int iov_count = *in_num + *out_num;
	int ret;

	ret = vhx_translate(vq, addr, len, iov + iov_count,
			    iov_size - iov_count,
			    write ? VHOST_ACCESS_WO : VHOST_ACCESS_RO);
	if (ret < 0) {
		if (ret != -EAGAIN)
			vhx_vq_err(vq, "translation failure %d: addr 0x%llx len 0x%x\n",
				   ret, addr, len);
		return ret;
	}
	if (write) {
		*in_num += ret;
		if (log && ret) {
			if (*log_num >= vq->log_max) {
				vhx_vq_err(vq, "dirty log overflow\n");
				return -ENOBUFS;
			}
			log[*log_num].addr = addr;
			log[*log_num].len = len;
			(*log_num)++;
		}
	} else {
		if (*in_num) {
			vhx_vq_err(vq, "descriptor has out after in\n");
			return -EINVAL;
		}
		*out_num += ret;
	}
	return 0;
}

/*
 * Check an indirect table (both layouts use 16-byte descriptors) and
 * translate it into vq->indirect.  Returns the number of segments, or a
 * negative errno (the vq has been failed unless it is -EAGAIN).
 */
int vhx_indirect_table(struct vhx_vq *vq, u64 addr, u32 len)
{
	int ret;

	if (len % sizeof(struct vring_desc) || !len) {
		vhx_vq_err(vq, "invalid indirect descriptor length 0x%x\n", len);
		return -EINVAL;
	}
	if (len / sizeof(struct vring_desc) > USHRT_MAX + 1U) {
		vhx_vq_err(vq, "indirect table too big: %zu entries\n",
			   len / sizeof(struct vring_desc));
		return -E2BIG;
	}
	ret = vhx_translate(vq, addr, len, vq->indirect, UIO_MAXIOV,
			    VHOST_ACCESS_RO);
	if (ret < 0 && ret != -EAGAIN)
		vhx_vq_err(vq, "translation failure %d in indirect table\n", ret);
	return ret;
}
