// SPDX-License-Identifier: GPL-2.0
/* Sorted address maps shared by the memory table and the device IOTLB. */

#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "mem.h"

struct vhx_maps *vhx_maps_alloc(unsigned int limit)
{
	struct vhx_maps *maps;

	maps = kvzalloc(struct_size(maps, map, limit), GFP_KERNEL_ACCOUNT);
	if (maps)
		maps->limit = limit;
	return maps;
}

void vhx_maps_free(struct vhx_maps *maps)
{
	kvfree(maps);
}

void vhx_maps_reset(struct vhx_maps *maps)
{
	maps->nmaps = 0;
}

/* Index of the first map whose last >= addr (nmaps if none). */
static unsigned int vhx_maps_lower(const struct vhx_maps *maps, u64 addr)
{
	unsigned int lo = 0, hi = maps->nmaps;

	while (lo < hi) {
		unsigned int mid = lo + (hi - lo) / 2;

		if (maps->map[mid].last < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct vhx_map *vhx_maps_find(const struct vhx_maps *maps, u64 addr)
{
	unsigned int i;

	if (!maps)
		return NULL;
	i = vhx_maps_lower(maps, addr);
	if (i < maps->nmaps && maps->map[i].start <= addr)
		return &maps->map[i];
	return NULL;
}

static void vhx_maps_remove_at(struct vhx_maps *maps, unsigned int i)
{
	memmove(&maps->map[i], &maps->map[i + 1],
		(maps->nmaps - i - 1) * sizeof(maps->map[0]));
	maps->nmaps--;
}

static void vhx_maps_insert_at(struct vhx_maps *maps, unsigned int i,
			       const struct vhx_map *m)
{
	memmove(&maps->map[i + 1], &maps->map[i],
		(maps->nmaps - i) * sizeof(maps->map[0]));
	maps->map[i] = *m;
	maps->nmaps++;
}

void vhx_maps_del(struct vhx_maps *maps, u64 start, u64 last)
{
	unsigned int i = vhx_maps_lower(maps, start);

	while (i < maps->nmaps && maps->map[i].start <= last) {
		struct vhx_map *m = &maps->map[i];

		if (m->start < start && m->last > last) {
			/* Split: keep both ends.  Needs one more slot. */
			struct vhx_map tail = *m;

			tail.addr += last + 1 - m->start;
			tail.start = last + 1;
			m->last = start - 1;
			if (maps->nmaps < maps->limit)
				vhx_maps_insert_at(maps, i + 1, &tail);
			return;
		}
		if (m->start < start) {
			m->last = start - 1;
			i++;
			continue;
		}
		if (m->last > last) {
			m->addr += last + 1 - m->start;
			m->start = last + 1;
			return;
		}
		vhx_maps_remove_at(maps, i);
	}
}

int vhx_maps_add(struct vhx_maps *maps, u64 start, u64 last, u64 addr,
		 u32 perm, bool replace)
{
	struct vhx_map m = {
		.start = start, .last = last, .addr = addr, .perm = perm,
	};
	unsigned int i;

	if (last < start)
		return -EINVAL;
	i = vhx_maps_lower(maps, start);
	if (i < maps->nmaps && maps->map[i].start <= last) {
		if (!replace)
			return -EEXIST;
		vhx_maps_del(maps, start, last);
	}
	if (maps->nmaps >= maps->limit) {
		if (!replace || !maps->limit)
			return -ENOSPC;
		/* Retire the lowest mapping; a later access misses again. */
		vhx_maps_remove_at(maps, 0);
	}
	i = vhx_maps_lower(maps, start);
	vhx_maps_insert_at(maps, i, &m);
	return 0;
}
