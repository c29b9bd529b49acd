// SPDX-License-Identifier: GPL-2.0
/*
 * The worker's thread as a kthread (built where the target kernel does not
 * export vhost_task, as 6.1): it adopts the owner's mm (kthread_use_mm),
 * runs under its credentials (override_creds: a kthread's own are the
 * kernel's, which would let backend I/O past quotas, reserved blocks and
 * LSM checks) and joins its cgroups (cgroup_attach_task_all).
 */

#include <linux/cgroup.h>
#include <linux/cred.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "worker_impl.h"

struct vhx_attach_work {
	struct vhx_work work;
	struct task_struct *owner;
	int ret;
};

static int vhx_worker_fn(void *data)
{
	struct vhx_worker *worker = data;
	const struct cred *old;

	/* worker->cred is referenced until vhx_worker_stop() has joined us. */
	old = override_creds(worker->cred);
	kthread_use_mm(worker->mm);
	for (;;) {
		/* mb paired with llist_add() in vhx_worker_queue() */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		if (!vhx_worker_run(worker))
			schedule();
	}
	kthread_unuse_mm(worker->mm);
	revert_creds(old);
	return 0;
}

void vhx_worker_wake(struct vhx_worker *worker)
{
	wake_up_process(worker->task);
}

static void vhx_attach_fn(struct vhx_work *work)
{
	struct vhx_attach_work *a = container_of(work, struct vhx_attach_work, work);

	a->ret = cgroup_attach_task_all(a->owner, current);
}

struct vhx_worker *vhx_worker_create(void)
{
	struct vhx_attach_work attach;
	struct vhx_worker *worker;
	struct task_struct *task;

	worker = vhx_worker_alloc();
	if (!worker)
		return ERR_PTR(-ENOMEM);
	worker->mm = current->mm;
	mmgrab(worker->mm);
	worker->cred = get_current_cred();

	task = kthread_create(vhx_worker_fn, worker, "vhost-%d", current->pid);
	if (IS_ERR(task)) {
		put_cred(worker->cred);
		mmdrop(worker->mm);
		kfree(worker);
		return ERR_CAST(task);
	}
	worker->task = task;
	worker->pid = task_pid_nr(task);
	wake_up_process(task);

	attach.owner = current;
	attach.ret = 0;
	vhx_worker_run_on(worker, &attach.work, vhx_attach_fn);
	if (attach.ret) {
		vhx_worker_destroy(worker);
		return ERR_PTR(attach.ret);
	}
	return worker;
}
EXPORT_SYMBOL_GPL(vhx_worker_create);

void vhx_worker_stop(struct vhx_worker *worker)
{
	kthread_stop(worker->task);
	put_cred(worker->cred);
	mmdrop(worker->mm);
}
