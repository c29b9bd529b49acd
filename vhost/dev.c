// SPDX-License-Identifier: GPL-2.0
/*
 * vhx core module: device life cycle, ownership, the generic device
 * ioctls (memory table, dirty log, features), and the module itself.  The
 * top of the core: it calls the files below it (see core.h), none calls it.
 *
 * Locking: dev->mutex serialises control-plane ioctls and is taken before
 * any vq->mutex.  The worker takes only vq->mutex.  dev->umem and dev->iotlb
 * are swapped under dev->mutex and every vq->mutex.
 */

#include <linux/ctype.h>
#include <linux/cred.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dev.h"
#include "iotlb.h"
#include "log.h"
#include "poll.h"
#include "stats.h"
#include "vq.h"
#include "vring.h"

static ushort max_mem_regions = 64;
module_param(max_mem_regions, ushort, 0444);
MODULE_PARM_DESC(max_mem_regions,
		 "Maximum number of memory regions in memory map. (default: 64)");

/* ---- life cycle ------------------------------------------------------ */

void vhx_dev_init(struct vhx_dev *dev, struct vhx_vq **vqs, int nvqs,
		  int iov_limit, int weight, int byte_weight,
		  const struct vhx_dev_ops *ops)
{
	static atomic_t next_id = ATOMIC_INIT(0);

	int i;

	dev->vqs = vqs;
	dev->nvqs = nvqs;
	mutex_init(&dev->mutex);
	dev->log_ctx = NULL;
	dev->umem = NULL;
	dev->iotlb = NULL;
	dev->mm = NULL;
	dev->cred = NULL;
	dev->owner_pid = 0;
	dev->worker = NULL;
	dev->iov_limit = iov_limit;
	dev->weight = weight;
	dev->byte_weight = byte_weight;
	dev->ops = ops;
	dev->id = atomic_inc_return(&next_id);
	spin_lock_init(&dev->msg_lock);
	INIT_LIST_HEAD(&dev->read_list);
	INIT_LIST_HEAD(&dev->pending_list);
	init_waitqueue_head(&dev->wait);
	INIT_LIST_HEAD(&dev->node);

	for (i = 0; i < nvqs; i++) {
		struct vhx_vq *vq = vqs[i];

		vq->log = NULL;
		vq->indirect = NULL;
		vq->heads = NULL;
		vq->iov = NULL;
		vq->packed = NULL;
		vq->dev = dev;
		vq->index = i;
		vq->worker = NULL;
		mutex_init(&vq->mutex);
		spin_lock_init(&vq->name_lock);
		vhx_vq_reset(dev, vq);
		if (vq->handle_kick) {
			vhx_poll_init(&vq->poll, vq->handle_kick, EPOLLIN, dev);
			vq->poll.vq = vq;
		}
	}
}
EXPORT_SYMBOL_GPL(vhx_dev_init);

bool vhx_dev_has_owner(struct vhx_dev *dev)
{
	return dev->mm;
}
EXPORT_SYMBOL_GPL(vhx_dev_has_owner);

/* Caller should have device mutex. */
long vhx_dev_check_owner(struct vhx_dev *dev)
{
	/* Any thread of the owner process may issue ioctls. */
	return dev->mm == current->mm ? 0 : -EPERM;
}
EXPORT_SYMBOL_GPL(vhx_dev_check_owner);

/* The four per-vq arrays share one allocation, vq->iov first. */
static void vhx_vq_free_iovecs(struct vhx_vq *vq)
{
	kvfree(vq->iov);
	vq->iov = NULL;
	vq->indirect = NULL;
	vq->log = NULL;
	vq->heads = NULL;
	vhx_vq_free_layouts(vq);
}

static int vhx_dev_alloc_iovecs(struct vhx_dev *dev)
{
	/*
	 * iov, indirect, log and heads in one block: for vhx_net (1088-entry
	 * limit) 58.5 KiB in an order-4 allocation instead of four kmallocs
	 * that round 17 + 16 + 17 + 8.5 KiB up to 96 KiB of pages.
	 */
	size_t n_iov = dev->iov_limit, n_ind = UIO_MAXIOV;
	size_t size = (n_iov + n_ind) * sizeof(struct iovec) +
		      n_iov * (sizeof(struct vhx_log) +
			       sizeof(struct vring_used_elem));
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		struct vhx_vq *vq = dev->vqs[i];
		void *p = kvmalloc(size, GFP_KERNEL_ACCOUNT);

		if (!p)
			goto err;
		vq->iov = p;
		vq->indirect = vq->iov + n_iov;
		vq->log = (struct vhx_log *)(vq->indirect + n_ind);
		vq->heads = (struct vring_used_elem *)(vq->log + n_iov);
		vq->log_max = dev->iov_limit;
	}
	return 0;
err:
	for (; i >= 0; i--)
		vhx_vq_free_iovecs(dev->vqs[i]);
	return -ENOMEM;
}

/* Caller should have device mutex. */
long vhx_dev_set_owner(struct vhx_dev *dev)
{
	struct vhx_worker *worker;
	int err;

	lockdep_assert_held(&dev->mutex);

	if (vhx_dev_has_owner(dev))
		return -EBUSY;
	dev->mm = get_task_mm(current);
	if (!dev->mm)
		return -EINVAL;
	dev->cred = get_current_cred();
	dev->fsize_limit = rlimit(RLIMIT_FSIZE);
	dev->owner_pid = task_tgid_nr(current);
	worker = vhx_worker_create();
	if (IS_ERR(worker)) {
		err = PTR_ERR(worker);
		goto err_mm;
	}
	WRITE_ONCE(dev->worker, worker);
	err = vhx_dev_alloc_iovecs(dev);
	if (err)
		goto err_worker;
	vhx_dev_register(dev);
	return 0;

err_worker:
	WRITE_ONCE(dev->worker, NULL);
	vhx_worker_destroy(worker);
err_mm:
	put_cred(dev->cred);
	dev->cred = NULL;
	mmput(dev->mm);
	dev->mm = NULL;
	dev->owner_pid = 0;
	return err;
}
EXPORT_SYMBOL_GPL(vhx_dev_set_owner);

struct vhx_maps *vhx_dev_reset_owner_prepare(void)
{
	return vhx_maps_alloc(0);
}
EXPORT_SYMBOL_GPL(vhx_dev_reset_owner_prepare);

/* Caller should have device mutex. */
void vhx_dev_reset_owner(struct vhx_dev *dev, struct vhx_maps *umem)
{
	int i;

	lockdep_assert_held(&dev->mutex);

	vhx_dev_cleanup(dev);
	dev->umem = umem;
	for (i = 0; i < dev->nvqs; i++)
		dev->vqs[i]->umem = umem;
}
EXPORT_SYMBOL_GPL(vhx_dev_reset_owner);

/* Stop kick polling and let running handlers finish. */
void vhx_dev_stop(struct vhx_dev *dev)
{
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		if (dev->vqs[i]->kick && dev->vqs[i]->handle_kick)
			vhx_poll_stop(&dev->vqs[i]->poll);
	}
	vhx_dev_flush(dev);
}
EXPORT_SYMBOL_GPL(vhx_dev_stop);

/* Caller should have device mutex if and only if the fd is still open. */
void vhx_dev_cleanup(struct vhx_dev *dev)
{
	struct vhx_worker *worker;
	int i;

	vhx_dev_unregister(dev);
	for (i = 0; i < dev->nvqs; i++) {
		struct vhx_vq *vq = dev->vqs[i];

		if (vq->error_ctx)
			eventfd_ctx_put(vq->error_ctx);
		if (vq->call_ctx)
			eventfd_ctx_put(vq->call_ctx);
		if (vq->kick) {
			vhx_poll_stop(&vq->poll);
			fput(vq->kick);
		}
		vhx_vq_reset(dev, vq);
		vhx_vq_free_iovecs(vq);
		worker = vq->worker;
		if (worker) {
			WRITE_ONCE(vq->worker, NULL);
			vhx_worker_destroy(worker);
		}
	}
	if (dev->log_ctx)
		eventfd_ctx_put(dev->log_ctx);
	dev->log_ctx = NULL;
	vhx_maps_free(dev->umem);
	dev->umem = NULL;
	vhx_maps_free(dev->iotlb);
	dev->iotlb = NULL;
	vhx_clear_msg(dev);
	wake_up_interruptible_poll(&dev->wait, EPOLLIN | EPOLLRDNORM);
	worker = dev->worker;
	if (worker) {
		WRITE_ONCE(dev->worker, NULL);
		vhx_worker_destroy(worker);
	}
	if (dev->mm)
		mmput(dev->mm);
	dev->mm = NULL;
	if (dev->cred)
		put_cred(dev->cred);
	dev->cred = NULL;
	dev->owner_pid = 0;
}
EXPORT_SYMBOL_GPL(vhx_dev_cleanup);

/* ---- memory table and dirty log ------------------------------------- */

static bool vhx_umem_log_ok(struct vhx_maps *umem, u64 log_base)
{
	unsigned int i;

	for (i = 0; umem && i < umem->nmaps; i++) {
		const struct vhx_map *m = &umem->map[i];

		if (!vhx_log_range_ok(log_base, m->start, m->last - m->start + 1))
			return false;
	}
	return true;
}

static bool vhx_vq_log_ok(struct vhx_vq *vq, u64 log_base)
{
	if (!vq->log_used)
		return true;
	return vhx_log_range_ok(log_base, vq->log_addr,
				vhx_vq_used_log_size(vq));
}

/* Caller should have device mutex. */
bool vhx_log_access_ok(struct vhx_dev *dev)
{
	u64 log_base = dev->nvqs ? dev->vqs[0]->log_base : 0;
	int i;

	if (!vhx_umem_log_ok(dev->umem, log_base))
		return false;
	for (i = 0; i < dev->nvqs; i++)
		if (!vhx_vq_log_ok(dev->vqs[i], log_base))
			return false;
	return true;
}
EXPORT_SYMBOL_GPL(vhx_log_access_ok);

static long vhx_set_memory(struct vhx_dev *dev,
			   struct vhost_memory __user *m)
{
	struct vhost_memory_region *regions;
	struct vhost_memory mem;
	struct vhx_maps *umem, *old;
	u32 i;
	int r;

	if (copy_from_user(&mem, m, sizeof(mem)))
		return -EFAULT;
	if (mem.padding)
		return -EOPNOTSUPP;
	if (mem.nregions > max_mem_regions)
		return -E2BIG;
	regions = memdup_user(m->regions, array_size(mem.nregions,
						     sizeof(*regions)));
	if (IS_ERR(regions))
		return PTR_ERR(regions);
	umem = vhx_maps_alloc(mem.nregions);
	if (!umem) {
		kfree(regions);
		return -ENOMEM;
	}
	r = 0;
	for (i = 0; i < mem.nregions; i++) {
		const struct vhost_memory_region *reg = &regions[i];
		u64 last = reg->guest_phys_addr + reg->memory_size - 1;

		if (!reg->memory_size || last < reg->guest_phys_addr ||
		    reg->userspace_addr + reg->memory_size - 1 <
		    reg->userspace_addr ||
		    !access_ok(u64_to_user_ptr(reg->userspace_addr),
			       reg->memory_size) ||
		    vhx_maps_add(umem, reg->guest_phys_addr, last,
				 reg->userspace_addr, VHX_MAP_RW, false)) {
			r = -EFAULT;
			break;
		}
	}
	kfree(regions);
	if (!r && dev->nvqs &&
	    vhx_has_feature(dev->vqs[0], VHOST_F_LOG_ALL) &&
	    !vhx_umem_log_ok(umem, dev->vqs[0]->log_base))
		r = -EFAULT;
	if (r) {
		vhx_maps_free(umem);
		return r;
	}

	old = dev->umem;
	dev->umem = umem;
	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->umem = umem;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
	vhx_maps_free(old);
	return 0;
}

/* Caller should have device mutex. */
long vhx_dev_ioctl(struct vhx_dev *dev, unsigned int ioctl,
		   void __user *argp)
{
	struct eventfd_ctx *ctx;
	u64 base;
	long r;
	int i, fd;

	lockdep_assert_held(&dev->mutex);

	if (ioctl == VHOST_SET_OWNER)
		return vhx_dev_set_owner(dev);
	r = vhx_dev_check_owner(dev);
	if (r)
		return r;

	switch (ioctl) {
	case VHOST_SET_MEM_TABLE:
		return vhx_set_memory(dev, argp);
	case VHOST_SET_LOG_BASE:
		if (copy_from_user(&base, argp, sizeof(base)))
			return -EFAULT;
		if ((u64)(unsigned long)base != base)
			return -EFAULT;
		for (i = 0; i < dev->nvqs; i++) {
			struct vhx_vq *vq = dev->vqs[i];

			mutex_lock(&vq->mutex);
			if (vq->private_data && !vhx_vq_log_ok(vq, base))
				r = -EFAULT;
			else
				vq->log_base = base;
			mutex_unlock(&vq->mutex);
		}
		return r;
	case VHOST_SET_LOG_FD:
		if (get_user(fd, (int __user *)argp))
			return -EFAULT;
		ctx = fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(fd);
		if (IS_ERR(ctx))
			return PTR_ERR(ctx);
		swap(ctx, dev->log_ctx);
		for (i = 0; i < dev->nvqs; i++) {
			mutex_lock(&dev->vqs[i]->mutex);
			dev->vqs[i]->log_ctx = dev->log_ctx;
			mutex_unlock(&dev->vqs[i]->mutex);
		}
		if (ctx)
			eventfd_ctx_put(ctx);
		return 0;
	default:
		return -ENOIOCTLCMD;
	}
}
EXPORT_SYMBOL_GPL(vhx_dev_ioctl);

/*
 * GET/SET_FEATURES and GET/SET_BACKEND_FEATURES for a device that offers
 * @offered and @backend_offered; @set applies acked features (it checks
 * what only the device knows).  Bits outside the offer: -EOPNOTSUPP.
 * Not owner-checked, as in mainline.  -ENOIOCTLCMD for other ioctls.
 */
long vhx_features_ioctl(struct vhx_dev *dev, unsigned int ioctl,
			void __user *argp, u64 offered, u64 backend_offered,
			long (*set)(struct vhx_dev *dev, u64 features))
{
	u64 __user *featurep = argp;
	u64 features;

	switch (ioctl) {
	case VHOST_GET_FEATURES:
	case VHOST_GET_BACKEND_FEATURES:
		features = ioctl == VHOST_GET_FEATURES ? offered : backend_offered;
		return copy_to_user(featurep, &features, sizeof(features)) ?
			-EFAULT : 0;
	case VHOST_SET_FEATURES:
	case VHOST_SET_BACKEND_FEATURES:
		if (copy_from_user(&features, featurep, sizeof(features)))
			return -EFAULT;
		if (ioctl == VHOST_SET_BACKEND_FEATURES) {
			if (features & ~backend_offered)
				return -EOPNOTSUPP;
			vhx_set_backend_features(dev, features);
			return 0;
		}
		if (features & ~offered)
			return -EOPNOTSUPP;
		return set(dev, features);
	default:
		return -ENOIOCTLCMD;
	}
}
EXPORT_SYMBOL_GPL(vhx_features_ioctl);

/*
 * The generic device ioctls, then the vring ioctls, under the device
 * mutex; every handled device ioctl is followed by a flush (mainline's
 * order).  Returns -ENOIOCTLCMD for anything else.
 */
long vhx_dev_vring_ioctl(struct vhx_dev *dev, unsigned int ioctl,
			 void __user *argp)
{
	long r;

	/* Counters: never behind the device mutex (a tenant's ioctl may hold it). */
	if (ioctl == VHX_GET_QUEUE_STATS)
		return vhx_vq_stats_ioctl(dev, argp);
	mutex_lock(&dev->mutex);
	r = vhx_dev_ioctl(dev, ioctl, argp);
	if (r == -ENOIOCTLCMD)
		r = vhx_vring_ioctl(dev, ioctl, argp);
	else
		vhx_dev_flush(dev);
	mutex_unlock(&dev->mutex);
	return r;
}
EXPORT_SYMBOL_GPL(vhx_dev_vring_ioctl);

void vhx_set_backend_features(struct vhx_dev *dev, u64 features)
{
	int i;

	for (i = 0; i < dev->nvqs; i++) {
		mutex_lock(&dev->vqs[i]->mutex);
		dev->vqs[i]->acked_backend_features = features;
		mutex_unlock(&dev->vqs[i]->mutex);
	}
}
EXPORT_SYMBOL_GPL(vhx_set_backend_features);

static bool vhx_devname_ok(const char *name)
{
	size_t len = strlen(name);
	size_t i;

	if (!len || len > 32)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum(name[i]) && name[i] != '-' && name[i] != '_')
			return false;
	return true;
}

int vhx_misc_devname(struct miscdevice *m, const char *devname)
{
	if (!devname)
		return 0;
	if (!vhx_devname_ok(devname)) {
		pr_err("devname=%s: use 1-32 letters, digits, '-' or '_'\n",
		       devname);
		return -EINVAL;
	}
	m->minor = MISC_DYNAMIC_MINOR;
	m->name = devname;
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_misc_devname);

static int __init vhx_core_init(void)
{
	int r = vhx_stats_init();

	if (r)
		return r;
	pr_info("vhx core %s loaded\n", VHX_VERSION);
	return 0;
}

static void __exit vhx_core_exit(void)
{
	vhx_stats_exit();
}

module_init(vhx_core_init);
module_exit(vhx_core_exit);
MODULE_VERSION(VHX_VERSION);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhx developers");
MODULE_DESCRIPTION("vhx: host kernel accelerator for virtio devices (core)");
