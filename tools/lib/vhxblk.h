/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxblk - the userspace "guest driver" side of /dev/vhost-blk, on top of
 * vhxlib's guest memory and virtqueues.  Shared by the vhx-blk selftests and
 * tools (the block benchmark driver).
 *
 * A request is a chain: header (16 bytes, device-readable), data, status
 * (1 byte, device-writable, the last byte of the chain).  The header and
 * status live in a per-request slot in guest memory; the data buffer is the
 * caller's (vhxl_blk_alloc()).  Layout knobs let tests split the header,
 * share descriptors between header and data or data and status, and use
 * indirect tables.
 */
#ifndef VHXBLK_H
#define VHXBLK_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/virtio_blk.h>
#include <linux/vhx_blk.h>

#include "vhxlib.h"

#define VHX_BLK_STATUS_UNSET 0xee	/* what the status byte holds before */

/* Device path: $VHX_BLK_DEV or /dev/vhost-blk. */
const char *vhxl_blk_dev_path(void);
/* NULL if /dev/vhost-blk can be used, else a reason to SKIP. */
const char *vhxl_blk_skip_reason(void);
/* Also a reason when the device does not offer packed rings. */
const char *vhxl_blk_skip_packed(void);

/* The feature set the helpers negotiate by default. */
#define VHX_BLK_DEFAULT_FEATURES (VHX_BIT(VIRTIO_F_VERSION_1) | \
				  VHX_BIT(VIRTIO_BLK_F_SEG_MAX) | \
				  VHX_BIT(VIRTIO_BLK_F_BLK_SIZE) | \
				  VHX_BIT(VIRTIO_BLK_F_FLUSH) | \
				  VHX_BIT(VIRTIO_BLK_F_DISCARD) | \
				  VHX_BIT(VIRTIO_BLK_F_WRITE_ZEROES))

struct vhxl_blk_cfg {
	uint64_t features;	/* 0: VHX_BLK_DEFAULT_FEATURES (+MQ if nqueues > 1,
				 * +EVENT_IDX, +RING_PACKED as asked) */
	unsigned num;		/* ring size (0: 128) */
	unsigned nqueues;	/* 0: 1 */
	unsigned ind_max;	/* indirect table entries per head (0: 8) */
	size_t data_size;	/* guest memory for data buffers (0: 8 MiB) */
	unsigned nregions;	/* 0: 1 */
	bool identity;		/* gpa == hva (false: GPA base VHX_GPA_BASE) */
	bool no_backend;	/* do not attach the backend */
	bool event_idx;		/* negotiate VIRTIO_RING_F_EVENT_IDX */
	bool packed;		/* negotiate VIRTIO_F_RING_PACKED */
};

struct vhxl_blk {
	struct vhxl_mem mem;
	struct vhxl_dev dev;
	struct vhxl_blk_cfg cfg;
	struct vhx_blk_info info;	/* VHX_BLK_GET_INFO of the backend */
	int backend_fd;
	/* per queue: request slots (header, status, spare bytes) */
	uint64_t *slot[VHX_MAX_VQS];
	uint64_t *status_gpa[VHX_MAX_VQS];
	uint16_t *slot_free[VHX_MAX_VQS];
	unsigned nfree[VHX_MAX_VQS];
};

/*
 * Open /dev/vhost-blk, SET_OWNER, GET_INFO on @backend_fd, features, memory,
 * the queues, and (unless cfg->no_backend) attach @backend_fd to every queue.
 * Returns 0 or -errno; on error everything is torn down.
 */
int vhxl_blk_setup(struct vhxl_blk *b, const struct vhxl_blk_cfg *c, int backend_fd);
void vhxl_blk_teardown(struct vhxl_blk *b);
/* VHX_BLK_SET_BACKEND on queue @q (@fd -1 detaches). */
int vhxl_blk_set_backend(struct vhxl_blk *b, unsigned q, int fd);
/* Attach @fd to (or, with -1, detach every queue). */
int vhxl_blk_attach_all(struct vhxl_blk *b, int fd);

/* Guest memory for data: page-aligned, zeroed.  0 when exhausted. */
uint64_t vhxl_blk_alloc(struct vhxl_blk *b, size_t size);
void *vhxl_blk_ptr(struct vhxl_blk *b, uint64_t gpa, size_t len);

struct vhxl_blk_io {
	uint32_t type;		/* VIRTIO_BLK_T_* */
	uint32_t ioprio;
	uint64_t sector;
	uint64_t data;		/* GPA of the data buffer (may be 0 with len 0) */
	uint32_t len;		/* data bytes */
	unsigned data_segs;	/* data in this many descriptors (0: 1) */
	bool hdr_split;		/* header in two descriptors (8 + 8 bytes) */
	/* header and data in one descriptor: the header is written at
	 * data - 16, which the caller reserves */
	bool hdr_with_data;
	/* status in the last data descriptor: at data + len (reserved) */
	bool status_with_data;
	bool write_data;	/* data is device-writable (default by type) */
	bool indirect;
	unsigned status_len;	/* size of the status descriptor (0: 1) */
};

/* Post one request on queue @q (no kick).  Returns a request id >= 0. */
int vhxl_blk_post(struct vhxl_blk *b, unsigned q, const struct vhxl_blk_io *io);
/* Kick queue @q (subject to notification suppression). */
void vhxl_blk_kick(struct vhxl_blk *b, unsigned q);
/*
 * Reap one completed request of queue @q, waiting up to @timeout_ms.
 * Returns its id, -ETIMEDOUT, or -EPROTO for a used entry that does not
 * match a posted request.
 */
int vhxl_blk_reap(struct vhxl_blk *b, unsigned q, int timeout_ms,
		 uint8_t *status, uint32_t *used_len);
/* Post, kick, reap: one synchronous request.  Returns 0 or -errno. */
int vhxl_blk_do(struct vhxl_blk *b, unsigned q, const struct vhxl_blk_io *io,
	       uint8_t *status, uint32_t *used_len);

/* Shorthands for one synchronous read or write of @len bytes at @sector. */
int vhxl_blk_rw(struct vhxl_blk *b, unsigned q, bool write, uint64_t sector,
	       uint64_t data, uint32_t len, uint8_t *status);

#endif /* VHXBLK_H */
