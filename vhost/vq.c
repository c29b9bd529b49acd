// SPDX-License-Identifier: GPL-2.0
/*
 * The split-ring walk: translation of guest addresses, descriptor chains,
 * the used ring, notification suppression and weights.
 *
 * Everything here runs with vq->mutex held, in the owner's mm (the worker
 * has adopted it, or the caller is the owner itself).  Every value read from
 * guest memory is validated before use; a malformed ring is reported with
 * vhx_vq_err(), which stops the queue until userspace resets it.
 */

#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "core.h"

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
static int vhx_meta_read(struct vhx_vq *vq, u64 addr, void *dst, size_t len)
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

static int vhx_meta_write(struct vhx_vq *vq, u64 addr, const void *src,
			  size_t len)
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

/* Split-ring layout: where each field lives. */
#define USED_RING_OFF(i)	(4 + 8 * (u64)(i))

static inline u64 AVAIL_FLAGS(const struct vhx_vq *vq)
{
	return vq->avail_addr;
}

static inline u64 AVAIL_IDX(const struct vhx_vq *vq)
{
	return vq->avail_addr + 2;
}

static inline u64 AVAIL_RING(const struct vhx_vq *vq, unsigned int i)
{
	return vq->avail_addr + 4 + 2 * (u64)i;
}

static inline u64 USED_EVENT(const struct vhx_vq *vq)
{
	return AVAIL_RING(vq, vq->num);
}

static inline u64 USED_FLAGS(const struct vhx_vq *vq)
{
	return vq->used_addr;
}

static inline u64 USED_IDX(const struct vhx_vq *vq)
{
	return vq->used_addr + 2;
}

static inline u64 AVAIL_EVENT(const struct vhx_vq *vq)
{
	return vq->used_addr + USED_RING_OFF(vq->num);
}

/*
 * The 16-bit ring fields (indices, flags, event indices) are read and
 * written by the driver concurrently: access them with one aligned load or
 * store, never with copy_{from,to}_user(), which may move them a byte at a
 * time (rep movsb) and let the driver see a torn index -- a used index
 * that briefly jumps by 255 makes the driver reclaim buffers it never got
 * back.  Returns the user pointer of @addr, or NULL when @addr straddles
 * two IOTLB mappings (the caller then falls back to a byte copy).
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

static int vhx_read16(struct vhx_vq *vq, u64 addr, u16 *val)
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

static int vhx_write16(struct vhx_vq *vq, u64 addr, u16 val)
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

int vhx_vq_update_used_flags(struct vhx_vq *vq)
{
	int r = vhx_write16(vq, USED_FLAGS(vq), vq->used_flags);

	if (r)
		return r;
	if (vq->log_used) {
		/* Make sure the flag is seen before the log. */
		smp_wmb();
		r = vhx_log_used(vq, 0, sizeof(__le16));
		if (!r && vq->log_ctx)
			vhx_eventfd_signal(vq->log_ctx);
	}
	return r;
}
EXPORT_SYMBOL_GPL(vhx_vq_update_used_flags);

static int vhx_update_avail_event(struct vhx_vq *vq, u16 avail_event)
{
	int r = vhx_write16(vq, AVAIL_EVENT(vq), avail_event);

	if (r)
		return r;
	if (vq->log_used) {
		/* Make sure the event is seen before the log. */
		smp_wmb();
		r = vhx_log_used(vq, USED_RING_OFF(vq->num), sizeof(__le16));
		if (!r && vq->log_ctx)
			vhx_eventfd_signal(vq->log_ctx);
	}
	return r;
}

int vhx_vq_read_used_idx(struct vhx_vq *vq, u16 *idx)
{
	return vhx_read16(vq, USED_IDX(vq), idx);
}
EXPORT_SYMBOL_GPL(vhx_vq_read_used_idx);

/* Read avail->idx and check it against the ring size. */
static int vhx_fetch_avail_idx(struct vhx_vq *vq)
{
	u16 idx;
	int r = vhx_read16(vq, AVAIL_IDX(vq), &idx);

	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to read avail idx at 0x%llx\n",
				   AVAIL_IDX(vq));
		return r;
	}
	if ((u16)(idx - vq->last_avail_idx) > vq->num) {
		vhx_vq_err(vq, "guest moved avail index from %u to %u\n",
			   vq->last_avail_idx, idx);
		return -EFAULT;
	}
	vq->avail_idx = idx;
	return 0;
}

static int vhx_next_desc(const struct vring_desc *desc)
{
	if (!(le16_to_cpu((__force __le16)desc->flags) & VRING_DESC_F_NEXT))
		return -1;
	return le16_to_cpu((__force __le16)desc->next);
}

/* Account one translated descriptor into the chain being built. */
static int vhx_add_desc(struct vhx_vq *vq, const struct vring_desc *desc,
			struct iovec iov[], unsigned int iov_size,
			unsigned int *out_num, unsigned int *in_num,
			struct vhx_log *log, unsigned int *log_num)
{
	unsigned int iov_count = *in_num + *out_num;
	u16 flags = le16_to_cpu((__force __le16)desc->flags);
	u64 addr = le64_to_cpu((__force __le64)desc->addr);
	u32 len = le32_to_cpu((__force __le32)desc->len);
	bool write = flags & VRING_DESC_F_WRITE;
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

static int vhx_get_indirect(struct vhx_vq *vq, struct iovec iov[],
			    unsigned int iov_size, unsigned int *out_num,
			    unsigned int *in_num, struct vhx_log *log,
			    unsigned int *log_num,
			    const struct vring_desc *indirect)
{
	u64 addr = le64_to_cpu((__force __le64)indirect->addr);
	u32 len = le32_to_cpu((__force __le32)indirect->len);
	unsigned int count, found = 0, nseg;
	struct vring_desc desc;
	struct iov_iter from;
	int i, ret;

	if (len % sizeof(desc) || !len) {
		vhx_vq_err(vq, "invalid indirect descriptor length 0x%x\n", len);
		return -EINVAL;
	}
	count = len / sizeof(desc);
	if (count > USHRT_MAX + 1U) {
		vhx_vq_err(vq, "indirect table too big: %u entries\n", count);
		return -E2BIG;
	}
	ret = vhx_translate(vq, addr, len, vq->indirect, UIO_MAXIOV,
			    VHOST_ACCESS_RO);
	if (ret < 0) {
		if (ret != -EAGAIN)
			vhx_vq_err(vq, "translation failure %d in indirect table\n",
				   ret);
		return ret;
	}
	nseg = ret;
	i = 0;
	do {
		if (i >= count) {
			vhx_vq_err(vq, "indirect next %d out of range %u\n",
				   i, count);
			return -EINVAL;
		}
		if (++found > count) {
			vhx_vq_err(vq, "loop in indirect table of %u\n", count);
			return -EINVAL;
		}
		iov_iter_init(&from, ITER_SOURCE, vq->indirect, nseg, len);
		iov_iter_advance(&from, (size_t)i * sizeof(desc));
		if (copy_from_iter(&desc, sizeof(desc), &from) != sizeof(desc)) {
			vhx_vq_err(vq, "failed to read indirect descriptor %d\n",
				   i);
			return -EFAULT;
		}
		if (le16_to_cpu((__force __le16)desc.flags) &
		    VRING_DESC_F_INDIRECT) {
			vhx_vq_err(vq, "nested indirect descriptor\n");
			return -EINVAL;
		}
		ret = vhx_add_desc(vq, &desc, iov, iov_size, out_num, in_num,
				   log, log_num);
		if (ret)
			return ret;
	} while ((i = vhx_next_desc(&desc)) != -1);
	return 0;
}

/*
 * Pull the next available chain.  Returns its head, vq->num if the ring is
 * empty, or a negative errno (-EAGAIN: IOTLB miss queued, retry later;
 * anything else: the vq has been failed).
 */
int vhx_get_vq_desc(struct vhx_vq *vq, struct iovec iov[],
		    unsigned int iov_size, unsigned int *out_num,
		    unsigned int *in_num, struct vhx_log *log,
		    unsigned int *log_num)
{
	unsigned int head, found = 0;
	struct vring_desc desc;
	u16 ring_head, flags;
	int i, ret;

	if (vq->broken)
		return -EIO;
	if (vq->avail_idx == vq->last_avail_idx) {
		ret = vhx_fetch_avail_idx(vq);
		if (ret)
			return ret;
		if (vq->avail_idx == vq->last_avail_idx)
			return vq->num;
		/* Read the ring entries only after the index. */
		smp_rmb();
	}

	ret = vhx_read16(vq, AVAIL_RING(vq, vq->last_avail_idx & (vq->num - 1)),
			 &ring_head);
	if (ret) {
		if (ret != -EAGAIN)
			vhx_vq_err(vq, "failed to read avail ring entry %u\n",
				   vq->last_avail_idx);
		return ret;
	}
	head = ring_head;
	if (head >= vq->num) {
		vhx_vq_err(vq, "guest says index %u >= %u is available\n",
			   head, vq->num);
		return -EINVAL;
	}

	*out_num = 0;
	*in_num = 0;
	if (log)
		*log_num = 0;
	i = head;
	do {
		if (i >= vq->num) {
			vhx_vq_err(vq, "descriptor index %d >= %u, head %u\n",
				   i, vq->num, head);
			return -EINVAL;
		}
		if (++found > vq->num) {
			vhx_vq_err(vq, "loop in chain from head %u (ring %u)\n",
				   head, vq->num);
			return -EINVAL;
		}
		ret = vhx_meta_read(vq, vq->desc_addr + (u64)i * sizeof(desc),
				    &desc, sizeof(desc));
		if (ret) {
			if (ret != -EAGAIN)
				vhx_vq_err(vq, "failed to read descriptor %d\n",
					   i);
			return ret;
		}
		flags = le16_to_cpu((__force __le16)desc.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (flags & VRING_DESC_F_NEXT) {
				vhx_vq_err(vq, "indirect descriptor with NEXT\n");
				return -EINVAL;
			}
			ret = vhx_get_indirect(vq, iov, iov_size, out_num,
					       in_num, log, log_num, &desc);
		} else {
			ret = vhx_add_desc(vq, &desc, iov, iov_size, out_num,
					   in_num, log, log_num);
		}
		if (ret)
			return ret;
	} while ((i = vhx_next_desc(&desc)) != -1);

	vq->last_avail_idx++;
	return head;
}
EXPORT_SYMBOL_GPL(vhx_get_vq_desc);

/* Give back the last @n chains taken by vhx_get_vq_desc(). */
void vhx_discard_vq_desc(struct vhx_vq *vq, int n)
{
	vq->last_avail_idx -= n;
}
EXPORT_SYMBOL_GPL(vhx_discard_vq_desc);

static int __vhx_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
			    unsigned int count)
{
	unsigned int start = vq->last_used_idx & (vq->num - 1);
	u16 old, new;
	int r;

	r = vhx_meta_write(vq, vq->used_addr + USED_RING_OFF(start), heads,
			   count * sizeof(*heads));
	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to write used ring\n");
		return r;
	}
	if (vq->log_used) {
		/* Make sure the data is seen before the log. */
		smp_wmb();
		/* A log failure is userspace's problem, not the guest's. */
		vhx_log_used(vq, USED_RING_OFF(start), count * sizeof(*heads));
	}
	old = vq->last_used_idx;
	new = (vq->last_used_idx += count);
	/*
	 * If the driver never bothers to signal in a very long while, the
	 * used index might wrap around past signalled_used: invalidate it.
	 */
	if ((u16)(new - vq->signalled_used) < (u16)(new - old))
		vq->signalled_used_valid = false;
	return 0;
}

int vhx_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
		   unsigned int count)
{
	unsigned int start, n;
	int r;

	if (!count)
		return 0;
	start = vq->last_used_idx & (vq->num - 1);
	n = vq->num - start;
	if (n < count) {
		r = __vhx_add_used_n(vq, heads, n);
		if (r)
			return r;
		heads += n;
		count -= n;
	}
	r = __vhx_add_used_n(vq, heads, count);
	if (r)
		return r;

	/* The entries must be visible before the index. */
	smp_wmb();
	r = vhx_write16(vq, USED_IDX(vq), vq->last_used_idx);
	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to write used idx\n");
		return r;
	}
	if (vq->log_used) {
		/* Make sure the index is seen before the log. */
		smp_wmb();
		if (!vhx_log_used(vq, 2, sizeof(__le16)) && vq->log_ctx)
			vhx_eventfd_signal(vq->log_ctx);
	}
	return 0;
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

static bool vhx_should_notify(struct vhx_vq *vq)
{
	u16 old, new, event, flags;
	bool valid;

	/* Flush out used index updates before reading the driver's state. */
	smp_mb();
	if (vhx_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    vq->avail_idx == vq->last_avail_idx)
		return true;

	if (!vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (vhx_read16(vq, AVAIL_FLAGS(vq), &flags))
			return true;
		return !(flags & VRING_AVAIL_F_NO_INTERRUPT);
	}
	old = vq->signalled_used;
	valid = vq->signalled_used_valid;
	new = vq->last_used_idx;
	vq->signalled_used = new;
	vq->signalled_used_valid = true;
	if (!valid)
		return true;
	if (vhx_read16(vq, USED_EVENT(vq), &event))
		return true;
	return vring_need_event(event, new, old);
}

void vhx_signal(struct vhx_vq *vq)
{
	if (vq->call_ctx && vhx_should_notify(vq)) {
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
	u16 idx;
	int r;

	if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY))
		return false;
	vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
	if (!vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		r = vhx_vq_update_used_flags(vq);
	else
		r = vhx_update_avail_event(vq, vq->avail_idx);
	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to enable notification\n");
		return false;
	}
	/* They could have slipped one in as we were doing that. */
	smp_mb();
	if (vhx_read16(vq, AVAIL_IDX(vq), &idx))
		return false;
	return idx != vq->avail_idx;
}
EXPORT_SYMBOL_GPL(vhx_enable_notify);

void vhx_disable_notify(struct vhx_vq *vq)
{
	int r;

	if (vq->used_flags & VRING_USED_F_NO_NOTIFY)
		return;
	vq->used_flags |= VRING_USED_F_NO_NOTIFY;
	if (!vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		r = vhx_vq_update_used_flags(vq);
		if (r && r != -EAGAIN)
			vhx_vq_err(vq, "failed to disable notification\n");
	}
}
EXPORT_SYMBOL_GPL(vhx_disable_notify);

bool vhx_vq_avail_empty(struct vhx_vq *vq)
{
	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	if (vq->broken || vhx_fetch_avail_idx(vq))
		return true;
	return vq->avail_idx == vq->last_avail_idx;
}
EXPORT_SYMBOL_GPL(vhx_vq_avail_empty);

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
