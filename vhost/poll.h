/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Wait-queue hooks and work queueing (poll.c): how a kick, a backend's
 * readiness or a completion becomes work on the worker that serves a vq.
 * Nothing here takes a mutex; the callers' rules are given per function.
 */
#ifndef _VHX_POLL_H
#define _VHX_POLL_H

#include "core.h"

void vhx_poll_init(struct vhx_poll *poll, vhx_work_fn_t fn, __poll_t mask,
		   struct vhx_dev *dev);
int vhx_poll_start(struct vhx_poll *poll, struct file *file);
void vhx_poll_stop(struct vhx_poll *poll);
void vhx_poll_queue(struct vhx_poll *poll);

bool vhx_work_queue(struct vhx_dev *dev, struct vhx_work *work);
bool vhx_vq_work_queue(struct vhx_vq *vq, struct vhx_work *work);
bool vhx_has_work(struct vhx_dev *dev);
bool vhx_vq_has_work(struct vhx_vq *vq);
bool vhx_vq_busy_poll(struct vhx_vq *vq, bool (*ready)(struct vhx_vq *vq));
void vhx_vq_flush(struct vhx_vq *vq);
void vhx_dev_flush(struct vhx_dev *dev);
/* Caller holds dev->mutex and is the owner. */
int vhx_dev_add_vq_worker(struct vhx_dev *dev, struct vhx_vq *vq);

#endif /* _VHX_POLL_H */
