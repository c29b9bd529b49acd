// SPDX-License-Identifier: GPL-2.0
/*
 * Packets to the guest (vq 0, RX): the host sockets' and vhx's own
 * (send_queue) and sibling guests' (relay_queue), served in turn.  Each
 * guest buffer takes one packet's header and as much of its payload as
 * fits; the rest goes in the next buffers, each with its own header (a
 * seqpacket message's EOM and EOR flags on the last piece only).
 *
 * Malformed buffers (device-readable descriptors, too small for a header,
 * memory that cannot be written) fail the queue; the packet is dropped.
 * Writes are logged for live migration when the log is on.
 */

#include <linux/skbuff.h>
#include <linux/uio.h>

#include "compat_vsock.h"
#include "log.h"
#include "poll.h"
#include "vq.h"
#include "vsock.h"

void vhx_vsock_count(struct vhx_vq *vq, const struct virtio_vsock_hdr *hdr)
{
	struct vhx_vsock_stats *st = vhx_vsock_vq_stats(vq);

	switch (le16_to_cpu(hdr->op)) {
	case VIRTIO_VSOCK_OP_REQUEST:
		st->conns++;
		break;
	case VIRTIO_VSOCK_OP_RST:
		st->rsts++;
		break;
	case VIRTIO_VSOCK_OP_CREDIT_REQUEST:
		st->credit_requests++;
		break;
	}
}

/* A packet from the host's sockets or vhx for the guest: queue it. */
void vhx_vsock_queue(struct vhx_vsock *vs, struct sk_buff *skb)
{
	if (virtio_vsock_skb_reply(skb))
		atomic_inc(&vs->queued_replies);
	virtio_vsock_skb_queue_tail(&vs->send_queue, skb);
	vhx_vq_work_queue(&vs->vqs[VHX_VSOCK_VQ_RX].vq, &vs->send_work);
}

/*
 * A sibling's packet for the guest of @to: queue it unless too much is
 * waiting already (VHX_VSOCK_RELAY_MAX); false if the caller keeps it.
 * Caller holds RCU (@to was found in the CID table).
 */
bool vhx_vsock_relay(struct vhx_vsock *to, struct sk_buff *skb)
{
	int size = VHX_VSOCK_HDR_LEN + skb->len;

	if (atomic_add_return(size, &to->relay_bytes) > VHX_VSOCK_RELAY_MAX) {
		atomic_sub(size, &to->relay_bytes);
		return false;
	}
	virtio_vsock_skb_queue_tail(&to->relay_queue, skb);
	vhx_vq_work_queue(&to->vqs[VHX_VSOCK_VQ_RX].vq, &to->send_work);
	return true;
}

/*
 * Answer the guest's packet @in with an RST from where it was sent to (no
 * RST for an RST): the guest's connect or send fails at once instead of
 * waiting for a timeout.  Queued as a reply, so it counts against TX.
 */
void vhx_vsock_reply_rst(struct vhx_vsock *vs,
			 const struct virtio_vsock_hdr *in)
{
	struct virtio_vsock_hdr *hdr;
	struct sk_buff *skb;

	if (le16_to_cpu(in->op) == VIRTIO_VSOCK_OP_RST)
		return;
	skb = alloc_skb(VHX_VSOCK_HDR_LEN, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!skb)
		return;
	skb_reserve(skb, VHX_VSOCK_HDR_LEN);
	hdr = virtio_vsock_hdr(skb);
	memset(hdr, 0, sizeof(*hdr));
	hdr->type = in->type;
	hdr->op = cpu_to_le16(VIRTIO_VSOCK_OP_RST);
	hdr->src_cid = in->dst_cid;
	hdr->src_port = in->dst_port;
	hdr->dst_cid = in->src_cid;
	hdr->dst_port = in->src_port;
	virtio_vsock_skb_set_reply(skb);
	vhx_vsock_queue(vs, skb);
}

/*
 * A reply left send_queue: restart TX if it had stopped for too many
 * (vsock_tx.c stops at one per TX ring entry).
 */
static bool vhx_vsock_reply_gone(struct vhx_vsock *vs, int n)
{
	int num = READ_ONCE(vs->vqs[VHX_VSOCK_VQ_TX].vq.num);
	int left = atomic_sub_return(n, &vs->queued_replies);

	return left < num && left + n >= num;
}

/* VSOCK's cancel_pkt: drop @vsk's packets that wait for the guest. */
int vhx_vsock_cancel(struct vhx_vsock *vs, struct vsock_sock *vsk)
{
	int n = virtio_transport_purge_skbs(vsk, &vs->send_queue);

	if (n && vhx_vsock_reply_gone(vs, n))
		vhx_poll_queue(&vs->vqs[VHX_VSOCK_VQ_TX].vq.poll);
	return 0;
}

/* Drop everything queued for the guest (release; nothing queues now). */
void vhx_vsock_purge(struct vhx_vsock *vs)
{
	virtio_vsock_skb_queue_purge(&vs->send_queue);
	virtio_vsock_skb_queue_purge(&vs->relay_queue);
	atomic_set(&vs->queued_replies, 0);
	atomic_set(&vs->relay_bytes, 0);
}

/* The next packet for the guest, from the two queues in turn. */
static struct sk_buff *vhx_vsock_next(struct vhx_vsock *vs, bool *relayed)
{
	struct sk_buff_head *q[2] = { &vs->send_queue, &vs->relay_queue };
	int first = vs->relay_next, i;

	for (i = 0; i < 2; i++) {
		int k = first ^ i;
		struct sk_buff *skb = virtio_vsock_skb_dequeue(q[k]);

		if (skb) {
			*relayed = k;
			vs->relay_next = !k;
			return skb;
		}
	}
	return NULL;
}

static void vhx_vsock_put_back(struct vhx_vsock *vs, struct sk_buff *skb,
			       bool relayed)
{
	virtio_vsock_skb_queue_head(relayed ? &vs->relay_queue :
				    &vs->send_queue, skb);
}

/*
 * @skb leaves its queue for good: @sent (all of it reached the guest) or
 * dropped.  Returns true if TX should be restarted.
 */
static bool vhx_vsock_finish(struct vhx_vsock *vs, struct vhx_vq *vq,
			     struct sk_buff *skb, bool relayed, bool sent)
{
	bool restart = false;

	if (relayed)
		atomic_sub(VHX_VSOCK_HDR_LEN + skb->len - vhx_vsock_skb_sent(skb),
			   &vs->relay_bytes);
	else if (virtio_vsock_skb_reply(skb))
		restart = vhx_vsock_reply_gone(vs, 1);
	if (sent) {
		vhx_vsock_skb_done(skb);
	} else {
		vhx_vsock_vq_stats(vq)->drops++;
		kfree_skb(skb);
	}
	return restart;
}

/*
 * Copy (the next piece of) @skb into the guest's chain at vq->iov; returns
 * the payload bytes written, or -EFAULT with the queue failed.
 */
static int vhx_vsock_rx_copy(struct vhx_vq *vq, struct sk_buff *skb,
			     unsigned int in, struct vhx_log *log,
			     unsigned int log_num)
{
	struct virtio_vsock_hdr *skb_hdr = virtio_vsock_hdr(skb);
	size_t room = iov_length(vq->iov, in);
	u32 left = skb->len - vhx_vsock_skb_sent(skb);
	struct virtio_vsock_hdr hdr;
	struct iov_iter iter;
	u32 piece;

	if (room < VHX_VSOCK_HDR_LEN) {
		vhx_vq_err(vq, "RX buffer of %zu bytes, too small for a header\n",
			   room);
		return -EFAULT;
	}
	piece = min_t(size_t, left, room - VHX_VSOCK_HDR_LEN);
	hdr = *skb_hdr;
	hdr.len = cpu_to_le32(piece);
	if (piece < left)
		hdr.flags &= ~cpu_to_le32(VIRTIO_VSOCK_SEQ_EOM |
					  VIRTIO_VSOCK_SEQ_EOR);
	iov_iter_init(&iter, ITER_DEST, vq->iov, in, room);
	if (copy_to_iter(&hdr, sizeof(hdr), &iter) != sizeof(hdr) ||
	    skb_copy_datagram_iter(skb, vhx_vsock_skb_sent(skb), &iter,
				   piece)) {
		vhx_vq_err(vq, "cannot write a packet into the guest's RX buffer\n");
		return -EFAULT;
	}
	if (unlikely(log))
		vhx_log_write(vq, log, log_num, VHX_VSOCK_HDR_LEN + piece,
			      vq->iov, in);
	/* The packet monitors (vsockmon) show the piece the guest got. */
	skb_hdr->len = hdr.len;
	virtio_transport_deliver_tap_pkt(skb);
	vhx_vsock_count(vq, &hdr);
	return piece;
}

/* Move queued packets into the guest's RX buffers; caller is the worker. */
static void vhx_vsock_rx(struct vhx_vsock *vs)
{
	struct vhx_vq *vq = &vs->vqs[VHX_VSOCK_VQ_RX].vq;
	bool added = false, restart_tx = false;
	int pkts = 0, total = 0;
	unsigned int nheads = 0;
	struct vhx_log *log;
	struct vhx_run run;

	mutex_lock(&vq->mutex);
	if (!vhx_vq_get_backend(vq) || vq->broken)
		goto out;
	vhx_run_start(vq, &run);
	vhx_disable_notify(vq);
	log = vhx_has_feature(vq, VHOST_F_LOG_ALL) ? vq->log : NULL;
	do {
		unsigned int out, in, log_num = 0;
		struct sk_buff *skb;
		bool relayed;
		int head, piece;

		skb = vhx_vsock_next(vs, &relayed);
		if (!skb) {
			/* Nothing to send: hear of new buffers again. */
			vhx_enable_notify(vq);
			break;
		}
		head = vhx_get_vq_desc(vq, vq->iov, vq->dev->iov_limit, &out,
				       &in, log, &log_num);
		if (head < 0) {
			vhx_vsock_put_back(vs, skb, relayed);
			break;
		}
		if (head == vq->num) {
			vhx_vsock_put_back(vs, skb, relayed);
			/* No buffer: wait for the guest's kick, recheck once. */
			if (unlikely(vhx_enable_notify(vq))) {
				vhx_disable_notify(vq);
				continue;
			}
			break;
		}
		if (out) {
			vhx_vq_err(vq, "RX buffer with %u device-readable descriptors\n",
				   out);
			restart_tx |= vhx_vsock_finish(vs, vq, skb, relayed, false);
			break;
		}
		piece = vhx_vsock_rx_copy(vq, skb, in, log, log_num);
		if (piece < 0) {
			restart_tx |= vhx_vsock_finish(vs, vq, skb, relayed, false);
			break;
		}
		vhx_vsock_add_used(vq, &nheads, head, VHX_VSOCK_HDR_LEN + piece);
		added = true;
		vq->stats.packets++;
		vq->stats.bytes += piece;
		total += piece;
		if (relayed)
			atomic_sub(piece, &vs->relay_bytes);
		vhx_vsock_skb_advance(skb, piece);
		if (vhx_vsock_skb_sent(skb) < skb->len) {
			/* The rest goes in the next buffer, and to the monitors. */
			virtio_vsock_skb_clear_tap_delivered(skb);
			vhx_vsock_put_back(vs, skb, relayed);
		} else {
			restart_tx |= vhx_vsock_finish(vs, vq, skb, relayed, true);
		}
	} while (likely(!vhx_exceeds_weight(vq, ++pkts, total)));
	vhx_vsock_flush_used(vq, &nheads);
	if (added)
		vhx_signal(vq);
	vhx_run_end(vq, &run);
out:
	mutex_unlock(&vq->mutex);
	if (restart_tx)
		vhx_poll_queue(&vs->vqs[VHX_VSOCK_VQ_TX].vq.poll);
}

/* The guest added RX buffers. */
void vhx_vsock_rx_kick(struct vhx_work *work)
{
	struct vhx_vq *vq = container_of(work, struct vhx_vq, poll.work);

	vq->stats.kicks++;
	vhx_vsock_rx(vhx_vsock_from_vq(vq));
}

/* Packets were queued for the guest. */
void vhx_vsock_send_work(struct vhx_work *work)
{
	vhx_vsock_rx(container_of(work, struct vhx_vsock, send_work));
}
