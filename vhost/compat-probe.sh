#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print one -DVHX_HAVE_* flag per capability found in the target kernel's
# headers (argument: the kernel source tree, $(srctree) in Kbuild).
# Capabilities are probed, never derived from the version number.
inc="$1/include"

probe() { # header, extended regex, macro
	grep -qsE "$2" "$inc/$1" && printf ' -D%s' "$3"
}

probe linux/eventfd.h 'void eventfd_signal\(struct eventfd_ctx \*ctx\);' VHX_HAVE_EVENTFD_SIGNAL_NOCOUNT
probe linux/sched/vhost_task.h 'vhost_task_create' VHX_HAVE_VHOST_TASK
probe linux/uio.h 'iter_iov\(' VHX_HAVE_ITER_IOV
probe linux/uio.h 'define ITER_SOURCE' VHX_HAVE_ITER_SOURCE
probe linux/page_frag_cache.h 'page_frag_alloc' VHX_HAVE_PAGE_FRAG_CACHE_H
grep -qsE 'void page_frag_cache_drain\(struct page_frag_cache' \
	"$inc/linux/gfp.h" "$inc/linux/page_frag_cache.h" &&
	printf ' -D%s' VHX_HAVE_PAGE_FRAG_CACHE_DRAIN
echo
