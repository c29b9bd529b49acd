// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_net virtio-net headers: what vhx checks in a TX header from the
 * guest and writes into an RX header for it.  No locking: the callers own
 * the header and the iovecs.  The same source builds in the userspace
 * fuzzer (selftests/fuzz/fuzz_hdr.c).
 */

#include <linux/kernel.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "net_hdr.h"

/*
 * A TX header asking for a checksum (NEEDS_CSUM) must have the checksum
 * field, csum_start + csum_offset + 2 bytes, inside the @len bytes of the
 * packet (header included); hdr_len is raised to cover it, as the tap
 * requires.  -EINVAL: the field lies past the packet (drop it).
 */
int vhx_net_tx_fixup_hdr(struct virtio_net_hdr *gso, size_t len)
{
	u32 need;

	if (!(gso->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return 0;
	need = le16_to_cpu((__force __le16)gso->csum_start) +
	       le16_to_cpu((__force __le16)gso->csum_offset) + 2;
	if (need <= le16_to_cpu((__force __le16)gso->hdr_len))
		return 0;
	if (need > len)
		return -EINVAL;
	gso->hdr_len = (__force __virtio16)cpu_to_le16(need);
	return 0;
}

/*
 * Patch num_buffers, the last field of the guest's RX header, once the
 * rest of it is written (by the tap, or by vhx when @vhost_hlen): @iov is
 * the first buffer's iovecs, @fixup an iterator over the header (past
 * vhx's own header when @vhost_hlen).  Usually the field lies in the first
 * iovec: then it is one store, not an iterator copy.
 */
int vhx_net_rx_put_num_buffers(const struct iovec *iov, struct iov_iter *fixup,
			       size_t vhost_hlen, u16 headcount)
{
	size_t off = sizeof(struct virtio_net_hdr);
	__le16 nb = cpu_to_le16(headcount);

	if (likely(!vhost_hlen && iov[0].iov_len >= off + sizeof(nb)))
		return put_user(nb, (__le16 __user *)
				((char __user *)iov[0].iov_base + off));
	if (!vhost_hlen)
		iov_iter_advance(fixup, off);
	return copy_to_iter(&nb, sizeof(nb), fixup) == sizeof(nb) ? 0 : -EFAULT;
}
