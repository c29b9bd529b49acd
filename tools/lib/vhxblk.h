/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxblk - the userspace "guest driver" side of /dev/vhost-blk, built on
 * vhxlib's memory and split-ring code.  Shared by tools/vhx-blk-bench, the
 * blk selftests and tools/vhx-blk-bridge (which only uses the feature and
 * config helpers at the bottom).
 *
 * Model: one guest memory mapping (vhx_mem), one /dev/vhost-blk fd, 1..N
 * split virtqueues.  Every head ("slot") of every queue owns a request
 * buffer in guest memory: a 16-byte virtio_blk_outhdr, a status byte and
 * max_data bytes of data (page aligned, so O_DIRECT backends take it).  A
 * request is posted on a slot the caller chose (a slot is busy from post to
 * reap) as header / data / status descriptors, or one indirect descriptor.
 *
 * All functions returning int return 0 (or a non-negative value) on success
 * and -errno on failure unless stated otherwise.
 */
#ifndef VHXBLK_H
#define VHXBLK_H

#include "vhxlib.h"
#include "../../uapi/linux/vhx_blk.h"
#include <linux/virtio_blk.h>

#define VHXBLK_MAX_QUEUES 64

/* The vhost-blk feature bits the device may offer (virtio-blk + vhost core). */
#define VHXBLK_BLK_FEATURES (VHX_BIT(VIRTIO_BLK_F_SEG_MAX) | VHX_BIT(VIRTIO_BLK_F_BLK_SIZE) | \
			     VHX_BIT(VIRTIO_BLK_F_FLUSH) | VHX_BIT(VIRTIO_BLK_F_MQ) |          \
			     VHX_BIT(VIRTIO_BLK_F_DISCARD) | VHX_BIT(VIRTIO_BLK_F_WRITE_ZEROES) | \
			     VHX_BIT(VIRTIO_BLK_F_RO))
#define VHXBLK_CORE_FEATURES (VHX_BIT(VIRTIO_F_VERSION_1) | VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC) | \
			      VHX_BIT(VIRTIO_RING_F_EVENT_IDX) | VHX_BIT(VIRTIO_F_NOTIFY_ON_EMPTY) |  \
			      VHX_BIT(VHOST_F_LOG_ALL))

/* Device path: $VHX_BLK_DEV or /dev/vhost-blk. */
const char *vhxblk_dev_path(void);

/* VHX_BLK_GET_INFO on @fd for @backend_fd (-1: the attached file). */
int vhxblk_get_info(int fd, int backend_fd, struct vhx_blk_info *info);

/*
 * The virtio-blk features to present for a backend: the blk bits of
 * @offered (VHOST_GET_FEATURES) that @info supports (FLUSH only if
 * VHX_BLK_INFO_F_FLUSH, DISCARD/WRITE_ZEROES only if supported, RO iff
 * read-only, MQ only with @nq > 1), plus the core bits of @offered.
 */
uint64_t vhxblk_features(uint64_t offered, const struct vhx_blk_info *info, unsigned nq);

/*
 * Fill the little-endian virtio_blk_config a guest sees for @info with
 * @features (from vhxblk_features()) and @nq queues.  Fields whose feature
 * is absent stay 0.  Returns the number of bytes of the structure.
 */
size_t vhxblk_config(struct virtio_blk_config *cfg, const struct vhx_blk_info *info,
		     uint64_t features, unsigned nq);

/* One-line human description of @info ("capacity=... lbs=... flags=...") into @buf. */
const char *vhxblk_info_str(const struct vhx_blk_info *info, char *buf, size_t len);

/* ------------------------------------------------------- guest driver */

struct vhxblk_slot {
	uint64_t hdr_gpa;	/* virtio_blk_outhdr, then the status byte at +16 */
	uint64_t data_gpa;	/* max_data bytes, page aligned */
	struct virtio_blk_outhdr *hdr;
	uint8_t *status;
	void *data;
	uint32_t len;		/* data bytes of the posted request */
	uint32_t type;
	bool busy;
	uint64_t t_submit;	/* for the caller (e.g. ns timestamp) */
};

struct vhxblk_cfg {
	unsigned nq;		/* queues (default 1) */
	unsigned num;		/* ring size (default 256) */
	unsigned slots;		/* request slots per queue (default num) */
	size_t max_data;	/* data bytes per slot (default 65536) */
	bool indirect;		/* one indirect descriptor per request */
	uint64_t features;	/* 0: the core bits offered (minus LOG_ALL) + blk bits
				 * vhxblk_features() gives for the backend */
	bool no_event_idx;	/* drop EVENT_IDX from the default features */
	bool identity;		/* GPA == HVA (default: GPA base VHX_GPA_BASE) */
	unsigned nregions;	/* memory regions (default 1) */
	int backend_fd;		/* for the default features: GET_INFO candidate (-1: none) */
};

struct vhxblk {
	struct vhx_mem mem;
	struct vhx_dev dev;	/* fd, mem, features (dev.vq[] unused) */
	struct vhx_blk_info info;	/* GET_INFO of cfg.backend_fd (if >= 0) */
	uint64_t offered;	/* VHOST_GET_FEATURES */
	struct vhxblk_cfg cfg;
	unsigned nq;
	struct vhx_vq vq[VHXBLK_MAX_QUEUES];
	struct vhxblk_slot *slot[VHXBLK_MAX_QUEUES];
};

/*
 * Open the device, SET_OWNER, GET_INFO (if cfg->backend_fd >= 0),
 * GET/SET_FEATURES, map guest memory, SET_MEM_TABLE, set up every queue
 * (NUM, BASE 0, ADDR, KICK, CALL, ERR).  No backend is attached.
 */
int vhxblk_open(struct vhxblk *b, const struct vhxblk_cfg *cfg);
void vhxblk_close(struct vhxblk *b);
/* VHX_BLK_SET_BACKEND on every queue (@fd -1 detaches, draining). */
int vhxblk_attach(struct vhxblk *b, int fd);
int vhxblk_attach_queue(struct vhxblk *b, unsigned q, int fd);

/*
 * Post request @type (VIRTIO_BLK_T_*) at @sector with @len data bytes of
 * slot @s (0 for FLUSH; for DISCARD/WRITE_ZEROES the data is the segment
 * array the caller wrote) on queue @q.  Does not kick.  Returns the head,
 * -EBUSY (slot busy), -ENOSPC (ring full), -EMSGSIZE (len > max_data).
 */
int vhxblk_post(struct vhxblk *b, unsigned q, unsigned s, uint32_t type,
		uint64_t sector, uint32_t len);
/* Reap one completion of queue @q: returns the slot (>= 0), -EAGAIN if none,
 * -EPROTO on a used entry that matches no posted request.  *used_len gets
 * used.len, the status byte is in b->slot[q][slot].status. */
int vhxblk_reap(struct vhxblk *b, unsigned q, uint32_t *used_len);
/* Post one request on slot 0 of queue @q, kick, wait up to @timeout_ms and
 * reap it.  Returns the status byte (>= 0), or -errno. */
int vhxblk_rw_sync(struct vhxblk *b, unsigned q, uint32_t type, uint64_t sector,
		   uint32_t len, int timeout_ms);

static inline struct vhxblk_slot *vhxblk_slot(struct vhxblk *b, unsigned q, unsigned s)
{
	return &b->slot[q][s];
}

#endif /* VHXBLK_H */
