// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_vsock: /dev/vhost-vsock, a drop-in for the in-tree vhost_vsock.
 *
 * One fd is one guest's virtio-vsock device: the VMM (QEMU, or a test
 * playing the guest driver) sets the rings of vq 0 (RX) and vq 1 (TX) up
 * through the shared vhost ioctls, gives the guest its CID
 * (VHOST_VSOCK_SET_GUEST_CID) and starts it (VHOST_VSOCK_SET_RUNNING);
 * the host's AF_VSOCK sockets then reach the guest through this module,
 * which is the host-to-guest vsock transport (vsock_transport.c).
 *
 * Locking: vs->dev.mutex for every control-plane ioctl, then vq->mutex.
 */

#include <linux/compat.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/nsproxy.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat_vsock.h"
#include "dev.h"
#include "iotlb.h"
#include "poll.h"
#include "vring.h"
#include "vsock.h"

static char *devname;
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname,
		 "Register /dev/NAME on a dynamic minor instead of /dev/vhost-vsock on minor 241 (default: unset)");

#define VHX_VSOCK_FEATURES (VHX_FEATURES | \
			    BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
			    BIT_ULL(VIRTIO_VSOCK_F_SEQPACKET))
#define VHX_VSOCK_BACKEND_FEATURES BIT_ULL(VHOST_BACKEND_F_IOTLB_MSG_V2)

static const char *vhx_vsock_vq_name(int idx)
{
	return idx == VHX_VSOCK_VQ_RX ? "rx" : "tx";
}

static void vhx_vsock_show_backend(struct seq_file *m, struct vhx_vq *vq)
{
	seq_printf(m, "cid:%u", READ_ONCE(vhx_vsock_from_vq(vq)->guest_cid));
}

static void vhx_vsock_backend_stats(struct vhx_vq *vq,
				    struct vhx_queue_stats *st)
{
	const struct vhx_vsock_stats *s = vhx_vsock_vq_stats(vq);

	st->flags |= VHX_QSTATS_F_VSOCK;
	st->vsock_conns = READ_ONCE(s->conns);
	st->vsock_rsts = READ_ONCE(s->rsts);
	st->vsock_credit_requests = READ_ONCE(s->credit_requests);
	st->vsock_g2g = READ_ONCE(s->g2g);
	st->vsock_drops = READ_ONCE(s->drops);
}

static const struct vhx_dev_ops vhx_vsock_ops = {
	.kind = "vsock",
	.vq_name = vhx_vsock_vq_name,
	.show_backend = vhx_vsock_show_backend,
	.backend_stats = vhx_vsock_backend_stats,
};

static int vhx_vsock_open(struct inode *inode, struct file *f)
{
	struct vhx_vsock *vs;
	int i;

	vs = kvzalloc(sizeof(*vs), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!vs)
		return -ENOMEM;
	vs->vqs[VHX_VSOCK_VQ_RX].vq.handle_kick = vhx_vsock_rx_kick;
	vs->vqs[VHX_VSOCK_VQ_TX].vq.handle_kick = vhx_vsock_tx_kick;
	for (i = 0; i < VHX_VSOCK_VQ_MAX; i++)
		vs->vqp[i] = &vs->vqs[i].vq;
	vhx_dev_init(&vs->dev, vs->vqp, VHX_VSOCK_VQ_MAX, UIO_MAXIOV,
		     VHX_VSOCK_PKT_WEIGHT, VHX_VSOCK_WEIGHT, &vhx_vsock_ops);
	skb_queue_head_init(&vs->send_queue);
	skb_queue_head_init(&vs->relay_queue);
	vhx_work_init(&vs->send_work, vhx_vsock_send_work);
	/* The namespace of its CID (vsock_cid.c), as mainline since 7.0. */
	vs->net = get_net(current->nsproxy->net_ns);
	f->private_data = vs;
	return 0;
}

/* Attach (@running) or detach every queue; caller holds dev.mutex. */
static int vhx_vsock_set_running(struct vhx_vsock *vs, bool running)
{
	int i, r = 0;

	lockdep_assert_held(&vs->dev.mutex);
	for (i = 0; i < VHX_VSOCK_VQ_MAX; i++) {
		struct vhx_vq *vq = &vs->vqs[i].vq;

		mutex_lock(&vq->mutex);
		if (!running) {
			vhx_vq_set_backend(vq, NULL);
		} else if (!vhx_vq_access_ok(vq)) {
			r = -EFAULT;
		} else if (!vhx_vq_get_backend(vq)) {
			vhx_vq_set_backend(vq, vs);
			r = vhx_vq_init_access(vq);
		}
		mutex_unlock(&vq->mutex);
		if (r) {
			vhx_vsock_set_running(vs, false);
			return r;
		}
	}
	if (running) {
		WRITE_ONCE(vs->started, true);
		/* Packets queued while stopped, and any the guest sent. */
		vhx_vq_work_queue(&vs->vqs[VHX_VSOCK_VQ_RX].vq, &vs->send_work);
		vhx_poll_queue(&vs->vqs[VHX_VSOCK_VQ_TX].vq.poll);
	}
	return 0;
}

static long vhx_vsock_running_ioctl(struct vhx_vsock *vs, int __user *argp)
{
	int start;
	long r;

	if (get_user(start, argp))
		return -EFAULT;
	mutex_lock(&vs->dev.mutex);
	r = vhx_dev_check_owner(&vs->dev);
	if (!r)
		r = vhx_vsock_set_running(vs, start);
	mutex_unlock(&vs->dev.mutex);
	return r;
}

static long vhx_vsock_cid_ioctl(struct vhx_vsock *vs, u64 __user *argp)
{
	u64 cid;
	long r;

	if (copy_from_user(&cid, argp, sizeof(cid)))
		return -EFAULT;
	/* As mainline: a CID may be set before SET_OWNER. */
	mutex_lock(&vs->dev.mutex);
	r = vhx_vsock_set_cid(vs, cid);
	mutex_unlock(&vs->dev.mutex);
	return r;
}

static long vhx_vsock_set_features(struct vhx_dev *dev, u64 features)
{
	struct vhx_vsock *vs = container_of(dev, struct vhx_vsock, dev);
	int i;

	mutex_lock(&dev->mutex);
	if (((features & BIT_ULL(VHOST_F_LOG_ALL)) &&
	     !vhx_log_access_ok(dev)) ||
	    ((features & BIT_ULL(VIRTIO_F_ACCESS_PLATFORM)) &&
	     vhx_init_device_iotlb(dev))) {
		mutex_unlock(&dev->mutex);
		return -EFAULT;
	}
	WRITE_ONCE(vs->seqpacket,
		   !!(features & BIT_ULL(VIRTIO_VSOCK_F_SEQPACKET)));
	for (i = 0; i < VHX_VSOCK_VQ_MAX; i++) {
		mutex_lock(&vs->vqs[i].vq.mutex);
		vs->vqs[i].vq.acked_features = features;
		mutex_unlock(&vs->vqs[i].vq.mutex);
	}
	mutex_unlock(&dev->mutex);
	return 0;
}

static int vhx_vsock_release(struct inode *inode, struct file *f)
{
	struct vhx_vsock *vs = f->private_data;

	mutex_lock(&vs->dev.mutex);
	vhx_vsock_set_running(vs, false);
	mutex_unlock(&vs->dev.mutex);
	vhx_dev_flush(&vs->dev);
	/* Then nobody finds it: no host socket, no sibling queues to it. */
	vhx_vsock_cid_release(vs);
	/* Host sockets connected to its CID get ECONNRESET. */
	vhx_vsock_reset_orphans();
	vhx_dev_stop(&vs->dev);
	vhx_vsock_purge(vs);
	vhx_dev_cleanup(&vs->dev);
	put_net(vs->net);
	kvfree(vs);
	return 0;
}

static long vhx_vsock_ioctl(struct file *f, unsigned int ioctl,
			    unsigned long arg)
{
	struct vhx_vsock *vs = f->private_data;
	void __user *argp = (void __user *)arg;
	long r;

	switch (ioctl) {
	case VHOST_VSOCK_SET_GUEST_CID:
		return vhx_vsock_cid_ioctl(vs, argp);
	case VHOST_VSOCK_SET_RUNNING:
		return vhx_vsock_running_ioctl(vs, argp);
	default:
		r = vhx_features_ioctl(&vs->dev, ioctl, argp,
				       VHX_VSOCK_FEATURES,
				       VHX_VSOCK_BACKEND_FEATURES,
				       vhx_vsock_set_features);
		if (r != -ENOIOCTLCMD)
			return r;
		return vhx_dev_vring_ioctl(&vs->dev, ioctl, argp);
	}
}

static ssize_t vhx_vsock_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct vhx_vsock *vs = iocb->ki_filp->private_data;

	return vhx_chr_read_iter(&vs->dev, to,
				 iocb->ki_filp->f_flags & O_NONBLOCK);
}

static ssize_t vhx_vsock_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	struct vhx_vsock *vs = iocb->ki_filp->private_data;

	return vhx_chr_write_iter(&vs->dev, from);
}

static __poll_t vhx_vsock_poll(struct file *file, poll_table *wait)
{
	struct vhx_vsock *vs = file->private_data;

	return vhx_chr_poll(file, &vs->dev, wait);
}

static const struct file_operations vhx_vsock_fops = {
	.owner		= THIS_MODULE,
	.open		= vhx_vsock_open,
	.release	= vhx_vsock_release,
	.read_iter	= vhx_vsock_read_iter,
	.write_iter	= vhx_vsock_write_iter,
	.poll		= vhx_vsock_poll,
	.unlocked_ioctl	= vhx_vsock_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice vhx_vsock_misc = {
	.minor = VHOST_VSOCK_MINOR,
	.name = "vhost-vsock",
	.fops = &vhx_vsock_fops,
};

static int __init vhx_vsock_init(void)
{
	int r;

	r = vhx_misc_devname(&vhx_vsock_misc, devname);
	if (r)
		return r;
	r = vhx_vsock_transport_register();
	if (r == -EBUSY) {
		pr_err("the host-to-guest vsock transport is taken, probably by the in-tree vhost_vsock: unload it first\n");
		return r;
	}
	if (r) {
		pr_err("cannot register the host-to-guest vsock transport: %d\n",
		       r);
		return r;
	}
	r = misc_register(&vhx_vsock_misc);
	if (r) {
		if (r == -EBUSY && !devname)
			pr_err("misc minor %d (/dev/vhost-vsock) is taken: load vhx_vsock with devname=NAME\n",
			       VHOST_VSOCK_MINOR);
		else
			pr_err("cannot register /dev/%s: %d\n",
			       vhx_vsock_misc.name, r);
		vhx_vsock_transport_unregister();
		return r;
	}
	pr_info("/dev/%s ready (%s)\n", vhx_vsock_misc.name, VHX_VERSION);
	return 0;
}

static void __exit vhx_vsock_exit(void)
{
	misc_deregister(&vhx_vsock_misc);
	vhx_vsock_transport_unregister();
}

module_init(vhx_vsock_init);
module_exit(vhx_vsock_exit);
MODULE_VERSION(VHX_VERSION);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhx developers");
MODULE_DESCRIPTION("vhx: host kernel accelerator for virtio vsock");
MODULE_ALIAS_MISCDEV(VHOST_VSOCK_MINOR);
MODULE_ALIAS("devname:vhost-vsock");
