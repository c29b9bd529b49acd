/* SPDX-License-Identifier: GPL-2.0 */
/* Packed rings (vq_packed.c, VIRTIO_F_RING_PACKED). */
#ifndef _VHX_VQ_PACKED_H
#define _VHX_VQ_PACKED_H

#include "vq_ops.h"

extern const struct vhx_vq_ops vhx_packed_ops;

#endif /* _VHX_VQ_PACKED_H */
