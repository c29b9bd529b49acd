/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhx: ioctls every vhx device answers (/dev/vhost-net, /dev/vhost-blk),
 * beyond the shared ones of <linux/vhost.h>, on numbers mainline does not
 * use.  Structures have fixed-width fields and explicit padding.
 */
#ifndef _UAPI_LINUX_VHX_H
#define _UAPI_LINUX_VHX_H

#include <linux/types.h>
#include <linux/vhost.h>

/* struct vhx_queue_stats.flags */
#define VHX_QSTATS_F_BROKEN	0x01U	/* stopped by a ring error until reset */
#define VHX_QSTATS_F_PACKED	0x02U	/* packed ring (last_* are positions) */
#define VHX_QSTATS_F_BACKEND	0x04U	/* a backend is attached */
#define VHX_QSTATS_F_IOTLB	0x08U	/* the device IOTLB is on */
#define VHX_QSTATS_F_OWNED	0x10U	/* the device has an owner */
#define VHX_QSTATS_F_BLK	0x20U	/* blk_* hold vhost-blk's values */
#define VHX_QSTATS_F_VSOCK	0x40U	/* vsock_* hold vhost-vsock's values */

/*
 * One queue's counters and state: what debugfs's vhx/devices shows for it,
 * for whoever holds the device's fd (its owner, or an operator's tool that
 * got a copy with pidfd_getfd()), where debugfs is not mounted or is
 * locked down.  Read without waiting for the queue (values are a racy
 * snapshot, as in debugfs).  Only @index is read; index >= nvqs: ENOBUFS.
 * Fields are only ever added, into @reserved.
 */
struct vhx_queue_stats {
	__u32 index;		/* in: the queue */
	__u32 nvqs;		/* the device's number of queues */
	__u32 dev_id;		/* debugfs "dev id=" */
	__u32 num;		/* ring size (0: not set) */
	__u32 flags;		/* VHX_QSTATS_F_* */
	__u32 reserved0;
	__s32 owner_pid;	/* 0 without an owner */
	__s32 worker_pid;	/* the thread serving this queue */
	char kind[8];		/* "net", "blk", "vsock" (NUL-terminated) */
	__u16 last_avail;
	__u16 last_used;
	__u32 reserved1;
	__u64 features;		/* acked virtio features */
	__u64 backend_features;	/* acked vhost backend features */
	__u64 packets;		/* frames, or requests completed OK */
	__u64 bytes;		/* payload bytes */
	__u64 kicks;		/* handler runs started by a kick */
	__u64 calls;		/* guest notifications */
	__u64 runs;		/* handler runs */
	__u64 requeues;		/* runs cut short by a weight */
	__u64 errors;		/* ring errors */
	__u64 iotlb_misses;	/* IOTLB miss messages */
	__u64 blk_inflight;	/* vhost-blk: requests in the I/O stack */
	__u64 blk_punted;	/* vhost-blk: requests sent to the workqueue */
	__u64 blk_bounced;	/* vhost-blk: copied through bounce pages */
	char name[16];		/* "rx", "tx", "req" (NUL-terminated) */
	char backend[128];	/* tap name or path, "-" if none (NUL-terminated) */
	/* vhost-vsock: packets of this queue's direction (rx: to the guest) */
	__u64 vsock_conns;	/* connection requests (REQUEST) */
	__u64 vsock_rsts;	/* resets (RST) */
	__u64 vsock_credit_requests;	/* CREDIT_REQUEST: a sender stalled */
	__u64 vsock_g2g;	/* relayed between guests (tx) */
	__u64 vsock_drops;	/* dropped */
	__u64 reserved[3];
};

#define VHX_GET_QUEUE_STATS	_IOWR(VHOST_VIRTIO, 0x58, struct vhx_queue_stats)

#endif /* _UAPI_LINUX_VHX_H */
