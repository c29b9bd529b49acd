// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_blk: /dev/vhost-blk, an in-kernel virtio-blk device.
 *
 * One fd is one virtio-blk device with up to max_queues request queues
 * against one backend: a regular file or a block device opened by
 * userspace.  Queue 0 runs on the device's worker, every other queue on
 * a worker of its own, so queues progress in parallel.  The request path
 * is in blk_req.c, the backend operations in blk_backend.c.
 *
 * Locking: b->dev.mutex for every control-plane ioctl, then vq->mutex.
 * Draining (waiting for a queue's requests in flight) is done with the
 * device mutex held and the vq mutex released, since completions take it.
 */

#include <linux/compat.h>
#include <linux/file.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "blk.h"
#include "dev.h"
#include "vring.h"

static unsigned int max_queues = 16;
module_param(max_queues, uint, 0444);
MODULE_PARM_DESC(max_queues,
		 "Request queues per /dev/vhost-blk fd, 1-64 (default: 16)");

#define VHX_BLK_FEATURES (VHX_FEATURES | \
			  BIT_ULL(VIRTIO_BLK_F_SEG_MAX) | \
			  BIT_ULL(VIRTIO_BLK_F_RO) | \
			  BIT_ULL(VIRTIO_BLK_F_BLK_SIZE) | \
			  BIT_ULL(VIRTIO_BLK_F_FLUSH) | \
			  BIT_ULL(VIRTIO_BLK_F_MQ) | \
			  BIT_ULL(VIRTIO_BLK_F_DISCARD) | \
			  BIT_ULL(VIRTIO_BLK_F_WRITE_ZEROES))

static const char *vhx_blk_vq_name(int idx)
{
	return "req";
}

static void vhx_blk_show_backend(struct seq_file *m, struct vhx_vq *vq)
{
	seq_file_path(m, vhx_vq_get_backend(vq), " \t\n\\=");
}

static void vhx_blk_backend_stats(struct vhx_vq *vq,
				  struct vhx_queue_stats *st)
{
	struct vhx_blk_vq *bvq = vhx_blk_vq(vq);

	st->flags |= VHX_QSTATS_F_BLK;
	st->blk_inflight = max(atomic_read(&bvq->inflight), 0);
	st->blk_punted = atomic64_read(&bvq->punted);
	st->blk_bounced = atomic64_read(&bvq->bounced);
}

static const struct vhx_dev_ops vhx_blk_ops = {
	.kind = "blk",
	.vq_name = vhx_blk_vq_name,
	.show_backend = vhx_blk_show_backend,
	.backend_stats = vhx_blk_backend_stats,
};

static int vhx_blk_open(struct inode *inode, struct file *f)
{
	unsigned int nvqs = clamp_t(unsigned int, max_queues, 1,
				    VHX_BLK_MAX_QUEUES);
	struct vhx_blk *b;
	unsigned int i;

	b = kzalloc(sizeof(*b), GFP_KERNEL_ACCOUNT);
	if (!b)
		return -ENOMEM;
	b->vqs = kvcalloc(nvqs, sizeof(*b->vqs), GFP_KERNEL_ACCOUNT);
	b->vqp = kcalloc(nvqs, sizeof(*b->vqp), GFP_KERNEL_ACCOUNT);
	/*
	 * The blocking parts of this device's requests (flush, discard,
	 * page-cache misses, bounce copies) run on a workqueue of its own:
	 * a device whose requests never finish (a stalled backend, guest
	 * memory that never faults in) fills only its own VHX_BLK_WQ_ACTIVE
	 * slots, never another tenant's.
	 */
	b->wq = alloc_workqueue("vhx_blk", WQ_UNBOUND, VHX_BLK_WQ_ACTIVE);
	if (!b->vqs || !b->vqp || !b->wq) {
		if (b->wq)
			destroy_workqueue(b->wq);
		kvfree(b->vqs);
		kfree(b->vqp);
		kfree(b);
		return -ENOMEM;
	}
	b->nvqs = nvqs;
	for (i = 0; i < nvqs; i++) {
		struct vhx_blk_vq *bvq = &b->vqs[i];

		bvq->vq.handle_kick = vhx_blk_handle_kick;
		atomic_set(&bvq->inflight, 0);
		atomic64_set(&bvq->punted, 0);
		atomic64_set(&bvq->bounced, 0);
		init_waitqueue_head(&bvq->drain_wq);
		init_llist_head(&bvq->done_list);
		vhx_work_init(&bvq->done_work, vhx_blk_done_work);
		b->vqp[i] = &bvq->vq;
	}
	vhx_dev_init(&b->dev, b->vqp, nvqs, VHX_BLK_IOV_LIMIT, VHX_BLK_WEIGHT,
		     VHX_BLK_BYTE_WEIGHT, &vhx_blk_ops);
	f->private_data = b;
	return 0;
}

/*
 * Wait until no request of @bvq is in flight and every finished one is
 * published.  The backend is detached or the queue stopped, so nothing
 * new starts.  Caller holds the device mutex, not the vq mutex.
 */
static void vhx_blk_drain_vq(struct vhx_blk_vq *bvq)
{
	wait_event(bvq->drain_wq, !atomic_read(&bvq->inflight));
	/* done_work was queued before the last drop: this runs it. */
	vhx_vq_flush(&bvq->vq);
	/* Left over only when the worker is gone (its owner was killed). */
	mutex_lock(&bvq->vq.mutex);
	vhx_blk_reap(bvq, false);
	mutex_unlock(&bvq->vq.mutex);
}

/* Detach and drain one queue; returns its file for the caller to put. */
static struct file *vhx_blk_stop_vq(struct vhx_blk_vq *bvq)
{
	struct vhx_vq *vq = &bvq->vq;
	struct file *file;

	mutex_lock(&vq->mutex);
	file = vhx_vq_get_backend(vq);
	vhx_vq_set_backend(vq, NULL);
	mutex_unlock(&vq->mutex);
	if (!file)
		return NULL;
	vhx_blk_drain_vq(bvq);
	mutex_lock(&vq->mutex);
	vhx_blk_free_reqs(bvq);
	bvq->starved = false;
	mutex_unlock(&vq->mutex);
	return file;
}

static void vhx_blk_stop_all(struct vhx_blk *b)
{
	int i;

	for (i = 0; i < b->nvqs; i++) {
		struct file *file = vhx_blk_stop_vq(&b->vqs[i]);

		if (file)
			fput(file);
	}
}

static int vhx_blk_release(struct inode *inode, struct file *f)
{
	struct vhx_blk *b = f->private_data;

	vhx_blk_stop_all(b);
	vhx_dev_stop(&b->dev);
	vhx_dev_cleanup(&b->dev);
	/* Completion contexts may still be leaving vhx_blk_req_done(). */
	synchronize_rcu();
	/* Blocking parts may still be leaving vhx_blk_work_fn(). */
	destroy_workqueue(b->wq);
	kvfree(b->vqs);
	kfree(b->vqp);
	kfree(b);
	return 0;
}

/* The inode all attached queues share, or NULL.  Caller has dev mutex. */
static struct inode *vhx_blk_backend_inode(struct vhx_blk *b)
{
	int i;

	for (i = 0; i < b->nvqs; i++) {
		struct file *file = READ_ONCE(b->vqs[i].vq.private_data);

		if (file)
			return file_inode(file);
	}
	return NULL;
}

static long vhx_blk_attach(struct vhx_blk *b, struct vhx_blk_vq *bvq,
			   struct file *file, const struct vhx_blk_props *p)
{
	struct vhx_vq *vq = &bvq->vq;
	long r;

	mutex_lock(&vq->mutex);
	r = vhx_blk_alloc_reqs(bvq);
	if (r)
		goto out;
	bvq->props = *p;
	bvq->stopped = false;
	bvq->starved = false;
	vhx_vq_set_backend(vq, file);
	r = vhx_vq_init_access(vq);
	if (r) {
		vhx_vq_set_backend(vq, NULL);
		vhx_blk_free_reqs(bvq);
		goto out;
	}
	/* Requests the guest queued before the backend came. */
	vhx_poll_queue(&vq->poll);
out:
	mutex_unlock(&vq->mutex);
	return r;
}

static long vhx_blk_set_backend(struct vhx_blk *b, unsigned int index,
				int fd)
{
	struct file *file = NULL, *old;
	struct vhx_blk_props props;
	struct vhx_blk_vq *bvq;
	struct inode *inode;
	bool ok;
	long r;

	mutex_lock(&b->dev.mutex);
	r = vhx_dev_check_owner(&b->dev);
	if (r)
		goto out;
	if (index >= b->nvqs) {
		r = -ENOBUFS;
		goto out;
	}
	index = array_index_nospec(index, b->nvqs);
	bvq = &b->vqs[index];
	if (fd != -1) {
		file = fget(fd);
		r = -EBADF;
		if (!file)
			goto out;
		r = vhx_blk_probe_file(file, &props);
		if (r)
			goto out;
		inode = vhx_blk_backend_inode(b);
		r = -EBUSY;
		if (inode && inode != file_inode(file))
			goto out;
		mutex_lock(&bvq->vq.mutex);
		ok = vhx_vq_access_ok(&bvq->vq);
		mutex_unlock(&bvq->vq.mutex);
		r = -EFAULT;
		if (!ok)
			goto out;
		/* Every queue but the first gets a worker of its own. */
		if (index) {
			r = vhx_dev_add_vq_worker(&b->dev, &bvq->vq);
			if (r)
				goto out;
		}
	}
	old = vhx_blk_stop_vq(bvq);
	r = 0;
	if (file) {
		r = vhx_blk_attach(b, bvq, file, &props);
		if (!r)
			file = NULL;	/* the vq holds it now */
	}
	if (old)
		fput(old);
out:
	mutex_unlock(&b->dev.mutex);
	if (file)
		fput(file);
	return r;
}

static long vhx_blk_get_info(struct vhx_blk *b, void __user *argp)
{
	struct vhx_blk_props p;
	struct vhx_blk_info info;
	struct file *file;
	long r = 0;
	int i;

	if (copy_from_user(&info, argp, sizeof(info)))
		return -EFAULT;
	if (info.fd == -1) {
		mutex_lock(&b->dev.mutex);
		r = -ENXIO;
		for (i = 0; i < b->nvqs; i++) {
			struct vhx_vq *vq = &b->vqs[i].vq;

			mutex_lock(&vq->mutex);
			if (vhx_vq_get_backend(vq)) {
				p = b->vqs[i].props;
				r = 0;
			}
			mutex_unlock(&vq->mutex);
			if (!r)
				break;
		}
		mutex_unlock(&b->dev.mutex);
	} else {
		file = fget(info.fd);
		if (!file)
			return -EBADF;
		r = vhx_blk_probe_file(file, &p);
		fput(file);
	}
	if (r)
		return r;
	memset(&info, 0, sizeof(info));
	info.fd = -1;
	info.flags = p.flags;
	info.capacity = p.capacity;
	info.logical_block_size = p.lbs;
	info.physical_block_size = p.pbs;
	info.num_queues = b->nvqs;
	info.seg_max = VHX_BLK_SEG_MAX;
	if (p.flags & VHX_BLK_INFO_F_DISCARD) {
		info.max_discard_sectors = p.max_discard_sectors;
		info.max_discard_seg = VHX_BLK_MAX_DWZ_SEG;
		info.discard_sector_alignment = p.discard_alignment;
	}
	if (p.flags & VHX_BLK_INFO_F_WRITE_ZEROES) {
		info.max_write_zeroes_sectors = p.max_wz_sectors;
		info.max_write_zeroes_seg = VHX_BLK_MAX_DWZ_SEG;
		info.write_zeroes_may_unmap = 1;
	}
	if (copy_to_user(argp, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long vhx_blk_set_serial(struct vhx_blk *b, void __user *argp)
{
	struct vhx_blk_serial s;
	long r;

	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	if (s.reserved)
		return -EINVAL;
	mutex_lock(&b->dev.mutex);
	r = vhx_dev_check_owner(&b->dev);
	if (!r)
		memcpy(b->serial, s.id, sizeof(b->serial));
	mutex_unlock(&b->dev.mutex);
	return r;
}

static long vhx_blk_set_features(struct vhx_dev *dev, u64 features)
{
	struct vhx_blk *b = container_of(dev, struct vhx_blk, dev);
	int i;

	mutex_lock(&b->dev.mutex);
	if ((features & BIT_ULL(VHOST_F_LOG_ALL)) &&
	    !vhx_log_access_ok(&b->dev)) {
		mutex_unlock(&b->dev.mutex);
		return -EFAULT;
	}
	for (i = 0; i < b->nvqs; i++) {
		mutex_lock(&b->vqs[i].vq.mutex);
		b->vqs[i].vq.acked_features = features;
		mutex_unlock(&b->vqs[i].vq.mutex);
	}
	mutex_unlock(&b->dev.mutex);
	return 0;
}

static long vhx_blk_reset_owner(struct vhx_blk *b)
{
	struct vhx_maps *umem;
	long r;

	mutex_lock(&b->dev.mutex);
	r = vhx_dev_check_owner(&b->dev);
	if (r)
		goto out;
	umem = vhx_dev_reset_owner_prepare();
	if (!umem) {
		r = -ENOMEM;
		goto out;
	}
	vhx_blk_stop_all(b);
	vhx_dev_stop(&b->dev);
	vhx_dev_reset_owner(&b->dev, umem);
	memset(b->serial, 0, sizeof(b->serial));
out:
	mutex_unlock(&b->dev.mutex);
	return r;
}

/*
 * VHOST_GET_VRING_BASE stops a running queue: nothing more is fetched
 * until a backend is set again, and the requests in flight complete, so
 * the index returned has nothing outstanding.
 */
static long vhx_blk_get_vring_base(struct vhx_blk *b, void __user *argp)
{
	struct vhx_blk_vq *bvq;
	bool running;
	long r;
	u32 idx;

	mutex_lock(&b->dev.mutex);
	r = vhx_dev_check_owner(&b->dev);
	if (!r && !get_user(idx, (u32 __user *)argp) && idx < b->nvqs) {
		bvq = &b->vqs[array_index_nospec(idx, b->nvqs)];
		mutex_lock(&bvq->vq.mutex);
		running = vhx_vq_get_backend(&bvq->vq);
		if (running)
			bvq->stopped = true;
		mutex_unlock(&bvq->vq.mutex);
		if (running)
			vhx_blk_drain_vq(bvq);
	}
	/* The vring ioctl gives the errno for a bad index or pointer. */
	if (!r)
		r = vhx_vring_ioctl(&b->dev, VHOST_GET_VRING_BASE, argp);
	mutex_unlock(&b->dev.mutex);
	return r;
}

static long vhx_blk_ioctl(struct file *f, unsigned int ioctl,
			  unsigned long arg)
{
	struct vhx_blk *b = f->private_data;
	void __user *argp = (void __user *)arg;
	struct vhost_vring_file backend;
	long r;

	switch (ioctl) {
	case VHX_BLK_SET_BACKEND:
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return vhx_blk_set_backend(b, backend.index, backend.fd);
	case VHX_BLK_GET_INFO:
		return vhx_blk_get_info(b, argp);
	case VHX_BLK_SET_SERIAL:
		return vhx_blk_set_serial(b, argp);
	case VHOST_RESET_OWNER:
		return vhx_blk_reset_owner(b);
	case VHOST_GET_VRING_BASE:
		return vhx_blk_get_vring_base(b, argp);
	default:
		/* No backend features: no device IOTLB for vhost-blk. */
		r = vhx_features_ioctl(&b->dev, ioctl, argp, VHX_BLK_FEATURES, 0,
				       vhx_blk_set_features);
		if (r != -ENOIOCTLCMD)
			return r;
		return vhx_dev_vring_ioctl(&b->dev, ioctl, argp);
	}
}

static const struct file_operations vhx_blk_fops = {
	.owner		= THIS_MODULE,
	.release	= vhx_blk_release,
	.unlocked_ioctl	= vhx_blk_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.open		= vhx_blk_open,
	.llseek		= noop_llseek,
};

static struct miscdevice vhx_blk_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vhost-blk",
	.fops = &vhx_blk_fops,
};

static int __init vhx_blk_init(void)
{
	int r;

	if (!max_queues || max_queues > VHX_BLK_MAX_QUEUES) {
		pr_err("max_queues=%u: use 1-%d\n", max_queues,
		       VHX_BLK_MAX_QUEUES);
		return -EINVAL;
	}
	r = misc_register(&vhx_blk_misc);
	if (r) {
		pr_err("cannot register /dev/vhost-blk: %d\n", r);
		return r;
	}
	pr_info("/dev/vhost-blk ready, %u queues per device (%s)\n",
		max_queues, VHX_VERSION);
	return 0;
}

static void __exit vhx_blk_exit(void)
{
	misc_deregister(&vhx_blk_misc);
}

module_init(vhx_blk_init);
module_exit(vhx_blk_exit);
MODULE_VERSION(VHX_VERSION);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhx developers");
MODULE_DESCRIPTION("vhx: host kernel accelerator for virtio blk");
