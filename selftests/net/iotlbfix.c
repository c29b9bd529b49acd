// SPDX-License-Identifier: GPL-2.0
/* iotlbfix - the device-IOTLB fixture of iotlb_test and cve_test. */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "iotlbfix.h"

ssize_t iotlb_send(int fd, bool v2, uint8_t type, uint64_t iova,
		   uint64_t size, uint64_t uaddr, uint8_t perm)
{
	struct vhost_iotlb_msg *m;
	union {
		struct vhost_msg v1;
		struct vhost_msg_v2 v2;
	} u;
	size_t len;

	memset(&u, 0, sizeof(u));
	if (v2) {
		u.v2.type = VHOST_IOTLB_MSG_V2;
		m = &u.v2.iotlb;
		len = sizeof(u.v2);
	} else {
		u.v1.type = VHOST_IOTLB_MSG;
		m = &u.v1.iotlb;
		len = sizeof(u.v1);
	}
	m->type = type;
	m->iova = iova;
	m->size = size;
	m->uaddr = uaddr;
	m->perm = perm;
	return write(fd, &u, len);
}

int iotlb_start(struct vhxl_net *n, bool v2)
{
	size_t sz = v2 ? sizeof(struct vhost_msg_v2) : sizeof(struct vhost_msg);
	int i, r;

	if (v2) {
		uint64_t bf = 1ULL << VHOST_BACKEND_F_IOTLB_MSG_V2;

		r = vhxl_ioctl(n->dev.fd, VHOST_SET_BACKEND_FEATURES, &bf);
		if (r)
			return r;
	}
	/*
	 * Mainline writes used->flags and reads used->idx when the backend is
	 * attached (vhost_vq_init_access), so the used rings must be mapped
	 * first: NET_SET_BACKEND fails with EFAULT otherwise.  QEMU does the
	 * same (vhost_dev_start pre-faults used_phys with a device IOTLB miss).
	 * Packed: the device event structure, written at attach likewise.
	 */
	for (i = 0; i < VHX_NVQS; i++) {
		struct vhxl_vq *vq = &n->dev.vq[i];
		ssize_t w;

		w = iotlb_send(n->dev.fd, v2, VHOST_IOTLB_UPDATE, vq->used_gpa,
			       VHX_PAGE,
			       (uintptr_t)vhxl_gpa(&n->mem, vq->used_gpa, 1),
			       VHOST_ACCESS_RW);
		if (w != (ssize_t)sz)
			return w < 0 ? -errno : -EIO;
	}
	r = vhxl_set_backend(&n->dev, VHX_RX, n->tap.fd);
	return r ? r : vhxl_set_backend(&n->dev, VHX_TX, n->tap.fd);
}
