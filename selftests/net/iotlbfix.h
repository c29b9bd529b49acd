/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iotlbfix - the device-IOTLB fixture iotlb_test and cve_test share: IOTLB
 * messages in either format, and a vhxl_net started behind the IOTLB.
 */
#ifndef VHX_SELFTEST_IOTLBFIX_H
#define VHX_SELFTEST_IOTLBFIX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "vhxlib.h"

/* Write one IOTLB message, VHOST_IOTLB_MSG_V2 if @v2, else VHOST_IOTLB_MSG. */
ssize_t iotlb_send(int fd, bool v2, uint8_t type, uint64_t iova,
		   uint64_t size, uint64_t uaddr, uint8_t perm);

/*
 * After vhxl_net_setup() with VIRTIO_F_ACCESS_PLATFORM and .no_backend:
 * ask for the v2 message format if @v2, map each queue's used ring (or
 * packed device event area) page, then attach the tap to RX and TX.
 * 0 or a negative errno.
 */
int iotlb_start(struct vhxl_net *n, bool v2);

#endif
