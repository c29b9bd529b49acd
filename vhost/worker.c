// SPDX-License-Identifier: GPL-2.0
/*
 * Worker, one per device: a lock-free FIFO of works (llist) run in order
 * on the device's thread, and flushes that wait for what was queued.
 *
 * The thread itself lives in worker_task.c (a vhost_task: a thread of the
 * owner, as mainline's since 6.4) or worker_kthread.c (a kthread that
 * adopts the owner's mm and cgroups, as on 6.1).  Either way it is named
 * "vhost-<owner pid>".
 */

#include <linux/completion.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "worker_impl.h"

struct vhx_flush_work {
	struct vhx_work work;
	struct completion done;
};

void vhx_work_init(struct vhx_work *work, vhx_work_fn_t fn)
{
	clear_bit(VHX_WORK_QUEUED, &work->flags);
	work->fn = fn;
}
EXPORT_SYMBOL_GPL(vhx_work_init);

struct vhx_worker *vhx_worker_alloc(void)
{
	struct vhx_worker *worker;

	worker = kzalloc(sizeof(*worker), GFP_KERNEL_ACCOUNT);
	if (!worker)
		return NULL;
	init_llist_head(&worker->list);
	mutex_init(&worker->lock);
	return worker;
}

bool vhx_worker_run(void *data)
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
	/*
	 * A killed worker runs nothing more.  A flush queued before the kill
	 * is completed by the kill handler (worker_task.c), which takes the
	 * lock after us.  A kthread is never killed.
	 */
	mutex_lock(&worker->lock);
	if (worker->killed) {
		mutex_unlock(&worker->lock);
		return;
	}
	vhx_worker_queue(worker, &f.work);
	mutex_unlock(&worker->lock);
	wait_for_completion(&f.done);
}
EXPORT_SYMBOL_GPL(vhx_worker_flush);

void vhx_worker_run_on(struct vhx_worker *worker, struct vhx_work *work,
		       vhx_work_fn_t fn)
{
	vhx_work_init(work, fn);
	vhx_worker_queue(worker, work);
	vhx_worker_flush(worker);
}

/* Run what is queued, then end the thread and free the worker. */
void vhx_worker_destroy(struct vhx_worker *worker)
{
	if (!worker)
		return;
	vhx_worker_flush(worker);
	vhx_worker_stop(worker);
	kfree(worker);
}
EXPORT_SYMBOL_GPL(vhx_worker_destroy);
