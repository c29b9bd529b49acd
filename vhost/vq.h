/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtqueue API (vq.c), for split and packed rings alike: what the
 * devices use to walk their queues.  Caller holds vq->mutex.
 *
 * vhx_get_vq_desc() returns the chain's head (split) or buffer id
 * (packed), vq->num when nothing is available, or a negative errno;
 * vhx_add_used_n() takes those ids back in any order.
 */
#ifndef _VHX_VQ_H
#define _VHX_VQ_H

#include "core.h"
#include "vq_ops.h"

/* Set-up: the ring-set-up ioctls (vring.c) and the backend attach. */
int vhx_vq_start(struct vhx_vq *vq);
bool vhx_vq_num_ok(const struct vhx_vq *vq, unsigned int num);
bool vhx_vq_is_packed(const struct vhx_vq *vq);
int vhx_vq_set_base(struct vhx_vq *vq, u32 base);
u32 vhx_vq_get_base(const struct vhx_vq *vq);
void vhx_vq_ring_sizes(const struct vhx_vq *vq, unsigned int num,
		       struct vhx_ring_sizes *s);
u64 vhx_vq_used_log_size(const struct vhx_vq *vq);
void vhx_vq_reset_layout(struct vhx_vq *vq);
/* Free every layout's per-vq state (with the iovecs, at cleanup). */
void vhx_vq_free_layouts(struct vhx_vq *vq);

/* The walk. */
int vhx_get_vq_desc(struct vhx_vq *vq, struct iovec iov[],
		    unsigned int iov_size, unsigned int *out_num,
		    unsigned int *in_num, struct vhx_log *log,
		    unsigned int *log_num);
void vhx_discard_vq_desc(struct vhx_vq *vq, int n);
int vhx_add_used(struct vhx_vq *vq, unsigned int head, int len);
int vhx_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
		   unsigned int count);
void vhx_signal(struct vhx_vq *vq);
void vhx_add_used_and_signal_n(struct vhx_vq *vq,
			       struct vring_used_elem *heads,
			       unsigned int count);
bool vhx_enable_notify(struct vhx_vq *vq);
void vhx_disable_notify(struct vhx_vq *vq);
bool vhx_vq_avail_empty(struct vhx_vq *vq);
bool vhx_exceeds_weight(struct vhx_vq *vq, int pkts, int total_len);

/*
 * One handler run, between vhx_run_start() (counts it) and vhx_run_end()
 * (the vhx_handle event: what the run moved, whether a weight cut it
 * short).  The counters are only sampled while the event is on.  Caller
 * holds vq->mutex; a run that never started may be ended.
 */
struct vhx_run {
	bool on;
	u64 packets, bytes, requeues;
};

static inline void vhx_run_start(struct vhx_vq *vq, struct vhx_run *run)
{
	vq->stats.runs++;
	run->on = trace_vhx_handle_enabled();
	if (run->on) {
		run->packets = vq->stats.packets;
		run->bytes = vq->stats.bytes;
		run->requeues = vq->stats.requeues;
	}
}

static inline void vhx_run_end(struct vhx_vq *vq, const struct vhx_run *run)
{
	if (run->on)
		trace_vhx_handle(vq->dev->id, vq->index,
				 vq->stats.packets - run->packets,
				 vq->stats.bytes - run->bytes,
				 vq->stats.requeues != run->requeues);
}

int vhx_vq_update_used_flags(struct vhx_vq *vq);

#endif /* _VHX_VQ_H */
