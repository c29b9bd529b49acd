// SPDX-License-Identifier: GPL-2.0
/*
 * The virtqueue API the devices use: translation of guest addresses, ring
 * metadata access, descriptor accounting, weights and vq errors, and the
 * dispatch to the ring layout of each queue -- split (vq_split.c) or
 * packed (vq_packed.c) -- through vq->ops.
 *
 * The layout is chosen from the negotiated features when a backend is
 * attached (vhx_vq_start(), from vhx_vq_init_access()) and kept until the
 * next attach, so a SET_FEATURES racing a running queue cannot switch the
 * walk under it.  The devices never test the layout themselves.
 *
 * Everything here runs with vq->mutex held, in the owner's mm (the worker
 * has adopted it, or the caller is the owner itself).  Every value read from
 * guest memory is validated before use; a malformed ring is reported with
 * vhx_vq_err(), which stops the queue until userspace resets it.
 */

#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "vq.h"

#define VHX_META_IOVS 8

void vhx_vq_fail(struct vhx_vq *vq)
{
	vq->broken = true;
	vq->stats.errors++;
	if (vq->error_ctx)
		vhx_eventfd_signal(vq->error_ctx);
}
EXPORT_SYMBOL_GPL(vhx_vq_fail);

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

/* Ring metadata access: a user VA, or an IOVA through the device IOTLB. */
int vhx_meta_read(struct vhx_vq *vq, u64 addr, void *dst, size_t len)
{
	struct iovec iov[VHX_META_IOVS];
	int i, n;

	if (!vq->iotlb)
		return copy_from_user(dst, u64_to_user_ptr(addr), len) ?
			-EFAULT : 0;
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

/* ---- the layout of a queue ------------------------------------------- */

static const struct vhx_vq_ops *vhx_vq_layout_of(const struct vhx_vq *vq)
{
	return vhx_has_feature(vq, VIRTIO_F_RING_PACKED) ? &vhx_packed_ops :
							    &vhx_split_ops;
}

/*
 * The layout @vq uses: the one latched at attach while a backend is
 * attached, else the one the negotiated features select (what the next
 * attach will latch).  Ring-set-up ioctls check against this.
 */
const struct vhx_vq_ops *vhx_vq_layout(const struct vhx_vq *vq)
{
	return vq->private_data ? vq->ops : vhx_vq_layout_of(vq);
}

void vhx_vq_free_layouts(struct vhx_vq *vq)
{
	if (vhx_split_ops.free)
		vhx_split_ops.free(vq);
	if (vhx_packed_ops.free)
		vhx_packed_ops.free(vq);
}

bool vhx_vq_is_packed(const struct vhx_vq *vq)
{
	return vhx_vq_layout(vq) == &vhx_packed_ops;
}
EXPORT_SYMBOL_GPL(vhx_vq_is_packed);

void vhx_vq_ring_sizes(const struct vhx_vq *vq, unsigned int num,
		       struct vhx_ring_sizes *s)
{
	vhx_vq_layout(vq)->sizes(num, s);
}

/* Bytes at log_addr the device writes (used ring, device event area). */
u64 vhx_vq_used_log_size(const struct vhx_vq *vq)
{
	struct vhx_ring_sizes s;

	vhx_vq_ring_sizes(vq, vq->num, &s);
	return s.used;
}
EXPORT_SYMBOL_GPL(vhx_vq_used_log_size);

/*
 * VHOST_SET_VRING_NUM.  The size is checked against the layout negotiated
 * so far (split: a power of two; packed: any size up to 32768).  Clients
 * send SET_FEATURES first (QEMU and DPDK do), but a ring sized before
 * RING_PACKED was acked is checked again when the backend is attached.
 */
bool vhx_vq_num_ok(const struct vhx_vq *vq, unsigned int num)
{
	return num && vhx_vq_layout(vq)->num_ok(num);
}
EXPORT_SYMBOL_GPL(vhx_vq_num_ok);

/* VHOST_SET/GET_VRING_BASE in the layout's encoding (see the layouts). */
int vhx_vq_set_base(struct vhx_vq *vq, u32 base)
{
	int r = vhx_vq_layout(vq)->set_base(vq, base);

	if (!r)
		vq->broken = false;
	return r;
}
EXPORT_SYMBOL_GPL(vhx_vq_set_base);

u32 vhx_vq_get_base(const struct vhx_vq *vq)
{
	return vhx_vq_layout(vq)->get_base(vq);
}
EXPORT_SYMBOL_GPL(vhx_vq_get_base);

/*
 * A backend is being attached: latch the layout of the negotiated features,
 * check the ring set-up against it (size, alignment, base), and publish the
 * initial notification state.  -EINVAL: the set-up does not fit the layout;
 * -EFAULT: the rings cannot be accessed; -ENOMEM.
 */
int vhx_vq_start(struct vhx_vq *vq)
{
	const struct vhx_vq_ops *ops = vhx_vq_layout_of(vq);
	int r;

	if (!ops->num_ok(vq->num))
		return -EINVAL;
	/* The flags' meaning differs between the layouts. */
	if (ops != vq->ops)
		vq->used_flags = 0;
	r = ops->start(vq);
	if (r)
		return r;
	vq->ops = ops;
	vq->signalled_used_valid = false;
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_vq_start);

/* ---- the API of the devices ------------------------------------------ */

/*
 * Pull the next available chain.  Returns its head (split) or buffer id
 * (packed), vq->num if nothing is available, or a negative errno (-EAGAIN:
 * IOTLB miss queued, retry later; anything else: the vq has been failed).
 */
int vhx_get_vq_desc(struct vhx_vq *vq, struct iovec iov[],
		    unsigned int iov_size, unsigned int *out_num,
		    unsigned int *in_num, struct vhx_log *log,
		    unsigned int *log_num)
{
	lockdep_assert_held(&vq->mutex);
	if (vq->broken)
		return -EIO;
	return vq->ops->get_desc(vq, iov, iov_size, out_num, in_num, log,
				 log_num);
}
EXPORT_SYMBOL_GPL(vhx_get_vq_desc);

/* Give back the last @n chains taken by vhx_get_vq_desc() and not used. */
void vhx_discard_vq_desc(struct vhx_vq *vq, int n)
{
	if (n > 0)
		vq->ops->discard(vq, n);
}
EXPORT_SYMBOL_GPL(vhx_discard_vq_desc);

/*
 * Publish @count used buffers; @heads are ids returned by vhx_get_vq_desc(),
 * in any order (completion order), each at most once.
 */
int vhx_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
		   unsigned int count)
{
	lockdep_assert_held(&vq->mutex);
	if (!count)
		return 0;
	return vq->ops->add_used_n(vq, heads, count);
}
EXPORT_SYMBOL_GPL(vhx_add_used_n);

int vhx_add_used(struct vhx_vq *vq, unsigned int head, int len)
{
	struct vring_used_elem heads = {
		.id = (__force __virtio32)cpu_to_le32(head),
		.len = (__force __virtio32)cpu_to_le32(len),
	};

	return vhx_add_used_n(vq, &heads, 1);
}
EXPORT_SYMBOL_GPL(vhx_add_used);

void vhx_signal(struct vhx_vq *vq)
{
	if (vq->call_ctx && vq->ops->should_notify(vq)) {
		vhx_eventfd_signal(vq->call_ctx);
		vq->stats.calls++;
	}
}
EXPORT_SYMBOL_GPL(vhx_signal);

void vhx_add_used_and_signal_n(struct vhx_vq *vq,
			       struct vring_used_elem *heads,
			       unsigned int count)
{
	if (!vhx_add_used_n(vq, heads, count))
		vhx_signal(vq);
}
EXPORT_SYMBOL_GPL(vhx_add_used_and_signal_n);

/* Ask the driver for kicks again; true if buffers arrived meanwhile. */
bool vhx_enable_notify(struct vhx_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	return vq->ops->enable_notify(vq);
}
EXPORT_SYMBOL_GPL(vhx_enable_notify);

void vhx_disable_notify(struct vhx_vq *vq)
{
	lockdep_assert_held(&vq->mutex);
	vq->ops->disable_notify(vq);
}
EXPORT_SYMBOL_GPL(vhx_disable_notify);

bool vhx_vq_avail_empty(struct vhx_vq *vq)
{
	if (vq->broken)
		return true;
	return vq->ops->avail_empty(vq);
}
EXPORT_SYMBOL_GPL(vhx_vq_avail_empty);

/* Write the used flags (split) or device event flags (packed) again. */
int vhx_vq_update_used_flags(struct vhx_vq *vq)
{
	return vq->ops->update_used_flags(vq);
}
EXPORT_SYMBOL_GPL(vhx_vq_update_used_flags);

/*
 * Bound one handler run (CVE-2019-3900): past the packet or byte weight,
 * requeue the queue's work so other queues get the worker too.
 */
bool vhx_exceeds_weight(struct vhx_vq *vq, int pkts, int total_len)
{
	struct vhx_dev *dev = vq->dev;

	if ((dev->byte_weight && total_len >= dev->byte_weight) ||
	    pkts >= dev->weight) {
		vhx_poll_queue(&vq->poll);
		vq->stats.requeues++;
		return true;
	}
	return false;
}
EXPORT_SYMBOL_GPL(vhx_exceeds_weight);
