// SPDX-License-Identifier: GPL-2.0
/* vhxblk_cfg - features and config space from VHX_BLK_GET_INFO (see vhxblk_cfg.h). */
#include <endian.h>
#include <stdio.h>
#include <string.h>
#include <linux/vhost.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

#include "vhxblk_cfg.h"

#define BIT(n) (1ULL << (n))

uint64_t vhxl_blk_guest_features(uint64_t offered, const struct vhx_blk_info *info, unsigned nq)
{
	uint64_t f = offered & (VHX_BLK_GUEST_CORE_FEATURES | BIT(VIRTIO_BLK_F_SEG_MAX) |
				 BIT(VIRTIO_BLK_F_BLK_SIZE));

	if (info->flags & VHX_BLK_INFO_F_FLUSH)
		f |= offered & BIT(VIRTIO_BLK_F_FLUSH);
	if (info->flags & VHX_BLK_INFO_F_RO)
		f |= offered & BIT(VIRTIO_BLK_F_RO);
	if ((info->flags & VHX_BLK_INFO_F_DISCARD) && !(info->flags & VHX_BLK_INFO_F_RO) &&
	    info->max_discard_sectors && info->max_discard_seg)
		f |= offered & BIT(VIRTIO_BLK_F_DISCARD);
	if ((info->flags & VHX_BLK_INFO_F_WRITE_ZEROES) && !(info->flags & VHX_BLK_INFO_F_RO) &&
	    info->max_write_zeroes_sectors && info->max_write_zeroes_seg)
		f |= offered & BIT(VIRTIO_BLK_F_WRITE_ZEROES);
	if (nq > 1)
		f |= offered & BIT(VIRTIO_BLK_F_MQ);
	if (!info->seg_max)
		f &= ~BIT(VIRTIO_BLK_F_SEG_MAX);
	if (!info->logical_block_size)
		f &= ~BIT(VIRTIO_BLK_F_BLK_SIZE);
	return f;
}

size_t vhxl_blk_guest_config(struct virtio_blk_config *cfg, const struct vhx_blk_info *info,
			    uint64_t f, unsigned nq)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->capacity = htole64(info->capacity);
	if (f & BIT(VIRTIO_BLK_F_SEG_MAX))
		cfg->seg_max = htole32(info->seg_max);
	if (f & BIT(VIRTIO_BLK_F_BLK_SIZE))
		cfg->blk_size = htole32(info->logical_block_size);
	if (f & BIT(VIRTIO_BLK_F_MQ))
		cfg->num_queues = htole16((uint16_t)nq);
	if (f & BIT(VIRTIO_BLK_F_DISCARD)) {
		cfg->max_discard_sectors = htole32(info->max_discard_sectors);
		cfg->max_discard_seg = htole32(info->max_discard_seg);
		cfg->discard_sector_alignment = htole32(info->discard_sector_alignment);
	}
	if (f & BIT(VIRTIO_BLK_F_WRITE_ZEROES)) {
		cfg->max_write_zeroes_sectors = htole32(info->max_write_zeroes_sectors);
		cfg->max_write_zeroes_seg = htole32(info->max_write_zeroes_seg);
		cfg->write_zeroes_may_unmap = info->write_zeroes_may_unmap;
	}
	return sizeof(*cfg);
}

const char *vhxl_blk_info_str(const struct vhx_blk_info *i, char *buf, size_t len)
{
	snprintf(buf, len,
		 "capacity=%llu sectors (%llu MiB) lbs=%u pbs=%u queues=%u seg_max=%u%s%s%s%s%s%s%s "
		 "discard=%u/%u/%u write_zeroes=%u/%u/unmap%u",
		 (unsigned long long)i->capacity, (unsigned long long)(i->capacity >> 11),
		 i->logical_block_size, i->physical_block_size, i->num_queues, i->seg_max,
		 i->flags & VHX_BLK_INFO_F_RO ? " ro" : "",
		 i->flags & VHX_BLK_INFO_F_FLUSH ? " flush" : "",
		 i->flags & VHX_BLK_INFO_F_DISCARD ? " discard" : "",
		 i->flags & VHX_BLK_INFO_F_WRITE_ZEROES ? " write_zeroes" : "",
		 i->flags & VHX_BLK_INFO_F_DISCARD_ZEROES ? " discard_zeroes" : "",
		 i->flags & VHX_BLK_INFO_F_BDEV ? " bdev" : " file",
		 i->flags & VHX_BLK_INFO_F_DIRECT ? " direct" : "",
		 i->max_discard_sectors, i->max_discard_seg, i->discard_sector_alignment,
		 i->max_write_zeroes_sectors, i->max_write_zeroes_seg, i->write_zeroes_may_unmap);
	return buf;
}

