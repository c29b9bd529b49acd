// SPDX-License-Identifier: GPL-2.0
/*
 * Packed virtqueues (VIRTIO_F_RING_PACKED, virtio 1.1 section 2.8) behind
 * the virtqueue API of vq.c.
 *
 * One descriptor ring (desc_addr) is shared by both sides; avail_addr and
 * used_addr point at the driver and the device event suppression
 * structures.  The driver makes a chain available by writing its head's
 * flags last with AVAIL = its wrap counter and USED = the inverse; the
 * device returns a buffer by writing one used descriptor (buffer id, bytes
 * written, AVAIL = USED = its wrap counter) at its used position, then
 * skips as many ring entries as the chain had.
 *
 * Device state: the next avail position and the driver wrap counter
 * expected there (vq->last_avail_idx/wrap), the next used position and the
 * device wrap counter (vq->last_used_idx/wrap), and per buffer id the
 * length of its chain while it is in flight, so that buffers can be
 * returned in any order (vhx_blk completes out of order) and a chain can
 * be skipped by its length.  A history of the chains taken serves
 * vhx_discard_vq_desc().  Both are bounded by the ring size (at most num
 * ids can be in flight: an id already in flight is a ring error).
 *
 * Caller holds vq->mutex.
 */

#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/nospec.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "access.h"
#include "log.h"
#include "vq_packed.h"

#define VHX_PACKED_MAX_NUM	32768
#define VHX_PDESC_F_AVAIL	BIT(VRING_PACKED_DESC_F_AVAIL)
#define VHX_PDESC_F_USED	BIT(VRING_PACKED_DESC_F_USED)
#define VHX_EVENT_F_WRAP	BIT(VRING_PACKED_EVENT_F_WRAP_CTR)
#define VHX_POS_MASK		0x7fff

/* Offsets in the descriptor ring and in an event suppression structure. */
#define PDESC(i)		((u64)(i) * sizeof(struct vring_packed_desc))
#define PDESC_LEN		8	/* le32 len, then le16 id */
#define PDESC_FLAGS		14
#define EVENT_OFF_WRAP		0
#define EVENT_FLAGS		2

/* chain[id] while its used descriptor is being written (duplicate check). */
#define VHX_CHAIN_PUBLISHING	BIT(31)

struct vhx_vq_packed {
	unsigned int num;
	unsigned int hist_next;		/* next history slot */
	unsigned int hist_len;		/* chains in the history, <= num */
	unsigned int since_signal;	/* used entries since the last
					 * notification decision, <= num
					 */
	u32 *chain;	/* per buffer id: ring entries of its chain, 0: not
			 * in flight
			 */
	u32 *hist;	/* chains taken: position | wrap << 15 | id << 16 */
	u32 ids[];
};

static bool packed_num_ok(unsigned int num)
{
	return num <= VHX_PACKED_MAX_NUM;
}

static void packed_sizes(unsigned int num, struct vhx_ring_sizes *s)
{
	s->desc = sizeof(struct vring_packed_desc) * (u64)num;
	s->avail = sizeof(struct vring_packed_desc_event);
	s->used = sizeof(struct vring_packed_desc_event);
}

static u32 packed_pos(u16 idx, bool wrap)
{
	return idx | (wrap ? VHX_EVENT_F_WRAP : 0);
}

/*
 * VHOST_SET_VRING_BASE: bits 0-14 are the next avail position, bit 15 the
 * driver wrap counter expected there.  The used half (bits 16-31) is not
 * taken: vhx never has buffers in flight while a ring is stopped (vhx_net
 * completes every chain it takes before its handler returns, vhx_blk
 * drains its requests before GET_VRING_BASE), so the device's used
 * position and wrap counter are those of the avail half.  That accepts
 * QEMU's initial value 0x80008000 (both wrap counters 1), DPDK
 * virtio-user's 0x00008000 (only the avail half set: its used half, taken
 * literally, would be position 0 with wrap counter 0, which no driver
 * expects) and every value GET_VRING_BASE returns.  The position is
 * checked against the ring size when the backend is attached, since
 * SET_VRING_NUM may come later.
 */
static int packed_set_base(struct vhx_vq *vq, u32 base)
{
	vq->last_avail_idx = base & VHX_POS_MASK;
	vq->last_avail_wrap = base & VHX_EVENT_F_WRAP;
	vq->last_used_idx = vq->last_avail_idx;
	vq->last_used_wrap = vq->last_avail_wrap;
	return 0;
}

/* VHOST_GET_VRING_BASE: avail half, used half in bits 16-31. */
static u32 packed_get_base(const struct vhx_vq *vq)
{
	return packed_pos(vq->last_avail_idx, vq->last_avail_wrap) |
	       packed_pos(vq->last_used_idx, vq->last_used_wrap) << 16;
}

/* Available in the driver's current lap: AVAIL == wrap, USED != wrap. */
static bool packed_desc_avail(u16 flags, bool wrap)
{
	return !!(flags & VHX_PDESC_F_AVAIL) == wrap &&
	       !!(flags & VHX_PDESC_F_USED) != wrap;
}

/*
 * Publish the device event structure: the event offset (kick me when the
 * driver makes the entry at my avail position available) when asked, then
 * the flags (vq->used_flags: ENABLE, DISABLE or DESC).
 */
static int packed_write_event(struct vhx_vq *vq, bool off_wrap)
{
	int r;

	if (off_wrap) {
		r = vhx_write16(vq, vq->used_addr + EVENT_OFF_WRAP,
				packed_pos(vq->last_avail_idx,
					   vq->last_avail_wrap));
		if (r)
			return r;
		/* The offset before the flags that make it count. */
		smp_wmb();
	}
	r = vhx_write16(vq, vq->used_addr + EVENT_FLAGS, vq->used_flags);
	if (r)
		return r;
	if (vq->log_used) {
		/* Make sure the event is seen before the log. */
		smp_wmb();
		r = vhx_log_used(vq, 0, sizeof(struct vring_packed_desc_event));
		if (!r && vq->log_ctx)
			vhx_eventfd_signal(vq->log_ctx);
	}
	return r;
}

static int packed_update_used_flags(struct vhx_vq *vq)
{
	return packed_write_event(vq,
				  vq->used_flags == VRING_PACKED_EVENT_FLAG_DESC);
}

/* ops->free: the per-buffer-id state, allocated at the first start. */
static void packed_free(struct vhx_vq *vq)
{
	kvfree(vq->packed);
	vq->packed = NULL;
}

/*
 * A backend is being attached.  The spec's alignments (ring 16, event
 * structures 4) make every flags field one aligned 16-bit access.  Nothing
 * is in flight at this point (see packed_set_base()).
 */
static int packed_start(struct vhx_vq *vq)
{
	struct vhx_vq_packed *p = vq->packed;

	if (vq->desc_addr % sizeof(struct vring_packed_desc) ||
	    vq->avail_addr % sizeof(struct vring_packed_desc_event) ||
	    vq->used_addr % sizeof(struct vring_packed_desc_event))
		return -EINVAL;
	if (vq->last_avail_idx >= vq->num || vq->last_used_idx >= vq->num)
		return -EINVAL;
	if (!p || p->num != vq->num) {
		packed_free(vq);
		p = kvzalloc(struct_size(p, ids, 2 * (size_t)vq->num),
			     GFP_KERNEL_ACCOUNT);
		if (!p)
			return -ENOMEM;
		p->num = vq->num;
		p->chain = p->ids;
		p->hist = p->ids + vq->num;
		vq->packed = p;
	}
	memset(p->chain, 0, vq->num * sizeof(*p->chain));
	p->hist_next = 0;
	p->hist_len = 0;
	p->since_signal = 0;
	if (packed_update_used_flags(vq))
		return -EFAULT;
	return 0;
}

/* Is the entry at the avail position available?  -errno if unreadable. */
static int packed_next_avail(struct vhx_vq *vq)
{
	u16 flags;
	int r;

	r = vhx_read16(vq, vq->desc_addr + PDESC(vq->last_avail_idx) +
		       PDESC_FLAGS, &flags);
	if (r)
		return r;
	return packed_desc_avail(flags, vq->last_avail_wrap);
}

/*
 * An indirect table is read in order, len / 16 entries.  Only WRITE means
 * something there: NEXT, the AVAIL/USED bits and the buffer id are ignored,
 * as the spec says (DPDK sets NEXT and the wrap bits in its tables).  A
 * nested table is refused, as in split rings.
 */
static int packed_get_indirect(struct vhx_vq *vq, struct iovec iov[],
			       unsigned int iov_size, unsigned int *out_num,
			       unsigned int *in_num, struct vhx_log *log,
			       unsigned int *log_num,
			       const struct vring_packed_desc *ind)
{
	u32 len = le32_to_cpu(ind->len);
	struct vring_packed_desc desc;
	unsigned int i, count;
	struct iov_iter from;
	int ret;

	ret = vhx_indirect_table(vq, le64_to_cpu(ind->addr), len);
	if (ret < 0)
		return ret;
	iov_iter_init(&from, ITER_SOURCE, vq->indirect, ret, len);
	count = len / sizeof(desc);
	for (i = 0; i < count; i++) {
		u16 flags;

		if (copy_from_iter(&desc, sizeof(desc), &from) != sizeof(desc)) {
			vhx_vq_err(vq, "failed to read indirect descriptor %u\n",
				   i);
			return -EFAULT;
		}
		flags = le16_to_cpu(desc.flags);
		if (flags & VRING_DESC_F_INDIRECT) {
			vhx_vq_err(vq, "nested indirect descriptor\n");
			return -EINVAL;
		}
		ret = vhx_add_buf(vq, le64_to_cpu(desc.addr),
				  le32_to_cpu(desc.len),
				  flags & VRING_DESC_F_WRITE, iov, iov_size,
				  out_num, in_num, log, log_num);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Take the chain at the avail position: its head's flags first, then (read
 * barrier) the descriptors.  Every descriptor of the chain must be
 * available in its own lap (the wrap counter flips where the chain crosses
 * the end of the ring); the buffer id is in the last one.  Nothing of the
 * vq state changes unless the whole chain is good.
 */
static int packed_get_desc(struct vhx_vq *vq, struct iovec iov[],
			   unsigned int iov_size, unsigned int *out_num,
			   unsigned int *in_num, struct vhx_log *log,
			   unsigned int *log_num)
{
	struct vhx_vq_packed *p = vq->packed;
	unsigned int pos = vq->last_avail_idx, found = 0;
	bool wrap = vq->last_avail_wrap;
	struct vring_packed_desc desc;
	u16 flags, id;
	int ret;

	ret = packed_next_avail(vq);
	if (ret <= 0) {
		if (ret < 0 && ret != -EAGAIN)
			vhx_vq_err(vq, "failed to read descriptor %u flags\n",
				   pos);
		return ret ? ret : vq->num;
	}
	/* Read the chain only after its head's flags. */
	smp_rmb();

	*out_num = 0;
	*in_num = 0;
	if (log)
		*log_num = 0;
	for (;;) {
		if (++found > vq->num) {
			vhx_vq_err(vq, "chain from %u longer than the ring (%u)\n",
				   vq->last_avail_idx, vq->num);
			return -EINVAL;
		}
		ret = vhx_meta_read(vq, vq->desc_addr + PDESC(pos), &desc,
				    sizeof(desc));
		if (ret) {
			if (ret != -EAGAIN)
				vhx_vq_err(vq, "failed to read descriptor %u\n",
					   pos);
			return ret;
		}
		flags = le16_to_cpu(desc.flags);
		if (!packed_desc_avail(flags, wrap)) {
			if (found == 1)
				vhx_vq_err(vq, "descriptor %u changed under the device\n",
					   pos);
			else
				vhx_vq_err(vq, "descriptor %u of a chain is not available (flags 0x%x, wrap %d)\n",
					   pos, flags, wrap);
			return -EINVAL;
		}
		if (flags & VRING_DESC_F_INDIRECT) {
			/* A table is a chain of its own: never in a chain. */
			if (found > 1 || (flags & VRING_DESC_F_NEXT)) {
				vhx_vq_err(vq, "indirect descriptor %u in a chain\n",
					   pos);
				return -EINVAL;
			}
			ret = packed_get_indirect(vq, iov, iov_size, out_num,
						  in_num, log, log_num, &desc);
		} else {
			ret = vhx_add_buf(vq, le64_to_cpu(desc.addr),
					  le32_to_cpu(desc.len),
					  flags & VRING_DESC_F_WRITE, iov,
					  iov_size, out_num, in_num, log,
					  log_num);
		}
		if (ret)
			return ret;
		if (++pos == vq->num) {
			pos = 0;
			wrap = !wrap;
		}
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}

	id = le16_to_cpu(desc.id);
	if (id >= vq->num) {
		vhx_vq_err(vq, "buffer id %u >= %u\n", id, vq->num);
		return -EINVAL;
	}
	/* The guest's id indexes kernel memory: no speculation past num. */
	id = array_index_nospec(id, vq->num);
	if (p->chain[id]) {
		vhx_vq_err(vq, "buffer id %u is already in flight\n", id);
		return -EINVAL;
	}
	p->chain[id] = found;
	p->hist[p->hist_next] = packed_pos(vq->last_avail_idx,
					   vq->last_avail_wrap) | (u32)id << 16;
	p->hist_next = (p->hist_next + 1) % vq->num;
	if (p->hist_len < vq->num)
		p->hist_len++;
	vq->last_avail_idx = pos;
	vq->last_avail_wrap = wrap;
	return id;
}

/* Give back the last @n chains taken (and not used): newest first. */
static void packed_discard(struct vhx_vq *vq, int n)
{
	struct vhx_vq_packed *p = vq->packed;
	u32 h;

	while (n--) {
		if (!p->hist_len) {
			vhx_vq_err(vq, "discard of more chains than taken\n");
			return;
		}
		p->hist_next = (p->hist_next + vq->num - 1) % vq->num;
		p->hist_len--;
		h = p->hist[p->hist_next];
		vq->last_avail_idx = h & VHX_POS_MASK;
		vq->last_avail_wrap = h & VHX_EVENT_F_WRAP;
		p->chain[h >> 16] = 0;
	}
}

/* Dirty-log the ring entries from @first, @count of them, as written. */
static void packed_log_descs(struct vhx_vq *vq, unsigned int first,
			     unsigned int count)
{
	unsigned int n = min(count, vq->num), end = first + n;

	/* A log failure is userspace's problem, not the guest's. */
	if (end <= vq->num) {
		vhx_log_ring(vq, vq->desc_addr + PDESC(first), PDESC(n));
	} else {
		vhx_log_ring(vq, vq->desc_addr + PDESC(first),
			     PDESC(vq->num - first));
		vhx_log_ring(vq, vq->desc_addr, PDESC(end - vq->num));
	}
	if (vq->log_ctx)
		vhx_eventfd_signal(vq->log_ctx);
}

/*
 * Write one used descriptor per buffer, in the order given (any completion
 * order), each skipping its chain's length: ids and lengths first, and the
 * first entry's flags last, after a write barrier, so the driver -- which
 * reads used entries in ring order -- sees the whole batch at once.
 */
static int packed_add_used_n(struct vhx_vq *vq, struct vring_used_elem *heads,
			     unsigned int count)
{
	struct vhx_vq_packed *p = vq->packed;
	unsigned int pos = vq->last_used_idx, first = pos, total = 0;
	bool wrap = vq->last_used_wrap;
	u16 flags, head_flags = 0;
	unsigned int i, marked = 0;
	int r = 0;

	for (i = 0; i < count; i++) {
		u32 id = le32_to_cpu((__force __le32)heads[i].id);
		u32 len = le32_to_cpu((__force __le32)heads[i].len);
		struct {
			__le32 len;
			__le16 id;
		} __packed used = {
			.len = cpu_to_le32(len),
			.id = cpu_to_le16(id),
		};

		if (id >= vq->num) {
			vhx_vq_err(vq, "used buffer id %u >= %u\n", id, vq->num);
			r = -EINVAL;
			goto out;
		}
		id = array_index_nospec(id, vq->num);
		if (!p->chain[id] || (p->chain[id] & VHX_CHAIN_PUBLISHING)) {
			vhx_vq_err(vq, "used buffer id %u is not in flight\n",
				   id);
			r = -EINVAL;
			goto out;
		}
		p->chain[id] |= VHX_CHAIN_PUBLISHING;
		marked++;
		r = vhx_meta_write(vq, vq->desc_addr + PDESC(pos) + PDESC_LEN,
				   &used, sizeof(used));
		if (r)
			goto fail;
		flags = wrap ? VHX_PDESC_F_AVAIL | VHX_PDESC_F_USED : 0;
		if (len)
			flags |= VRING_DESC_F_WRITE;
		if (!i) {
			head_flags = flags;
		} else {
			/* Not seen before the first entry's flags flip. */
			r = vhx_write16(vq, vq->desc_addr + PDESC(pos) +
					PDESC_FLAGS, flags);
			if (r)
				goto fail;
		}
		total += p->chain[id] & ~VHX_CHAIN_PUBLISHING;
		pos += p->chain[id] & ~VHX_CHAIN_PUBLISHING;
		if (pos >= vq->num) {
			pos -= vq->num;
			wrap = !wrap;
		}
	}
	/* Every id and length before the flags that publish them. */
	smp_wmb();
	r = vhx_write16(vq, vq->desc_addr + PDESC(first) + PDESC_FLAGS,
			head_flags);
	if (r)
		goto fail;
	for (i = 0; i < count; i++)
		p->chain[le32_to_cpu((__force __le32)heads[i].id)] = 0;
	vq->last_used_idx = pos;
	vq->last_used_wrap = wrap;
	p->since_signal = min(p->since_signal + total, vq->num);
	if (vq->log_used) {
		/* Make sure the descriptors are seen before the log. */
		smp_wmb();
		packed_log_descs(vq, first, total);
	}
	return 0;
fail:
	if (r != -EAGAIN)
		vhx_vq_err(vq, "failed to write used descriptor %u\n", pos);
out:
	for (i = 0; i < marked; i++)
		p->chain[le32_to_cpu((__force __le32)heads[i].id)] &=
			~VHX_CHAIN_PUBLISHING;
	return r;
}

/*
 * Signal the driver?  Its event structure (at avail_addr) says ENABLE,
 * DISABLE, or -- with EVENT_IDX -- DESC: signal when the used entry at
 * offset/wrap has been written since the last decision.  Anything else is
 * a ring error.
 */
static bool packed_should_notify(struct vhx_vq *vq)
{
	struct vhx_vq_packed *p = vq->packed;
	unsigned int since = p->since_signal;
	bool valid = vq->signalled_used_valid;
	u16 flags, off_wrap, event, new;
	int r;

	/* Flush out used descriptor updates before reading the driver's. */
	smp_mb();
	p->since_signal = 0;
	vq->signalled_used_valid = true;
	if (vhx_has_feature(vq, VIRTIO_F_NOTIFY_ON_EMPTY) &&
	    packed_next_avail(vq) == 0)
		return true;

	r = vhx_read16(vq, vq->avail_addr + EVENT_FLAGS, &flags);
	if (r)
		goto fail;
	switch (flags) {
	case VRING_PACKED_EVENT_FLAG_ENABLE:
		return true;
	case VRING_PACKED_EVENT_FLAG_DISABLE:
		return false;
	case VRING_PACKED_EVENT_FLAG_DESC:
		if (vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX))
			break;
		fallthrough;
	default:
		vhx_vq_err(vq, "bad driver event flags 0x%x\n", flags);
		return true;
	}
	/* The offset after the flags that make it count. */
	smp_rmb();
	r = vhx_read16(vq, vq->avail_addr + EVENT_OFF_WRAP, &off_wrap);
	if (r)
		goto fail;
	event = off_wrap & VHX_POS_MASK;
	if (event >= vq->num) {
		vhx_vq_err(vq, "driver event offset %u >= %u\n", event, vq->num);
		return true;
	}
	/* Unknown last decision, or a whole ring since: the event passed. */
	if (!valid || since >= vq->num)
		return true;
	/* In the lap of the device's current wrap counter, or the one before. */
	if (!!(off_wrap & VHX_EVENT_F_WRAP) != vq->last_used_wrap)
		event -= vq->num;
	new = vq->last_used_idx;
	return vring_need_event(event, new, (u16)(new - since));
fail:
	if (r != -EAGAIN)
		vhx_vq_err(vq, "failed to read the driver event structure\n");
	return true;
}

/*
 * Ask for kicks again: ENABLE, or with EVENT_IDX DESC at the avail
 * position.  True if an entry became available meanwhile.
 */
static bool packed_enable_notify(struct vhx_vq *vq)
{
	bool event_idx = vhx_has_feature(vq, VIRTIO_RING_F_EVENT_IDX);
	int r;

	if (vq->used_flags != VRING_PACKED_EVENT_FLAG_DISABLE)
		return false;
	vq->used_flags = event_idx ? VRING_PACKED_EVENT_FLAG_DESC :
				     VRING_PACKED_EVENT_FLAG_ENABLE;
	r = packed_write_event(vq, event_idx);
	if (r) {
		if (r != -EAGAIN)
			vhx_vq_err(vq, "failed to enable notification\n");
		return false;
	}
	/* They could have slipped one in as we were doing that. */
	smp_mb();
	return packed_next_avail(vq) > 0;
}

static void packed_disable_notify(struct vhx_vq *vq)
{
	int r;

	if (vq->used_flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return;
	vq->used_flags = VRING_PACKED_EVENT_FLAG_DISABLE;
	r = packed_write_event(vq, false);
	if (r && r != -EAGAIN)
		vhx_vq_err(vq, "failed to disable notification\n");
}

static bool packed_avail_empty(struct vhx_vq *vq)
{
	int r = packed_next_avail(vq);

	if (r < 0 && r != -EAGAIN)
		vhx_vq_err(vq, "failed to read descriptor %u flags\n",
			   vq->last_avail_idx);
	return r <= 0;
}

const struct vhx_vq_ops vhx_packed_ops = {
	.name = "packed",
	.num_ok = packed_num_ok,
	.sizes = packed_sizes,
	.set_base = packed_set_base,
	.get_base = packed_get_base,
	.start = packed_start,
	.get_desc = packed_get_desc,
	.discard = packed_discard,
	.add_used_n = packed_add_used_n,
	.should_notify = packed_should_notify,
	.enable_notify = packed_enable_notify,
	.disable_notify = packed_disable_notify,
	.avail_empty = packed_avail_empty,
	.update_used_flags = packed_update_used_flags,
	.free = packed_free,
};
