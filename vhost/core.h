/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data every part of the vhx core shares: the device, its virtqueues,
 * the wait-queue hook, the per-queue counters, and the vq error report.
 * Declares no file's functions: each .c of the core has its own header, and
 * they depend on each other one way, from the top down --
 *
 *   dev.c     device life cycle and device ioctls     dev.h
 *   vring.c   per-vq ioctls and ring set-up checks    vring.h
 *   stats.c   the device registry, debugfs            stats.h
 *   vq.c      the virtqueue API of the devices        vq.h
 *   vq_split.c, vq_packed.c  the ring layouts          vq_ops.h
 *   log.c     the dirty log                           log.h
 *   access.c  guest-memory access                     access.h
 *   iotlb.c   the device IOTLB and its messages       iotlb.h
 *   poll.c    wait-queue hooks, work queueing         poll.h
 *   mem.c, worker.c  address maps, worker threads     mem.h, worker.h
 */
#ifndef _VHX_CORE_H
#define _VHX_CORE_H

#include <linux/bits.h>
#include <linux/eventfd.h>
#include <linux/file.h>
#include <linux/mutex.h>
#include <linux/poll.h>
#include <linux/uio.h>
#include <linux/vhost.h>
#include <linux/vhx.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "mem.h"
#include "trace.h"
#include "worker.h"

/*
 * Feature bits every vhx device offers (the vhost core set).  Packed rings
 * are implemented entirely under the virtqueue API (vq_packed.c), so every
 * device gets them.
 */
#define VHX_FEATURES (BIT_ULL(VIRTIO_F_NOTIFY_ON_EMPTY) | \
		      BIT_ULL(VIRTIO_RING_F_INDIRECT_DESC) | \
		      BIT_ULL(VIRTIO_RING_F_EVENT_IDX) | \
		      BIT_ULL(VHOST_F_LOG_ALL) | \
		      BIT_ULL(VIRTIO_F_ANY_LAYOUT) | \
		      BIT_ULL(VIRTIO_F_VERSION_1) | \
		      BIT_ULL(VIRTIO_F_RING_PACKED))

/* Bytes of a dirty-log page and of the used ring's header and trailer. */
#define VHX_LOG_PAGE 0x1000ULL

/* Room for a backend's name in the counters ("?" if it is longer). */
#define VHX_BACKEND_NAME_MAX 128

struct vhx_dev;
struct vhx_vq;
struct vhx_vq_ops;
struct vhx_vq_packed;

/* A wait-queue hook on a file (kick eventfd or backend socket). */
struct vhx_poll {
	poll_table table;
	wait_queue_head_t *wqh;
	wait_queue_entry_t wait;
	struct vhx_work work;
	__poll_t mask;
	struct vhx_dev *dev;
	struct vhx_vq *vq;	/* queue on this vq's worker, if set */
};

/* Per-queue counters; written under the vq mutex, read racily. */
struct vhx_vq_stats {
	u64 packets;
	u64 bytes;
	u64 kicks;
	u64 calls;
	u64 runs;
	u64 requeues;
	u64 errors;
	u64 iotlb_misses;
};

/* A dirty-log entry: a guest-physical range written by the device. */
struct vhx_log {
	u64 addr;
	u64 len;
};

struct vhx_vq {
	struct vhx_dev *dev;
	/* Protects every field below; the worker holds it while handling. */
	struct mutex mutex;

	unsigned int num;
	u64 desc_addr;		/* user VA, or IOVA with the device IOTLB */
	u64 avail_addr;
	u64 used_addr;
	u64 log_addr;		/* GPA of the used ring for dirty logging */
	bool log_used;

	struct file *kick;
	struct eventfd_ctx *call_ctx;
	struct eventfd_ctx *error_ctx;
	struct eventfd_ctx *log_ctx;
	struct vhx_poll poll;
	vhx_work_fn_t handle_kick;
	/*
	 * The vq's own worker (vhx_dev_add_vq_worker()), NULL to share the
	 * device's.  Set under dev->mutex by the owner, read locklessly by
	 * wakeups; stays until vhx_dev_cleanup().
	 */
	struct vhx_worker *worker;
	u16 index;		/* in dev->vqs[], for the tracepoints */

	/*
	 * The ring layout in use: set from the negotiated features when a
	 * backend is attached (vhx_vq_start()), split otherwise.
	 */
	const struct vhx_vq_ops *ops;
	/*
	 * Split: free-running indices.  Packed: ring positions in [0, num)
	 * and the wrap counters that go with them.
	 */
	u16 last_avail_idx;	/* next avail entry to process */
	u16 avail_idx;		/* split: last avail->idx read from the guest */
	u16 last_used_idx;	/* next used entry to write */
	bool last_avail_wrap;	/* packed: driver wrap counter expected */
	bool last_used_wrap;	/* packed: device wrap counter */
	u16 used_flags;		/* split: used->flags; packed: device event flags */
	u16 signalled_used;	/* split: used idx at the last signal */
	bool signalled_used_valid;
	struct vhx_vq_packed *packed;	/* packed: per-buffer-id state */
	bool broken;		/* vq error: stopped until reset */
	bool iotlb_wait;	/* a miss is outstanding */

	struct iovec *iov;
	struct iovec *indirect;
	struct vhx_log *log;
	struct vring_used_elem *heads;
	unsigned int log_max;

	struct vhx_maps *umem;
	struct vhx_maps *iotlb;
	u64 log_base;

	void *private_data;	/* backend, NULL when detached */
	u64 acked_features;
	u64 acked_backend_features;
	u32 busyloop_timeout;
	struct vhx_vq_stats stats;
	/*
	 * What the counters call the backend, named when it is attached
	 * (vhx_vq_set_backend()): the counters are read without vq->mutex,
	 * which a tenant's stuck handler may hold.  name_lock, taken inside
	 * vq->mutex or alone, protects backend_name only.
	 */
	spinlock_t name_lock;
	char backend_name[VHX_BACKEND_NAME_MAX];
};

struct seq_file;

/* What a device kind tells the core about itself (for the counters). */
struct vhx_dev_ops {
	const char *kind;			/* "net", "blk" */
	const char *(*vq_name)(int idx);
	/*
	 * Print the backend of @vq (no spaces), when it is attached; vq->mutex
	 * is held.  At most VHX_BACKEND_NAME_MAX - 1 bytes are kept.
	 */
	void (*show_backend)(struct seq_file *m, struct vhx_vq *vq);
	/*
	 * Fill the backend's own counters into @st (the blk_* fields, and
	 * VHX_QSTATS_F_BLK), when it is attached, without vq->mutex: only
	 * what stays valid while the device lives.  May be NULL.
	 */
	void (*backend_stats)(struct vhx_vq *vq, struct vhx_queue_stats *st);
};

struct vhx_dev {
	struct mm_struct *mm;	/* owner; mm_users held */
	/*
	 * The owner's credentials at SET_OWNER (referenced, like mm): every
	 * backend I/O runs under them, wherever it is issued from.
	 */
	const struct cred *cred;
	/*
	 * The owner's RLIMIT_FSIZE at SET_OWNER: limits live in the owner's
	 * signal_struct, which no worker of the device shares, so the
	 * device applies it itself (vhx_blk: writes to regular files).
	 */
	unsigned long fsize_limit;
	pid_t owner_pid;
	struct mutex mutex;	/* outer lock: device ioctls; then vq->mutex */
	struct vhx_vq **vqs;
	int nvqs;
	struct eventfd_ctx *log_ctx;
	struct vhx_maps *umem;
	struct vhx_maps *iotlb;
	spinlock_t msg_lock;	/* protects read_list and pending_list */
	struct list_head read_list;
	struct list_head pending_list;
	wait_queue_head_t wait;
	struct vhx_worker *worker;
	int iov_limit;
	int weight;
	int byte_weight;
	const struct vhx_dev_ops *ops;
	unsigned int id;	/* stable for the fd's lifetime */
	struct list_head node;	/* on the registry, while owned */
};

/*
 * Guest-triggered errors: rate-limited debug log, ERR eventfd, and the
 * queue stops until userspace resets it.  Caller holds vq->mutex.
 */
static inline void vhx_vq_fail(struct vhx_vq *vq)
{
	vq->broken = true;
	vq->stats.errors++;
	if (vq->error_ctx)
		vhx_eventfd_signal(vq->error_ctx);
}

/*
 * A guest-triggered error, with its message: see vhx_vq_err_fail()
 * (trace.c), out of line so that the ring walk's many checks stay small.
 */
__printf(3, 4)
void vhx_vq_err_fail(struct vhx_vq *vq, const char *mod, const char *fmt, ...);
#define vhx_vq_err(vq, fmt, ...) \
	vhx_vq_err_fail(vq, KBUILD_MODNAME, fmt, ##__VA_ARGS__)

static inline bool vhx_has_feature(const struct vhx_vq *vq, int bit)
{
	return vq->acked_features & (1ULL << bit);
}

static inline bool vhx_backend_has_feature(const struct vhx_vq *vq, int bit)
{
	return vq->acked_backend_features & (1ULL << bit);
}

static inline void *vhx_vq_get_backend(struct vhx_vq *vq)
{
	return vq->private_data;
}

#endif /* _VHX_CORE_H */
