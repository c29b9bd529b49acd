/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * vhx_blk: the ioctls of /dev/vhost-blk that <linux/vhost.h> does not have.
 *
 * /dev/vhost-blk is an in-kernel virtio-blk device.  Every shared vhost
 * ioctl (VHOST_SET_OWNER, VHOST_GET/SET_FEATURES, VHOST_SET_MEM_TABLE, the
 * vring ioctls, dirty logging, the device IOTLB) works as on /dev/vhost-net;
 * the ones below are vhx's own, on numbers that mainline's <linux/vhost.h>
 * does not use.  All structures have fixed-width fields and explicit
 * padding; reserved fields must be zero.
 *
 * Sequence: open, VHOST_SET_OWNER, VHX_BLK_GET_INFO (to build the guest's
 * virtio_blk_config), VHOST_GET/SET_FEATURES, VHOST_SET_MEM_TABLE, per
 * queue VHOST_SET_VRING_NUM/BASE/ADDR/KICK/CALL, then VHX_BLK_SET_BACKEND
 * per queue.  VHX_BLK_SET_BACKEND with fd -1, VHOST_GET_VRING_BASE,
 * VHOST_RESET_OWNER and close() return only once the queue's requests in
 * flight have completed.
 */
#ifndef _UAPI_LINUX_VHX_BLK_H
#define _UAPI_LINUX_VHX_BLK_H

#include <linux/types.h>
#include <linux/vhost.h>

/*
 * Attach a backend to one virtqueue: a regular file or a block device,
 * opened by the caller (O_RDONLY makes the device read-only, O_DIRECT is
 * honoured); fd -1 detaches.  struct vhost_vring_file {index, fd}.  All
 * queues of one device must use the same file (same inode): another gives
 * EBUSY.  index >= number of queues: ENOBUFS; not a regular file or block
 * device: ENOTBLK; rings not accessible: EFAULT; not the owner, or an
 * append-only file (O_APPEND on the fd, or chattr +a): EPERM.
 */
#define VHX_BLK_SET_BACKEND	_IOW(VHOST_VIRTIO, 0x50, struct vhost_vring_file)

/* struct vhx_blk_info.flags */
#define VHX_BLK_INFO_F_RO		0x01U  /* OUT, DISCARD, WRITE_ZEROES fail */
#define VHX_BLK_INFO_F_FLUSH		0x02U  /* FLUSH reaches stable storage */
#define VHX_BLK_INFO_F_DISCARD		0x04U  /* DISCARD is carried out */
#define VHX_BLK_INFO_F_WRITE_ZEROES	0x08U  /* WRITE_ZEROES is carried out */
#define VHX_BLK_INFO_F_DISCARD_ZEROES	0x10U  /* discarded sectors read back as zeros */
#define VHX_BLK_INFO_F_BDEV		0x20U  /* the backend is a block device */
#define VHX_BLK_INFO_F_DIRECT		0x40U  /* opened with O_DIRECT */

/*
 * The device's view of a backend, so that userspace builds a virtio-blk
 * config space that matches what the kernel will do.  In: fd, a backend
 * candidate (not attached by this call), or -1 for the file attached to
 * the device (ENXIO if none).  Out: everything else.
 */
struct vhx_blk_info {
	__s32 fd;
	__u32 flags;			/* VHX_BLK_INFO_F_* */
	__u64 capacity;			/* in 512-byte sectors */
	__u32 logical_block_size;	/* bytes: virtio blk_size */
	__u32 physical_block_size;	/* bytes */
	__u32 num_queues;		/* virtqueues of this fd */
	__u32 seg_max;			/* data segments per request */
	__u32 max_discard_sectors;
	__u32 max_discard_seg;
	__u32 discard_sector_alignment;	/* in 512-byte sectors */
	__u32 max_write_zeroes_sectors;
	__u32 max_write_zeroes_seg;
	__u8 write_zeroes_may_unmap;
	__u8 padding[3];
	__u64 reserved[4];
};

#define VHX_BLK_GET_INFO	_IOWR(VHOST_VIRTIO, 0x51, struct vhx_blk_info)

/* What GET_ID returns: 20 bytes, NUL-padded (VIRTIO_BLK_ID_BYTES). */
#define VHX_BLK_SERIAL_BYTES	20

struct vhx_blk_serial {
	__u8 id[VHX_BLK_SERIAL_BYTES];
	__u32 reserved;
};

#define VHX_BLK_SET_SERIAL	_IOW(VHOST_VIRTIO, 0x52, struct vhx_blk_serial)

#endif /* _UAPI_LINUX_VHX_BLK_H */
