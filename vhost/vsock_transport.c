// SPDX-License-Identifier: GPL-2.0
/*
 * The host's side of AF_VSOCK: vhx_vsock is the host-to-guest (H2G)
 * transport, the one the socket layer gives every host socket whose peer
 * is a guest (CID > 2).  The virtio vsock protocol itself -- connection
 * states, credit, seqpacket records -- is the kernel's common virtio
 * transport code; vhx adds where packets go:
 *
 *   a host socket's packet    -> the device serving its CID (send_pkt),
 *                                queued for the guest (vsock_rx.c)
 *   a guest's packet for CID 2 -> the host's sockets (vhx_vsock_deliver())
 *
 * Only one H2G transport can be registered: with the in-tree vhost_vsock
 * loaded, vhx_vsock does not load (vsock_dev.c says so in the log).
 */

#include <linux/nsproxy.h>
#include <linux/rcupdate.h>
#include <net/af_vsock.h>
#include <net/sock.h>

#include "compat_vsock.h"
#include "vsock.h"

static u32 vhx_vsock_local_cid(void)
{
	return VMADDR_CID_HOST;
}

static struct net *vhx_vsock_sock_net(struct vsock_sock *vsk)
{
	if (vsk)
		return sock_net(sk_vsock(vsk));
	/* Before 7.0 the socket layer asks in the socket's own context. */
	return current->nsproxy ? current->nsproxy->net_ns : NULL;
}

/*
 * The transport's send_pkt: a packet for a guest, from a host socket (or
 * the host stack's reply to a guest's packet).  @net: the sender's
 * namespace where the kernel says it (7.0), else the socket's.
 */
int vhx_vsock_send_pkt(struct sk_buff *skb, struct net *net)
{
	u64 cid = le64_to_cpu(virtio_vsock_hdr(skb)->dst_cid);
	struct vhx_vsock *vs = NULL;
	int len = skb->len;

	if (!net && skb->sk)
		net = sock_net(skb->sk);
	rcu_read_lock();
	if (cid <= U32_MAX)
		vs = vhx_vsock_find(cid, net);
	if (!vs || !READ_ONCE(vs->started)) {
		rcu_read_unlock();
		kfree_skb(skb);
		/*
		 * No guest, or one whose driver never started: fail now, not
		 * after the connect timeout (as mainline since 7.0).  A guest
		 * that is only stopped (paused, migrating) gets its packets
		 * when it runs again, as with 6.1's module.
		 */
		return vs ? -EHOSTUNREACH : -ENODEV;
	}
	vhx_vsock_queue(vs, skb);
	rcu_read_unlock();
	return len;
}

static int vhx_vsock_cancel_pkt(struct vsock_sock *vsk)
{
	struct vhx_vsock *vs;
	int r = -ENODEV;

	rcu_read_lock();
	vs = vhx_vsock_find(vsk->remote_addr.svm_cid, vhx_vsock_sock_net(vsk));
	if (vs)
		r = vhx_vsock_cancel(vs, vsk);
	rcu_read_unlock();
	return r;
}

/*
 * Seqpacket sockets only to guests whose driver acked the feature.  Before
 * 7.0 there is no socket: the check runs in the connecting task, or, for a
 * guest's REQUEST to a listener, on the worker delivering it, whose
 * namespace need not be the guest's: that device is found first.
 */
bool vhx_vsock_seqpacket_ok(struct vsock_sock *vsk, u32 remote_cid)
{
	struct vhx_vsock *vs = NULL;
	bool ok;

	rcu_read_lock();
	if (!vsk)
		vs = vhx_vsock_find(remote_cid, NULL);
	if (!vs)
		vs = vhx_vsock_find(remote_cid, vhx_vsock_sock_net(vsk));
	ok = vs && READ_ONCE(vs->seqpacket);
	rcu_read_unlock();
	return ok;
}

/* Does a guest of @vsk's scope have @remote_cid (7.0: has_remote_cid)? */
bool vhx_vsock_serves_cid(struct vsock_sock *vsk, u32 remote_cid)
{
	bool found;

	rcu_read_lock();
	found = vhx_vsock_find(remote_cid, vhx_vsock_sock_net(vsk));
	rcu_read_unlock();
	return found;
}

static struct virtio_transport vhx_vsock_transport = {
	.transport = {
		.module			  = THIS_MODULE,
		.get_local_cid		  = vhx_vsock_local_cid,
		VHX_VSOCK_OP_HAS_REMOTE_CID

		.init			  = virtio_transport_do_socket_init,
		.destruct		  = virtio_transport_destruct,
		.release		  = virtio_transport_release,
		.connect		  = virtio_transport_connect,
		.shutdown		  = virtio_transport_shutdown,
		.cancel_pkt		  = vhx_vsock_cancel_pkt,

		.dgram_enqueue		  = virtio_transport_dgram_enqueue,
		.dgram_dequeue		  = virtio_transport_dgram_dequeue,
		.dgram_bind		  = virtio_transport_dgram_bind,
		.dgram_allow		  = virtio_transport_dgram_allow,

		.stream_enqueue		  = virtio_transport_stream_enqueue,
		.stream_dequeue		  = virtio_transport_stream_dequeue,
		.stream_has_data	  = virtio_transport_stream_has_data,
		.stream_has_space	  = virtio_transport_stream_has_space,
		.stream_rcvhiwat	  = virtio_transport_stream_rcvhiwat,
		.stream_is_active	  = virtio_transport_stream_is_active,
		.stream_allow		  = vhx_vsock_stream_allow_op,

		.seqpacket_dequeue	  = virtio_transport_seqpacket_dequeue,
		.seqpacket_enqueue	  = virtio_transport_seqpacket_enqueue,
		.seqpacket_allow	  = vhx_vsock_seqpacket_allow_op,
		.seqpacket_has_data	  = virtio_transport_seqpacket_has_data,

		.notify_poll_in		  = virtio_transport_notify_poll_in,
		.notify_poll_out	  = virtio_transport_notify_poll_out,
		.notify_recv_init	  = virtio_transport_notify_recv_init,
		.notify_recv_pre_block	  = virtio_transport_notify_recv_pre_block,
		.notify_recv_pre_dequeue  = virtio_transport_notify_recv_pre_dequeue,
		.notify_recv_post_dequeue = virtio_transport_notify_recv_post_dequeue,
		.notify_send_init	  = virtio_transport_notify_send_init,
		.notify_send_pre_block	  = virtio_transport_notify_send_pre_block,
		.notify_send_pre_enqueue  = virtio_transport_notify_send_pre_enqueue,
		.notify_send_post_enqueue = virtio_transport_notify_send_post_enqueue,
		.notify_buffer_size	  = virtio_transport_notify_buffer_size,
		VHX_VSOCK_OP_SET_RCVLOWAT
		VHX_VSOCK_OP_UNSENT_BYTES
		VHX_VSOCK_OP_READ_SKB
		VHX_VSOCK_OP_MSGZEROCOPY
	},
	.send_pkt = vhx_vsock_send_pkt_op,
};

/*
 * With CIDs per namespace, a guest's packet may only reach a socket of its
 * device's namespace: true if the socket it is for (if any) is one.  No
 * socket: the host stack answers with an RST, as for anyone.
 */
static bool vhx_vsock_own_socket(struct vhx_vsock *vs,
				 const struct virtio_vsock_hdr *hdr)
{
	struct sockaddr_vm src, dst;
	struct sock *sk;
	bool ok;

	vsock_addr_init(&src, le64_to_cpu(hdr->src_cid),
			le32_to_cpu(hdr->src_port));
	vsock_addr_init(&dst, le64_to_cpu(hdr->dst_cid),
			le32_to_cpu(hdr->dst_port));
	sk = vhx_vsock_find_sock(&src, &dst, vs->net);
	if (!sk)
		return true;
	ok = net_eq(sock_net(sk), vs->net);
	sock_put(sk);
	return ok;
}

/*
 * A guest's packet for the host: to the host stack, which takes it (true)
 * -- unless it is for another namespace's socket (false: the caller drops
 * it and resets the connection).  Caller is @vs's worker, holding the TX
 * vq mutex.
 */
bool vhx_vsock_deliver(struct vhx_vsock *vs, struct sk_buff *skb)
{
	if (vhx_vsock_netns_on() && !vhx_vsock_own_socket(vs, virtio_vsock_hdr(skb)))
		return false;
	/* The stack's replies come back in this task (vhx_vsock_find()). */
	WRITE_ONCE(vs->delivering, current);
	vhx_vsock_recv_pkt(&vhx_vsock_transport, skb, vs->net);
	WRITE_ONCE(vs->delivering, NULL);
	return true;
}

/*
 * A host socket whose guest is gone (device closed, owner dead) gets
 * ECONNRESET, as with mainline: its state is set to what mainline writes
 * (SS_UNCONNECTED, numerically TCP_ESTABLISHED), so a reader gets the
 * error rather than end of file.  Called under vsock_table_lock.
 */
static void vhx_vsock_reset_orphan(struct sock *sk)
{
	struct vsock_sock *vsk = vsock_sk(sk);
	bool alive;

	rcu_read_lock();
	alive = vhx_vsock_find(vsk->remote_addr.svm_cid, sock_net(sk));
	rcu_read_unlock();
	/* A pending close timeout runs on its own; do not race it. */
	if (alive || vsk->close_work_scheduled)
		return;
	sock_set_flag(sk, SOCK_DONE);
	vsk->peer_shutdown = SHUTDOWN_MASK;
	sk->sk_state = SS_UNCONNECTED;
	sk->sk_err = ECONNRESET;
	sk_error_report(sk);
}

void vhx_vsock_reset_orphans(void)
{
	vsock_for_each_connected_socket(&vhx_vsock_transport.transport,
					vhx_vsock_reset_orphan);
}

int vhx_vsock_transport_register(void)
{
	return vsock_core_register(&vhx_vsock_transport.transport,
				   VSOCK_TRANSPORT_F_H2G);
}

void vhx_vsock_transport_unregister(void)
{
	vsock_core_unregister(&vhx_vsock_transport.transport);
}
