/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The ring-layout table: what the virtqueue API of vq.c dispatches to --
 * split rings (vq_split.c) or packed rings (vq_packed.c,
 * VIRTIO_F_RING_PACKED).  A layout is built on guest-memory access
 * (access.h) and the dirty log (log.h) only; it never calls back up into
 * the vq API.  Every operation runs with vq->mutex held.
 */
#ifndef _VHX_VQ_OPS_H
#define _VHX_VQ_OPS_H

#include "core.h"

/* Sizes in bytes of the three ring areas for a ring of @num entries. */
struct vhx_ring_sizes {
	u64 desc;	/* descriptor table / descriptor ring */
	u64 avail;	/* avail ring / driver event suppression */
	u64 used;	/* used ring / device event suppression */
};

struct vhx_vq_ops {
	const char *name;
	bool (*num_ok)(unsigned int num);
	void (*sizes)(unsigned int num, struct vhx_ring_sizes *s);
	/* VHOST_SET/GET_VRING_BASE, in the layout's encoding. */
	int (*set_base)(struct vhx_vq *vq, u32 base);
	u32 (*get_base)(const struct vhx_vq *vq);
	/* A backend is being attached: check the set-up, publish flags. */
	int (*start)(struct vhx_vq *vq);
	int (*get_desc)(struct vhx_vq *vq, struct iovec iov[],
			unsigned int iov_size, unsigned int *out_num,
			unsigned int *in_num, struct vhx_log *log,
			unsigned int *log_num);
	void (*discard)(struct vhx_vq *vq, int n);
	int (*add_used_n)(struct vhx_vq *vq, struct vring_used_elem *heads,
			  unsigned int count);
	bool (*should_notify)(struct vhx_vq *vq);
	bool (*enable_notify)(struct vhx_vq *vq);
	void (*disable_notify)(struct vhx_vq *vq);
	bool (*avail_empty)(struct vhx_vq *vq);
	int (*update_used_flags)(struct vhx_vq *vq);
	/* Free the layout's per-vq state, if it keeps any (may be NULL). */
	void (*free)(struct vhx_vq *vq);
};

#endif /* _VHX_VQ_OPS_H */
