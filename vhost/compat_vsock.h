/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The virtio vsock transport API across kernels, for vhx_vsock only (the
 * capability macros VHX_HAVE_VSOCK_* come from compat-probe.sh, like the
 * rest of compat.h).  Feature code calls the wrappers below and never
 * tests a VHX_HAVE_VSOCK_* macro itself.
 *
 *   6.1 (Debian, 6.1.63 on)  the sk_buff-based API; linear packets, a
 *                            partly sent one is skb_pull()ed
 *   by 6.12                  packets may have page fragments: the sent
 *                            part is an offset in the control block, and
 *                            consume_skb_sent() gives the socket its
 *                            unsent bytes back (SIOCOUTQ); read_skb,
 *                            SO_RCVLOWAT, SIOCOUTQ, MSG_ZEROCOPY ops
 *   7.0                      packets carry their network namespace
 *                            (send_pkt, recv_pkt); the *_allow ops get
 *                            the socket; has_remote_cid; per-netns modes
 */
#ifndef _VHX_COMPAT_VSOCK_H
#define _VHX_COMPAT_VSOCK_H

#include <linux/skbuff.h>
#include <linux/virtio_vsock.h>
#include <net/af_vsock.h>
#include <net/net_namespace.h>

/* ---- sending a packet to the guest in pieces ---------------------------- */

/* Bytes of @skb's payload already sent. */
static inline u32 vhx_vsock_skb_sent(struct sk_buff *skb)
{
#ifdef VHX_HAVE_VSOCK_SKB_OFFSET
	return VIRTIO_VSOCK_SKB_CB(skb)->offset;
#else
	return 0;	/* the sent part was pulled */
#endif
}

/* @len more bytes of @skb's payload were sent. */
static inline void vhx_vsock_skb_advance(struct sk_buff *skb, u32 len)
{
#ifdef VHX_HAVE_VSOCK_SKB_OFFSET
	VIRTIO_VSOCK_SKB_CB(skb)->offset += len;
#else
	skb_pull(skb, len);
#endif
}

/* The whole of @skb reached the guest: free it, crediting its socket. */
static inline void vhx_vsock_skb_done(struct sk_buff *skb)
{
#ifdef VHX_HAVE_VSOCK_CONSUME_SENT
	virtio_transport_consume_skb_sent(skb, true);
#else
	consume_skb(skb);
#endif
}

/* ---- the packet's network namespace -------------------------------------- */

/* Hand a guest's packet to the host's sockets of @net. */
static inline void vhx_vsock_recv_pkt(struct virtio_transport *t,
				      struct sk_buff *skb, struct net *net)
{
#ifdef VHX_HAVE_VSOCK_NET
	virtio_transport_recv_pkt(t, skb, net);
#else
	virtio_transport_recv_pkt(t, skb);
#endif
}

/*
 * Whether a socket of @a may reach a guest whose device is in @b when vhx
 * does not keep CIDs per namespace: since 7.0 as the namespaces' vsock
 * modes say (mainline's rule), before that always (one global space).
 */
static inline bool vhx_vsock_net_global_ok(struct net *a, struct net *b)
{
#ifdef VHX_HAVE_VSOCK_NET_MODE
	return vsock_net_check_mode(a, b);
#else
	return true;
#endif
}

/* The connected, else bound, socket a guest's packet is for (held). */
static inline struct sock *vhx_vsock_find_sock(struct sockaddr_vm *src,
					       struct sockaddr_vm *dst,
					       struct net *net)
{
	struct sock *sk;

#ifdef VHX_HAVE_VSOCK_NET_MODE
	sk = vsock_find_connected_socket_net(src, dst, net);
	if (!sk)
		sk = vsock_find_bound_socket_net(dst, net);
#else
	sk = vsock_find_connected_socket(src, dst);
	if (!sk)
		sk = vsock_find_bound_socket(dst);
#endif
	return sk;
}

/* ---- the transport's callbacks whose signature changed ------------------- */

/* Implemented in vsock_transport.c, with the socket when the kernel gives it. */
int vhx_vsock_send_pkt(struct sk_buff *skb, struct net *net);
bool vhx_vsock_seqpacket_ok(struct vsock_sock *vsk, u32 remote_cid);
bool vhx_vsock_serves_cid(struct vsock_sock *vsk, u32 remote_cid);

#ifdef VHX_HAVE_VSOCK_NET
static inline int vhx_vsock_send_pkt_op(struct sk_buff *skb, struct net *net)
{
	return vhx_vsock_send_pkt(skb, net);
}
#else
static inline int vhx_vsock_send_pkt_op(struct sk_buff *skb)
{
	return vhx_vsock_send_pkt(skb, NULL);
}
#endif

#ifdef VHX_HAVE_VSOCK_ALLOW_VSK
static inline bool vhx_vsock_stream_allow_op(struct vsock_sock *vsk, u32 cid,
					     u32 port)
{
	return true;
}

static inline bool vhx_vsock_seqpacket_allow_op(struct vsock_sock *vsk,
						u32 remote_cid)
{
	return vhx_vsock_seqpacket_ok(vsk, remote_cid);
}
#else
static inline bool vhx_vsock_stream_allow_op(u32 cid, u32 port)
{
	return true;
}

static inline bool vhx_vsock_seqpacket_allow_op(u32 remote_cid)
{
	return vhx_vsock_seqpacket_ok(NULL, remote_cid);
}
#endif

/*
 * The operations that only newer kernels have, as designated initializers
 * for the transport's table (empty where the kernel lacks them).
 */
#ifdef VHX_HAVE_VSOCK_HAS_REMOTE_CID
#define VHX_VSOCK_OP_HAS_REMOTE_CID .has_remote_cid = vhx_vsock_serves_cid,
#else
#define VHX_VSOCK_OP_HAS_REMOTE_CID
#endif
#ifdef VHX_HAVE_VSOCK_READ_SKB
#define VHX_VSOCK_OP_READ_SKB .read_skb = virtio_transport_read_skb,
#else
#define VHX_VSOCK_OP_READ_SKB
#endif
#ifdef VHX_HAVE_VSOCK_SET_RCVLOWAT
#define VHX_VSOCK_OP_SET_RCVLOWAT \
	.notify_set_rcvlowat = virtio_transport_notify_set_rcvlowat,
#else
#define VHX_VSOCK_OP_SET_RCVLOWAT
#endif
#ifdef VHX_HAVE_VSOCK_UNSENT_BYTES
#define VHX_VSOCK_OP_UNSENT_BYTES .unsent_bytes = virtio_transport_unsent_bytes,
#else
#define VHX_VSOCK_OP_UNSENT_BYTES
#endif
#ifdef VHX_HAVE_VSOCK_MSGZEROCOPY
static inline bool vhx_vsock_msgzerocopy_allow(void)
{
	return true;	/* the RX path copies page fragments too */
}

#define VHX_VSOCK_OP_MSGZEROCOPY .msgzerocopy_allow = vhx_vsock_msgzerocopy_allow,
#else
#define VHX_VSOCK_OP_MSGZEROCOPY
#endif

#endif /* _VHX_COMPAT_VSOCK_H */
