// SPDX-License-Identifier: GPL-2.0
/*
 * The virtqueue API the devices use: descriptor accounting, notification,
 * weights, and the dispatch to the ring layout of each queue -- split
 * (vq_split.c) or packed (vq_packed.c) -- through vq->ops.
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

#include "poll.h"
#include "vq.h"
#include "vq_packed.h"
#include "vq_split.h"

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
static const struct vhx_vq_ops *vhx_vq_layout(const struct vhx_vq *vq)
{
	return vq->private_data ? vq->ops : vhx_vq_layout_of(vq);
}

/* Until a backend attach latches the layout, a vq walks split rings. */
void vhx_vq_reset_layout(struct vhx_vq *vq)
{
	vq->ops = &vhx_split_ops;
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
	int r;

	lockdep_assert_held(&vq->mutex);
	if (!count)
		return 0;
	r = vq->ops->add_used_n(vq, heads, count);
	if (!r)
		trace_vhx_used(vq->dev->id, vq->index, count);
	return r;
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
		trace_vhx_call(vq->dev->id, vq->index);
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
