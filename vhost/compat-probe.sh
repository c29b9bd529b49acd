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
echo
