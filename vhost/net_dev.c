// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_net: /dev/vhost-net, a drop-in for the in-tree vhost_net.
 *
 * One fd serves one virtio-net queue pair (RX = vq 0, TX = vq 1) against a
 * tun/tap, macvtap/ipvtap or AF_PACKET raw socket backend.
 *
 * Locking: n->dev.mutex for every control-plane ioctl, then vq->mutex.
 */

#include <linux/compat.h>
#include <linux/file.h>
#include <linux/if_packet.h>
#include <linux/if_tap.h>
#include <linux/if_tun.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/net.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/virtio_net.h>
#include <net/sock.h>

#include "dev.h"
#include "iotlb.h"
#include "net.h"
#include "vring.h"

static char *devname;
module_param(devname, charp, 0444);
MODULE_PARM_DESC(devname,
		 "Register /dev/NAME on a dynamic minor instead of /dev/vhost-net on minor 238 (default: unset)");

#define VHX_NET_FEATURES (VHX_FEATURES | \
			  BIT_ULL(VHOST_NET_F_VIRTIO_NET_HDR) | \
			  BIT_ULL(VIRTIO_NET_F_MRG_RXBUF) | \
			  BIT_ULL(VIRTIO_F_ACCESS_PLATFORM) | \
			  BIT_ULL(VIRTIO_F_RING_RESET))
#define VHX_NET_BACKEND_FEATURES BIT_ULL(VHOST_BACKEND_F_IOTLB_MSG_V2)

static const char *vhx_net_vq_name(int idx)
{
	return idx == VHX_NET_VQ_RX ? "rx" : "tx";
}

/*
 * Name the backend for the counters: the tap's interface name as its own
 * fdinfo reports it ("iff:\tNAME"), else the socket family.
 */
static void vhx_net_show_backend(struct seq_file *m, struct vhx_vq *vq)
{
	struct socket *sock = vhx_vq_get_backend(vq);
	struct file *file = sock->file;
	char buf[64] = "";
	struct seq_file tmp = {
		.buf = buf,
		.size = sizeof(buf) - 1,
	};
	char *name, *end;

	if (sock->sk->sk_family == AF_PACKET) {
		seq_puts(m, "packet");
		return;
	}
	if (file && file->f_op->show_fdinfo)
		file->f_op->show_fdinfo(&tmp, file);
	name = strstr(buf, "iff:\t");
	if (!name) {
		seq_puts(m, "tap");
		return;
	}
	name += 5;
	end = strchr(name, '\n');
	if (end)
		*end = '\0';
	seq_puts(m, name);
}

static const struct vhx_dev_ops vhx_net_ops = {
	.kind = "net",
	.vq_name = vhx_net_vq_name,
	.show_backend = vhx_net_show_backend,
};

static int vhx_net_open(struct inode *inode, struct file *f)
{
	struct vhx_net *n;
	void **queue;
	int i;

	n = kvzalloc(sizeof(*n), GFP_KERNEL_ACCOUNT | __GFP_RETRY_MAYFAIL);
	if (!n)
		return -ENOMEM;
	queue = kmalloc_array(VHX_NET_BATCH, sizeof(void *),
			      GFP_KERNEL_ACCOUNT);
	if (!queue) {
		kvfree(n);
		return -ENOMEM;
	}
	n->vqs[VHX_NET_VQ_RX].rxq.queue = queue;
	n->vqs[VHX_NET_VQ_TX].xdp = kmalloc_array(VHX_NET_BATCH,
						  sizeof(struct xdp_buff),
						  GFP_KERNEL_ACCOUNT);
	if (!n->vqs[VHX_NET_VQ_TX].xdp) {
		kfree(queue);
		kvfree(n);
		return -ENOMEM;
	}
	n->vqs[VHX_NET_VQ_TX].vq.handle_kick = vhx_net_handle_tx_kick;
	n->vqs[VHX_NET_VQ_RX].vq.handle_kick = vhx_net_handle_rx_kick;
	for (i = 0; i < VHX_NET_VQ_MAX; i++)
		n->vqp[i] = &n->vqs[i].vq;
	vhx_dev_init(&n->dev, n->vqp, VHX_NET_VQ_MAX,
		     UIO_MAXIOV + VHX_NET_BATCH, VHX_NET_PKT_WEIGHT,
		     VHX_NET_WEIGHT, &vhx_net_ops);
	vhx_poll_init(&n->poll[VHX_NET_VQ_TX], vhx_net_handle_tx_net,
		      EPOLLOUT, &n->dev);
	vhx_poll_init(&n->poll[VHX_NET_VQ_RX], vhx_net_handle_rx_net,
		      EPOLLIN, &n->dev);
	f->private_data = n;
	return 0;
}

/* Detach the backend of one vq; returns it for the caller to put. */
static struct socket *vhx_net_stop_vq(struct vhx_net *n, struct vhx_vq *vq)
{
	struct vhx_net_vq *nvq = container_of(vq, struct vhx_net_vq, vq);
	struct socket *sock;

	mutex_lock(&vq->mutex);
	sock = vhx_vq_get_backend(vq);
	vhx_net_disable_vq(n, vq);
	vhx_vq_set_backend(vq, NULL);
	vhx_net_buf_unproduce(nvq);
	nvq->rx_ring = NULL;
	mutex_unlock(&vq->mutex);
	return sock;
}

static void vhx_net_stop(struct vhx_net *n, struct socket **tx,
			 struct socket **rx)
{
	*tx = vhx_net_stop_vq(n, &n->vqs[VHX_NET_VQ_TX].vq);
	*rx = vhx_net_stop_vq(n, &n->vqs[VHX_NET_VQ_RX].vq);
}

static void vhx_net_vq_reset(struct vhx_net *n)
{
	int i;

	for (i = 0; i < VHX_NET_VQ_MAX; i++) {
		n->vqs[i].done_idx = 0;
		n->vqs[i].vhost_hlen = 0;
		n->vqs[i].sock_hlen = 0;
		n->vqs[i].rxq.head = 0;
		n->vqs[i].rxq.tail = 0;
	}
}

static int vhx_net_release(struct inode *inode, struct file *f)
{
	struct vhx_net *n = f->private_data;
	struct socket *tx_sock, *rx_sock;

	vhx_net_stop(n, &tx_sock, &rx_sock);
	vhx_dev_flush(&n->dev);
	vhx_dev_stop(&n->dev);
	vhx_dev_cleanup(&n->dev);
	vhx_net_vq_reset(n);
	if (tx_sock)
		sockfd_put(tx_sock);
	if (rx_sock)
		sockfd_put(rx_sock);
	/* Make sure no wakeup callbacks are outstanding. */
	synchronize_rcu();
	vhx_frag_pool_drain(&n->frags);
	kfree(n->vqs[VHX_NET_VQ_TX].xdp);
	kfree(n->vqs[VHX_NET_VQ_RX].rxq.queue);
	kvfree(n);
	return 0;
}

static struct socket *vhx_get_raw_socket(int fd)
{
	struct socket *sock;
	int r;

	sock = sockfd_lookup(fd, &r);
	if (!sock)
		return ERR_PTR(-ENOTSOCK);
	/* Parameter checking */
	if (sock->sk->sk_type != SOCK_RAW) {
		r = -ESOCKTNOSUPPORT;
		goto err;
	}
	if (sock->sk->sk_family != AF_PACKET) {
		r = -EPFNOSUPPORT;
		goto err;
	}
	return sock;
err:
	sockfd_put(sock);
	return ERR_PTR(r);
}

static struct ptr_ring *vhx_get_tap_ptr_ring(struct file *file)
{
	struct ptr_ring *ring;

	ring = tun_get_tx_ring(file);
	if (!IS_ERR(ring))
		return ring;
	ring = tap_get_ptr_ring(file);
	if (!IS_ERR(ring))
		return ring;
	return NULL;
}

static bool vhx_is_tap_socket(struct socket *sock)
{
	return !IS_ERR(tun_get_socket(sock->file)) ||
	       !IS_ERR(tap_get_socket(sock->file));
}

static struct socket *vhx_get_tap_socket(int fd)
{
	struct file *file = fget(fd);
	struct socket *sock;

	if (!file)
		return ERR_PTR(-EBADF);
	sock = tun_get_socket(file);
	if (!IS_ERR(sock))
		return sock;
	sock = tap_get_socket(file);
	if (IS_ERR(sock))
		fput(file);
	return sock;
}

/*
 * Only AF_PACKET raw sockets and tun/tap/macvtap/ipvtap files are backends
 * (anything else is refused: CVE-2020-10942 class).
 */
static struct socket *vhx_get_socket(int fd)
{
	struct socket *sock;

	/* special case to disable backend */
	if (fd == -1)
		return NULL;
	sock = vhx_get_raw_socket(fd);
	if (!IS_ERR(sock))
		return sock;
	sock = vhx_get_tap_socket(fd);
	if (!IS_ERR(sock))
		return sock;
	return ERR_PTR(-ENOTSOCK);
}

static long vhx_net_set_backend(struct vhx_net *n, unsigned int index,
				int fd)
{
	struct socket *sock, *oldsock;
	struct vhx_net_vq *nvq;
	struct vhx_vq *vq;
	long r;

	mutex_lock(&n->dev.mutex);
	r = vhx_dev_check_owner(&n->dev);
	if (r)
		goto err;
	if (index >= VHX_NET_VQ_MAX) {
		r = -ENOBUFS;
		goto err;
	}
	vq = &n->vqs[index].vq;
	nvq = &n->vqs[index];
	mutex_lock(&vq->mutex);

	if (fd == -1)
		vhx_clear_msg(&n->dev);

	/* Verify that ring has been setup correctly. */
	if (!vhx_vq_access_ok(vq)) {
		r = -EFAULT;
		goto err_vq;
	}
	sock = vhx_get_socket(fd);
	if (IS_ERR(sock)) {
		r = PTR_ERR(sock);
		goto err_vq;
	}

	/* start polling new socket */
	oldsock = vhx_vq_get_backend(vq);
	if (sock != oldsock) {
		vhx_net_disable_vq(n, vq);
		vhx_vq_set_backend(vq, sock);
		vhx_net_buf_unproduce(nvq);
		r = vhx_vq_init_access(vq);
		if (r)
			goto err_used;
		r = vhx_net_enable_vq(n, vq);
		if (r)
			goto err_used;
		if (index == VHX_NET_VQ_RX)
			nvq->rx_ring = sock ?
				vhx_get_tap_ptr_ring(sock->file) : NULL;
		nvq->done_idx = 0;
		nvq->batched_xdp = 0;
		nvq->tap_backend = sock && vhx_is_tap_socket(sock);
	}
	mutex_unlock(&vq->mutex);

	if (oldsock) {
		vhx_dev_flush(&n->dev);
		sockfd_put(oldsock);
	}
	mutex_unlock(&n->dev.mutex);
	return 0;

err_used:
	vhx_vq_set_backend(vq, oldsock);
	vhx_vq_init_access(vq);
	if (oldsock)
		vhx_net_enable_vq(n, vq);
	if (sock)
		sockfd_put(sock);
err_vq:
	mutex_unlock(&vq->mutex);
err:
	mutex_unlock(&n->dev.mutex);
	return r;
}

static long vhx_net_reset_owner(struct vhx_net *n)
{
	struct socket *tx_sock = NULL, *rx_sock = NULL;
	struct vhx_maps *umem;
	long err;

	mutex_lock(&n->dev.mutex);
	err = vhx_dev_check_owner(&n->dev);
	if (err)
		goto done;
	umem = vhx_dev_reset_owner_prepare();
	if (!umem) {
		err = -ENOMEM;
		goto done;
	}
	vhx_net_stop(n, &tx_sock, &rx_sock);
	vhx_dev_flush(&n->dev);
	vhx_dev_stop(&n->dev);
	vhx_dev_reset_owner(&n->dev, umem);
	vhx_net_vq_reset(n);
done:
	mutex_unlock(&n->dev.mutex);
	if (tx_sock)
		sockfd_put(tx_sock);
	if (rx_sock)
		sockfd_put(rx_sock);
	return err;
}

static long vhx_net_set_features(struct vhx_net *n, u64 features)
{
	size_t vhost_hlen, sock_hlen, hdr_len;
	int i;

	hdr_len = (features & ((1ULL << VIRTIO_NET_F_MRG_RXBUF) |
			       (1ULL << VIRTIO_F_VERSION_1))) ?
			sizeof(struct virtio_net_hdr_mrg_rxbuf) :
			sizeof(struct virtio_net_hdr);
	if (features & (1ULL << VHOST_NET_F_VIRTIO_NET_HDR)) {
		/* vhx does the header */
		vhost_hlen = hdr_len;
		sock_hlen = 0;
	} else {
		/* the socket does the header */
		vhost_hlen = 0;
		sock_hlen = hdr_len;
	}
	mutex_lock(&n->dev.mutex);
	if ((features & (1ULL << VHOST_F_LOG_ALL)) &&
	    !vhx_log_access_ok(&n->dev))
		goto out_unlock;
	if ((features & (1ULL << VIRTIO_F_ACCESS_PLATFORM)) &&
	    vhx_init_device_iotlb(&n->dev))
		goto out_unlock;

	for (i = 0; i < VHX_NET_VQ_MAX; i++) {
		mutex_lock(&n->vqs[i].vq.mutex);
		n->vqs[i].vq.acked_features = features;
		n->vqs[i].vhost_hlen = vhost_hlen;
		n->vqs[i].sock_hlen = sock_hlen;
		mutex_unlock(&n->vqs[i].vq.mutex);
	}
	mutex_unlock(&n->dev.mutex);
	return 0;

out_unlock:
	mutex_unlock(&n->dev.mutex);
	return -EFAULT;
}

static long vhx_net_set_owner(struct vhx_net *n)
{
	long r;

	mutex_lock(&n->dev.mutex);
	r = vhx_dev_set_owner(&n->dev);
	mutex_unlock(&n->dev.mutex);
	return r;
}

static long vhx_net_set_features_dev(struct vhx_dev *dev, u64 features)
{
	return vhx_net_set_features(container_of(dev, struct vhx_net, dev),
				    features);
}

static long vhx_net_ioctl(struct file *f, unsigned int ioctl,
			  unsigned long arg)
{
	struct vhx_net *n = f->private_data;
	void __user *argp = (void __user *)arg;
	struct vhost_vring_file backend;
	long r;

	switch (ioctl) {
	case VHOST_NET_SET_BACKEND:
		if (copy_from_user(&backend, argp, sizeof(backend)))
			return -EFAULT;
		return vhx_net_set_backend(n, backend.index, backend.fd);
	case VHOST_RESET_OWNER:
		return vhx_net_reset_owner(n);
	case VHOST_SET_OWNER:
		return vhx_net_set_owner(n);
	default:
		r = vhx_features_ioctl(&n->dev, ioctl, argp, VHX_NET_FEATURES,
				       VHX_NET_BACKEND_FEATURES,
				       vhx_net_set_features_dev);
		if (r != -ENOIOCTLCMD)
			return r;
		return vhx_dev_vring_ioctl(&n->dev, ioctl, argp);
	}
}

static ssize_t vhx_net_chr_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct vhx_net *n = iocb->ki_filp->private_data;

	return vhx_chr_read_iter(&n->dev, to,
				 iocb->ki_filp->f_flags & O_NONBLOCK);
}

static ssize_t vhx_net_chr_write_iter(struct kiocb *iocb,
				      struct iov_iter *from)
{
	struct vhx_net *n = iocb->ki_filp->private_data;

	return vhx_chr_write_iter(&n->dev, from);
}

static __poll_t vhx_net_chr_poll(struct file *file, poll_table *wait)
{
	struct vhx_net *n = file->private_data;

	return vhx_chr_poll(file, &n->dev, wait);
}

static const struct file_operations vhx_net_fops = {
	.owner		= THIS_MODULE,
	.release	= vhx_net_release,
	.read_iter	= vhx_net_chr_read_iter,
	.write_iter	= vhx_net_chr_write_iter,
	.poll		= vhx_net_chr_poll,
	.unlocked_ioctl	= vhx_net_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.open		= vhx_net_open,
	.llseek		= noop_llseek,
};

static struct miscdevice vhx_net_misc = {
	.minor = VHOST_NET_MINOR,
	.name = "vhost-net",
	.fops = &vhx_net_fops,
};

static int __init vhx_net_init(void)
{
	int r;

	r = vhx_misc_devname(&vhx_net_misc, devname);
	if (r)
		return r;
	r = misc_register(&vhx_net_misc);
	if (r == -EBUSY && !devname) {
		pr_err("misc minor %d (/dev/vhost-net) is taken, probably by the in-tree vhost_net: unload it, or load vhx_net with devname=NAME\n",
		       VHOST_NET_MINOR);
		return r;
	}
	if (r) {
		pr_err("cannot register /dev/%s: %d\n", vhx_net_misc.name, r);
		return r;
	}
	pr_info("/dev/%s ready (%s)\n", vhx_net_misc.name, VHX_VERSION);
	return 0;
}

static void __exit vhx_net_exit(void)
{
	misc_deregister(&vhx_net_misc);
}

module_init(vhx_net_init);
module_exit(vhx_net_exit);
MODULE_VERSION(VHX_VERSION);
MODULE_LICENSE("GPL");
MODULE_AUTHOR("vhx developers");
MODULE_DESCRIPTION("vhx: host kernel accelerator for virtio net");
