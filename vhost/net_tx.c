// SPDX-License-Identifier: GPL-2.0
/* vhx_net TX: guest buffers -> backend socket (tap or packet socket). */

#include <linux/net.h>
#include <linux/socket.h>
#include <net/sock.h>

#include "net.h"

/* Take the next TX chain; sets *len to its payload after vhx's header. */
static int vhx_get_tx_bufs(struct vhx_net_vq *nvq, struct msghdr *msg,
			   unsigned int *out, size_t *len)
{
	struct vhx_vq *vq = &nvq->vq;
	unsigned int in;
	size_t total;
	int head;

	head = vhx_get_vq_desc(vq, vq->iov, UIO_MAXIOV, out, &in, NULL, NULL);
	if (head < 0 || head == vq->num)
		return head;
	if (in) {
		vhx_vq_err(vq, "unexpected descriptor format for TX: out %u, in %u\n",
			   *out, in);
		return -EFAULT;
	}
	total = iov_length(vq->iov, *out);
	iov_iter_init(&msg->msg_iter, ITER_SOURCE, vq->iov, *out, total);
	iov_iter_advance(&msg->msg_iter, nvq->vhost_hlen);
	*len = iov_iter_count(&msg->msg_iter);
	if (!*len) {
		vhx_vq_err(vq, "unexpected header len for TX: %zu expected %zu\n",
			   total, nvq->vhost_hlen);
		return -EFAULT;
	}
	return head;
}

/* More to send and still inside the weight: tell the tap to batch. */
static bool vhx_tx_can_batch(struct vhx_vq *vq, size_t total_len)
{
	return total_len < VHX_NET_WEIGHT && !vhx_vq_avail_empty(vq);
}

static void vhx_handle_tx_copy(struct vhx_net *n, struct socket *sock)
{
	struct vhx_net_vq *nvq = &n->vqs[VHX_NET_VQ_TX];
	struct vhx_vq *vq = &nvq->vq;
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT,
	};
	size_t len, total_len = 0;
	int err, head, sent_pkts = 0;
	unsigned int out;

	do {
		head = vhx_get_tx_bufs(nvq, &msg, &out, &len);
		if (head < 0)
			break;
		if (head == vq->num) {
			/* Ring empty: ask for kicks, and recheck once. */
			if (unlikely(vhx_enable_notify(vq))) {
				vhx_disable_notify(vq);
				continue;
			}
			break;
		}
		total_len += len;
		if (vhx_tx_can_batch(vq, total_len))
			msg.msg_flags |= MSG_MORE;
		else
			msg.msg_flags &= ~MSG_MORE;

		err = sock->ops->sendmsg(sock, &msg, len);
		if (unlikely(err < 0)) {
			if (err == -EAGAIN || err == -ENOMEM || err == -ENOBUFS) {
				/* Backend full: retry when it has room. */
				vhx_discard_vq_desc(vq, 1);
				vhx_net_enable_vq(n, vq);
				break;
			}
			pr_debug("TX packet dropped: err %d\n", err);
		} else {
			if (unlikely(err != len))
				pr_debug("truncated TX packet: %d != %zu\n",
					 err, len);
			vq->stats.packets++;
			vq->stats.bytes += len;
		}
		vq->heads[nvq->done_idx].id = (__force __virtio32)cpu_to_le32(head);
		vq->heads[nvq->done_idx].len = 0;
		if (++nvq->done_idx >= VHX_NET_BATCH)
			vhx_net_signal_used(nvq);
	} while (likely(!vhx_exceeds_weight(vq, ++sent_pkts, total_len)));

	vhx_net_signal_used(nvq);
}

/* Expects to be always run from the worker, which owns the mm. */
void vhx_net_handle_tx(struct vhx_net *n)
{
	struct vhx_vq *vq = &n->vqs[VHX_NET_VQ_TX].vq;
	struct socket *sock;

	mutex_lock_nested(&vq->mutex, VHX_NET_VQ_TX);
	sock = vhx_vq_get_backend(vq);
	if (!sock || vq->broken)
		goto out;
	vq->stats.runs++;
	vhx_disable_notify(vq);
	vhx_net_disable_vq(n, vq);
	vhx_handle_tx_copy(n, sock);
out:
	mutex_unlock(&vq->mutex);
}

void vhx_net_handle_tx_kick(struct vhx_work *work)
{
	struct vhx_vq *vq = container_of(work, struct vhx_vq, poll.work);

	vq->stats.kicks++;
	vhx_net_handle_tx(vhx_net_from_vq(vq));
}

void vhx_net_handle_tx_net(struct vhx_work *work)
{
	struct vhx_net *n = container_of(work, struct vhx_net,
					 poll[VHX_NET_VQ_TX].work);

	vhx_net_handle_tx(n);
}
