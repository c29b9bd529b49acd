// SPDX-License-Identifier: GPL-2.0
/*
 * vhxring_split.c - vhxlib's driver of split rings: the descriptor table with
 * its free list, the avail and used rings, and their event indices.
 * vhxlib.c's vhxl_vq_* calls come here when the vq is split.
 */
#include <errno.h>

#include "vhxlib_int.h"

static uint16_t *used_event_p(struct vhxl_vq *vq)
{
	return &vq->avail->ring[vq->num];
}

static uint16_t *avail_event_p(struct vhxl_vq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

void vhxl_split_init_state(struct vhxl_vq *vq)
{
	vq->avail_idx = (uint16_t)vq->base;
	vq->last_used = (uint16_t)vq->base;
	vq->avail->idx = vq->avail_idx;
	vq->used->idx = vq->last_used;
	vq->kick_old = vq->avail_idx;
	if (vq->event_idx)
		vq->avail->ring[vq->num] = vq->last_used;	/* used_event */
	if (vq->no_interrupt && !vq->event_idx)
		vq->avail->flags = VRING_AVAIL_F_NO_INTERRUPT;
}

void vhxl_split_raw_desc(struct vhxl_vq *vq, unsigned slot, uint64_t addr,
			 uint32_t len, uint32_t flags, uint16_t next)
{
	vq->desc[slot].addr = addr;
	vq->desc[slot].len = len;
	vq->desc[slot].flags = (uint16_t)flags;
	vq->desc[slot].next = next;
}

int vhxl_split_add(struct vhxl_vq *vq, const struct vhxl_sg *sg, unsigned n,
		   bool indirect, void *cookie)
{
	uint16_t head, i, last = 0;
	unsigned k;

	if (indirect) {
		struct vring_desc *t;

		if (n > vq->ind_max || !vq->ind)
			return -E2BIG;
		if (!vq->num_free)
			return -ENOSPC;
		head = vq->free_head;
		t = vhxl_gpa(vq->dev->mem, vq->ind[head], 16 * n);
		for (k = 0; k < n; k++) {
			t[k].addr = sg[k].gpa;
			t[k].len = sg[k].len;
			t[k].flags = (sg[k].write ? VRING_DESC_F_WRITE : 0) |
				     (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			t[k].next = k + 1 < n ? k + 1 : 0;
		}
		vq->desc[head].addr = vq->ind[head];
		vq->desc[head].len = 16 * n;
		vq->desc[head].flags = VRING_DESC_F_INDIRECT;
		vq->desc[head].next = 0;
		vq->free_head = vq->next[head];
		vq->num_free--;
		vq->chain[head] = 1;
	} else {
		if (n > vq->num_free)
			return -ENOSPC;
		head = i = vq->free_head;
		for (k = 0; k < n; k++) {
			vq->desc[i].addr = sg[k].gpa;
			vq->desc[i].len = sg[k].len;
			vq->desc[i].flags = (sg[k].write ? VRING_DESC_F_WRITE : 0) |
					    (k + 1 < n ? VRING_DESC_F_NEXT : 0);
			vq->desc[i].next = vq->next[i];
			last = i;
			i = vq->next[i];
		}
		vq->desc[last].next = 0;
		vq->free_head = i;
		vq->num_free -= n;
		vq->chain[head] = n;
	}
	vq->cookie[head] = cookie;
	vq->inflight++;
	vhxl_vq_publish_head(vq, head);
	return head;
}

void vhxl_vq_publish_head(struct vhxl_vq *vq, uint16_t head)
{
	vq->avail->ring[vq->avail_idx % vq->num] = head;
	wmb();
	vq->avail_idx++;
	WRITE_ONCE(vq->avail->idx, vq->avail_idx);
}

bool vhxl_split_kick_needed(struct vhxl_vq *vq)
{
	bool need;

	if (vq->event_idx) {
		/* Every kick decision covers all entries since the last one. */
		uint16_t ev = READ_ONCE(*avail_event_p(vq));
		uint16_t newi = vq->avail_idx;

		need = vring_need_event(ev, newi, vq->kick_old);
		vq->kick_old = newi;
	} else {
		need = !(READ_ONCE(vq->used->flags) & VRING_USED_F_NO_NOTIFY);
	}
	return need;
}

unsigned vhxl_split_pending(const struct vhxl_vq *vq)
{
	return (uint16_t)(READ_ONCE(vq->used->idx) - vq->last_used);
}

int vhxl_split_get_used(struct vhxl_vq *vq, uint32_t *len, void **cookie)
{
	struct vring_used_elem e;
	uint16_t head, i, k;

	if (!vhxl_split_pending(vq))
		return -EAGAIN;
	rmb();
	e = vq->used->ring[vq->last_used % vq->num];
	if (e.id >= vq->num || !vq->chain[e.id])
		return -EPROTO;
	head = e.id;
	for (i = head, k = 1; k < vq->chain[head]; k++)
		i = vq->next[i];
	vq->next[i] = vq->free_head;
	vq->free_head = head;
	vq->num_free += vq->chain[head];
	vq->chain[head] = 0;
	if (cookie)
		*cookie = vq->cookie[head];
	if (len)
		*len = e.len;
	vq->last_used++;
	vq->inflight--;
	vq->used_total++;
	if (vq->event_idx && !vq->no_interrupt) {
		WRITE_ONCE(*used_event_p(vq), vq->last_used);
		mb();
	}
	return head;
}

void vhxl_split_enable_cb(struct vhxl_vq *vq)
{
	if (vq->event_idx)
		WRITE_ONCE(*used_event_p(vq), vq->last_used);
	else
		WRITE_ONCE(vq->avail->flags, vq->avail->flags & ~VRING_AVAIL_F_NO_INTERRUPT);
}

void vhxl_split_disable_cb(struct vhxl_vq *vq)
{
	if (vq->event_idx)
		WRITE_ONCE(*used_event_p(vq), (uint16_t)(vq->last_used - 1));
	else
		WRITE_ONCE(vq->avail->flags, vq->avail->flags | VRING_AVAIL_F_NO_INTERRUPT);
}
