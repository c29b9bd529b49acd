/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxblk_cfg - what a guest is shown of a /dev/vhost-blk backend: the
 * virtio-blk feature bits and the config space (struct virtio_blk_config),
 * both derived from VHX_BLK_GET_INFO and the device's VHOST_GET_FEATURES.
 * Used by tools/vhx-blk-bridge (vhost-user GET_FEATURES / GET_CONFIG) and
 * by anything else that fronts the kernel device for a guest.
 */
#ifndef VHXBLK_CFG_H
#define VHXBLK_CFG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_blk.h>
#include <linux/vhx_blk.h>

/* The feature bits /dev/vhost-blk may offer: virtio-blk and vhost core. */
#define VHX_BLK_GUEST_BLK_FEATURES \
	((1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
	 (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_MQ) | \
	 (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) | \
	 (1ULL << VIRTIO_BLK_F_RO))
#define VHX_BLK_GUEST_CORE_FEATURES \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | \
	 (1ULL << VHOST_F_LOG_ALL))

/*
 * The features to present for a backend: the core bits of @offered, SEG_MAX
 * and BLK_SIZE when @info has them, FLUSH only with VHX_BLK_INFO_F_FLUSH,
 * DISCARD / WRITE_ZEROES only when supported with non-zero limits on a
 * writable backend, RO iff read-only, MQ only with @nq > 1 -- each only if
 * the device offers it.
 */
uint64_t vhxl_blk_guest_features(uint64_t offered, const struct vhx_blk_info *info,
				unsigned nq);

/*
 * Fill the little-endian config space for @info, @features (from
 * vhxl_blk_guest_features()) and @nq queues.  Fields of absent features stay
 * 0.  Returns sizeof(*cfg).
 */
size_t vhxl_blk_guest_config(struct virtio_blk_config *cfg, const struct vhx_blk_info *info,
			    uint64_t features, unsigned nq);

/* One line about @info ("capacity=... lbs=... flush discard ...") in @buf. */
const char *vhxl_blk_info_str(const struct vhx_blk_info *info, char *buf, size_t len);

#endif /* VHXBLK_CFG_H */
