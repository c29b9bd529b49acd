// SPDX-License-Identifier: GPL-2.0
/*
 * Packets from the guest (vq 1, TX): each chain is one packet, its header
 * and hdr.len bytes of payload, all device-readable.  Where it goes:
 *
 *   src_cid not the guest's       dropped (as in mainline)
 *   dst_cid 2 (the host)          the host's sockets (vhx_vsock_deliver())
 *   dst_cid of a sibling guest    that device's relay queue, if g2g is on
 *   anything else                 dropped, with an RST back: the guest's
 *                                 connect fails at once (mainline drops
 *                                 it silently and the connect times out)
 *
 * A chain that cannot be a packet (device-writable descriptors, shorter
 * than a header, a payload longer than the chain or than 64 KiB, memory
 * that cannot be read) fails the queue.  What the packet says beyond that
 * (type, op, ports, credit) is the host stack's or the peer guest's to
 * judge: the host stack drops data beyond the credit it gave and answers
 * unknown types with an RST.
 *
 * The host stack's replies wait on the RX side; TX stops while one per TX
 * ring entry is waiting, and the RX path restarts it.
 */

#include <linux/skbuff.h>
#include <linux/uio.h>

#include "compat_vsock.h"
#include "poll.h"
#include "vq.h"
#include "vsock.h"

/*
 * Read the packet of the chain at vq->iov into a new skb (linear, as the
 * host stack's 6.1 receive path needs).  NULL: the queue failed;
 * ERR_PTR(-ENOMEM): try again later.
 */
static struct sk_buff *vhx_vsock_tx_read(struct vhx_vq *vq, unsigned int out,
					 unsigned int in)
{
	struct virtio_vsock_hdr hdr;
	struct iov_iter iter;
	struct sk_buff *skb;
	size_t len;
	u32 plen;

	if (in) {
		vhx_vq_err(vq, "TX chain with %u device-writable descriptors\n",
			   in);
		return NULL;
	}
	len = iov_length(vq->iov, out);
	if (len < sizeof(hdr)) {
		vhx_vq_err(vq, "TX packet of %zu bytes, shorter than its header\n",
			   len);
		return NULL;
	}
	iov_iter_init(&iter, ITER_SOURCE, vq->iov, out, len);
	if (copy_from_iter(&hdr, sizeof(hdr), &iter) != sizeof(hdr)) {
		vhx_vq_err(vq, "cannot read a TX packet's header\n");
		return NULL;
	}
	plen = le32_to_cpu(hdr.len);
	if (plen > VIRTIO_VSOCK_MAX_PKT_BUF_SIZE) {
		vhx_vq_err(vq, "TX packet of %u bytes, above 64 KiB\n", plen);
		return NULL;
	}
	if (plen > len - sizeof(hdr)) {
		vhx_vq_err(vq, "TX header says %u bytes, its chain holds %zu\n",
			   plen, len - sizeof(hdr));
		return NULL;
	}
	skb = alloc_skb(sizeof(hdr) + plen, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!skb)
		return ERR_PTR(-ENOMEM);
	skb_reserve(skb, sizeof(hdr));
	memcpy(virtio_vsock_hdr(skb), &hdr, sizeof(hdr));
	if (plen && copy_from_iter(skb_put(skb, plen), plen, &iter) != plen) {
		kfree_skb(skb);
		vhx_vq_err(vq, "cannot read a TX packet's payload\n");
		return NULL;
	}
	return skb;
}

/* Hand @skb to a sibling guest if guest-to-guest is on; false if not taken. */
static bool vhx_vsock_tx_to_peer(struct vhx_vsock *vs, struct sk_buff *skb,
				 u64 dst)
{
	struct vhx_vsock *peer;
	bool taken = false;

	if (!READ_ONCE(vhx_vsock_g2g) || dst > U32_MAX)
		return false;
	rcu_read_lock();
	peer = vhx_vsock_find_peer(vs, dst);
	/* A peer that is only stopped (paused) gets them when it runs. */
	if (peer && READ_ONCE(peer->started)) {
		/* The peer's RX path shows it to the packet monitors again. */
		virtio_vsock_skb_clear_tap_delivered(skb);
		taken = vhx_vsock_relay(peer, skb);
	}
	rcu_read_unlock();
	return taken;
}

/* Send the guest's packet on its way (see the top of this file). */
static void vhx_vsock_tx_route(struct vhx_vsock *vs, struct vhx_vq *vq,
			       struct sk_buff *skb)
{
	struct virtio_vsock_hdr *hdr = virtio_vsock_hdr(skb);
	struct vhx_vsock_stats *st = vhx_vsock_vq_stats(vq);
	u64 dst = le64_to_cpu(hdr->dst_cid);

	if (le64_to_cpu(hdr->src_cid) != READ_ONCE(vs->guest_cid)) {
		st->drops++;
		kfree_skb(skb);
		return;
	}
	if (dst == VMADDR_CID_HOST) {
		if (vhx_vsock_deliver(vs, skb))
			return;
	} else if (vhx_vsock_tx_to_peer(vs, skb, dst)) {
		st->g2g++;
		return;
	}
	st->drops++;
	vhx_vsock_reply_rst(vs, hdr);
	kfree_skb(skb);
}

/* Room on the RX side for the replies this TX run may cause? */
static bool vhx_vsock_more_replies(struct vhx_vsock *vs, struct vhx_vq *vq)
{
	return atomic_read(&vs->queued_replies) < vq->num;
}

static void vhx_vsock_tx(struct vhx_vsock *vs)
{
	struct vhx_vq *vq = &vs->vqs[VHX_VSOCK_VQ_TX].vq;
	int head, pkts = 0, total = 0;
	unsigned int out, in, nheads = 0;
	struct vhx_run run;
	bool added = false;

	mutex_lock(&vq->mutex);
	if (!vhx_vq_get_backend(vq) || vq->broken)
		goto out;
	vhx_run_start(vq, &run);
	vhx_disable_notify(vq);
	do {
		struct sk_buff *skb;

		/* Kicks stay off: the RX path restarts TX (vsock_rx.c). */
		if (!vhx_vsock_more_replies(vs, vq))
			break;
		head = vhx_get_vq_desc(vq, vq->iov, vq->dev->iov_limit, &out,
				       &in, NULL, NULL);
		if (head < 0)
			break;
		if (head == vq->num) {
			if (unlikely(vhx_enable_notify(vq))) {
				vhx_disable_notify(vq);
				continue;
			}
			break;
		}
		skb = vhx_vsock_tx_read(vq, out, in);
		if (!skb)
			break;
		if (IS_ERR(skb)) {
			/* Out of memory: leave the packet in the ring, retry. */
			vhx_discard_vq_desc(vq, 1);
			vhx_poll_queue(&vq->poll);
			break;
		}
		total += VHX_VSOCK_HDR_LEN + skb->len;
		vq->stats.packets++;
		vq->stats.bytes += skb->len;
		vhx_vsock_count(vq, virtio_vsock_hdr(skb));
		/* The packet monitors see every packet the guest sent. */
		virtio_transport_deliver_tap_pkt(skb);
		vhx_vsock_tx_route(vs, vq, skb);
		vhx_vsock_add_used(vq, &nheads, head, 0);
		added = true;
	} while (likely(!vhx_exceeds_weight(vq, ++pkts, total)));
	vhx_vsock_flush_used(vq, &nheads);
	if (added)
		vhx_signal(vq);
	vhx_run_end(vq, &run);
out:
	mutex_unlock(&vq->mutex);
}

/* The guest sent packets, or the RX path made room for replies. */
void vhx_vsock_tx_kick(struct vhx_work *work)
{
	struct vhx_vq *vq = container_of(work, struct vhx_vq, poll.work);

	vq->stats.kicks++;
	vhx_vsock_tx(vhx_vsock_from_vq(vq));
}
