/* SPDX-License-Identifier: GPL-2.0 */
/* The per-vq ioctls and ring set-up checks (vring.c). */
#ifndef _VHX_VRING_H
#define _VHX_VRING_H

#include "core.h"

/* Caller holds dev->mutex. */
long vhx_vring_ioctl(struct vhx_dev *dev, unsigned int ioctl,
		     void __user *argp);
/* Caller holds vq->mutex. */
bool vhx_vq_access_ok(struct vhx_vq *vq);
int vhx_vq_init_access(struct vhx_vq *vq);
/* Caller holds vq->mutex or owns the vq exclusively. */
void vhx_vq_reset(struct vhx_dev *dev, struct vhx_vq *vq);
/* Attach (@data) or detach (NULL) the backend; caller holds vq->mutex. */
void vhx_vq_set_backend(struct vhx_vq *vq, void *data);

#endif /* _VHX_VRING_H */
