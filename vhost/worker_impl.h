/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Inside the worker: what worker.c (the queue, shared by both threads)
 * and the thread it runs on share.  The thread is one of two, chosen by
 * Kbuild from the probe: worker_task.c (a vhost_task, a thread of the
 * owner, where the target exports it) or worker_kthread.c (a kthread that
 * adopts the owner's mm and cgroups, as on 6.1).
 */
#ifndef _VHX_WORKER_IMPL_H
#define _VHX_WORKER_IMPL_H

#include <linux/mutex.h>

#include "worker.h"

struct mm_struct;
struct task_struct;
struct vhost_task;

struct vhx_worker {
	struct llist_head list;
	pid_t pid;
	/* Orders flushes against the kill handler; protects killed. */
	struct mutex lock;
	bool killed;	/* the owner got SIGKILL: the thread is gone */

	struct vhost_task *vtsk;	/* worker_task.c */
	struct task_struct *task;	/* worker_kthread.c */
	struct mm_struct *mm;		/* worker_kthread.c: mmgrab'ed */
	const struct cred *cred;	/* worker_kthread.c: the creator's */
};

/* worker.c */
struct vhx_worker *vhx_worker_alloc(void);
/* Run every queued work in FIFO order; false if there was none. */
bool vhx_worker_run(void *data);
/* Run @fn as @work on the worker's thread and wait for it. */
void vhx_worker_run_on(struct vhx_worker *worker, struct vhx_work *work,
		       vhx_work_fn_t fn);

/* the thread (worker_task.c or worker_kthread.c) */
void vhx_worker_wake(struct vhx_worker *worker);
/* End the thread (after the last flush) and drop what it holds. */
void vhx_worker_stop(struct vhx_worker *worker);

#endif /* _VHX_WORKER_IMPL_H */
