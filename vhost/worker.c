// SPDX-License-Identifier: GPL-2.0
/* Worker thread: a kthread that adopts the owner's mm and cgroups. */

#include <linux/cgroup.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/sched.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

#include "worker.h"

struct vhx_worker {
	struct task_struct *task;
	struct mm_struct *mm;	/* mmgrab'ed; the device holds mm_users */
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

static int vhx_worker_fn(void *data)
{
	struct vhx_worker *worker = data;
	struct vhx_work *work, *next;
	struct llist_node *node;

	kthread_use_mm(worker->mm);
	for (;;) {
		/* mb paired with llist_add() in vhx_worker_queue() */
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop()) {
			__set_current_state(TASK_RUNNING);
			break;
		}
		node = llist_del_all(&worker->list);
		if (!node) {
			schedule();
			continue;
		}
		__set_current_state(TASK_RUNNING);
		node = llist_reverse_order(node);
		/* make sure flag is seen after deletion */
		smp_wmb();
		llist_for_each_entry_safe(work, next, node, node) {
			clear_bit(VHX_WORK_QUEUED, &work->flags);
			work->fn(work);
			cond_resched();
		}
	}
	kthread_unuse_mm(worker->mm);
	return 0;
}

bool vhx_worker_queue(struct vhx_worker *worker, struct vhx_work *work)
{
	if (!worker)
		return false;
	if (test_and_set_bit(VHX_WORK_QUEUED, &work->flags))
		return false;
	/* llist_add() orders the list update before the wakeup's check. */
	llist_add(&work->node, &worker->list);
	wake_up_process(worker->task);
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
	return worker ? task_pid_nr(worker->task) : 0;
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
	vhx_worker_queue(worker, &f.work);
	wait_for_completion(&f.done);
}
EXPORT_SYMBOL_GPL(vhx_worker_flush);

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
