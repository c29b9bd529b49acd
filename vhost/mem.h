/* SPDX-License-Identifier: GPL-2.0 */
/* Address maps: the memory table (GPA -> HVA) and the device IOTLB. */
#ifndef _VHX_MEM_H
#define _VHX_MEM_H

#include <linux/types.h>

#define VHX_MAP_RO	0x1	/* device may read */
#define VHX_MAP_WO	0x2	/* device may write */
#define VHX_MAP_RW	(VHX_MAP_RO | VHX_MAP_WO)

/* One contiguous mapping: [start, last] -> addr, inclusive bounds. */
struct vhx_map {
	u64 start;
	u64 last;
	u64 addr;
	u32 perm;
};

/*
 * A set of non-overlapping maps sorted by start; lookups are a binary
 * search.  Not internally locked: the memory table is replaced as a whole
 * under every vq mutex, the IOTLB is changed with every vq mutex held.
 */
struct vhx_maps {
	unsigned int nmaps;
	unsigned int limit;
	struct vhx_map map[];
};

struct vhx_maps *vhx_maps_alloc(unsigned int limit);
void vhx_maps_free(struct vhx_maps *maps);
void vhx_maps_reset(struct vhx_maps *maps);
const struct vhx_map *vhx_maps_find(const struct vhx_maps *maps, u64 addr);
/*
 * Add [start, last]. With @replace, overlapped parts of older maps are
 * dropped first (IOTLB update semantics) and the oldest map is evicted when
 * full; without it an overlap is -EEXIST and a full table -ENOSPC.
 */
int vhx_maps_add(struct vhx_maps *maps, u64 start, u64 last, u64 addr,
		 u32 perm, bool replace);
/* Remove every part of every map inside [start, last]. */
void vhx_maps_del(struct vhx_maps *maps, u64 start, u64 last);

#endif /* _VHX_MEM_H */
