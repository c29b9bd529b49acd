// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty logging for live migration: one bit per 4 KiB guest-physical page
 * in a bitmap at the user address given by VHOST_SET_LOG_BASE.
 */

#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "access.h"
#include "log.h"

/* True if the bitmap covering [addr, addr + size) is user-accessible. */
bool vhx_log_range_ok(u64 log_base, u64 addr, u64 size)
{
	u64 first = addr / VHX_LOG_PAGE / 8;
	u64 bytes;

	if (!size)
		return true;
	if (addr + size - 1 < addr)
		return false;
	bytes = (addr + size - 1) / VHX_LOG_PAGE / 8 - first + 1;
	if (log_base + first < log_base)
		return false;
	if ((u64)(unsigned long)(log_base + first) != log_base + first)
		return false;
	return access_ok(u64_to_user_ptr(log_base + first), bytes);
}
EXPORT_SYMBOL_GPL(vhx_log_range_ok);

/* Set @nbits bits from @bit in the user byte at @uaddr's page. */
static int vhx_set_bits_to_user(u64 uaddr, unsigned int bit,
				unsigned int nbits)
{
	unsigned long start = uaddr & PAGE_MASK;
	unsigned int off = (uaddr - start) * 8 + bit;
	struct page *page;
	void *base;
	int r;

	r = pin_user_pages_fast(start, 1, FOLL_WRITE, &page);
	if (r < 0)
		return r;
	if (r != 1)
		return -EFAULT;
	base = kmap_local_page(page);
	while (nbits--)
		set_bit(off++, base);
	kunmap_local(base);
	unpin_user_pages_dirty_lock(&page, 1, true);
	return 0;
}

/* Mark the guest-physical pages of [gpa, gpa + len) dirty. */
static int vhx_log_gpa(struct vhx_vq *vq, u64 gpa, u64 len)
{
	u64 page, last;

	if (!len)
		return 0;
	if (gpa + len - 1 < gpa)
		return -EFAULT;
	page = gpa / VHX_LOG_PAGE;
	last = (gpa + len - 1) / VHX_LOG_PAGE;
	while (page <= last) {
		u64 byte = vq->log_base + page / 8;
		unsigned int bit = page % 8;
		unsigned int n = min_t(u64, 8 - bit, last - page + 1);
		int r;

		if (byte < vq->log_base || (u64)(unsigned long)byte != byte)
			return -EFAULT;
		r = vhx_set_bits_to_user(byte, bit, n);
		if (r)
			return r;
		page += n;
		/* Bounded by its callers, but a page pin per 8 pages. */
		cond_resched();
	}
	return 0;
}

/* Map a host virtual range back to guest-physical through the table. */
static int vhx_log_hva(struct vhx_vq *vq, u64 hva, u64 len)
{
	const struct vhx_maps *umem = vq->umem;
	unsigned int i;

	while (len) {
		u64 min = len;
		bool hit = false;

		if (!umem)
			return -EFAULT;
		for (i = 0; i < umem->nmaps; i++) {
			const struct vhx_map *m = &umem->map[i];
			u64 size = m->last - m->start;
			u64 l;

			if (hva < m->addr || hva - m->addr > size)
				continue;
			l = min(len - 1, size - (hva - m->addr)) + 1;
			if (vhx_log_gpa(vq, m->start + (hva - m->addr), l))
				return -EFAULT;
			hit = true;
			min = min(min, l);
			break;
		}
		if (!hit)
			return -EFAULT;
		hva += min;
		len -= min;
	}
	return 0;
}

/*
 * Log the first @len bytes written into a chain: @log holds its writable
 * descriptors (guest-physical); with the device IOTLB, @iov (host virtual)
 * is mapped back through the memory table instead.
 */
int vhx_log_write(struct vhx_vq *vq, struct vhx_log *log,
		  unsigned int log_num, u64 len, struct iovec *iov, int count)
{
	unsigned int i;
	int r;

	/* Make sure the data is seen before the log. */
	smp_wmb();
	if (vq->iotlb) {
		for (i = 0; i < count && len; i++) {
			u64 l = min_t(u64, iov[i].iov_len, len);

			r = vhx_log_hva(vq, (u64)(unsigned long)iov[i].iov_base,
					l);
			if (r)
				return r;
			len -= l;
		}
		return 0;
	}
	for (i = 0; i < log_num && len; i++) {
		u64 l = min(log[i].len, len);

		r = vhx_log_gpa(vq, log[i].addr, l);
		if (r)
			return r;
		len -= l;
	}
	if (vq->log_ctx)
		vhx_eventfd_signal(vq->log_ctx);
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_log_write);

/*
 * Log a device write into ring memory at @addr, a user VA (or an IOVA with
 * the device IOTLB) that userspace gave no guest-physical address for: the
 * descriptor ring of a packed ring, which the device writes used
 * descriptors into (QEMU's log_guest_addr is the device event area, and
 * QEMU does not mark the descriptor ring dirty itself).  The address is
 * mapped back to guest-physical through the memory table.
 */
int vhx_log_ring(struct vhx_vq *vq, u64 addr, u64 len)
{
	struct iovec iov[8];
	int i, n;

	if (!vq->iotlb)
		return vhx_log_hva(vq, addr, len);
	n = vhx_translate(vq, addr, len, iov, ARRAY_SIZE(iov),
			  VHOST_ACCESS_WO);
	if (n < 0)
		return n;
	for (i = 0; i < n; i++) {
		int r = vhx_log_hva(vq, (u64)(unsigned long)iov[i].iov_base,
				    iov[i].iov_len);
		if (r)
			return r;
	}
	return 0;
}
EXPORT_SYMBOL_GPL(vhx_log_ring);

/*
 * Log a write at @offset of the used ring (split) or the device event area
 * (packed), at the GPA userspace gave with VHOST_VRING_F_LOG.
 */
int vhx_log_used(struct vhx_vq *vq, u64 offset, u64 len)
{
	if (!vq->iotlb)
		return vhx_log_gpa(vq, vq->log_addr + offset, len);
	return vhx_log_ring(vq, vq->used_addr + offset, len);
}
EXPORT_SYMBOL_GPL(vhx_log_used);
