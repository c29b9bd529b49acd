/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhx_blk internals shared by the device (blk_dev.c), its request path
 * (blk_req.c) and its backends (blk_backend.c).
 */
#ifndef _VHX_BLK_H
#define _VHX_BLK_H

#include <linux/fs.h>
#include <linux/llist.h>
#include <linux/resource.h>
#include <linux/sizes.h>
#include <linux/virtio_blk.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/vhx_blk.h>

#include "blk_parse.h"
#include "log.h"
#include "poll.h"
#include "vq.h"

/* Virtqueues per fd (module parameter max_queues bounds it). */
#define VHX_BLK_MAX_QUEUES 64
/* Segments per request: the chain may hold header + data + status. */
#define VHX_BLK_IOV_LIMIT UIO_MAXIOV
#define VHX_BLK_SEG_MAX (VHX_BLK_IOV_LIMIT - 2)
/*
 * Max requests handled in one run of a queue before requeueing it, and
 * max data bytes: keeps one virtqueue from starving the others on a
 * shared worker and bounds the time a run holds the vq mutex.
 */
#define VHX_BLK_WEIGHT 256
#define VHX_BLK_BYTE_WEIGHT SZ_8M
/*
 * Data bytes a queue may have in flight.  Direct I/O pins the guest pages
 * of a request until it completes; this bounds what one queue can pin
 * (a lone request larger than the budget still runs, alone).
 */
#define VHX_BLK_INFLIGHT_BYTES SZ_64M
/* Discard / write-zeroes size limits (files). */
#define VHX_BLK_FILE_MAX_DWZ_SECTORS BIT(22)
/* Write-zeroes emulated by writing zeros: at most this much per segment. */
#define VHX_BLK_EMUL_WZ_SECTORS BIT(16)
/*
 * Direct I/O needs buffers aligned to the logical block size; a guest
 * request that is not is copied through bounce pages, this much at once.
 */
#define VHX_BLK_BOUNCE_PAGES 64
/* Blocking request parts running at once, per device (vhx_blk.wq). */
#define VHX_BLK_WQ_ACTIVE 64
/* Iovecs kept inside each request slot; more are allocated. */
#define VHX_BLK_INLINE_IOVS 4

struct vhx_blk_vq;

/* One request in flight.  Slots live in vhx_blk_vq.reqs[]. */
struct vhx_blk_req {
	struct kiocb iocb;
	struct work_struct work;	/* blocking part, on the device's wq */
	struct llist_node node;		/* on bvq->done_list when finished */
	struct vhx_blk_vq *bvq;
	struct iov_iter iter;
	struct iovec *iov;		/* data segments (user VAs) */
	struct iovec inline_iov[VHX_BLK_INLINE_IOVS];
	unsigned int nr_iov;
	size_t len;			/* data bytes */
	size_t done;			/* bytes already moved (partial NOWAIT) */
	struct vhx_log *log;		/* dirty log of the writable part */
	unsigned int log_num;
	/* The status byte's, if logging; then log_num 0: no memory for @log. */
	struct vhx_log status_log;
	u8 __user *status;
	struct virtio_blk_discard_write_zeroes *segs;
	unsigned int nsegs;
	u64 sector;
	u32 type;
	u32 used_len;			/* set when finished */
	u16 head;
	u8 result;			/* VIRTIO_BLK_S_* when finished */
	bool sb_write;			/* holds the fs's freeze protection */
	bool bounce;			/* misaligned for direct I/O: copy */
	bool nowait;			/* issued with IOCB_NOWAIT */
	long ret;
};

struct vhx_blk_vq {
	struct vhx_vq vq;
	/*
	 * Request slots, allocated when the backend is attached (one per
	 * ring entry, so in-flight work is bounded by the ring size) and
	 * freed after the queue is drained.  vq->mutex protects the free
	 * stack, inflight_bytes and the flags.
	 */
	struct vhx_blk_req *reqs;
	u16 *free;
	unsigned int nfree;
	unsigned int nreqs;
	u64 inflight_bytes;
	bool starved;		/* stopped fetching: no slot or byte budget */
	bool stopped;		/* VHOST_GET_VRING_BASE: fetch nothing more */
	struct vhx_blk_props props;
	/* Requests in the I/O stack; the drainer waits for zero. */
	atomic_t inflight;
	/* Counters: requests sent to the device's wq, and copied through bounce
	 * pages (debugfs, after the backend: punted= bounced=).
	 */
	atomic64_t punted;
	atomic64_t bounced;
	wait_queue_head_t drain_wq;
	/* Finished requests, reaped by done_work on the vq's worker. */
	struct llist_head done_list;
	struct vhx_work done_work;
	/*
	 * Set while the worker is in vhx_blk_handle_vq(): whatever finishes
	 * meanwhile, in any context, is reaped by the handler before it
	 * leaves, without queueing done_work (see vhx_blk_reaps_soon()).
	 */
	bool handling;
};

struct vhx_blk {
	struct vhx_dev dev;
	int nvqs;
	struct vhx_blk_vq *vqs;
	struct vhx_vq **vqp;
	u8 serial[VHX_BLK_SERIAL_BYTES];	/* under dev.mutex */
	struct workqueue_struct *wq;	/* the requests' blocking parts */
};

static inline struct vhx_blk_vq *vhx_blk_vq(struct vhx_vq *vq)
{
	return container_of(vq, struct vhx_blk_vq, vq);
}

static inline struct vhx_blk *vhx_blk_from_vq(struct vhx_vq *vq)
{
	return container_of(vq->dev, struct vhx_blk, dev);
}

/* blk_req.c */
void vhx_blk_handle_kick(struct vhx_work *work);
void vhx_blk_done_work(struct vhx_work *work);
void vhx_blk_reap(struct vhx_blk_vq *bvq, bool guest);
int vhx_blk_alloc_reqs(struct vhx_blk_vq *bvq);
void vhx_blk_free_reqs(struct vhx_blk_vq *bvq);

/* blk_backend.c */
int vhx_blk_probe_file(struct file *file, struct vhx_blk_props *props);
int vhx_blk_flush(struct file *file);
int vhx_blk_dwz(struct vhx_blk_req *req, struct file *file);

/*
 * Bytes a write to a regular file may put at @pos under the owner's
 * RLIMIT_FSIZE: U64_MAX without a limit, 0 at or past it.  A write there
 * is EFBIG (IOERR), as the owner's own write(2) would be, but without the
 * SIGXFSZ that would kill it; one across it is cut short at the limit.
 */
static inline u64 vhx_blk_fsize_room(const struct vhx_blk_vq *bvq, loff_t pos)
{
	unsigned long limit = bvq->vq.dev->fsize_limit;

	if (limit == RLIM_INFINITY)
		return U64_MAX;
	return (u64)pos < limit ? limit - (u64)pos : 0;
}

#endif /* _VHX_BLK_H */
