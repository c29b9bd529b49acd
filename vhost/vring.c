// SPDX-License-Identifier: GPL-2.0
/* Per-virtqueue ioctls and ring set-up checks. */

#include <linux/nospec.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>

#include "log.h"
#include "poll.h"
#include "vq.h"
#include "vring.h"

/* Name @vq's backend for the counters (see struct vhx_vq). */
static void vhx_vq_name_backend(struct vhx_vq *vq)
{
	char name[VHX_BACKEND_NAME_MAX] = "-";
	struct seq_file tmp = { .buf = name, .size = sizeof(name) - 1 };
	const struct vhx_dev_ops *ops = vq->dev->ops;

	if (vq->private_data && ops && ops->show_backend) {
		ops->show_backend(&tmp, vq);
		if (tmp.count >= tmp.size)
			strscpy(name, "?", sizeof(name));
		else
			name[tmp.count] = '\0';
	}
	spin_lock(&vq->name_lock);
	memcpy(vq->backend_name, name, sizeof(name));
	spin_unlock(&vq->name_lock);
}

void vhx_vq_set_backend(struct vhx_vq *vq, void *data)
{
	lockdep_assert_held(&vq->mutex);
	vq->private_data = data;
	vhx_vq_name_backend(vq);
}
EXPORT_SYMBOL_GPL(vhx_vq_set_backend);

/* Caller holds vq->mutex or owns the vq exclusively. */
void vhx_vq_reset(struct vhx_dev *dev, struct vhx_vq *vq)
{
	vq->num = 1;
	vq->desc_addr = 0;
	vq->avail_addr = 0;
	vq->used_addr = 0;
	vq->last_avail_idx = 0;
	vq->avail_idx = 0;
	vq->last_used_idx = 0;
	/* Packed rings: both wrap counters start at 1. */
	vq->last_avail_wrap = true;
	vq->last_used_wrap = true;
	vhx_vq_reset_layout(vq);
	vq->signalled_used = 0;
	vq->signalled_used_valid = false;
	vq->used_flags = 0;
	vq->log_used = false;
	vq->log_addr = -1ull;
	vq->private_data = NULL;
	vhx_vq_name_backend(vq);
	vq->acked_features = 0;
	vq->acked_backend_features = 0;
	vq->log_base = 0;
	vq->error_ctx = NULL;
	vq->kick = NULL;
	vq->call_ctx = NULL;
	vq->log_ctx = NULL;
	vq->umem = NULL;
	vq->iotlb = NULL;
	vq->busyloop_timeout = 0;
	vq->broken = false;
	vq->iotlb_wait = false;
	memset(&vq->stats, 0, sizeof(vq->stats));
}
EXPORT_SYMBOL_GPL(vhx_vq_reset);

/* The three areas' sizes follow the layout (split, or packed). */
static bool vhx_ring_access_ok(struct vhx_vq *vq, unsigned int num, u64 desc,
			       u64 avail, u64 used)
{
	struct vhx_ring_sizes sz;

	/* With the device IOTLB, access is checked at translation time. */
	if (vq->iotlb)
		return true;
	vhx_vq_ring_sizes(vq, num, &sz);
	return access_ok(u64_to_user_ptr(desc), sz.desc) &&
	       access_ok(u64_to_user_ptr(avail), sz.avail) &&
	       access_ok(u64_to_user_ptr(used), sz.used);
}

/* Can the rings (and the used-ring log) of @vq be accessed? */
bool vhx_vq_access_ok(struct vhx_vq *vq)
{
	if (vq->log_used && !vhx_log_range_ok(vq->log_base, vq->log_addr,
					      vhx_vq_used_log_size(vq)))
		return false;
	return vhx_ring_access_ok(vq, vq->num, vq->desc_addr, vq->avail_addr,
				  vq->used_addr);
}
EXPORT_SYMBOL_GPL(vhx_vq_access_ok);

/*
 * Called when a backend is attached: latch the ring layout of the
 * negotiated features, check the set-up against it, publish the
 * notification state (split: also pick up the used index from guest
 * memory).  Clears a previous vq error.
 */
int vhx_vq_init_access(struct vhx_vq *vq)
{
	if (!vq->private_data)
		return 0;
	vq->broken = false;
	return vhx_vq_start(vq);
}
EXPORT_SYMBOL_GPL(vhx_vq_init_access);

static long vhx_vring_set_num(struct vhx_vq *vq, void __user *argp)
{
	struct vhost_vring_state s;

	/* Resizing ring with an active backend? */
	if (vq->private_data)
		return -EBUSY;
	if (copy_from_user(&s, argp, sizeof(s)))
		return -EFAULT;
	/* Checked again, against the layout then negotiated, at attach. */
	if (!vhx_vq_num_ok(vq, s.num))
		return -EINVAL;
	vq->num = s.num;
	return 0;
}

static long vhx_vring_set_addr(struct vhx_vq *vq, void __user *argp)
{
	struct vhost_vring_addr a;

	if (copy_from_user(&a, argp, sizeof(a)))
		return -EFAULT;
	if (a.flags & ~(0x1 << VHOST_VRING_F_LOG))
		return -EOPNOTSUPP;
	if ((u64)(unsigned long)a.desc_user_addr != a.desc_user_addr ||
	    (u64)(unsigned long)a.used_user_addr != a.used_user_addr ||
	    (u64)(unsigned long)a.avail_user_addr != a.avail_user_addr)
		return -EFAULT;
	if ((a.avail_user_addr & (VRING_AVAIL_ALIGN_SIZE - 1)) ||
	    (a.used_user_addr & (VRING_USED_ALIGN_SIZE - 1)) ||
	    (a.log_guest_addr & (VRING_USED_ALIGN_SIZE - 1)))
		return -EINVAL;
	/* Changing addresses while running: check the new rings first. */
	if (vq->private_data) {
		if (!vhx_ring_access_ok(vq, vq->num, a.desc_user_addr,
					a.avail_user_addr, a.used_user_addr))
			return -EINVAL;
		if ((a.flags & (0x1 << VHOST_VRING_F_LOG)) &&
		    !vhx_log_range_ok(vq->log_base, a.log_guest_addr,
				      vhx_vq_used_log_size(vq)))
			return -EINVAL;
	}
	vq->log_used = !!(a.flags & (0x1 << VHOST_VRING_F_LOG));
	vq->desc_addr = a.desc_user_addr;
	vq->avail_addr = a.avail_user_addr;
	vq->used_addr = a.used_user_addr;
	vq->log_addr = a.log_guest_addr;
	vq->broken = false;
	return 0;
}

static long vhx_vring_set_file(struct vhx_vq *vq, unsigned int ioctl,
			       void __user *argp)
{
	struct eventfd_ctx *ctx, **slot;
	struct vhost_vring_file f;
	struct file *eventfp;
	long r = 0;

	if (copy_from_user(&f, argp, sizeof(f)))
		return -EFAULT;

	if (ioctl == VHOST_SET_VRING_KICK) {
		eventfp = f.fd == VHOST_FILE_UNBIND ? NULL : eventfd_fget(f.fd);
		if (IS_ERR(eventfp))
			return PTR_ERR(eventfp);
		if (eventfp == vq->kick) {
			if (eventfp)
				fput(eventfp);
			return 0;
		}
		if (vq->kick) {
			vhx_poll_stop(&vq->poll);
			fput(vq->kick);
		}
		vq->kick = eventfp;
		if (eventfp && vq->handle_kick)
			r = vhx_poll_start(&vq->poll, eventfp);
		return r;
	}

	slot = ioctl == VHOST_SET_VRING_CALL ? &vq->call_ctx : &vq->error_ctx;
	ctx = f.fd == VHOST_FILE_UNBIND ? NULL : eventfd_ctx_fdget(f.fd);
	if (IS_ERR(ctx))
		return PTR_ERR(ctx);
	swap(ctx, *slot);
	if (ctx)
		eventfd_ctx_put(ctx);
	return 0;
}

/* Caller should have device mutex. */
long vhx_vring_ioctl(struct vhx_dev *dev, unsigned int ioctl,
		     void __user *argp)
{
	struct vhost_vring_state s;
	bool pollstop = false;
	struct vhx_vq *vq;
	u32 __user *idxp = argp;
	u32 idx;
	long r;

	lockdep_assert_held(&dev->mutex);

	r = get_user(idx, idxp);
	if (r < 0)
		return r;
	if (idx >= dev->nvqs)
		return -ENOBUFS;
	idx = array_index_nospec(idx, dev->nvqs);
	vq = dev->vqs[idx];

	mutex_lock(&vq->mutex);
	switch (ioctl) {
	case VHOST_SET_VRING_NUM:
		r = vhx_vring_set_num(vq, argp);
		break;
	case VHOST_SET_VRING_ADDR:
		r = vhx_vring_set_addr(vq, argp);
		break;
	case VHOST_SET_VRING_BASE:
		/* Moving base with an active backend? */
		if (vq->private_data) {
			r = -EBUSY;
			break;
		}
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		/* Split: the avail index; packed: see packed_set_base(). */
		r = vhx_vq_set_base(vq, s.num);
		break;
	case VHOST_GET_VRING_BASE:
		s.index = idx;
		s.num = vhx_vq_get_base(vq);
		if (copy_to_user(argp, &s, sizeof(s)))
			r = -EFAULT;
		break;
	case VHOST_SET_VRING_KICK:
		pollstop = true;
		fallthrough;
	case VHOST_SET_VRING_CALL:
	case VHOST_SET_VRING_ERR:
		r = vhx_vring_set_file(vq, ioctl, argp);
		break;
	case VHOST_SET_VRING_BUSYLOOP_TIMEOUT:
		if (copy_from_user(&s, argp, sizeof(s))) {
			r = -EFAULT;
			break;
		}
		vq->busyloop_timeout = s.num;
		break;
	case VHOST_GET_VRING_BUSYLOOP_TIMEOUT:
		s.index = idx;
		s.num = vq->busyloop_timeout;
		if (copy_to_user(argp, &s, sizeof(s)))
			r = -EFAULT;
		break;
	default:
		/* VHOST_SET/GET_VRING_ENDIAN: no cross-endian support. */
		r = -ENOIOCTLCMD;
		break;
	}
	mutex_unlock(&vq->mutex);
	/* A kick handler on the old eventfd may still be running. */
	if (pollstop)
		vhx_dev_flush(dev);
	return r;
}
EXPORT_SYMBOL_GPL(vhx_vring_ioctl);
