// SPDX-License-Identifier: GPL-2.0
/*
 * Worker thread, one per device.
 *
 * Where the target kernel exports vhost_task (VHX_HAVE_VHOST_TASK), the
 * worker is a thread of the owner, as mainline's has been since 6.4: it
 * shares the owner's mm, cgroups and namespaces and counts against its
 * RLIMIT_NPROC.  Otherwise it is a kthread that adopts the owner's mm
 * (kthread_use_mm) and cgroups (cgroup_attach_task_all), as on 6.1.
 * Either way it is named "vhost-<owner pid>".
 */

#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#ifdef VHX_HAVE_VHOST_TASK
#include <linux/sched/vhost_task.h>
#endif

#include "worker.h"

struct vhx_worker {
#ifdef VHX_HAVE_VHOST_TASK
	struct vhost_task *vtsk;
	/* Orders flushes against the kill handler; protects killed. */
	struct mutex lock;
	bool killed;	/* the owner got SIGKILL: the thread is gone */
#else
	struct task_struct *task;
	struct mm_struct *mm;	/* mmgrab'ed; the device holds mm_users */
#endif
	pid_t pid;
	struct llist_head list;
};

struct vhx_flush_work {
	struct vhx_work work;
	struct completion done;
};

struct vhx_attach_work {
	struct vhx_work work;
	struct task_struct *owner;
	int ret;
};

void vhx_work_init(struct vhx_work *work, vhx_work_fn_t fn)
{
	clear_bit(VHX_WORK_QUEUED, &work->flags);
	work->fn = fn;
}
EXPORT_SYMBOL_GPL(vhx_work_init);

/* Run every queued work in FIFO order; false if there was none. */
static bool vhx_worker_run(void *data)
{
	struct vhx_worker *worker = data;
	struct vhx_work *work, *next;
	struct llist_node *node;

	node = llist_del_all(&worker->list);
	if (!node)
		return false;
	__set_current_state(TASK_RUNNING);
	node = llist_reverse_order(node);
	/* make sure flag is seen after deletion */
	smp_wmb();
	llist_for_each_entry_safe(work, next, node, node) {
		clear_bit(VHX_WORK_QUEUED, &work->flags);
		work->fn(work);
		cond_resched();
	}
	return true;
}

#ifdef VHX_HAVE_VHOST_TASK
static void vhx_worker_wake(struct vhx_worker *worker)
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
#else
static int vhx_worker_fn(void *data)
{
	struct vhx_worker *worker = data;

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
	return 0;
}

static void vhx_worker_wake(struct vhx_worker *worker)
{
	wake_up_process(worker->task);
}
#endif

bool vhx_worker_queue(struct vhx_worker *worker, struct vhx_work *work)
{
	if (!worker)
		return false;
	if (test_and_set_bit(VHX_WORK_QUEUED, &work->flags))
		return false;
	/* llist_add() orders the list update before the wakeup's check. */
	llist_add(&work->node, &worker->list);
	vhx_worker_wake(worker);
	return true;
}
EXPORT_SYMBOL_GPL(vhx_worker_queue);

bool vhx_worker_has_work(struct vhx_worker *worker)
{
	return worker && !llist_empty(&worker->list);
}
EXPORT_SYMBOL_GPL(vhx_worker_has_work);

pid_t vhx_worker_pid(struct vhx_worker *worker)
{
	return worker ? READ_ONCE(worker->pid) : 0;
}
EXPORT_SYMBOL_GPL(vhx_worker_pid);

static void vhx_flush_fn(struct vhx_work *work)
{
	struct vhx_flush_work *f = container_of(work, struct vhx_flush_work, work);

	complete(&f->done);
}

void vhx_worker_flush(struct vhx_worker *worker)
{
	struct vhx_flush_work f;

	if (!worker)
		return;
	init_completion(&f.done);
	vhx_work_init(&f.work, vhx_flush_fn);
#ifdef VHX_HAVE_VHOST_TASK
	/*
	 * A killed worker runs nothing more.  A flush queued before the kill
	 * is completed by vhx_worker_killed(), which takes the lock after us.
	 */
	mutex_lock(&worker->lock);
	if (worker->killed) {
		mutex_unlock(&worker->lock);
		return;
	}
	vhx_worker_queue(worker, &f.work);
	mutex_unlock(&worker->lock);
#else
	vhx_worker_queue(worker, &f.work);
#endif
	wait_for_completion(&f.done);
}
EXPORT_SYMBOL_GPL(vhx_worker_flush);

#ifdef VHX_HAVE_VHOST_TASK
static void vhx_pid_fn(struct vhx_work *work)
{
	struct vhx_attach_work *a = container_of(work, struct vhx_attach_work, work);

	a->ret = task_pid_nr(current);
}

#ifdef VHX_HAVE_VHOST_TASK_KILL
/*
 * The owner got SIGKILL (on any exit of its process, too): the thread is
 * about to exit.  Run what is queued, so pending flushes complete, and make
 * later flushes and wakeups no-ops.  Runs on the thread, still in the mm.
 */
static void vhx_worker_killed(void *data)
{
	struct vhx_worker *worker = data;

	mutex_lock(&worker->lock);
	WRITE_ONCE(worker->killed, true);
	vhx_worker_run(worker);
	mutex_unlock(&worker->lock);
}
#endif

struct vhx_worker *vhx_worker_create(void)
{
	struct vhx_attach_work hello;
	struct vhx_worker *worker;
	struct vhost_task *vtsk;
	char name[TASK_COMM_LEN];

	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return ERR_PTR(-ENOMEM);
	init_llist_head(&worker->list);
	mutex_init(&worker->lock);

	snprintf(name, sizeof(name), "vhost-%d", current->pid);
#ifdef VHX_HAVE_VHOST_TASK_KILL
	vtsk = vhost_task_create(vhx_worker_run, vhx_worker_killed, worker, name);
#else
	vtsk = vhost_task_create(vhx_worker_run, worker, name);
#endif
	/* NULL on failure until 6.13 or so, an ERR_PTR since. */
	if (IS_ERR_OR_NULL(vtsk)) {
		kfree(worker);
		return ERR_PTR(vtsk ? PTR_ERR(vtsk) : -ENOMEM);
	}
	worker->vtsk = vtsk;
	vhost_task_start(vtsk);

	/* Learn the thread's pid from the thread itself (vhost_task is opaque). */
	hello.ret = 0;
	vhx_work_init(&hello.work, vhx_pid_fn);
	vhx_worker_queue(worker, &hello.work);
	vhx_worker_flush(worker);
	WRITE_ONCE(worker->pid, hello.ret);
	return worker;
}
EXPORT_SYMBOL_GPL(vhx_worker_create);

void vhx_worker_destroy(struct vhx_worker *worker)
{
	if (!worker)
		return;
	vhx_worker_flush(worker);
	vhost_task_stop(worker->vtsk);
	kfree(worker);
}
EXPORT_SYMBOL_GPL(vhx_worker_destroy);

#else /* !VHX_HAVE_VHOST_TASK: kthread */

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

	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return ERR_PTR(-ENOMEM);
	init_llist_head(&worker->list);
	worker->mm = current->mm;
	mmgrab(worker->mm);

	task = kthread_create(vhx_worker_fn, worker, "vhost-%d", current->pid);
	if (IS_ERR(task)) {
		mmdrop(worker->mm);
		kfree(worker);
		return ERR_CAST(task);
	}
	worker->task = task;
	worker->pid = task_pid_nr(task);
	wake_up_process(task);

	attach.owner = current;
	attach.ret = 0;
	vhx_work_init(&attach.work, vhx_attach_fn);
	vhx_worker_queue(worker, &attach.work);
	vhx_worker_flush(worker);
	if (attach.ret) {
		vhx_worker_destroy(worker);
		return ERR_PTR(attach.ret);
	}
	return worker;
}
EXPORT_SYMBOL_GPL(vhx_worker_create);

void vhx_worker_destroy(struct vhx_worker *worker)
{
	if (!worker)
		return;
	vhx_worker_flush(worker);
	kthread_stop(worker->task);
	mmdrop(worker->mm);
	kfree(worker);
}
EXPORT_SYMBOL_GPL(vhx_worker_destroy);
#endif /* VHX_HAVE_VHOST_TASK */
