/* SPDX-License-Identifier: GPL-2.0 */
/* The registry of owned devices and its debugfs view (stats.c). */
#ifndef _VHX_STATS_H
#define _VHX_STATS_H

#include "core.h"

void vhx_dev_register(struct vhx_dev *dev);
void vhx_dev_unregister(struct vhx_dev *dev);
/* VHX_GET_QUEUE_STATS; no lock held (takes the registry's). */
long vhx_vq_stats_ioctl(struct vhx_dev *dev, void __user *argp);
int vhx_stats_init(void);
void vhx_stats_exit(void);

#endif /* _VHX_STATS_H */
