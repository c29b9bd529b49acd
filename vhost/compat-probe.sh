#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print one -DVHX_HAVE_* flag per capability found in the target kernel
# (arguments: the kernel source tree and object tree, $(srctree) and
# $(objtree) in Kbuild; on Debian the headers are split between
# linux-headers-*-common and linux-headers-*-amd64, so both are searched).
# Capabilities are probed, never derived from the version number.
src=$1
obj=${2:-$1}

# header (under include/), extended regex, macro
probe() {
	grep -qsE "$2" "$src/include/$1" "$obj/include/$1" && printf ' -D%s' "$3"
}

# Is $1 exported to modules (any license: vhx is GPL)?
exported() {
	grep -qsE "^0x[0-9a-f]+[[:space:]]$1[[:space:]]vmlinux[[:space:]]EXPORT_SYMBOL" \
		"$obj/Module.symvers"
}

# 6.8: eventfd_signal(ctx) lost its count argument (and its return value).
probe linux/eventfd.h 'void eventfd_signal\(struct eventfd_ctx \*ctx\)' \
	VHX_HAVE_EVENTFD_SIGNAL_NOCOUNT
# 6.4: vhost_task (CONFIG_VHOST_TASK, kernel/vhost_task.c), used by the
# worker only if the target exports it to modules.
if probe linux/sched/vhost_task.h 'vhost_task_create' VHX_HAVE_VHOST_TASK_H >/dev/null &&
	exported vhost_task_create && exported vhost_task_start &&
	exported vhost_task_stop && exported vhost_task_wake; then
	printf ' -D%s' VHX_HAVE_VHOST_TASK
	# 6.11: vhost_task_create() takes a SIGKILL handler.
	probe linux/sched/vhost_task.h 'handle_kill' VHX_HAVE_VHOST_TASK_KILL
fi
# 6.17: tun/tap XDP batches lost struct tun_xdp_hdr (header at the start).
probe linux/if_tun.h 'struct tun_xdp_hdr \{' VHX_HAVE_TUN_XDP_HDR
probe linux/uio.h 'define ITER_SOURCE' VHX_HAVE_ITER_SOURCE
probe linux/page_frag_cache.h 'page_frag_alloc' VHX_HAVE_PAGE_FRAG_CACHE_H
# 6.9: file_bdev() (the block device of a bdev file) replaced I_BDEV on
# file->f_mapping->host for callers holding a file.
probe linux/blkdev.h 'struct block_device \*file_bdev\(' VHX_HAVE_FILE_BDEV
# 6.5: bd_prepare_to_claim() takes the holder's operations.
probe linux/blkdev.h 'int bd_prepare_to_claim\(struct block_device \*bdev, void \*holder,' \
	VHX_HAVE_BD_CLAIM_HOPS
# vhx_vsock: the sk_buff-based virtio vsock API (6.3; Debian's 6.1 from
# 6.1.63).  Without it vhx_vsock is not built (vhost/Kbuild).
probe linux/virtio_vsock.h 'struct virtio_vsock_hdr \*virtio_vsock_hdr\(struct sk_buff' \
	VHX_HAVE_VSOCK_SKB
# 7.0: send_pkt and virtio_transport_recv_pkt take the packet's network
# namespace, and the *_allow callbacks the socket; an H2G transport says
# which remote CIDs it serves (has_remote_cid); vsock has per-netns modes.
probe linux/virtio_vsock.h 'int \(\*send_pkt\)\(struct sk_buff \*skb, struct net \*net\)' \
	VHX_HAVE_VSOCK_NET
probe net/af_vsock.h 'bool \(\*stream_allow\)\(struct vsock_sock \*vsk' VHX_HAVE_VSOCK_ALLOW_VSK
probe net/af_vsock.h '\(\*has_remote_cid\)' VHX_HAVE_VSOCK_HAS_REMOTE_CID
probe net/af_vsock.h 'vsock_net_check_mode' VHX_HAVE_VSOCK_NET_MODE
# By 6.12: a partly sent packet keeps its offset in the skb's control block
# (its payload may be in page fragments), and the socket counts the bytes
# it has not sent yet (SIOCOUTQ), given back by consume_skb_sent().
probe linux/virtio_vsock.h 'u32[[:space:]]+offset;' VHX_HAVE_VSOCK_SKB_OFFSET
probe linux/virtio_vsock.h 'virtio_transport_consume_skb_sent' VHX_HAVE_VSOCK_CONSUME_SENT
# Transport operations added after 6.1 (read_skb: sockmap; SO_RCVLOWAT;
# SIOCOUTQ; MSG_ZEROCOPY).
probe linux/virtio_vsock.h 'virtio_transport_read_skb' VHX_HAVE_VSOCK_READ_SKB
probe linux/virtio_vsock.h 'virtio_transport_notify_set_rcvlowat' VHX_HAVE_VSOCK_SET_RCVLOWAT
probe linux/virtio_vsock.h 'virtio_transport_unsent_bytes' VHX_HAVE_VSOCK_UNSENT_BYTES
probe net/af_vsock.h '\(\*msgzerocopy_allow\)' VHX_HAVE_VSOCK_MSGZEROCOPY
echo
