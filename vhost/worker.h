/* SPDX-License-Identifier: GPL-2.0 */
/* The per-device worker thread, behind one small interface. */
#ifndef _VHX_WORKER_H
#define _VHX_WORKER_H

#include <linux/llist.h>
#include <linux/types.h>

struct vhx_work;
typedef void (*vhx_work_fn_t)(struct vhx_work *work);

#define VHX_WORK_QUEUED 1

struct vhx_work {
	struct llist_node node;
	vhx_work_fn_t fn;
	unsigned long flags;
};

struct vhx_worker;

void vhx_work_init(struct vhx_work *work, vhx_work_fn_t fn);

/*
 * Create the worker for the calling process (the device owner): it is named
 * "vhost-<pid>", runs in the caller's mm and joins the caller's cgroups.
 */
struct vhx_worker *vhx_worker_create(void);
/* Run every queued work, then stop and free the worker. */
void vhx_worker_destroy(struct vhx_worker *worker);
/* Queue @work unless it is already queued; returns true if newly queued. */
bool vhx_worker_queue(struct vhx_worker *worker, struct vhx_work *work);
/* Wait until every work queued before the call has run. */
void vhx_worker_flush(struct vhx_worker *worker);
bool vhx_worker_has_work(struct vhx_worker *worker);
pid_t vhx_worker_pid(struct vhx_worker *worker);

#endif /* _VHX_WORKER_H */
