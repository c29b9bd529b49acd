/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Force-included compatibility layer.  Feature code tests VHX_HAVE_* macros
 * (set by probes in vhost/Kbuild against the target headers) or calls the
 * small vhx_* wrappers below; it never tests LINUX_VERSION_CODE.
 */
#ifndef _VHX_COMPAT_H
#define _VHX_COMPAT_H

#include <linux/eventfd.h>
#include <asm/byteorder.h>

/* Rings are little-endian (VERSION_1, or legacy on a little-endian host). */
#ifndef __LITTLE_ENDIAN
#error "vhx supports little-endian hosts only"
#endif

#ifndef VHX_HAVE_ITER_SOURCE
#define ITER_SOURCE WRITE
#define ITER_DEST READ
#endif

static inline void vhx_eventfd_signal(struct eventfd_ctx *ctx)
{
#ifdef VHX_HAVE_EVENTFD_SIGNAL_NOCOUNT
	eventfd_signal(ctx);
#else
	eventfd_signal(ctx, 1);
#endif
}

#ifdef VHX_HAVE_PAGE_FRAG_CACHE_H
#include <linux/page_frag_cache.h>
#else
#include <linux/gfp.h>
#endif
#include <linux/mm.h>

/*
 * tun/tap XDP batches (TUN_MSG_PTR): the virtio-net header follows an int
 * buflen (struct tun_xdp_hdr) until 6.17; since then it starts the buffer
 * and the length is xdp->frame_sz (set by xdp_init_buff()).
 */
#ifdef VHX_HAVE_TUN_XDP_HDR
#include <linux/if_tun.h>
#define VHX_TUN_XDP_HDR_SIZE sizeof(struct tun_xdp_hdr)

static inline struct virtio_net_hdr *vhx_tun_xdp_gso(void *buf)
{
	return &((struct tun_xdp_hdr *)buf)->gso;
}

static inline void vhx_tun_xdp_set_buflen(void *buf, int buflen)
{
	((struct tun_xdp_hdr *)buf)->buflen = buflen;
}
#else
#include <linux/virtio_net.h>
#define VHX_TUN_XDP_HDR_SIZE sizeof(struct virtio_net_hdr)

static inline struct virtio_net_hdr *vhx_tun_xdp_gso(void *buf)
{
	return buf;
}

static inline void vhx_tun_xdp_set_buflen(void *buf, int buflen)
{
}
#endif

/*
 * The block device under a block-device file: file_bdev() since 6.9, the
 * inode of its mapping before.  A macro, so that this header need not
 * pull <linux/blkdev.h> into every file.
 */
#ifdef VHX_HAVE_FILE_BDEV
#define vhx_file_bdev(file) file_bdev(file)
#else
#define vhx_file_bdev(file) I_BDEV((file)->f_mapping->host)
#endif

/* A short claim of a block device: since 6.5 with the holder's ops. */
#ifdef VHX_HAVE_BD_CLAIM_HOPS
#define vhx_bd_prepare_to_claim(bdev, holder) \
	bd_prepare_to_claim(bdev, holder, NULL)
#else
#define vhx_bd_prepare_to_claim(bdev, holder) bd_prepare_to_claim(bdev, holder)
#endif

/*
 * vhost_task (6.4, exported to modules since): the worker as a thread of
 * the owner.  Since 6.11 vhost_task_create() also takes the handler run
 * when the owner gets SIGKILL; before, the thread simply exits with the
 * owner and the handler is never called.  Only worker_task.c uses these;
 * Kbuild builds it instead of worker_kthread.c where the probe found it.
 */
#ifdef VHX_HAVE_VHOST_TASK
#include <linux/sched/vhost_task.h>

static inline struct vhost_task *
vhx_vhost_task_create(bool (*fn)(void *), void (*killed)(void *), void *data,
		      const char *name)
{
#ifdef VHX_HAVE_VHOST_TASK_KILL
	return vhost_task_create(fn, killed, data, name);
#else
	return vhost_task_create(fn, data, name);
#endif
}
#endif

#endif /* _VHX_COMPAT_H */
