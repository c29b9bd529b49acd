// SPDX-License-Identifier: GPL-2.0
/*
 * The device IOTLB (VIRTIO_F_ACCESS_PLATFORM): misses are queued as
 * VHOST_IOTLB_MISS messages that userspace reads from the device fd and
 * answers with VHOST_IOTLB_UPDATE writes; INVALIDATE drops ranges.
 */

#include <linux/moduleparam.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uio.h>

#include "iotlb.h"
#include "poll.h"

static int vhx_max_iotlb_entries = 2048;
module_param_named(max_iotlb_entries, vhx_max_iotlb_entries, int, 0444);
MODULE_PARM_DESC(max_iotlb_entries,
		 "Maximum number of iotlb entries. (default: 2048)");

/* Bound on queued messages per device, so misses cannot pin memory. */
#define VHX_MSG_MAX 256

struct vhx_msg_node {
	union {
		struct vhost_msg msg;
		struct vhost_msg_v2 msg_v2;
	};
	struct vhx_vq *vq;
	struct list_head node;
};

static struct vhost_iotlb_msg *vhx_node_iotlb(struct vhx_msg_node *node)
{
	if (node->msg.type == VHOST_IOTLB_MSG)
		return &node->msg.iotlb;
	return &node->msg_v2.iotlb;
}

int vhx_init_device_iotlb(struct vhx_dev *dev)
{
	struct vhx_maps *niotlb, *oiotlb;
	int i;

	niotlb = vhx_maps_alloc(vhx_max_iotlb_entries);
	if (!niotlb)
		return -ENOMEM;
	oiotlb = dev->iotlb;
	dev->iotlb = niotlb;
	for (i = 0; i < dev->nvqs; i++) {
		struct vhx_vq *vq = dev->vqs[i];

		mutex_lock(&vq->mutex);
		vq->iotlb = niotlb;
		mutex_unlock(&vq->mutex);
	}
	vhx_maps_free(oiotlb);
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_init_device_iotlb);

static unsigned int vhx_count_msgs(struct vhx_dev *dev)
{
	struct vhx_msg_node *node;
	unsigned int n = 0;

	list_for_each_entry(node, &dev->read_list, node)
		n++;
	list_for_each_entry(node, &dev->pending_list, node)
		n++;
	return n;
}

/* Queue a miss for userspace.  Caller holds vq->mutex. */
void vhx_iotlb_miss(struct vhx_vq *vq, u64 iova, int access)
{
	struct vhx_dev *dev = vq->dev;
	struct vhost_iotlb_msg *msg;
	struct vhx_msg_node *node;

	lockdep_assert_held(&vq->mutex);

	vq->stats.iotlb_misses++;
	trace_vhx_iotlb_miss(dev->id, vq->index, iova, access);
	vq->iotlb_wait = true;
	/* Zeroed: every byte userspace reads is defined (CVE-2018-1118). */
	node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
	if (!node)
		return;
	if (vhx_backend_has_feature(vq, VHOST_BACKEND_F_IOTLB_MSG_V2))
		node->msg_v2.type = VHOST_IOTLB_MSG_V2;
	else
		node->msg.type = VHOST_IOTLB_MSG;
	msg = vhx_node_iotlb(node);
	msg->type = VHOST_IOTLB_MISS;
	msg->iova = iova;
	msg->perm = access;
	node->vq = vq;

	spin_lock(&dev->msg_lock);
	if (vhx_count_msgs(dev) >= VHX_MSG_MAX) {
		spin_unlock(&dev->msg_lock);
		kfree(node);
		return;
	}
	list_add_tail(&node->node, &dev->read_list);
	spin_unlock(&dev->msg_lock);
	wake_up_interruptible_poll(&dev->wait, EPOLLIN | EPOLLRDNORM);
}
EXPORT_SYMBOL_GPL(vhx_iotlb_miss);

void vhx_clear_msg(struct vhx_dev *dev)
{
	struct vhx_msg_node *node, *n;
	LIST_HEAD(dead);

	spin_lock(&dev->msg_lock);
	list_splice_init(&dev->read_list, &dead);
	list_splice_init(&dev->pending_list, &dead);
	spin_unlock(&dev->msg_lock);
	list_for_each_entry_safe(node, n, &dead, node) {
		list_del(&node->node);
		kfree(node);
	}
}
EXPORT_SYMBOL_GPL(vhx_clear_msg);

static struct vhx_msg_node *vhx_dequeue_msg(struct vhx_dev *dev)
{
	struct vhx_msg_node *node;

	spin_lock(&dev->msg_lock);
	node = list_first_entry_or_null(&dev->read_list, struct vhx_msg_node,
					node);
	if (node)
		list_del(&node->node);
	spin_unlock(&dev->msg_lock);
	return node;
}

ssize_t vhx_chr_read_iter(struct vhx_dev *dev, struct iov_iter *to,
			  int noblock)
{
	struct vhx_msg_node *node = NULL;
	DEFINE_WAIT(wait);
	ssize_t ret = 0;
	size_t size;
	void *start;

	for (;;) {
		if (!noblock)
			prepare_to_wait(&dev->wait, &wait, TASK_INTERRUPTIBLE);
		node = vhx_dequeue_msg(dev);
		if (node)
			break;
		if (noblock) {
			ret = -EAGAIN;
			break;
		}
		if (signal_pending(current)) {
			ret = -ERESTARTSYS;
			break;
		}
		if (!dev->iotlb) {
			ret = -EBADFD;
			break;
		}
		schedule();
	}
	if (!noblock)
		finish_wait(&dev->wait, &wait);
	if (!node)
		return ret;

	if (node->msg.type == VHOST_IOTLB_MSG) {
		start = &node->msg;
		size = sizeof(node->msg);
	} else {
		start = &node->msg_v2;
		size = sizeof(node->msg_v2);
	}
	if (iov_iter_count(to) < size) {
		/* Too small to hold it: keep the message, report the error. */
		spin_lock(&dev->msg_lock);
		list_add(&node->node, &dev->read_list);
		spin_unlock(&dev->msg_lock);
		return -EINVAL;
	}
	ret = copy_to_iter(start, size, to);
	if (ret != size || vhx_node_iotlb(node)->type != VHOST_IOTLB_MISS) {
		kfree(node);
		return ret == size ? ret : -EFAULT;
	}
	spin_lock(&dev->msg_lock);
	list_add_tail(&node->node, &dev->pending_list);
	spin_unlock(&dev->msg_lock);
	return ret;
}
EXPORT_SYMBOL_GPL(vhx_chr_read_iter);

/* Requeue the queues whose pending miss @msg now covers. */
static void vhx_iotlb_notify_vq(struct vhx_dev *dev,
				const struct vhost_iotlb_msg *msg)
{
	struct vhx_msg_node *node, *n;
	LIST_HEAD(done);

	spin_lock(&dev->msg_lock);
	list_for_each_entry_safe(node, n, &dev->pending_list, node) {
		u64 iova = vhx_node_iotlb(node)->iova;

		if (msg->iova <= iova && iova - msg->iova < msg->size)
			list_move(&node->node, &done);
	}
	spin_unlock(&dev->msg_lock);
	list_for_each_entry_safe(node, n, &done, node) {
		node->vq->iotlb_wait = false;
		vhx_poll_queue(&node->vq->poll);
		list_del(&node->node);
		kfree(node);
	}
}

static int vhx_process_iotlb_msg(struct vhx_dev *dev,
				 const struct vhost_iotlb_msg *msg)
{
	u64 last = msg->iova + msg->size - 1;
	int i, ret = 0;

	if (last < msg->iova)
		return -EINVAL;
	mutex_lock(&dev->mutex);
	for (i = 0; i < dev->nvqs; i++)
		mutex_lock_nested(&dev->vqs[i]->mutex, i);
	switch (msg->type) {
	case VHOST_IOTLB_UPDATE:
		if (!dev->iotlb) {
			ret = -EFAULT;
			break;
		}
		if (msg->perm < VHOST_ACCESS_RO || msg->perm > VHOST_ACCESS_RW ||
		    !access_ok(u64_to_user_ptr(msg->uaddr), msg->size) ||
		    msg->uaddr + msg->size - 1 < msg->uaddr) {
			ret = -EFAULT;
			break;
		}
		if (vhx_maps_add(dev->iotlb, msg->iova, last, msg->uaddr,
				 msg->perm, true)) {
			ret = -ENOMEM;
			break;
		}
		vhx_iotlb_notify_vq(dev, msg);
		break;
	case VHOST_IOTLB_INVALIDATE:
		if (!dev->iotlb) {
			ret = -EFAULT;
			break;
		}
		vhx_maps_del(dev->iotlb, msg->iova, last);
		break;
	default:
		ret = -EINVAL;
		break;
	}
	for (i = dev->nvqs - 1; i >= 0; i--)
		mutex_unlock(&dev->vqs[i]->mutex);
	mutex_unlock(&dev->mutex);
	return ret;
}

ssize_t vhx_chr_write_iter(struct vhx_dev *dev, struct iov_iter *from)
{
	struct vhost_iotlb_msg msg;
	size_t offset;
	u32 type;
	int ret;

	if (copy_from_iter(&type, sizeof(type), from) != sizeof(type))
		return -EINVAL;
	switch (type) {
	case VHOST_IOTLB_MSG:
		/* the union follows a hole after the int type */
		offset = offsetof(struct vhost_msg, iotlb) - sizeof(int);
		break;
	case VHOST_IOTLB_MSG_V2:
		/* asid: only meaningful with VHOST_BACKEND_F_IOTLB_ASID */
		offset = sizeof(__u32);
		break;
	default:
		return -EINVAL;
	}
	iov_iter_advance(from, offset);
	if (copy_from_iter(&msg, sizeof(msg), from) != sizeof(msg))
		return -EINVAL;
	if ((msg.type == VHOST_IOTLB_UPDATE ||
	     msg.type == VHOST_IOTLB_INVALIDATE) && !msg.size)
		return -EINVAL;
	ret = vhx_process_iotlb_msg(dev, &msg);
	if (ret)
		return ret == -EINVAL ? -EINVAL : -EFAULT;
	return type == VHOST_IOTLB_MSG ? sizeof(struct vhost_msg) :
					 sizeof(struct vhost_msg_v2);
}
EXPORT_SYMBOL_GPL(vhx_chr_write_iter);

__poll_t vhx_chr_poll(struct file *file, struct vhx_dev *dev,
		      poll_table *wait)
{
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &dev->wait, wait);
	spin_lock(&dev->msg_lock);
	if (!list_empty(&dev->read_list))
		mask |= EPOLLIN | EPOLLRDNORM;
	spin_unlock(&dev->msg_lock);
	return mask;
}
EXPORT_SYMBOL_GPL(vhx_chr_poll);
