// SPDX-License-Identifier: GPL-2.0
/* vhx_net RX: backend socket -> guest buffers, mergeable or not. */

#include <linux/if_tun.h>
#include <linux/if_vlan.h>
#include <linux/net.h>
#include <linux/skb_array.h>
#include <linux/uaccess.h>
#include <linux/virtio_net.h>
#include <net/sock.h>
#include <net/xdp.h>

#include "net.h"

static bool vhx_net_buf_empty(struct vhx_net_buf *rxq)
{
	return rxq->tail == rxq->head;
}

static void *vhx_net_buf_consume(struct vhx_net_buf *rxq)
{
	return rxq->queue[rxq->head++];
}

/* Refill the private batch from the tap's ring. */
static int vhx_net_buf_produce(struct vhx_net_vq *nvq)
{
	struct vhx_net_buf *rxq = &nvq->rxq;

	rxq->head = 0;
	rxq->tail = ptr_ring_consume_batched(nvq->rx_ring, rxq->queue,
					     VHX_NET_BATCH);
	return rxq->tail;
}

/* Give unconsumed pointers back to the tap (backend change, release). */
void vhx_net_buf_unproduce(struct vhx_net_vq *nvq)
{
	struct vhx_net_buf *rxq = &nvq->rxq;

	if (nvq->rx_ring && !vhx_net_buf_empty(rxq)) {
		ptr_ring_unconsume(nvq->rx_ring, rxq->queue + rxq->head,
				   rxq->tail - rxq->head, tun_ptr_free);
		rxq->head = 0;
		rxq->tail = 0;
	}
}

static int vhx_net_ptr_len(void *ptr)
{
	if (tun_is_xdp_frame(ptr)) {
		struct xdp_frame *xdpf = tun_ptr_to_xdp(ptr);

		return xdpf->len;
	}
	return __skb_array_len_with_tag(ptr);
}

/* Length of the next packet, 0 if none. */
static int vhx_peek_head_len(struct vhx_net_vq *nvq, struct sock *sk)
{
	struct sk_buff *head;
	unsigned long flags;
	int len = 0;

	if (nvq->rx_ring) {
		if (vhx_net_buf_empty(&nvq->rxq) && !vhx_net_buf_produce(nvq))
			return 0;
		return vhx_net_ptr_len(nvq->rxq.queue[nvq->rxq.head]);
	}
	spin_lock_irqsave(&sk->sk_receive_queue.lock, flags);
	head = skb_peek(&sk->sk_receive_queue);
	if (likely(head)) {
		len = head->len;
		if (skb_vlan_tag_present(head))
			len += VLAN_HLEN;
	}
	spin_unlock_irqrestore(&sk->sk_receive_queue.lock, flags);
	return len;
}

/* Busy-poll predicate: the backend has a packet for the guest. */
static bool vhx_rx_ready(struct vhx_vq *vq)
{
	struct vhx_net_vq *nvq = container_of(vq, struct vhx_net_vq, vq);
	struct socket *sock = vhx_vq_get_backend(vq);

	if (nvq->rx_ring)
		return !ptr_ring_empty(nvq->rx_ring);
	return !skb_queue_empty_lockless(&sock->sk->sk_receive_queue);
}

/*
 * Gather chains until @datalen bytes fit (at most @quota chains).  Returns
 * the number of chains, 0 if the guest has too few buffers, UIO_MAXIOV + 1
 * if the packet cannot fit (the caller drops it), or a negative errno.
 */
static int vhx_get_rx_bufs(struct vhx_vq *vq, struct vring_used_elem *heads,
			   int datalen, unsigned int *iovcount,
			   struct vhx_log *log, unsigned int *log_num,
			   unsigned int quota)
{
	unsigned int out, in, seg = 0, nlogs = 0, headcount = 0;
	int iov_size = vq->dev->iov_limit;
	size_t len = 0;
	int r;

	while (datalen > 0 && headcount < quota) {
		if (unlikely(seg >= UIO_MAXIOV)) {
			r = -ENOBUFS;
			goto err;
		}
		/*
		 * log entries never outnumber in-iovecs, and log + nlogs
		 * never passes iov + seg: the log array cannot overflow
		 * (CVE-2019-14835).
		 */
		r = vhx_get_vq_desc(vq, vq->iov + seg, iov_size - seg, &out,
				    &in, log, log_num);
		if (unlikely(r < 0))
			goto err;
		if (r == vq->num) {
			r = 0;
			goto err;
		}
		if (unlikely(out || !in)) {
			vhx_vq_err(vq, "unexpected descriptor format for RX: out %u, in %u\n",
				   out, in);
			r = -EINVAL;
			goto err;
		}
		if (unlikely(log)) {
			nlogs += *log_num;
			log += *log_num;
		}
		len = iov_length(vq->iov + seg, in);
		heads[headcount].id = (__force __virtio32)cpu_to_le32(r);
		heads[headcount].len = (__force __virtio32)cpu_to_le32(len);
		datalen -= min_t(size_t, len, INT_MAX);
		++headcount;
		seg += in;
	}
	heads[headcount - 1].len =
		(__force __virtio32)cpu_to_le32(len + datalen);
	*iovcount = seg;
	if (unlikely(log))
		*log_num = nlogs;
	/* Detect overrun */
	if (unlikely(datalen > 0)) {
		r = UIO_MAXIOV + 1;
		goto err;
	}
	return headcount;
err:
	vhx_discard_vq_desc(vq, headcount);
	return r;
}

void vhx_net_handle_rx(struct vhx_net *n)
{
	struct vhx_net_vq *nvq = &n->vqs[VHX_NET_VQ_RX];
	struct vhx_vq *vq = &nvq->vq;
	struct virtio_net_hdr hdr = {
		.flags = 0,
		.gso_type = VIRTIO_NET_HDR_GSO_NONE,
	};
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT,
	};
	unsigned int in, log_num = 0;
	size_t total_len = 0, vhost_hlen, sock_hlen, vhost_len, sock_len;
	bool mergeable, set_num_buffers;
	int err, headcount, recv_pkts = 0;
	struct vhx_log *vq_log;
	struct vhx_run run = { .on = false };
	struct iov_iter fixup;
	struct socket *sock;

	mutex_lock_nested(&vq->mutex, VHX_NET_VQ_RX);
	sock = vhx_vq_get_backend(vq);
	if (!sock || vq->broken)
		goto out;
	vhx_run_start(vq, &run);
	vhx_disable_notify(vq);
	vhx_net_disable_vq(n, vq);

	vhost_hlen = nvq->vhost_hlen;
	sock_hlen = nvq->sock_hlen;
	vq_log = vhx_has_feature(vq, VHOST_F_LOG_ALL) ? vq->log : NULL;
	mergeable = vhx_has_feature(vq, VIRTIO_NET_F_MRG_RXBUF);
	set_num_buffers = mergeable || vhx_has_feature(vq, VIRTIO_F_VERSION_1);

	do {
		sock_len = vhx_peek_head_len(nvq, sock->sk);
		if (!sock_len && vq->busyloop_timeout && !nvq->done_idx &&
		    vhx_vq_busy_poll(vq, vhx_rx_ready))
			sock_len = vhx_peek_head_len(nvq, sock->sk);
		if (!sock_len)
			break;
		sock_len += sock_hlen;
		vhost_len = sock_len + vhost_hlen;
		headcount = vhx_get_rx_bufs(vq, vq->heads + nvq->done_idx,
					    vhost_len, &in, vq_log, &log_num,
					    mergeable ? UIO_MAXIOV : 1);
		/* On error (or an IOTLB miss), stop handling until the next
		 * kick.
		 */
		if (unlikely(headcount < 0))
			goto out;
		/* OK, now we need to know about added descriptors. */
		if (!headcount) {
			if (unlikely(vhx_enable_notify(vq))) {
				/* They have slipped one in: try again. */
				vhx_disable_notify(vq);
				continue;
			}
			/* Nothing new?  Wait for the guest to add buffers. */
			goto out;
		}
		if (nvq->rx_ring)
			msg.msg_control = vhx_net_buf_consume(&nvq->rxq);
		/* On overrun, truncate and discard. */
		if (unlikely(headcount > UIO_MAXIOV)) {
			iov_iter_init(&msg.msg_iter, ITER_DEST, vq->iov, 1, 1);
			err = sock->ops->recvmsg(sock, &msg, 1,
						 MSG_DONTWAIT | MSG_TRUNC);
			pr_debug("discarded rx packet: len %zu\n", sock_len);
			continue;
		}
		iov_iter_init(&msg.msg_iter, ITER_DEST, vq->iov, in, vhost_len);
		fixup = msg.msg_iter;
		/* Leave room for the header vhx writes itself. */
		if (unlikely(vhost_hlen))
			iov_iter_advance(&msg.msg_iter, vhost_hlen);
		err = sock->ops->recvmsg(sock, &msg, sock_len,
					 MSG_DONTWAIT | MSG_TRUNC);
		/* Userspace might have consumed the packet meanwhile: it's
		 * not supposed to do this usually, but might be hard to
		 * prevent.  Discard the data we got (if any) and keep going.
		 */
		if (unlikely(err != sock_len)) {
			pr_debug("discarded rx packet: len %d, expected %zu\n",
				 err, sock_len);
			vhx_discard_vq_desc(vq, headcount);
			continue;
		}
		if (unlikely(vhost_hlen)) {
			if (copy_to_iter(&hdr, sizeof(hdr), &fixup) !=
			    sizeof(hdr)) {
				vhx_vq_err(vq, "unable to write vnet_hdr\n");
				goto out;
			}
		}
		if (likely(set_num_buffers) &&
		    vhx_net_rx_put_num_buffers(vq->iov, &fixup, vhost_hlen,
					       headcount)) {
			vhx_vq_err(vq, "failed num_buffers write\n");
			vhx_discard_vq_desc(vq, headcount);
			goto out;
		}
		nvq->done_idx += headcount;
		if (nvq->done_idx > VHX_NET_BATCH)
			vhx_net_signal_used(nvq);
		if (unlikely(vq_log))
			vhx_log_write(vq, vq_log, log_num, vhost_len, vq->iov,
				      in);
		total_len += vhost_len;
		vq->stats.packets++;
		vq->stats.bytes += sock_len - sock_hlen;
	} while (likely(!vhx_exceeds_weight(vq, ++recv_pkts, total_len)));

	if (!sock_len)
		vhx_net_enable_vq(n, vq);
out:
	vhx_net_signal_used(nvq);
	vhx_run_end(vq, &run);
	mutex_unlock(&vq->mutex);
}

void vhx_net_handle_rx_kick(struct vhx_work *work)
{
	struct vhx_vq *vq = container_of(work, struct vhx_vq, poll.work);

	vq->stats.kicks++;
	vhx_net_handle_rx(vhx_net_from_vq(vq));
}

void vhx_net_handle_rx_net(struct vhx_work *work)
{
	struct vhx_net *n = container_of(work, struct vhx_net,
					 poll[VHX_NET_VQ_RX].work);

	vhx_net_handle_rx(n);
}
