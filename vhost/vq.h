/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The two ring layouts under the virtqueue API of vq.c: split rings
 * (vq_split.c) and packed rings (vq_packed.c, VIRTIO_F_RING_PACKED).
 *
 * The devices only see the API of core.h (vhx_get_vq_desc(),
 * vhx_add_used_n(), ...); vq.c dispatches each call through vq->ops, the
 * layout chosen from the negotiated features when the backend is attached
 * (vhx_vq_start()).  Everything here runs with vq->mutex held.
 */
#ifndef _VHX_VQ_H
#define _VHX_VQ_H

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

extern const struct vhx_vq_ops vhx_split_ops;
extern const struct vhx_vq_ops vhx_packed_ops;

/* vq.c: the layout a vq uses now (latched while a backend is attached). */
const struct vhx_vq_ops *vhx_vq_layout(const struct vhx_vq *vq);
void vhx_vq_ring_sizes(const struct vhx_vq *vq, unsigned int num,
		       struct vhx_ring_sizes *s);

/* vq.c: guest memory access shared by both layouts. */
int vhx_meta_read(struct vhx_vq *vq, u64 addr, void *dst, size_t len);
int vhx_meta_write(struct vhx_vq *vq, u64 addr, const void *src, size_t len);
int vhx_read16(struct vhx_vq *vq, u64 addr, u16 *val);
int vhx_write16(struct vhx_vq *vq, u64 addr, u16 val);
int vhx_add_buf(struct vhx_vq *vq, u64 addr, u32 len, bool write,
		struct iovec iov[], unsigned int iov_size,
		unsigned int *out_num, unsigned int *in_num,
		struct vhx_log *log, unsigned int *log_num);
int vhx_indirect_table(struct vhx_vq *vq, u64 addr, u32 len);

/* vq.c: free every layout's per-vq state (with the iovecs, at cleanup). */
void vhx_vq_free_layouts(struct vhx_vq *vq);

#endif /* _VHX_VQ_H */
