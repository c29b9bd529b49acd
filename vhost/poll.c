// SPDX-License-Identifier: GPL-2.0
/*
 * Wait-queue hooks and work queueing: a vhx_poll hangs on a file's wait
 * queue (a kick eventfd, a backend socket) and queues its work on the
 * worker of its vq, or of its device, when the file becomes ready; the
 * flushes wait for what was queued.  Below the virtqueue API and the
 * IOTLB, above the workers only.
 *
 * A vq's worker pointer is set under dev->mutex by the owner and read
 * locklessly here; it stays until vhx_dev_cleanup() (see core.h).
 */

#include <linux/sched/clock.h>

#include "poll.h"

static void vhx_poll_func(struct file *file, wait_queue_head_t *wqh,
			  poll_table *pt)
{
	struct vhx_poll *poll = container_of(pt, struct vhx_poll, table);

	poll->wqh = wqh;
	add_wait_queue(wqh, &poll->wait);
}

static int vhx_poll_wakeup(wait_queue_entry_t *wait, unsigned int mode,
			   int sync, void *key)
{
	struct vhx_poll *poll = container_of(wait, struct vhx_poll, wait);

	if (!(key_to_poll(key) & poll->mask))
		return 0;
	if (poll->vq)	/* a kick eventfd, not a backend's socket */
		trace_vhx_kick(poll->dev->id, poll->vq->index);
	vhx_poll_queue(poll);
	return 0;
}

void vhx_poll_init(struct vhx_poll *poll, vhx_work_fn_t fn, __poll_t mask,
		   struct vhx_dev *dev)
{
	init_waitqueue_func_entry(&poll->wait, vhx_poll_wakeup);
	init_poll_funcptr(&poll->table, vhx_poll_func);
	poll->mask = mask;
	poll->dev = dev;
	poll->vq = NULL;
	poll->wqh = NULL;
	vhx_work_init(&poll->work, fn);
}
EXPORT_SYMBOL_GPL(vhx_poll_init);

/* Start polling @file; may queue the work at once if it is ready. */
int vhx_poll_start(struct vhx_poll *poll, struct file *file)
{
	__poll_t mask;

	if (poll->wqh)
		return 0;
	mask = vfs_poll(file, &poll->table);
	if (mask)
		vhx_poll_wakeup(&poll->wait, 0, 0, poll_to_key(mask));
	if (mask & EPOLLERR) {
		vhx_poll_stop(poll);
		return -EINVAL;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_poll_start);

void vhx_poll_stop(struct vhx_poll *poll)
{
	if (poll->wqh) {
		remove_wait_queue(poll->wqh, &poll->wait);
		poll->wqh = NULL;
	}
}
EXPORT_SYMBOL_GPL(vhx_poll_stop);

void vhx_poll_queue(struct vhx_poll *poll)
{
	if (poll->vq)
		vhx_vq_work_queue(poll->vq, &poll->work);
	else
		vhx_work_queue(poll->dev, &poll->work);
}
EXPORT_SYMBOL_GPL(vhx_poll_queue);

bool vhx_work_queue(struct vhx_dev *dev, struct vhx_work *work)
{
	return vhx_worker_queue(READ_ONCE(dev->worker), work);
}
EXPORT_SYMBOL_GPL(vhx_work_queue);

static struct vhx_worker *vhx_vq_worker(struct vhx_vq *vq)
{
	struct vhx_worker *worker = READ_ONCE(vq->worker);

	return worker ? worker : READ_ONCE(vq->dev->worker);
}

/* Queue @work on the worker that serves @vq. */
bool vhx_vq_work_queue(struct vhx_vq *vq, struct vhx_work *work)
{
	return vhx_worker_queue(vhx_vq_worker(vq), work);
}
EXPORT_SYMBOL_GPL(vhx_vq_work_queue);

bool vhx_has_work(struct vhx_dev *dev)
{
	return vhx_worker_has_work(dev->worker);
}
EXPORT_SYMBOL_GPL(vhx_has_work);

bool vhx_vq_has_work(struct vhx_vq *vq)
{
	return vhx_worker_has_work(vhx_vq_worker(vq));
}
EXPORT_SYMBOL_GPL(vhx_vq_has_work);

/*
 * Spin for up to the vq's busy-loop timeout (VHOST_SET_VRING_BUSYLOOP_TIMEOUT,
 * microseconds) until @ready says there is work, giving up at once when the
 * vq's worker has other work or should reschedule.  @ready is asked first:
 * a completion of this vq's own (vhost-blk's punted requests) also queues
 * work on the worker, and must keep the poll going, not end it.  Caller
 * holds vq->mutex.
 */
bool vhx_vq_busy_poll(struct vhx_vq *vq, bool (*ready)(struct vhx_vq *vq))
{
	u64 end = local_clock() + (u64)vq->busyloop_timeout * NSEC_PER_USEC;

	while (!need_resched()) {
		if (ready(vq))
			return true;
		if (vhx_vq_has_work(vq) || local_clock() >= end)
			break;
		cpu_relax();
	}
	return false;
}
EXPORT_SYMBOL_GPL(vhx_vq_busy_poll);

/* Wait for everything queued on @vq's worker so far. */
void vhx_vq_flush(struct vhx_vq *vq)
{
	vhx_worker_flush(vhx_vq_worker(vq));
}
EXPORT_SYMBOL_GPL(vhx_vq_flush);

/* Wait for everything queued on every worker of @dev so far. */
void vhx_dev_flush(struct vhx_dev *dev)
{
	int i;

	vhx_worker_flush(dev->worker);
	for (i = 0; i < dev->nvqs; i++)
		vhx_worker_flush(READ_ONCE(dev->vqs[i]->worker));
}
EXPORT_SYMBOL_GPL(vhx_dev_flush);

/*
 * Give @vq a worker of its own, so that it runs in parallel with the other
 * queues of the device.  Bounded by the device's vq count: a vq has at most
 * one.  Must be called by the owner (the worker joins the caller's mm and
 * cgroups).  Caller should have device mutex.
 */
int vhx_dev_add_vq_worker(struct vhx_dev *dev, struct vhx_vq *vq)
{
	struct vhx_worker *worker;

	if (vq->worker)
		return 0;
	if (!dev->mm || dev->mm != current->mm)
		return -EPERM;
	worker = vhx_worker_create();
	if (IS_ERR(worker))
		return PTR_ERR(worker);
	WRITE_ONCE(vq->worker, worker);
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_dev_add_vq_worker);
