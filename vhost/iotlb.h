/* SPDX-License-Identifier: GPL-2.0 */
/* The device IOTLB and its message channel on the device fd (iotlb.c). */
#ifndef _VHX_IOTLB_H
#define _VHX_IOTLB_H

#include "core.h"

/* Caller holds dev->mutex (VHOST_SET_FEATURES with ACCESS_PLATFORM). */
int vhx_init_device_iotlb(struct vhx_dev *dev);
/* Queue a miss for the owner to answer; caller holds vq->mutex. */
void vhx_iotlb_miss(struct vhx_vq *vq, u64 iova, int access);
void vhx_clear_msg(struct vhx_dev *dev);
/* The device fd's read, write and poll. */
ssize_t vhx_chr_read_iter(struct vhx_dev *dev, struct iov_iter *to,
			  int noblock);
ssize_t vhx_chr_write_iter(struct vhx_dev *dev, struct iov_iter *from);
__poll_t vhx_chr_poll(struct file *file, struct vhx_dev *dev,
		      poll_table *wait);

#endif /* _VHX_IOTLB_H */
