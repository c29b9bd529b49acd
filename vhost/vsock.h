/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhx_vsock internals, shared by its parts, which depend on each other one
 * way, from the top down:
 *
 *   vsock_dev.c        /dev/vhost-vsock: device, ioctls, module
 *   vsock_tx.c         guest -> host sockets, or -> a sibling guest
 *   vsock_transport.c  the H2G transport: the host's vsock sockets
 *   vsock_rx.c         host sockets and siblings -> guest
 *   vsock_cid.c        the table of guest CIDs
 *
 * A device is one guest's vsock: vq 0 carries packets to the guest (RX),
 * vq 1 from it (TX); the event queue is the VMM's own.  Packets for the
 * guest wait in two queues until the guest has buffers: send_queue (from
 * the host's sockets, and vhx's own replies) and relay_queue (from sibling
 * guests, when guest-to-guest is on).
 *
 * Locking: dev.mutex, then a vq's mutex (the data paths hold their vq's);
 * the CID table is written under vhx_vsock_cid_lock (vsock_cid.c) and read
 * under RCU, which also keeps a device found there alive; the packet
 * queues have their own spinlocks.
 */
#ifndef _VHX_VSOCK_H
#define _VHX_VSOCK_H

#include <linux/atomic.h>
#include <linux/skbuff.h>
#include <linux/types.h>
#include <linux/virtio_vsock.h>
#include <net/net_namespace.h>

#include "core.h"
#include "vq.h"

enum {
	VHX_VSOCK_VQ_RX = 0,
	VHX_VSOCK_VQ_TX = 1,
	VHX_VSOCK_VQ_MAX = 2,
};

/* Packets and bytes per handler run before requeueing (mainline's). */
#define VHX_VSOCK_PKT_WEIGHT 256
#define VHX_VSOCK_WEIGHT 0x80000

/*
 * Bytes of sibling guests' packets that may wait for one guest's buffers.
 * A sender within its peer's credit stays far below it (the default
 * buf_alloc is 256 KiB per connection); past it a packet is dropped and
 * its connection reset, so one guest that stops reading, or a sender that
 * ignores credit, costs only its own connections.
 */
#define VHX_VSOCK_RELAY_MAX (4U << 20)

#define VHX_VSOCK_HDR_LEN sizeof(struct virtio_vsock_hdr)

/* Used entries published in one store of the used index, at most. */
#define VHX_VSOCK_BATCH 64

/* Publish the used entries gathered in vq->heads[0..*n); caller holds vq->mutex. */
static inline void vhx_vsock_flush_used(struct vhx_vq *vq, unsigned int *n)
{
	if (*n) {
		vhx_add_used_n(vq, vq->heads, *n);
		*n = 0;
	}
}

/* Gather one used entry, publishing a full batch. */
static inline void vhx_vsock_add_used(struct vhx_vq *vq, unsigned int *n,
				      int head, u32 len)
{
	vq->heads[*n].id = (__force __virtio32)cpu_to_le32(head);
	vq->heads[*n].len = (__force __virtio32)cpu_to_le32(len);
	if (++*n == VHX_VSOCK_BATCH)
		vhx_vsock_flush_used(vq, n);
}

/* Per-queue vsock counters: written under the vq mutex, read racily. */
struct vhx_vsock_stats {
	u64 conns;		/* REQUEST packets */
	u64 rsts;		/* RST packets */
	u64 credit_requests;	/* CREDIT_REQUEST packets: a sender stalled */
	u64 g2g;		/* packets relayed between guests */
	u64 drops;		/* packets dropped */
};

struct vhx_vsock_vq {
	struct vhx_vq vq;
	struct vhx_vsock_stats stats;
};

struct vhx_vsock {
	struct vhx_dev dev;
	struct vhx_vsock_vq vqs[VHX_VSOCK_VQ_MAX];
	struct vhx_vq *vqp[VHX_VSOCK_VQ_MAX];

	/* On the CID table while guest_cid != 0 (vsock_cid.c). */
	struct hlist_node hash;
	u32 guest_cid;
	/* The opener's network namespace (referenced). */
	struct net *net;
	/*
	 * The worker while it hands a packet to the host's sockets, whose
	 * replies come back through the transport in the same task: they
	 * name no namespace before 7.0, and this tells which device of a CID
	 * they are for when CIDs are per namespace.
	 */
	struct task_struct *delivering;

	struct vhx_work send_work;	/* runs the RX path */
	struct sk_buff_head send_queue;
	struct sk_buff_head relay_queue;
	atomic_t relay_bytes;		/* queued on relay_queue */
	/*
	 * vhx's and the host's replies to the guest's packets waiting on
	 * send_queue: the TX path stops at one per TX ring entry, so that a
	 * guest that sends but never reads cannot make the host queue
	 * replies without bound.
	 */
	atomic_t queued_replies;
	bool seqpacket;			/* VIRTIO_VSOCK_F_SEQPACKET acked */
	/*
	 * SET_RUNNING 1 happened once: the guest's driver is up.  Stopped
	 * again (the VM paused, migrating), the device keeps packets for
	 * the guest until it runs again.
	 */
	bool started;
	bool relay_next;		/* RX: serve relay_queue first next */
};

static inline struct vhx_vsock *vhx_vsock_from_vq(struct vhx_vq *vq)
{
	return container_of(vq->dev, struct vhx_vsock, dev);
}

static inline struct vhx_vsock_stats *vhx_vsock_vq_stats(struct vhx_vq *vq)
{
	return &container_of(vq, struct vhx_vsock_vq, vq)->stats;
}

/* vsock_cid.c */
extern bool vhx_vsock_g2g;
int vhx_vsock_set_cid(struct vhx_vsock *vs, u64 cid);
void vhx_vsock_cid_release(struct vhx_vsock *vs);
struct vhx_vsock *vhx_vsock_find(u32 cid, struct net *net);
struct vhx_vsock *vhx_vsock_find_peer(struct vhx_vsock *from, u32 cid);
bool vhx_vsock_same_scope(struct vhx_vsock *vs, struct net *net);
bool vhx_vsock_netns_on(void);

/* vsock_rx.c */
void vhx_vsock_count(struct vhx_vq *vq, const struct virtio_vsock_hdr *hdr);
void vhx_vsock_queue(struct vhx_vsock *vs, struct sk_buff *skb);
bool vhx_vsock_relay(struct vhx_vsock *to, struct sk_buff *skb);
void vhx_vsock_reply_rst(struct vhx_vsock *vs,
			 const struct virtio_vsock_hdr *hdr);
int vhx_vsock_cancel(struct vhx_vsock *vs, struct vsock_sock *vsk);
void vhx_vsock_purge(struct vhx_vsock *vs);
void vhx_vsock_rx_kick(struct vhx_work *work);
void vhx_vsock_send_work(struct vhx_work *work);

/* vsock_tx.c */
void vhx_vsock_tx_kick(struct vhx_work *work);

/* vsock_transport.c */
int vhx_vsock_transport_register(void);
void vhx_vsock_transport_unregister(void);
bool vhx_vsock_deliver(struct vhx_vsock *vs, struct sk_buff *skb);
void vhx_vsock_reset_orphans(void);

#endif /* _VHX_VSOCK_H */
