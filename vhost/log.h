/* SPDX-License-Identifier: GPL-2.0 */
/* Dirty logging for live migration (log.c).  Caller holds vq->mutex. */
#ifndef _VHX_LOG_H
#define _VHX_LOG_H

#include "core.h"

/* Log the first @len bytes written into the chain of @log / @iov. */
int vhx_log_write(struct vhx_vq *vq, struct vhx_log *log,
		  unsigned int log_num, u64 len, struct iovec *iov,
		  int count);
/* Log @len bytes at @offset of the used ring / device event area. */
int vhx_log_used(struct vhx_vq *vq, u64 offset, u64 len);
/* Log a ring range given by its ring address. */
int vhx_log_ring(struct vhx_vq *vq, u64 addr, u64 len);
/* True if the bitmap covering [addr, addr + size) is user-accessible. */
bool vhx_log_range_ok(u64 log_base, u64 addr, u64 size);

#endif /* _VHX_LOG_H */
