// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_blk backends: what a regular file or a block device can do, and the
 * blocking operations on it (flush, discard, write zeroes).
 *
 * The operations here may sleep for a long time; they run on the device's
 * workqueue, never on a queue's worker, so a slow flush stalls no queue.
 */

#include <linux/blkdev.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/uio.h>

#include "blk.h"

static void vhx_blk_probe_bdev(struct file *file, struct vhx_blk_props *p)
{
	struct block_device *bdev = vhx_file_bdev(file);
	u32 gran;

	p->flags |= VHX_BLK_INFO_F_BDEV;
	p->capacity = bdev_nr_sectors(bdev);
	p->lbs = bdev_logical_block_size(bdev);
	p->pbs = bdev_physical_block_size(bdev);
	p->max_discard_sectors = min_t(u64, bdev_max_discard_sectors(bdev),
				       U32_MAX);
	if (p->max_discard_sectors) {
		p->flags |= VHX_BLK_INFO_F_DISCARD;
		gran = bdev_discard_granularity(bdev) >> SECTOR_SHIFT;
		p->discard_alignment = max_t(u32, gran, 1);
	}
	/*
	 * Without hardware support, write-zeroes is carried out by writing
	 * zeros (blkdev_issue_zeroout falls back by itself), in bounded
	 * pieces.
	 */
	p->max_wz_sectors = bdev_write_zeroes_sectors(bdev);
	if (!p->max_wz_sectors)
		p->max_wz_sectors = VHX_BLK_EMUL_WZ_SECTORS;
	p->flags |= VHX_BLK_INFO_F_WRITE_ZEROES;
}

static void vhx_blk_probe_reg(struct file *file, struct vhx_blk_props *p)
{
	struct inode *inode = file_inode(file);
	struct super_block *sb = inode->i_sb;

	p->capacity = i_size_read(inode) >> SECTOR_SHIFT;
	/*
	 * Direct I/O on a file must be aligned to the file system's device;
	 * buffered I/O takes anything.
	 */
	p->lbs = SECTOR_SIZE;
	if ((file->f_flags & O_DIRECT) && sb->s_bdev)
		p->lbs = bdev_logical_block_size(sb->s_bdev);
	p->pbs = max_t(u32, sb->s_blocksize, p->lbs);
	/* Punching a hole reads back as zeros; a no-op where unsupported. */
	if (file->f_op->fallocate) {
		p->flags |= VHX_BLK_INFO_F_DISCARD |
			    VHX_BLK_INFO_F_DISCARD_ZEROES;
		p->max_discard_sectors = VHX_BLK_FILE_MAX_DWZ_SECTORS;
		p->discard_alignment = max_t(u32, sb->s_blocksize >> SECTOR_SHIFT,
					     1);
	}
	/* ZERO_RANGE, else zeros written by hand. */
	p->flags |= VHX_BLK_INFO_F_WRITE_ZEROES;
	p->max_wz_sectors = VHX_BLK_FILE_MAX_DWZ_SECTORS;
}

/*
 * Fill @props for @file, or fail: ENOTBLK if it is neither a regular file
 * nor a block device, EBADF if it cannot be read, EPERM if it is
 * append-only (O_APPEND, which every writable fd of a chattr +a file has,
 * or the inode's flag): a disk writes anywhere, and the device would
 * rewrite what the file system only lets be appended to.
 */
int vhx_blk_probe_file(struct file *file, struct vhx_blk_props *props)
{
	struct inode *inode = file_inode(file);
	umode_t mode = inode->i_mode;

	memset(props, 0, sizeof(*props));
	if (!S_ISREG(mode) && !S_ISBLK(mode))
		return -ENOTBLK;
	if (!(file->f_mode & FMODE_READ) || !file->f_op->read_iter)
		return -EBADF;
	if ((file->f_flags & O_APPEND) || IS_APPEND(inode))
		return -EPERM;
	if (S_ISBLK(mode))
		vhx_blk_probe_bdev(file, props);
	else
		vhx_blk_probe_reg(file, props);
	props->flags |= VHX_BLK_INFO_F_FLUSH;
	if (file->f_flags & O_DIRECT)
		props->flags |= VHX_BLK_INFO_F_DIRECT;
	if (!(file->f_mode & FMODE_WRITE) || !file->f_op->write_iter) {
		props->flags |= VHX_BLK_INFO_F_RO;
		props->flags &= ~(VHX_BLK_INFO_F_DISCARD |
				  VHX_BLK_INFO_F_DISCARD_ZEROES |
				  VHX_BLK_INFO_F_WRITE_ZEROES);
	}
	props->nowait = !!(file->f_mode & FMODE_NOWAIT);
	return 0;
}

int vhx_blk_flush(struct file *file)
{
	return vfs_fsync(file, 0);
}

/* Write zeros to [pos, pos + len) through the file (the last resort). */
static int vhx_blk_write_zero_pages(struct file *file, loff_t pos, u64 len)
{
	struct bio_vec bv[16];
	struct iov_iter it;
	struct kiocb kiocb;
	bool reg = S_ISREG(file_inode(file)->i_mode);
	unsigned int i;
	ssize_t r = 0;

	for (i = 0; i < ARRAY_SIZE(bv); i++) {
		bv[i].bv_page = ZERO_PAGE(0);
		bv[i].bv_len = PAGE_SIZE;
		bv[i].bv_offset = 0;
	}
	if (reg)
		sb_start_write(file_inode(file)->i_sb);
	while (len) {
		size_t n = min_t(u64, len, ARRAY_SIZE(bv) * PAGE_SIZE);

		iov_iter_bvec(&it, ITER_SOURCE, bv, DIV_ROUND_UP(n, PAGE_SIZE), n);
		init_sync_kiocb(&kiocb, file);
		/* In place, at @pos, even if O_APPEND was set since the attach. */
		kiocb.ki_flags &= ~IOCB_APPEND;
		kiocb.ki_pos = pos;
		r = vfs_iocb_iter_write(file, &kiocb, &it);
		if (r <= 0)
			break;
		pos += r;
		len -= r;
		r = 0;
		cond_resched();
	}
	if (reg)
		sb_end_write(file_inode(file)->i_sb);
	return r < 0 ? r : (len ? -EIO : 0);
}

static bool vhx_blk_is_bdev(struct file *file)
{
	return S_ISBLK(file_inode(file)->i_mode);
}

/* The holder of the short claims vhx_blk_bdev_drop_cache() makes. */
static char vhx_blk_discard_holder;

/*
 * Drop the cached pages of [pos, end] before a discard, as the kernel does
 * for BLKDISCARD: truncate them (dirty ones too: their contents become
 * undefined anyway) only if nobody else holds the device exclusively (a
 * mounted file system, a RAID member); otherwise invalidate them, which
 * fails with EBUSY where pages are dirty or in use, and nothing is
 * discarded.  Caller holds the mapping's invalidate lock.
 */
static int vhx_blk_bdev_drop_cache(struct file *file, loff_t pos, loff_t end)
{
	struct block_device *bdev = vhx_file_bdev(file);
	struct address_space *mapping = file->f_mapping;
	bool excl = file->f_flags & O_EXCL;	/* the owner is the holder */

	if (!excl && vhx_bd_prepare_to_claim(bdev, &vhx_blk_discard_holder))
		return invalidate_inode_pages2_range(mapping, pos >> PAGE_SHIFT,
						     end >> PAGE_SHIFT);
	truncate_inode_pages_range(mapping, pos, end);
	if (!excl)
		bd_abort_claiming(bdev, &vhx_blk_discard_holder);
	return 0;
}

/*
 * Discard on a block device with the checks of BLKDISCARD and of a write:
 * not on an active swap device (ETXTBSY), not under pages another holder
 * uses (EBUSY).  @len is not zero (blk_parse.c).
 */
static int vhx_blk_bdev_discard(struct file *file, loff_t pos, u64 len)
{
	struct address_space *mapping = file->f_mapping;
	int r;

	if (IS_SWAPFILE(mapping->host))
		return -ETXTBSY;
	filemap_invalidate_lock(mapping);
	r = vhx_blk_bdev_drop_cache(file, pos, pos + len - 1);
	if (!r)
		r = blkdev_issue_discard(vhx_file_bdev(file), pos >> SECTOR_SHIFT,
					 len >> SECTOR_SHIFT, GFP_KERNEL);
	filemap_invalidate_unlock(mapping);
	return r;
}

static int vhx_blk_discard_one(struct file *file, loff_t pos, u64 len)
{
	int r;

	if (vhx_blk_is_bdev(file))
		r = vhx_blk_bdev_discard(file, pos, len);
	else
		r = vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE |
				  FALLOC_FL_KEEP_SIZE, pos, len);
	/* Discard is a hint: where the backend cannot, nothing happens. */
	if (r == -EOPNOTSUPP)
		r = 0;
	return r;
}

static int vhx_blk_zero_one(struct file *file, loff_t pos, u64 len,
			    bool unmap)
{
	int r = -EOPNOTSUPP;

	/* UNMAP: deallocate and read back zeros (hole or NOFALLBACK). */
	if (unmap)
		r = vfs_fallocate(file, FALLOC_FL_PUNCH_HOLE |
				  FALLOC_FL_KEEP_SIZE, pos, len);
	if (r == -EOPNOTSUPP)
		r = vfs_fallocate(file, FALLOC_FL_ZERO_RANGE |
				  FALLOC_FL_KEEP_SIZE, pos, len);
	if (r == -EOPNOTSUPP)
		r = vhx_blk_write_zero_pages(file, pos, len);
	return r;
}

/*
 * DISCARD or WRITE_ZEROES, segment by segment.  The segments were
 * validated against the capacity and limits already; zeroing a regular
 * file is a write, within the owner's RLIMIT_FSIZE.
 */
int vhx_blk_dwz(struct vhx_blk_req *req, struct file *file)
{
	bool wz = req->type == VIRTIO_BLK_T_WRITE_ZEROES;
	unsigned int i;
	int r;

	for (i = 0; i < req->nsegs; i++) {
		loff_t pos = le64_to_cpu(req->segs[i].sector) << SECTOR_SHIFT;
		u64 len = (u64)le32_to_cpu(req->segs[i].num_sectors) << SECTOR_SHIFT;
		u32 flags = le32_to_cpu(req->segs[i].flags);

		if (wz && S_ISREG(file_inode(file)->i_mode) &&
		    vhx_blk_fsize_room(req->bvq, pos) < len)
			r = -EFBIG;
		else if (wz)
			r = vhx_blk_zero_one(file, pos, len,
					     flags & VIRTIO_BLK_WRITE_ZEROES_FLAG_UNMAP);
		else
			r = vhx_blk_discard_one(file, pos, len);
		if (r)
			return r;
	}
	return 0;
}
