/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The device life cycle and the device ioctls (dev.c): what a device
 * module (net, blk) calls from its file operations.  Caller holds
 * dev->mutex unless stated otherwise.
 */
#ifndef _VHX_DEV_H
#define _VHX_DEV_H

#include "core.h"

void vhx_dev_init(struct vhx_dev *dev, struct vhx_vq **vqs, int nvqs,
		  int iov_limit, int weight, int byte_weight,
		  const struct vhx_dev_ops *ops);
bool vhx_dev_has_owner(struct vhx_dev *dev);
long vhx_dev_check_owner(struct vhx_dev *dev);
long vhx_dev_set_owner(struct vhx_dev *dev);
/* Called without dev->mutex: it only allocates. */
struct vhx_maps *vhx_dev_reset_owner_prepare(void);
void vhx_dev_reset_owner(struct vhx_dev *dev, struct vhx_maps *umem);
void vhx_dev_stop(struct vhx_dev *dev);
/* With dev->mutex if and only if the fd is still open. */
void vhx_dev_cleanup(struct vhx_dev *dev);
long vhx_dev_ioctl(struct vhx_dev *dev, unsigned int ioctl,
		   void __user *argp);
long vhx_features_ioctl(struct vhx_dev *dev, unsigned int ioctl,
			void __user *argp, u64 offered, u64 backend_offered,
			long (*set)(struct vhx_dev *dev, u64 features));
/* Takes dev->mutex itself. */
long vhx_dev_vring_ioctl(struct vhx_dev *dev, unsigned int ioctl,
			 void __user *argp);
bool vhx_log_access_ok(struct vhx_dev *dev);
void vhx_set_backend_features(struct vhx_dev *dev, u64 features);
struct miscdevice;
/*
 * A device module's devname= parameter, before misc_register(@m): none
 * keeps @m's name and minor; 1-32 letters, digits, '-' or '_' name it
 * @devname on a dynamic minor; anything else is logged and -EINVAL.
 */
int vhx_misc_devname(struct miscdevice *m, const char *devname);

#endif /* _VHX_DEV_H */
