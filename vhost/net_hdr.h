/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhx_net virtio-net header handling: pure functions over the header and
 * the guest's iovecs, built in the module and, through selftests/fuzz/shim, in
 * the userspace fuzzer.
 */
#ifndef _VHX_NET_HDR_H
#define _VHX_NET_HDR_H

#include <linux/types.h>
#include <linux/uio.h>
#include <linux/virtio_net.h>

int vhx_net_tx_fixup_hdr(struct virtio_net_hdr *gso, size_t len);
int vhx_net_rx_put_num_buffers(const struct iovec *iov, struct iov_iter *fixup,
			       size_t vhost_hlen, u16 headcount);

#endif /* _VHX_NET_HDR_H */
