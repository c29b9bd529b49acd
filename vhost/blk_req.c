// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_blk requests: parse a chain, submit it, complete it.
 *
 * A queue's worker (the vq's own) pulls chains, validates the header and
 * the layout (no assumption about descriptor boundaries), and submits reads
 * and writes asynchronously: a kiocb with IOCB_NOWAIT where the file
 * honours it (direct I/O completes through ->ki_complete; page-cache hits
 * complete at once).  What would block -- a page-cache miss, a file that
 * cannot do NOWAIT, FLUSH, DISCARD, WRITE_ZEROES -- goes to the device's
 * own workqueue (vhx_blk.wq), whose work adopts the owner's mm for the
 * guest buffers.  Either way a
 * finished request lands on bvq->done_list; done_work, on the vq's worker,
 * writes the status bytes and the used entries and signals the guest once
 * per batch.
 *
 * Locking: vq->mutex covers the ring, the slot stack, inflight_bytes and
 * the flags.  Completion contexts (maybe interrupt context) never take it:
 * they push to the llist, queue done_work unless the worker is in
 * vhx_blk_handle_vq() and will reap anyway, and drop bvq->inflight.  The
 * one exception is that workqueue's work, which may sleep: it takes the
 * mutex to publish its request itself, but only when the worker is not in
 * vhx_blk_handle_vq() (a polling worker holds it for up to poll-us).
 */

#include <linux/blkdev.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "blk.h"

int vhx_blk_alloc_reqs(struct vhx_blk_vq *bvq)
{
	unsigned int i, num = bvq->vq.num;

	if (bvq->reqs && bvq->nreqs == num)
		return 0;
	vhx_blk_free_reqs(bvq);
	bvq->reqs = kvcalloc(num, sizeof(*bvq->reqs), GFP_KERNEL_ACCOUNT);
	bvq->free = kvcalloc(num, sizeof(*bvq->free), GFP_KERNEL_ACCOUNT);
	if (!bvq->reqs || !bvq->free) {
		vhx_blk_free_reqs(bvq);
		return -ENOMEM;
	}
	for (i = 0; i < num; i++) {
		bvq->reqs[i].bvq = bvq;
		bvq->free[i] = num - 1 - i;
	}
	bvq->nreqs = num;
	bvq->nfree = num;
	bvq->inflight_bytes = 0;
	return 0;
}

/* Only once drained: no slot is in use. */
void vhx_blk_free_reqs(struct vhx_blk_vq *bvq)
{
	kvfree(bvq->reqs);
	kvfree(bvq->free);
	bvq->reqs = NULL;
	bvq->free = NULL;
	bvq->nreqs = 0;
	bvq->nfree = 0;
}

static void vhx_blk_put_slot(struct vhx_blk_vq *bvq, struct vhx_blk_req *req)
{
	if (req->iov != req->inline_iov)
		kfree(req->iov);
	kfree(req->log);
	kfree(req->segs);
	req->iov = NULL;
	req->log = NULL;
	req->segs = NULL;
	bvq->inflight_bytes -= req->len;
	bvq->free[bvq->nfree++] = req - bvq->reqs;
}

/*
 * Will the queue's worker reap done_list without being asked?  Yes while
 * it is inside vhx_blk_handle_vq(): bvq->handling is set there, and the
 * worker clears it (a full barrier after) before its final reap.  The
 * caller has just added to done_list (llist_add: a fully ordered cmpxchg),
 * so either it reads handling set and the worker's final llist_del_all()
 * sees the entry, or it reads it clear and must wake the worker itself.
 */
static bool vhx_blk_reaps_soon(struct vhx_blk_vq *bvq)
{
	return READ_ONCE(bvq->handling);
}

/*
 * The request is finished (@ret: bytes or -errno).  Any context, the
 * vq mutex may or may not be held.  Everything it touches after the
 * inflight drop is bvq, which outlives the drain (freed after an RCU
 * grace period).
 */
static void vhx_blk_req_done(struct vhx_blk_req *req, long ret)
{
	struct vhx_blk_vq *bvq = req->bvq;

	req->ret = ret;
	rcu_read_lock();
	/*
	 * While the worker is in vhx_blk_handle_vq() (handling set) it
	 * reaps before it leaves, and its busy poll watches done_list: no
	 * done_work then, which would end the poll as "other work".  See
	 * vhx_blk_reaps_soon().
	 */
	llist_add(&req->node, &bvq->done_list);
	if (!vhx_blk_reaps_soon(bvq))
		vhx_vq_work_queue(&bvq->vq, &bvq->done_work);
	if (atomic_dec_and_test(&bvq->inflight))
		wake_up_all(&bvq->drain_wq);
	rcu_read_unlock();
}

static void vhx_blk_end_write(struct vhx_blk_req *req)
{
	struct inode *inode = file_inode(req->iocb.ki_filp);

	if (!req->sb_write)
		return;
	/* Freeze protection was taken by another context (lockdep only). */
	__sb_writers_acquired(inode->i_sb, SB_FREEZE_WRITE);
	sb_end_write(inode->i_sb);
	req->sb_write = false;
}

static void vhx_blk_punt(struct vhx_blk_req *req);

/* ->ki_complete: direct I/O finished; maybe in interrupt context. */
static void vhx_blk_ki_complete(struct kiocb *iocb, long ret)
{
	struct vhx_blk_req *req = container_of(iocb, struct vhx_blk_req, iocb);

	vhx_blk_end_write(req);
	/*
	 * A NOWAIT submission may fail later, when the device had no tag
	 * free: do it again where blocking is fine.
	 */
	if (ret == -EAGAIN && req->nowait) {
		req->nowait = false;
		vhx_blk_punt(req);
		return;
	}
	if (ret >= 0)
		ret += req->done;
	vhx_blk_req_done(req, ret);
}

/*
 * Issue the rest of a read or write.  @nowait: must not block (worker);
 * returns -EAGAIN then, with nothing left in flight.  Returns
 * -EIOCBQUEUED when ->ki_complete will finish it.
 */
static long vhx_blk_rw(struct vhx_blk_req *req, bool nowait)
{
	struct file *file = req->iocb.ki_filp;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	struct inode *inode = file_inode(file);
	long r;

	for (;;) {
		init_sync_kiocb(&req->iocb, file);
		req->iocb.ki_complete = vhx_blk_ki_complete;
		req->iocb.ki_pos = (req->sector << SECTOR_SHIFT) + req->done;
		/* Positions are the guest's, even on an O_APPEND file. */
		req->iocb.ki_flags &= ~IOCB_APPEND;
		if (nowait)
			req->iocb.ki_flags |= IOCB_NOWAIT;
		req->nowait = nowait;
		iov_iter_init(&req->iter, write ? ITER_SOURCE : ITER_DEST,
			      req->iov, req->nr_iov, req->len);
		iov_iter_advance(&req->iter, req->done);

		if (write && S_ISREG(inode->i_mode)) {
			u64 room = vhx_blk_fsize_room(req->bvq, req->iocb.ki_pos);

			if (!room)
				return -EFBIG;
			if (iov_iter_count(&req->iter) > room)
				iov_iter_truncate(&req->iter, room);
			if (nowait) {
				if (!sb_start_write_trylock(inode->i_sb))
					return -EAGAIN;
			} else {
				sb_start_write(inode->i_sb);
			}
			__sb_writers_release(inode->i_sb, SB_FREEZE_WRITE);
			req->sb_write = true;
		}
		if (write)
			r = vfs_iocb_iter_write(file, &req->iocb, &req->iter);
		else
			r = vfs_iocb_iter_read(file, &req->iocb, &req->iter);
		if (r == -EIOCBQUEUED)
			return r;
		vhx_blk_end_write(req);
		/*
		 * Some paths refuse NOWAIT outright: buffered writes say
		 * EOPNOTSUPP (ext4) or, through generic_write_checks() on a
		 * file opened FMODE_NOWAIT without FMODE_BUF_WASYNC (f2fs on
		 * 6.1), EINVAL.  The blocking retry gives a request that is
		 * really invalid its own error.
		 */
		if (nowait && (r == -EAGAIN || r == -EOPNOTSUPP || r == -EINVAL))
			return -EAGAIN;
		if (r <= 0 || req->done + r >= req->len)
			return r < 0 ? r : req->done + r;
		/* Short: a partial page-cache hit, or the end of the file. */
		req->done += r;
		if (nowait)
			return -EAGAIN;
		if (req->sector * SECTOR_SIZE + req->done >= i_size_read(inode) &&
		    !S_ISBLK(inode->i_mode))
			return req->done;
	}
}

/*
 * A read or write whose buffers are not aligned for direct I/O: move it
 * through kernel pages, VHX_BLK_BOUNCE_PAGES at a time, synchronously.
 * Runs on the device's workqueue in the owner's mm.  Returns bytes or -errno.
 */
static long vhx_blk_rw_bounce(struct vhx_blk_req *req)
{
	struct file *file = req->iocb.ki_filp;
	bool write = req->type == VIRTIO_BLK_T_OUT;
	struct bio_vec bv[VHX_BLK_BOUNCE_PAGES] = {};
	struct iov_iter guest, it;
	struct kiocb kiocb;
	unsigned int i, n;
	long r = 0;

	for (i = 0; i < ARRAY_SIZE(bv); i++) {
		bv[i].bv_page = alloc_page(GFP_KERNEL_ACCOUNT);
		if (!bv[i].bv_page) {
			r = -ENOMEM;
			goto out;
		}
	}
	iov_iter_init(&guest, write ? ITER_SOURCE : ITER_DEST, req->iov,
		      req->nr_iov, req->len);
	iov_iter_advance(&guest, req->done);
	while (req->done < req->len) {
		size_t chunk = min_t(size_t, req->len - req->done,
				     ARRAY_SIZE(bv) * PAGE_SIZE);

		n = DIV_ROUND_UP(chunk, PAGE_SIZE);
		for (i = 0; i < n; i++)
			bv[i].bv_len = min_t(size_t, PAGE_SIZE,
					     chunk - i * PAGE_SIZE);
		for (i = 0; write && i < n; i++) {
			void *p = kmap_local_page(bv[i].bv_page);
			size_t c = copy_from_iter(p, bv[i].bv_len, &guest);

			kunmap_local(p);
			if (c != bv[i].bv_len) {
				r = -EFAULT;
				goto out;
			}
		}
		iov_iter_bvec(&it, write ? ITER_SOURCE : ITER_DEST, bv, n, chunk);
		init_sync_kiocb(&kiocb, file);
		kiocb.ki_flags &= ~IOCB_APPEND;
		kiocb.ki_pos = (req->sector << SECTOR_SHIFT) + req->done;
		if (write) {
			file_start_write(file);
			r = vfs_iocb_iter_write(file, &kiocb, &it);
			file_end_write(file);
		} else {
			r = vfs_iocb_iter_read(file, &kiocb, &it);
		}
		if (r <= 0)
			break;
		for (i = 0; !write && i * PAGE_SIZE < r; i++) {
			size_t l = min_t(size_t, PAGE_SIZE, r - i * PAGE_SIZE);
			void *p = kmap_local_page(bv[i].bv_page);
			size_t c = copy_to_iter(p, l, &guest);

			kunmap_local(p);
			if (c != l) {
				r = -EFAULT;
				goto out;
			}
		}
		/* A short transfer is the end of the backend: stop there. */
		req->done += r;
		if (r < chunk)
			break;
		r = 0;
	}
out:
	for (i = 0; i < ARRAY_SIZE(bv) && bv[i].bv_page; i++)
		__free_page(bv[i].bv_page);
	return r < 0 ? r : req->done;
}

/*
 * Finish @req on the device's workqueue, in the owner's mm: publish it
 * (and whatever else has finished) from here instead of waking the
 * queue's worker to do it -- one thread hand-off less per blocking
 * request.
 */
static void vhx_blk_req_done_here(struct vhx_blk_req *req, long ret)
{
	struct vhx_blk_vq *bvq = req->bvq;

	req->ret = ret;
	llist_add(&req->node, &bvq->done_list);
	/*
	 * The worker is in vhx_blk_handle_vq(), maybe busy polling with
	 * the mutex held: it publishes this one; do not wait for it.
	 */
	if (!vhx_blk_reaps_soon(bvq)) {
		mutex_lock(&bvq->vq.mutex);
		vhx_blk_reap(bvq, true);
		mutex_unlock(&bvq->vq.mutex);
	}
	rcu_read_lock();
	if (atomic_dec_and_test(&bvq->inflight))
		wake_up_all(&bvq->drain_wq);
	rcu_read_unlock();
}

static void vhx_blk_work_fn(struct work_struct *work)
{
	struct vhx_blk_req *req = container_of(work, struct vhx_blk_req, work);
	/*
	 * Read once: the request holds the owner (a drain waits for it), but
	 * only until vhx_blk_req_done_here() below; after that a reset or
	 * release may clear dev->mm while this work still has to unuse it.
	 * kthread_use_mm() grabs the mm_struct, so it stays valid to here.
	 */
	struct mm_struct *mm = req->bvq->vq.dev->mm;
	/* The same for the credentials, held by us to the end. */
	const struct cred *cred = get_cred(req->bvq->vq.dev->cred);
	struct file *file = req->iocb.ki_filp;
	const struct cred *old;
	long r;

	/*
	 * The guest's buffers and rings are user addresses of the owner; the
	 * I/O is the owner's, checked as such (disk quota, root-reserved
	 * blocks, capability and LSM checks), never with the kworker's
	 * kernel credentials.
	 */
	old = override_creds(cred);
	kthread_use_mm(mm);
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->bounce)
			r = vhx_blk_rw_bounce(req);
		else
			r = vhx_blk_rw(req, false);
		break;
	case VIRTIO_BLK_T_FLUSH:
		r = vhx_blk_flush(file);
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		r = vhx_blk_dwz(req, file);
		break;
	default:
		r = -EINVAL;
		break;
	}
	/* -EIOCBQUEUED: ->ki_complete finishes it. */
	if (r != -EIOCBQUEUED)
		vhx_blk_req_done_here(req, r);
	kthread_unuse_mm(mm);
	revert_creds(old);
	put_cred(cred);
}

static void vhx_blk_punt(struct vhx_blk_req *req)
{
	atomic64_inc(&req->bvq->punted);
	if (req->bounce)
		atomic64_inc(&req->bvq->bounced);
	INIT_WORK(&req->work, vhx_blk_work_fn);
	queue_work(vhx_blk_from_vq(&req->bvq->vq)->wq, &req->work);
}

/* Finish @req now with a status (no I/O). */
static void vhx_blk_finish(struct vhx_blk_req *req, u8 status, u32 len)
{
	req->result = status;
	req->used_len = len;
	req->type = U32_MAX;	/* reaped as is */
	vhx_blk_req_done(req, 0);
}

/* Copy @n iovecs starting at @iov into the request (they outlive vq->iov). */
static int vhx_blk_take_iov(struct vhx_blk_req *req, const struct iovec *iov,
			    unsigned int n, size_t len)
{
	req->iov = req->inline_iov;
	if (n > VHX_BLK_INLINE_IOVS) {
		req->iov = kmalloc_array(n, sizeof(*iov), GFP_KERNEL_ACCOUNT);
		if (!req->iov) {
			req->iov = req->inline_iov;
			return -ENOMEM;
		}
	}
	memcpy(req->iov, iov, n * sizeof(*iov));
	req->nr_iov = n;
	req->len = len;
	return 0;
}

/* GET_ID: copy the serial into the data buffers. */
static void vhx_blk_get_id(struct vhx_blk_req *req, struct iovec *in,
			   unsigned int nin, size_t len)
{
	struct vhx_blk *b = vhx_blk_from_vq(&req->bvq->vq);
	size_t n = min_t(size_t, len, VHX_BLK_SERIAL_BYTES);
	struct iov_iter to;

	iov_iter_init(&to, ITER_DEST, in, nin, len);
	if (copy_to_iter(b->serial, n, &to) != n) {
		vhx_blk_finish(req, VIRTIO_BLK_S_IOERR, 1);
		return;
	}
	vhx_blk_finish(req, VIRTIO_BLK_S_OK, n + 1);
}

/*
 * Turn the chain in vq->iov (@out readable, @in writable iovecs) into a
 * request and start it.  Returns the data bytes started, or -errno if the
 * chain is malformed (the vq has been failed).
 */
static long vhx_blk_submit(struct vhx_blk_vq *bvq, struct vhx_blk_req *req,
			   struct file *file, unsigned int out,
			   unsigned int in)
{
	const struct vhx_blk_props *p = &bvq->props;
	struct vhx_vq *vq = &bvq->vq;
	struct vhx_blk_chain c;
	bool wz;
	u8 status;
	long r;

	r = vhx_blk_parse_chain(vq->iov, out, in, &c);
	if (r) {
		vhx_vq_err(vq, "malformed request (%ld): %u readable, %u writable iovecs\n",
			   r, out, in);
		return r;
	}
	req->type = c.type;
	req->sector = c.sector;
	req->status = c.status;
	trace_vhx_blk_submit(vq->dev->id, vq->index, req->head, c.type,
			     c.sector, (u64)c.out_len + c.in_len);
	req->iocb.ki_filp = file;
	req->done = 0;
	req->len = 0;
	req->nsegs = 0;
	req->sb_write = false;
	req->bounce = false;
	req->result = VIRTIO_BLK_S_OK;
	req->used_len = 1;

	/*
	 * A read or GET_ID writes data the dirty log must see; without the
	 * log of its buffers it fails (only its status byte is written, and
	 * that is logged) rather than complete unlogged.
	 */
	if (req->status_log.len && !req->log_num &&
	    (req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_GET_ID)) {
		vhx_blk_finish(req, VIRTIO_BLK_S_IOERR, 1);
		return 0;
	}

	switch (req->type) {
	case VIRTIO_BLK_T_IN:
	case VIRTIO_BLK_T_OUT:
		if (req->type == VIRTIO_BLK_T_IN)
			r = vhx_blk_take_iov(req, c.in, c.nin, c.in_len);
		else
			r = vhx_blk_take_iov(req, c.out, c.nout, c.out_len);
		if (r) {
			req->len = 0;
			vhx_blk_finish(req, VIRTIO_BLK_S_IOERR, 1);
			return 0;
		}
		status = vhx_blk_check_rw(p, req->type, req->sector, req->len);
		if (status || !req->len) {
			req->len = 0;
			vhx_blk_finish(req, status, 1);
			return 0;
		}
		bvq->inflight_bytes += req->len;
		req->bounce = (p->flags & VHX_BLK_INFO_F_DIRECT) &&
			      !vhx_blk_iov_aligned(req->iov, req->nr_iov, p->lbs);
		if (p->nowait && !req->bounce) {
			r = vhx_blk_rw(req, true);
			if (r == -EIOCBQUEUED)
				return req->len;
			if (r != -EAGAIN) {
				vhx_blk_req_done(req, r);
				return req->len;
			}
		}
		vhx_blk_punt(req);
		return req->len;
	case VIRTIO_BLK_T_FLUSH:
		vhx_blk_punt(req);
		return 0;
	case VIRTIO_BLK_T_GET_ID:
		vhx_blk_get_id(req, c.in, c.nin, c.in_len);
		return 0;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
		if (!(p->flags & (wz ? VHX_BLK_INFO_F_WRITE_ZEROES :
				  VHX_BLK_INFO_F_DISCARD))) {
			vhx_blk_finish(req, p->flags & VHX_BLK_INFO_F_RO ?
				       VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_UNSUPP, 1);
			return 0;
		}
		status = vhx_blk_parse_segs(p, wz, c.out, c.nout, c.out_len,
					    &req->segs, &req->nsegs);
		if (status) {
			vhx_blk_finish(req, status, 1);
			return 0;
		}
		vhx_blk_punt(req);
		return 0;
	default:
		vhx_blk_finish(req, VIRTIO_BLK_S_UNSUPP, 1);
		return 0;
	}
}

/* Status and used length of a finished request. */
static void vhx_blk_result(struct vhx_blk_req *req)
{
	if (req->type == U32_MAX)
		return;		/* finished by vhx_blk_finish() */
	if (req->ret < 0) {
		req->result = req->ret == -EOPNOTSUPP ? VIRTIO_BLK_S_UNSUPP :
			      VIRTIO_BLK_S_IOERR;
		req->used_len = 1;
		return;
	}
	req->result = VIRTIO_BLK_S_OK;
	req->used_len = 1;
	if (req->type == VIRTIO_BLK_T_IN || req->type == VIRTIO_BLK_T_OUT) {
		if (req->ret != req->len) {
			/* Short transfer: the backend shrank under us. */
			req->result = VIRTIO_BLK_S_IOERR;
			return;
		}
		if (req->type == VIRTIO_BLK_T_IN)
			req->used_len = req->len + 1;
	}
}

/*
 * Log what the device wrote into the guest for @req, once its status byte
 * is written: the first used_len - 1 bytes of the writable part (the data
 * of a read, the id of GET_ID; nothing for the others) and the status
 * byte, the chain's last.  Never more: the writable part of a chain is the
 * guest's to size (1000 descriptors of 4 GiB over the same RAM are 2^30
 * pages to mark), what the device writes is bounded by the request.  A
 * failed read logs only its status: the guest gets IOERR and must not use
 * the buffer.
 */
static void vhx_blk_log_written(struct vhx_vq *vq, struct vhx_blk_req *req)
{
	if (!req->status_log.len)
		return;		/* not logging */
	if (req->used_len > 1 && req->log_num)
		vhx_log_write(vq, req->log, req->log_num, req->used_len - 1,
			      NULL, 0);
	vhx_log_write(vq, &req->status_log, 1, 1, NULL, 0);
}

/*
 * Publish finished requests.  @guest: write status bytes and used entries
 * (on the vq's worker, in the owner's mm); otherwise only free the slots
 * (the worker is gone: its owner was killed).  Caller holds vq->mutex.
 */
void vhx_blk_reap(struct vhx_blk_vq *bvq, bool guest)
{
	struct vhx_vq *vq = &bvq->vq;
	struct vhx_blk_req *req, *next;
	struct llist_node *node;
	unsigned int n = 0;
	bool freed = false;

	lockdep_assert_held(&vq->mutex);

	node = llist_del_all(&bvq->done_list);
	if (!node)
		return;
	node = llist_reverse_order(node);
	llist_for_each_entry_safe(req, next, node, node) {
		vhx_blk_result(req);
		if (guest && !vq->broken) {
			if (put_user(req->result, req->status)) {
				vhx_vq_err(vq, "failed to write status of request %u\n",
					   req->head);
			} else {
				vhx_blk_log_written(vq, req);
				trace_vhx_blk_complete(vq->dev->id, vq->index,
						       req->head, req->result,
						       req->used_len);
				vq->heads[n].id = (__force __virtio32)cpu_to_le32(req->head);
				vq->heads[n].len = (__force __virtio32)cpu_to_le32(req->used_len);
				n++;
			}
			if (req->result == VIRTIO_BLK_S_OK) {
				vq->stats.packets++;
				vq->stats.bytes += req->len;
			}
		}
		vhx_blk_put_slot(bvq, req);
		freed = true;
		if (n == vq->dev->iov_limit) {
			vhx_add_used_and_signal_n(vq, vq->heads, n);
			n = 0;
		}
	}
	if (n)
		vhx_add_used_and_signal_n(vq, vq->heads, n);
	if (freed && bvq->starved && vhx_vq_get_backend(vq)) {
		bvq->starved = false;
		vhx_poll_queue(&vq->poll);
	}
}

void vhx_blk_done_work(struct vhx_work *work)
{
	struct vhx_blk_vq *bvq = container_of(work, struct vhx_blk_vq,
					      done_work);

	mutex_lock(&bvq->vq.mutex);
	vhx_blk_reap(bvq, true);
	mutex_unlock(&bvq->vq.mutex);
}

/* Can another request start?  Slots and the in-flight byte budget. */
static bool vhx_blk_can_start(struct vhx_blk_vq *bvq)
{
	if (!bvq->nfree)
		return false;
	return bvq->inflight_bytes < VHX_BLK_INFLIGHT_BYTES;
}

/* Busy-poll predicate: a new request, or one that finished meanwhile. */
static bool vhx_blk_poll_ready(struct vhx_vq *vq)
{
	return !llist_empty(&vhx_blk_vq(vq)->done_list) ||
	       !vhx_vq_avail_empty(vq);
}

static void vhx_blk_handle_vq(struct vhx_blk_vq *bvq)
{
	struct vhx_vq *vq = &bvq->vq;
	struct vhx_log *log = vhx_has_feature(vq, VHOST_F_LOG_ALL) ? vq->log : NULL;
	unsigned int out, in, log_num = 0;
	struct vhx_run run = { .on = false };
	int head, reqs = 0;
	long total = 0, r;
	struct file *file;

	mutex_lock(&vq->mutex);
	file = vhx_vq_get_backend(vq);
	if (!file || vq->broken || bvq->stopped)
		goto out;
	vhx_run_start(vq, &run);
	vhx_disable_notify(vq);
	WRITE_ONCE(bvq->handling, true);
	do {
		struct vhx_blk_req *req;

		if (!vhx_blk_can_start(bvq)) {
			/* The next reap restarts us. */
			bvq->starved = true;
			break;
		}
		head = vhx_get_vq_desc(vq, vq->iov, vq->dev->iov_limit, &out,
				       &in, log, &log_num);
		if (head < 0)
			break;
		if (head == vq->num) {
			/*
			 * Ring empty: poll a little if asked to (poll-us),
			 * after publishing what has finished so far.
			 */
			if (vq->busyloop_timeout) {
				vhx_blk_reap(bvq, true);
				if (vhx_vq_busy_poll(vq, vhx_blk_poll_ready)) {
					vhx_blk_reap(bvq, true);
					continue;
				}
			}
			if (unlikely(vhx_enable_notify(vq))) {
				vhx_disable_notify(vq);
				continue;
			}
			break;
		}
		req = &bvq->reqs[bvq->free[--bvq->nfree]];
		req->head = head;
		req->type = U32_MAX;
		req->len = 0;
		req->iov = NULL;
		req->segs = NULL;
		req->log_num = 0;
		req->status_log.len = 0;
		if (log && log_num) {
			/* The status byte is the last writable byte. */
			req->status_log.addr = log[log_num - 1].addr +
					       log[log_num - 1].len - 1;
			req->status_log.len = 1;
			req->log = kmemdup(log, log_num * sizeof(*log),
					   GFP_KERNEL_ACCOUNT);
			if (req->log)
				req->log_num = log_num;
		}
		atomic_inc(&bvq->inflight);
		r = vhx_blk_submit(bvq, req, file, out, in);
		if (r < 0) {
			/* Malformed: the vq is failed; the slot goes back. */
			vhx_blk_req_done(req, r);
			break;
		}
		total += r;
	} while (!vhx_exceeds_weight(vq, ++reqs, total));
	/*
	 * Publish what finished at once, with one signal; from here on
	 * completions queue done_work again.  The barrier orders the store
	 * before the reap's load of done_list (vhx_blk_reaps_soon()).
	 */
	smp_store_mb(bvq->handling, false);
	vhx_blk_reap(bvq, true);
out:
	vhx_run_end(vq, &run);
	mutex_unlock(&vq->mutex);
}

void vhx_blk_handle_kick(struct vhx_work *work)
{
	struct vhx_vq *vq = container_of(work, struct vhx_vq, poll.work);

	vq->stats.kicks++;
	vhx_blk_handle_vq(vhx_blk_vq(vq));
}
