// SPDX-License-Identifier: GPL-2.0
/*
 * The worker's thread as a vhost_task (built where the target kernel
 * exports it, VHX_HAVE_VHOST_TASK): a thread of the owner, as mainline's
 * has been since 6.4.  It shares the owner's mm, cgroups and namespaces and
 * counts against its RLIMIT_NPROC.
 */

#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "worker_impl.h"

void vhx_worker_wake(struct vhx_worker *worker)
{
	/*
	 * Once killed, the thread may have exited; its task_struct is freed
	 * only after an RCU grace period, so a waker that saw !killed inside
	 * the read-side section still wakes a valid (if dead) task.
	 */
	rcu_read_lock();
	if (!READ_ONCE(worker->killed))
		vhost_task_wake(worker->vtsk);
	rcu_read_unlock();
}

struct vhx_pid_work {
	struct vhx_work work;
	pid_t pid;
};

static void vhx_pid_fn(struct vhx_work *work)
{
	struct vhx_pid_work *p = container_of(work, struct vhx_pid_work, work);

	p->pid = task_pid_nr(current);
}

/*
 * The owner got SIGKILL (on any exit of its process, too): the thread is
 * about to exit.  Run what is queued, so pending flushes complete, and make
 * later flushes and wakeups no-ops.  Runs on the thread, still in the mm.
 * Kernels before 6.11 never call it (see vhx_vhost_task_create()).
 */
static void vhx_worker_killed(void *data)
{
	struct vhx_worker *worker = data;

	mutex_lock(&worker->lock);
	WRITE_ONCE(worker->killed, true);
	vhx_worker_run(worker);
	mutex_unlock(&worker->lock);
}

struct vhx_worker *vhx_worker_create(void)
{
	struct vhx_pid_work hello;
	struct vhx_worker *worker;
	struct vhost_task *vtsk;
	char name[TASK_COMM_LEN];

	worker = vhx_worker_alloc();
	if (!worker)
		return ERR_PTR(-ENOMEM);

	snprintf(name, sizeof(name), "vhost-%d", current->pid);
	vtsk = vhx_vhost_task_create(vhx_worker_run, vhx_worker_killed, worker,
				     name);
	/* NULL on failure until 6.13 or so, an ERR_PTR since. */
	if (IS_ERR_OR_NULL(vtsk)) {
		kfree(worker);
		return ERR_PTR(vtsk ? PTR_ERR(vtsk) : -ENOMEM);
	}
	worker->vtsk = vtsk;
	vhost_task_start(vtsk);

	/* Learn the thread's pid from the thread itself (vhost_task is opaque). */
	hello.pid = 0;
	vhx_worker_run_on(worker, &hello.work, vhx_pid_fn);
	WRITE_ONCE(worker->pid, hello.pid);
	return worker;
}
EXPORT_SYMBOL_GPL(vhx_worker_create);

void vhx_worker_stop(struct vhx_worker *worker)
{
	vhost_task_stop(worker->vtsk);
}
