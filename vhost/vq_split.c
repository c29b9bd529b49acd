// SPDX-License-Identifier: GPL-2.0
/*
 * Split virtqueues: descriptor table, avail ring, used ring (virtio 1.x
 * section 2.7), behind the virtqueue API of vq.c.
 *
 * Indices are free-running u16s; the used index is taken from guest memory
 * when a backend is attached.  Caller holds vq->mutex.
 */

#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "access.h"
#include "log.h"
#include "vq_split.h"

/* Where each field lives, at ring addresses (user VA, or IOVA with an IOTLB). */
#define USED_RING_OFF(i)	(4 + 8 * (u64)(i))

static inline u64 avail_flags_addr(const struct vhx_vq *vq)
{
	return vq->avail_addr;
}

static inline u64 avail_idx_addr(const struct vhx_vq *vq)
{
	return vq->avail_addr + 2;
}

static inline u64 avail_ring_addr(const struct vhx_vq *vq, unsigned int i)
{
	return vq->avail_addr + 4 + 2 * (u64)i;
}

static inline u64 used_event_addr(const struct vhx_vq *vq)
{
	return avail_ring_addr(vq, vq->num);
}

static inline u64 used_flags_addr(const struct vhx_vq *vq)
{
	return vq->used_addr;
}

static inline u64 used_idx_addr(const struct vhx_vq *vq)
{
	return vq->used_addr + 2;
}

static inline u64 avail_event_addr(const struct vhx_vq *vq)
{
	return vq->used_addr + USED_RING_OFF(vq->num);
}

/* A power of two, at most 32768 (what fits the 16-bit indices). */
static bool split_num_ok(unsigned int num)
{
	return num <= 0xffff && !(num & (num - 1));
}

static void split_sizes(unsigned int num, struct vhx_ring_sizes *s)
{
	s->desc = sizeof(struct vring_desc) * (u64)num;
	s->avail = 4 + 2 * (u64)num + 2;
	s->used = 4 + 8 * (u64)num + 2;
}

/* The base is the next avail index; the used index is in guest memory. */
static int split_set_base(struct vhx_vq *vq, u32 base)
{
	if (base > 0xffff)
		return -EINVAL;
	vq->last_avail_idx = base;
	/* Forget the cached index; the guest's is read again. */
	vq->avail_idx = vq->last_avail_idx;
	return 0;
}

static u32 split_get_base(const struct vhx_vq *vq)
{
	return vq->last_avail_idx;
}

static int split_update_used_flags(struct vhx_vq *vq)
{
	int r = vhx_write16(vq, used_flags_addr(vq), vq->used_flags);

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

static int split_update_avail_event(struct vhx_vq *vq, u16 avail_event)
{
	int r = vhx_write16(vq, avail_event_addr(vq), avail_event);

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

/* Publish the used flags and pick up the used index from guest memory. */
static int split_start(struct vhx_vq *vq)
{
	u16 idx;

	if (split_update_used_flags(vq))
		return -EFAULT;
	if (vhx_read16(vq, used_idx_addr(vq), &idx))
		return -EFAULT;
	vq->last_used_idx = idx;
	return 0;
}

/* Read avail->idx and check it against the ring size. */
static int split_fetch_avail_idx(struct vhx_vq *vq)
{
	u16 idx;
	int r = vhx_read16(vq, avail_idx_addr(vq), &idx);

	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to read avail idx at 0x%llx\n",
				   avail_idx_addr(vq));
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

static int split_next_desc(const struct vring_desc *desc)
{
	if (!(le16_to_cpu((__force __le16)desc->flags) & VRING_DESC_F_NEXT))
		return -1;
	return le16_to_cpu((__force __le16)desc->next);
}

static int split_add_desc(struct vhx_vq *vq, const struct vring_desc *desc,
			  struct iovec iov[], unsigned int iov_size,
			  unsigned int *out_num, unsigned int *in_num,
			  struct vhx_log *log, unsigned int *log_num)
{
	u16 flags = le16_to_cpu((__force __le16)desc->flags);

	return vhx_add_buf(vq, le64_to_cpu((__force __le64)desc->addr),
			   le32_to_cpu((__force __le32)desc->len),
			   flags & VRING_DESC_F_WRITE, iov, iov_size,
			   out_num, in_num, log, log_num);
}

/*
 * Read entry @i of the indirect table at @addr (translated into
 * vq->indirect).  @from stands at entry *@pos: a chain that runs through
 * the table in order, as every driver posts one, is one sequential read;
 * an entry out of order is translated on its own.  Either way a
 * descriptor costs O(1) segments, never a walk from the table's start.
 */
static int split_read_indirect(struct vhx_vq *vq, struct iov_iter *from,
			       unsigned int *pos, u64 addr, unsigned int i,
			       struct vring_desc *desc)
{
	/* 16 bytes span at most 16 segments. */
	struct iovec iov[sizeof(*desc)];
	size_t done = 0;
	int n, k;

	if (i == *pos) {
		if (copy_from_iter(desc, sizeof(*desc), from) != sizeof(*desc))
			return -EFAULT;
		(*pos)++;
		return 0;
	}
	n = vhx_translate(vq, addr + (u64)i * sizeof(*desc), sizeof(*desc),
			  iov, ARRAY_SIZE(iov), VHOST_ACCESS_RO);
	if (n < 0)
		return n;
	for (k = 0; k < n; k++) {
		if (copy_from_user((u8 *)desc + done, iov[k].iov_base,
				   iov[k].iov_len))
			return -EFAULT;
		done += iov[k].iov_len;
	}
	return done == sizeof(*desc) ? 0 : -EFAULT;
}

static int split_get_indirect(struct vhx_vq *vq, struct iovec iov[],
			      unsigned int iov_size, unsigned int *out_num,
			      unsigned int *in_num, struct vhx_log *log,
			      unsigned int *log_num,
			      const struct vring_desc *indirect)
{
	u64 addr = le64_to_cpu((__force __le64)indirect->addr);
	u32 len = le32_to_cpu((__force __le32)indirect->len);
	unsigned int count, found = 0, pos = 0;
	struct vring_desc desc;
	struct iov_iter from;
	int i, ret;

	ret = vhx_indirect_table(vq, addr, len);
	if (ret < 0)
		return ret;
	iov_iter_init(&from, ITER_SOURCE, vq->indirect, ret, len);
	count = len / sizeof(desc);
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
		ret = split_read_indirect(vq, &from, &pos, addr, i, &desc);
		if (ret) {
			if (ret == -EAGAIN)
				return ret;
			vhx_vq_err(vq, "failed to read indirect descriptor %d\n",
				   i);
			return -EFAULT;
		}
		if (le16_to_cpu((__force __le16)desc.flags) &
		    VRING_DESC_F_INDIRECT) {
			vhx_vq_err(vq, "nested indirect descriptor\n");
			return -EINVAL;
		}
		ret = split_add_desc(vq, &desc, iov, iov_size, out_num, in_num,
				     log, log_num);
		if (ret)
			return ret;
	} while ((i = split_next_desc(&desc)) != -1);
	return 0;
}

static int split_get_desc(struct vhx_vq *vq, struct iovec iov[],
			  unsigned int iov_size, unsigned int *out_num,
			  unsigned int *in_num, struct vhx_log *log,
			  unsigned int *log_num)
{
	unsigned int head, found = 0;
	struct vring_desc desc;
	u16 ring_head, flags;
	int i, ret;

	if (vq->avail_idx == vq->last_avail_idx) {
		ret = split_fetch_avail_idx(vq);
		if (ret)
			return ret;
		if (vq->avail_idx == vq->last_avail_idx)
			return vq->num;
		/* Read the ring entries only after the index. */
		smp_rmb();
	}

	ret = vhx_read16(vq, avail_ring_addr(vq, vq->last_avail_idx & (vq->num - 1)),
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
			ret = split_get_indirect(vq, iov, iov_size, out_num,
						 in_num, log, log_num, &desc);
		} else {
			ret = split_add_desc(vq, &desc, iov, iov_size, out_num,
					     in_num, log, log_num);
		}
		if (ret)
			return ret;
	} while ((i = split_next_desc(&desc)) != -1);

	vq->last_avail_idx++;
	return head;
}

static void split_discard(struct vhx_vq *vq, int n)
{
	vq->last_avail_idx -= n;
}

static int __split_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
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

/* Used entries are written in the order given: any completion order. */
static int split_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
			    unsigned int count)
{
	unsigned int start, n;
	int r;

	start = vq->last_used_idx & (vq->num - 1);
	n = vq->num - start;
	if (n < count) {
		r = __split_add_used_n(vq, heads, n);
		if (r)
			return r;
		heads += n;
		count -= n;
	}
	r = __split_add_used_n(vq, heads, count);
	if (r)
		return r;

	/* The entries must be visible before the index. */
	smp_wmb();
	r = vhx_write16(vq, used_idx_addr(vq), vq->last_used_idx);
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

static bool split_should_notify(struct vhx_vq *vq)
{
	u16 old, new, event, flags;
	bool valid;

	/* Flush out used index updates before reading the driver's state. */
	smp_mb();
	if (vhx_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    vq->avail_idx == vq->last_avail_idx)
		return true;

	if (!vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		if (vhx_read16(vq, avail_flags_addr(vq), &flags))
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
	if (vhx_read16(vq, used_event_addr(vq), &event))
		return true;
	return vring_need_event(event, new, old);
}

static bool split_enable_notify(struct vhx_vq *vq)
{
	u16 idx;
	int r;

	if (!(vq->used_flags & VRING_USED_F_NO_NOTIFY))
		return false;
	vq->used_flags &= ~VRING_USED_F_NO_NOTIFY;
	if (!vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
		r = split_update_used_flags(vq);
	else
		r = split_update_avail_event(vq, vq->avail_idx);
	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to enable notification\n");
		return false;
	}
	/* They could have slipped one in as we were doing that. */
	smp_mb();
	if (vhx_read16(vq, avail_idx_addr(vq), &idx))
		return false;
	return idx != vq->avail_idx;
}

static void split_disable_notify(struct vhx_vq *vq)
{
	int r;

	if (vq->used_flags & VRING_USED_F_NO_NOTIFY)
		return;
	vq->used_flags |= VRING_USED_F_NO_NOTIFY;
	if (!vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX)) {
		r = split_update_used_flags(vq);
		if (r && r != -EAGAIN)
			vhx_vq_err(vq, "failed to disable notification\n");
	}
}

static bool split_avail_empty(struct vhx_vq *vq)
{
	if (vq->avail_idx != vq->last_avail_idx)
		return false;
	if (split_fetch_avail_idx(vq))
		return true;
	return vq->avail_idx == vq->last_avail_idx;
}

const struct vhx_vq_ops vhx_split_ops = {
	.name = "split",
	.num_ok = split_num_ok,
	.sizes = split_sizes,
	.set_base = split_set_base,
	.get_base = split_get_base,
	.start = split_start,
	.get_desc = split_get_desc,
	.discard = split_discard,
	.add_used_n = split_add_used_n,
	.should_notify = split_should_notify,
	.enable_notify = split_enable_notify,
	.disable_notify = split_disable_notify,
	.avail_empty = split_avail_empty,
	.update_used_flags = split_update_used_flags,
};
