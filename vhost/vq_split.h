/* SPDX-License-Identifier: GPL-2.0 */
/* Split rings (vq_split.c): descriptor table, avail and used rings. */
#ifndef _VHX_VQ_SPLIT_H
#define _VHX_VQ_SPLIT_H

#include "vq_ops.h"

extern const struct vhx_vq_ops vhx_split_ops;

#endif /* _VHX_VQ_SPLIT_H */
