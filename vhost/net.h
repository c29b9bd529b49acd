/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhx_net internals shared by the device (net_dev.c) and its TX and RX
 * paths (net_tx.c, net_rx.c), which depend on this header, not on the
 * device.
 */
#ifndef _VHX_NET_H
#define _VHX_NET_H

#include <linux/net.h>
#include <linux/ptr_ring.h>
#include <net/xdp.h>

#include "log.h"
#include "poll.h"
#include "vq.h"
#include "net_frag.h"
#include "net_hdr.h"

enum {
	VHX_NET_VQ_RX = 0,
	VHX_NET_VQ_TX = 1,
	VHX_NET_VQ_MAX = 2,
};

/* Max number of packets transferred before requeueing the job; keeps one
 * virtqueue from starving the other (CVE-2019-3900).
 */
#define VHX_NET_PKT_WEIGHT 256
/* Max number of bytes transferred before requeueing the job (small packets
 * would otherwise let one queue starve the other).
 */
#define VHX_NET_WEIGHT 0x80000
/* Used entries are published, and skbs taken from the tap, in batches. */
#define VHX_NET_BATCH 64

/* Pointers taken from the tap's ptr_ring in one batch (RX). */
struct vhx_net_buf {
	void **queue;
	int tail;
	int head;
};

struct vhx_net_vq {
	struct vhx_vq vq;
	size_t vhost_hlen;	/* header added/stripped by vhx (bit 27) */
	size_t sock_hlen;	/* header handled by the tap */
	int done_idx;		/* used entries not yet published */
	struct ptr_ring *rx_ring;
	struct vhx_net_buf rxq;
	struct xdp_buff *xdp;	/* TX: packets built for one batched send */
	int batched_xdp;
	bool tap_backend;	/* tun/tap/macvtap: takes TUN_MSG_PTR batches */
};

struct vhx_net {
	struct vhx_dev dev;
	struct vhx_net_vq vqs[VHX_NET_VQ_MAX];
	struct vhx_vq *vqp[VHX_NET_VQ_MAX];
	struct vhx_poll poll[VHX_NET_VQ_MAX];	/* backend socket */
	struct vhx_frag_pool frags;	/* TX batch buffers (net_frag.c) */
};

static inline struct vhx_net *vhx_net_from_vq(struct vhx_vq *vq)
{
	return container_of(vq->dev, struct vhx_net, dev);
}

/* Publish the used entries batched so far (heads[0, done_idx)) and signal. */
static inline void vhx_net_signal_used(struct vhx_net_vq *nvq)
{
	struct vhx_vq *vq = &nvq->vq;

	if (!nvq->done_idx)
		return;
	vhx_add_used_and_signal_n(vq, vq->heads, nvq->done_idx);
	nvq->done_idx = 0;
}

/* Stop polling the backend socket.  Caller holds vq->mutex. */
static inline void vhx_net_disable_vq(struct vhx_net *n, struct vhx_vq *vq)
{
	struct vhx_net_vq *nvq = container_of(vq, struct vhx_net_vq, vq);

	lockdep_assert_held(&vq->mutex);
	if (!vhx_vq_get_backend(vq))
		return;
	vhx_poll_stop(&n->poll[nvq - n->vqs]);
}

/* Poll the backend socket.  Caller holds vq->mutex. */
static inline int vhx_net_enable_vq(struct vhx_net *n, struct vhx_vq *vq)
{
	struct vhx_net_vq *nvq = container_of(vq, struct vhx_net_vq, vq);
	struct socket *sock = vhx_vq_get_backend(vq);

	lockdep_assert_held(&vq->mutex);
	if (!sock)
		return 0;
	return vhx_poll_start(&n->poll[nvq - n->vqs], sock->file);
}

/* net_tx.c */
void vhx_net_handle_tx(struct vhx_net *n);
void vhx_net_handle_tx_kick(struct vhx_work *work);
void vhx_net_handle_tx_net(struct vhx_work *work);

/* net_rx.c */
void vhx_net_handle_rx(struct vhx_net *n);
void vhx_net_handle_rx_kick(struct vhx_work *work);
void vhx_net_handle_rx_net(struct vhx_work *work);
void vhx_net_buf_unproduce(struct vhx_net_vq *nvq);

#endif /* _VHX_NET_H */
