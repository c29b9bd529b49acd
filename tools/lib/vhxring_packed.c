// SPDX-License-Identifier: GPL-2.0
/*
 * vhxring_packed.c - vhxlib's driver of packed rings (virtio 1.1 section 2.8):
 * the descriptor ring with its wrap counters and the two event structures.
 * vhxlib.c's vhxl_vq_* calls come here when the vq is packed.
 */
#include <errno.h>

#include "vhxlib_int.h"

#define PD_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PD_USED (1u << VRING_PACKED_DESC_F_USED)

static uint16_t wrap_bits(bool wrap)
{
	return wrap ? PD_AVAIL : PD_USED;	/* available in lap @wrap */
}

static bool packed_is_used(uint16_t flags, bool wrap)
{
	return !!(flags & PD_AVAIL) == wrap && !!(flags & PD_USED) == wrap;
}

uint16_t vhxl_vq_packed_avail_bits(const struct vhxl_vq *vq, unsigned slot)
{
	bool wrap = vq->avail_wrap;

	if (vq->avail_idx + slot >= vq->num)
		wrap = !wrap;	/* at most one lap ahead */
	return wrap_bits(wrap);
}

/* Ring position of slot @slot of the next chain. */
static uint16_t packed_slot(const struct vhxl_vq *vq, unsigned slot)
{
	return (vq->avail_idx + slot) % vq->num;
}

/* Advance the driver position by @n entries. */
static void packed_advance(struct vhxl_vq *vq, unsigned n)
{
	unsigned pos = vq->avail_idx + n;

	while (pos >= vq->num) {
		pos -= vq->num;
		vq->avail_wrap = !vq->avail_wrap;
	}
	vq->avail_idx = pos;
}

void vhxl_packed_init_state(struct vhxl_vq *vq)
{
	unsigned i;

	/*
	 * Both wrap counters 1, at position base % num: as if the
	 * entries before it had been made available and used in this
	 * lap (AVAIL = USED = 1), the rest in the previous one (0).
	 */
	vq->avail_idx = vq->last_used = (uint16_t)(vq->base % vq->num);
	vq->avail_wrap = vq->used_wrap = true;
	for (i = 0; i < vq->avail_idx; i++)
		vq->pdesc[i].flags = (1u << VRING_PACKED_DESC_F_AVAIL) |
				     (1u << VRING_PACKED_DESC_F_USED);
	vq->added = 0;
	if (vq->no_interrupt) {
		vq->drv_event->flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	} else if (vq->event_idx) {
		vq->drv_event->off_wrap = packed_event(vq->last_used, true);
		vq->drv_event->flags = VRING_PACKED_EVENT_FLAG_DESC;
	}
}


int vhxl_packed_add(struct vhxl_vq *vq, const struct vhxl_sg *sg, unsigned n,
		    bool indirect, void *cookie)
{
	struct vring_packed_desc *d;
	uint16_t id, head_flags = 0;
	unsigned k, descs = indirect ? 1 : n;

	if (indirect && (n > vq->ind_max || !vq->ind))
		return -E2BIG;
	if (!vq->num_free || descs > vq->num_free)
		return -ENOSPC;
	id = vq->free_head;
	if (indirect) {
		struct vring_packed_desc *t = vhxl_gpa(vq->dev->mem, vq->ind[id], 16 * n);

		for (k = 0; k < n; k++) {
			/* only WRITE counts in a table */
			t[k].addr = sg[k].gpa;
			t[k].len = sg[k].len;
			t[k].id = 0;
			t[k].flags = sg[k].write ? VRING_DESC_F_WRITE : 0;
		}
		d = &vq->pdesc[vq->avail_idx];
		d->addr = vq->ind[id];
		d->len = 16 * n;
		d->id = id;
		head_flags = VRING_DESC_F_INDIRECT | wrap_bits(vq->avail_wrap);
	} else {
		for (k = 0; k < n; k++) {
			uint16_t f = (sg[k].write ? VRING_DESC_F_WRITE : 0) |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0) |
				     vhxl_vq_packed_avail_bits(vq, k);

			d = &vq->pdesc[packed_slot(vq, k)];
			d->addr = sg[k].gpa;
			d->len = sg[k].len;
			d->id = id;	/* the last one counts; Linux writes all */
			if (k)
				WRITE_ONCE(d->flags, f);
			else
				head_flags = f;
		}
	}
	/* the head's flags last: the chain becomes available at once */
	wmb();
	WRITE_ONCE(vq->pdesc[vq->avail_idx].flags, head_flags);
	packed_advance(vq, descs);
	vq->free_head = vq->next[id];
	vq->num_free -= descs;
	vq->added += descs;
	vq->chain[id] = descs;
	vq->cookie[id] = cookie;
	vq->inflight++;
	return id;
}

void vhxl_packed_raw_desc(struct vhxl_vq *vq, unsigned slot, uint64_t addr,
			  uint32_t len, uint32_t flags, uint16_t next)
{
	struct vring_packed_desc *d = &vq->pdesc[packed_slot(vq, slot)];
	uint16_t f = (uint16_t)flags;

	if (!(flags & VHX_RAW_OWN_WRAP))
		f |= vhxl_vq_packed_avail_bits(vq, slot);
	d->addr = addr;
	d->len = len;
	d->id = next;
	if (slot)
		WRITE_ONCE(d->flags, f);
	else
		vq->raw_head_flags = f;	/* written by raw_publish */
}

void vhxl_packed_raw_publish(struct vhxl_vq *vq, unsigned ndesc)
{
	/* raw chains are never reclaimed: the vq is reset after them */
	wmb();
	WRITE_ONCE(vq->pdesc[vq->avail_idx].flags, vq->raw_head_flags);
	packed_advance(vq, ndesc);
	vq->added += ndesc;
}

uint32_t vhxl_packed_expected_base(const struct vhxl_vq *vq)
{
	uint32_t half;

	half = packed_event(vq->avail_idx, vq->avail_wrap);
	return half | half << 16;
}


bool vhxl_packed_kick_needed(struct vhxl_vq *vq)
{
	union {
		struct vring_packed_desc_event e;
		uint32_t u32;
	} snap;
	uint16_t event, new, old;

	snap.u32 = __atomic_load_n((uint32_t *)vq->dev_event, __ATOMIC_ACQUIRE);
	new = vq->avail_idx;
	old = (uint16_t)(new - vq->added);
	if (snap.e.flags != VRING_PACKED_EVENT_FLAG_DESC)
		return snap.e.flags != VRING_PACKED_EVENT_FLAG_DISABLE;
	if (vq->added >= vq->num)
		return true;	/* a whole ring since: the event passed */
	event = snap.e.off_wrap & ~(1u << VRING_PACKED_EVENT_F_WRAP_CTR);
	if (!!(snap.e.off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR) != vq->avail_wrap)
		event -= vq->num;
	return vring_need_event(event, new, old);
}

/* Used entries waiting at last_used (walked by their chains' lengths). */
unsigned vhxl_packed_pending(const struct vhxl_vq *vq)
{
	unsigned n = 0, pos = vq->last_used, seen = 0;
	bool wrap = vq->used_wrap;

	while (seen < vq->num) {
		const struct vring_packed_desc *d = &vq->pdesc[pos];
		uint16_t id;

		if (!packed_is_used(READ_ONCE(d->flags), wrap))
			break;
		rmb();
		id = d->id;
		if (id >= vq->num || !vq->chain[id])
			return n + 1;	/* malformed: get_used reports it */
		n++;
		seen += vq->chain[id];
		pos += vq->chain[id];
		if (pos >= vq->num) {
			pos -= vq->num;
			wrap = !wrap;
		}
	}
	return n;
}

int vhxl_packed_get_used(struct vhxl_vq *vq, uint32_t *len, void **cookie)
{
	struct vring_packed_desc *d = &vq->pdesc[vq->last_used];
	uint16_t id;
	unsigned pos;

	if (!packed_is_used(READ_ONCE(d->flags), vq->used_wrap))
		return -EAGAIN;
	rmb();
	id = d->id;
	if (id >= vq->num || !vq->chain[id])
		return -EPROTO;
	if (cookie)
		*cookie = vq->cookie[id];
	if (len)
		*len = d->len;
	pos = vq->last_used + vq->chain[id];
	if (pos >= vq->num) {
		pos -= vq->num;
		vq->used_wrap = !vq->used_wrap;
	}
	vq->last_used = pos;
	vq->num_free += vq->chain[id];
	vq->chain[id] = 0;
	vq->next[id] = vq->free_head;
	vq->free_head = id;
	vq->inflight--;
	vq->used_total++;
	if (vq->event_idx && !vq->no_interrupt) {
		/* interrupt me at the next used entry */
		WRITE_ONCE(vq->drv_event->off_wrap, packed_event(vq->last_used, vq->used_wrap));
		mb();
	}
	return id;
}

void vhxl_packed_enable_cb(struct vhxl_vq *vq)
{
	if (vq->event_idx) {
		WRITE_ONCE(vq->drv_event->off_wrap,
			   packed_event(vq->last_used, vq->used_wrap));
		wmb();
		WRITE_ONCE(vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_DESC);
	} else {
		WRITE_ONCE(vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_ENABLE);
	}
}

void vhxl_packed_disable_cb(struct vhxl_vq *vq)
{
	WRITE_ONCE(vq->drv_event->flags, VRING_PACKED_EVENT_FLAG_DISABLE);
}
