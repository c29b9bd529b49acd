// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_net TX: guest buffers -> backend socket (tap or packet socket).
 *
 * With a tun/tap backend whose send buffer is unlimited (QEMU and DPDK set
 * INT_MAX), packets are copied into page fragments laid out as XDP buffers
 * and handed to the tap in batches of up to VHX_NET_BATCH with one sendmsg
 * (TUN_MSG_PTR).  Otherwise each packet is one sendmsg.
 */

#include <linux/if_tun.h>
#include <linux/net.h>
#include <linux/skbuff.h>
#include <linux/socket.h>
#include <linux/virtio_net.h>
#include <net/sock.h>

#include "net.h"

/* Headroom the tap expects in front of a batched packet. */
#define VHX_NET_RX_PAD (NET_IP_ALIGN + NET_SKB_PAD)

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

/*
 * Copy one packet (vnet header from the tap's point of view, then data)
 * into a page fragment laid out as an XDP buffer.  -ENOSPC: it does not
 * fit a page, send it alone.
 */
static int vhx_net_build_xdp(struct vhx_net *n, struct vhx_net_vq *nvq,
			     struct socket *sock, struct iov_iter *from)
{
	struct xdp_buff *xdp = &nvq->xdp[nvq->batched_xdp];
	size_t len = iov_iter_count(from);
	int headroom = sock_flag(sock->sk, SOCK_XDP) ? XDP_PACKET_HEADROOM : 0;
	int sock_hlen = nvq->sock_hlen;
	int pad = SKB_DATA_ALIGN(VHX_NET_RX_PAD + headroom + sock_hlen);
	int buflen = SKB_DATA_ALIGN(sizeof(struct skb_shared_info));
	struct virtio_net_hdr *gso;
	struct page *page;
	unsigned int off;
	void *buf;

	if (unlikely(len < sock_hlen))
		return -EFAULT;
	if (SKB_DATA_ALIGN(len + pad) + buflen > PAGE_SIZE)
		return -ENOSPC;
	buflen += SKB_DATA_ALIGN(len + pad);
	buf = vhx_frag_alloc(&n->frags, buflen, &page, &off);
	if (unlikely(!buf))
		return -ENOMEM;
	memset(buf, 0, VHX_TUN_XDP_HDR_SIZE);
	gso = vhx_tun_xdp_gso(buf);
	/*
	 * One user copy for header and data: the header lands in the pad,
	 * just in front of the data, and moves to the tap's header from
	 * there (kernel to kernel; checked below on that copy only).  The
	 * copy goes through the fragment's page: the bounds are ours (the
	 * fragment holds pad + len, checked above), and copy_from_iter() to
	 * a kernel address would walk the hardened-usercopy object checks
	 * for every packet.
	 */
	if (copy_page_from_iter(page, off + pad - sock_hlen, len, from) != len)
		goto err;
	if (sock_hlen) {
		/*
		 * A 12-byte header runs past the 10-byte field into the pad
		 * (as the tap expects): hide the field from FORTIFY_SOURCE.
		 */
		void *dst = gso;

		OPTIMIZER_HIDE_VAR(dst);
		memcpy(dst, (char *)buf + pad - sock_hlen, sock_hlen);
	}
	if (vhx_net_tx_fixup_hdr(gso, len))
		goto err_inval;
	len -= sock_hlen;
	xdp_init_buff(xdp, buflen, NULL);
	xdp_prepare_buff(xdp, buf, pad, len, true);
	vhx_tun_xdp_set_buflen(buf, buflen);
	nvq->batched_xdp++;
	return 0;
err_inval:
	page_frag_free(buf);
	return -EINVAL;
err:
	page_frag_free(buf);
	return -EFAULT;
}

/* Hand the batch to the tap and publish the used entries. */
static void vhx_tx_batch(struct vhx_net_vq *nvq, struct socket *sock,
			 struct msghdr *msghdr)
{
	struct tun_msg_ctl ctl = {
		.type = TUN_MSG_PTR,
		.num = nvq->batched_xdp,
		.ptr = nvq->xdp,
	};
	int i, err;

	if (nvq->batched_xdp) {
		msghdr->msg_control = &ctl;
		msghdr->msg_controllen = sizeof(ctl);
		err = sock->ops->sendmsg(sock, msghdr, 0);
		msghdr->msg_control = NULL;
		msghdr->msg_controllen = 0;
		if (unlikely(err < 0)) {
			/* The tap took nothing: free the pages, drop them. */
			pr_debug("batched TX of %d packets failed: %d\n",
				 nvq->batched_xdp, err);
			for (i = 0; i < nvq->batched_xdp; i++)
				put_page(virt_to_head_page(nvq->xdp[i].data));
		}
		nvq->batched_xdp = 0;
	}
	vhx_net_signal_used(nvq);
}

static bool vhx_tx_ready(struct vhx_vq *vq)
{
	return !vhx_vq_avail_empty(vq);
}

static void vhx_handle_tx_copy(struct vhx_net *n, struct socket *sock)
{
	struct vhx_net_vq *nvq = &n->vqs[VHX_NET_VQ_TX];
	struct vhx_vq *vq = &nvq->vq;
	struct msghdr msg = {
		.msg_flags = MSG_DONTWAIT,
	};
	bool can_batch = nvq->tap_backend && sock->sk->sk_sndbuf == INT_MAX;
	size_t len, total_len = 0;
	int err, head, sent_pkts = 0;
	unsigned int out;

	do {
		if (nvq->done_idx == VHX_NET_BATCH)
			vhx_tx_batch(nvq, sock, &msg);
		head = vhx_get_tx_bufs(nvq, &msg, &out, &len);
		if (head < 0)
			break;
		if (head == vq->num) {
			/* Ring empty: poll a little if asked to. */
			if (vq->busyloop_timeout && !nvq->done_idx &&
			    vhx_vq_busy_poll(vq, vhx_tx_ready))
				continue;
			/* Ask for kicks, and recheck once. */
			if (unlikely(vhx_enable_notify(vq))) {
				vhx_disable_notify(vq);
				continue;
			}
			break;
		}
		total_len += len;

		if (can_batch) {
			err = vhx_net_build_xdp(n, nvq, sock, &msg.msg_iter);
			if (!err)
				goto done;
			if (unlikely(err != -ENOSPC)) {
				vhx_tx_batch(nvq, sock, &msg);
				if (err == -ENOMEM) {
					vhx_discard_vq_desc(vq, 1);
					vhx_net_enable_vq(n, vq);
					break;
				}
				/* Malformed header: drop the packet. */
				goto used;
			}
			/* Too big to batch: flush, then send it alone. */
			vhx_tx_batch(nvq, sock, &msg);
			msg.msg_flags &= ~MSG_MORE;
		} else if (vhx_tx_can_batch(vq, total_len)) {
			msg.msg_flags |= MSG_MORE;
		} else {
			msg.msg_flags &= ~MSG_MORE;
		}

		err = sock->ops->sendmsg(sock, &msg, len);
		if (unlikely(err < 0)) {
			if (err == -EAGAIN || err == -ENOMEM || err == -ENOBUFS) {
				/* Backend full: retry when it has room. */
				vhx_discard_vq_desc(vq, 1);
				vhx_net_enable_vq(n, vq);
				break;
			}
			pr_debug("TX packet dropped: err %d\n", err);
			goto used;
		}
		if (unlikely(err != len))
			pr_debug("truncated TX packet: %d != %zu\n", err, len);
done:
		vq->stats.packets++;
		/* frame bytes, as the backend counts them: no vnet header */
		vq->stats.bytes += len - min_t(size_t, len, nvq->sock_hlen);
used:
		vq->heads[nvq->done_idx].id = (__force __virtio32)cpu_to_le32(head);
		vq->heads[nvq->done_idx].len = 0;
		nvq->done_idx++;
	} while (likely(!vhx_exceeds_weight(vq, ++sent_pkts, total_len)));

	vhx_tx_batch(nvq, sock, &msg);
}

/* Expects to be always run from the worker, which owns the mm. */
void vhx_net_handle_tx(struct vhx_net *n)
{
	struct vhx_vq *vq = &n->vqs[VHX_NET_VQ_TX].vq;
	struct vhx_run run;
	struct socket *sock;

	mutex_lock_nested(&vq->mutex, VHX_NET_VQ_TX);
	sock = vhx_vq_get_backend(vq);
	if (!sock || vq->broken)
		goto out;
	vhx_run_start(vq, &run);
	vhx_disable_notify(vq);
	vhx_net_disable_vq(n, vq);
	vhx_handle_tx_copy(n, sock);
	vhx_run_end(vq, &run);
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
