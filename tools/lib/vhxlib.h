/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxlib - the userspace "guest driver" side of /dev/vhost-net, shared by the
 * vhx selftests and tools.
 *
 * Model (tools/virtio/vhost_net_test.c style):
 *  - guest memory: one anonymous mmap split into 1..64 memory regions, either
 *    identity mapped (guest_phys_addr == userspace_addr) or at a GPA base that
 *    differs from the HVA (QEMU-like);
 *  - the device: open (env VHX_DEV or /dev/vhost-net), SET_OWNER, features,
 *    SET_MEM_TABLE, two virtqueues (RX = 0, TX = 1) whose rings live in
 *    guest memory, with kick/call/err eventfds.  The ring layout follows the
 *    features: split rings, or packed rings when VIRTIO_F_RING_PACKED is
 *    acked -- the same helpers drive both (vhxl_vq_add, vhxl_vq_get_used,
 *    vhxl_vq_kick, vhxl_vq_enable_cb, ...);
 *  - a tap backend (IFF_TAP|IFF_NO_PI[|IFF_VNET_HDR]) plus an AF_PACKET socket
 *    bound to it, to inject frames towards vhost RX and to read what vhost TX
 *    sent.
 *
 * Guest-driver operations keep a shadow of the free list and never trust the
 * descriptor table, so tests may corrupt the ring and still reset it.
 *
 * Everything here is named vhxl_ (types and functions alike), never vhx_:
 * that prefix is the kernel modules' (vhost/), whose struct vhx_vq is the
 * device side of the ring this library drives as the guest.
 *
 * All functions returning int return 0 (or a non-negative value) on success
 * and -errno on failure unless stated otherwise.
 */
#ifndef VHXLIB_H
#define VHXLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <net/if.h>
#include <linux/vhost.h>
#include <linux/virtio_net.h>
#include <linux/virtio_ring.h>
#include <linux/virtio_config.h>

#include "vhxmem.h"
#include "vhxring.h"

#define VHX_RX 0
#define VHX_TX 1
#define VHX_NVQS 2

/* The 6.1 vhost-net feature mask (vhost-uapi.md §4). */
#define VHX_NET_FEATURES 0x1033d008000ULL
/* Packed virtqueues: offered by vhx, not by the in-tree module. */
#ifndef VIRTIO_F_RING_PACKED
#define VIRTIO_F_RING_PACKED 34
#endif
#define VHX_F_RING_PACKED (1ULL << VIRTIO_F_RING_PACKED)

#define VHX_BIT(n) (1ULL << (n))

/* -------------------------------------------------------------- device */

/* Device path: $VHX_DEV or /dev/vhost-net. */
const char *vhxl_dev_path(void);
/* Returns NULL if prerequisites are fine, else a static reason string for SKIP. */
const char *vhxl_skip_reason(void);
/* As vhxl_skip_reason(), and the device must offer VIRTIO_F_RING_PACKED. */
const char *vhxl_skip_packed(void);

/* open the device (no ioctls); returns fd or -errno */
int vhxl_open(void);
int vhxl_dev_open(struct vhxl_dev *d, struct vhxl_mem *m);	/* open + SET_OWNER */
/* Same, on another device node (e.g. /dev/vhost-blk). */
int vhxl_dev_open_path(struct vhxl_dev *d, struct vhxl_mem *m, const char *path);
void vhxl_dev_close(struct vhxl_dev *d);
int vhxl_dev_set_features(struct vhxl_dev *d, uint64_t features);
int vhxl_dev_set_mem(struct vhxl_dev *d);

/* Raw ioctl helper: returns 0 or -errno. */
int vhxl_ioctl(int fd, unsigned long req, void *arg);
/* Write @s to the (sysfs, debugfs) file @path: 0 or -errno. */
int vhxl_write_str(const char *path, const char *s);
/* Threads (kernel threads, vhost_task workers too) whose comm is @name; -1. */
int vhxl_count_comm(const char *name);
/* /sys/module/MODULE/refcnt, -1 if unreadable. */
int vhxl_module_refcnt(const char *module);

struct vhxl_vq_cfg {
	unsigned num;		/* ring size */
	size_t buf_size;	/* per-head buffer bytes (0: none) */
	unsigned ind_max;	/* per-head indirect table entries (0: none) */
	bool no_err_fd;		/* do not create/set the ERR eventfd */
	uint16_t base;		/* initial avail/used index (SET_VRING_BASE) */
	bool dpdk_base;		/* packed: send the base as DPDK does */
};

/* Allocate ring + buffers in guest memory and program the vq (NUM, BASE 0,
 * ADDR, KICK, CALL, ERR). */
int vhxl_vq_setup(struct vhxl_dev *d, unsigned index, const struct vhxl_vq_cfg *c);
/* Re-initialise the ring memory and local state and re-issue NUM/BASE/ADDR
 * (backend must be detached). */
int vhxl_vq_reset(struct vhxl_vq *vq);
/* Program SET_VRING_ADDR with the current areas (and the log flag). */
int vhxl_vq_set_addr(struct vhxl_vq *vq);
int vhxl_set_backend(struct vhxl_dev *d, unsigned index, int fd);

/*
 * Add one chain.  @indirect: put the segments in the head's indirect table
 * (needs ind_max >= n).  Returns the head index, -ENOSPC when the ring is full.
 * Does not kick.
 */
int vhxl_vq_add(struct vhxl_vq *vq, const struct vhxl_sg *sg, unsigned n,
	       bool indirect, void *cookie);
/*
 * Raw chain building for hostile tests, either layout.  Descriptor @slot of
 * the next chain: split: desc[slot] with @next; packed: ring position
 * avail_idx + slot, @next is its buffer id, and the AVAIL/USED bits of that
 * position's lap are added to @flags unless @flags has VHX_RAW_OWN_WRAP
 * (vhxring.h; then the caller's bits are written as given).  Slot 0's flags are
 * written by vhxl_vq_raw_publish() only.
 */
void vhxl_vq_raw_desc(struct vhxl_vq *vq, unsigned slot, uint64_t addr,
		     uint32_t len, uint32_t flags, uint16_t next);
/* Make the raw chain available: split: avail entry @head; packed: slot 0's
 * flags written last (write barrier first), position advanced by @ndesc. */
void vhxl_vq_raw_publish(struct vhxl_vq *vq, uint16_t head, unsigned ndesc);
/*
 * The VHOST_GET_VRING_BASE value the device must report once every posted
 * chain came back: split: the avail index; packed: next position and wrap
 * counter in both halves.
 */
uint32_t vhxl_vq_expected_base(const struct vhxl_vq *vq);
/* Chains posted and not reclaimed yet. */
unsigned vhxl_vq_inflight(const struct vhxl_vq *vq);
/* Kick if the device asked for it (NO_NOTIFY / avail_event); returns 1 if kicked. */
int vhxl_vq_kick(struct vhxl_vq *vq);
void vhxl_vq_kick_force(struct vhxl_vq *vq);
/* Pop one used entry: returns head (>= 0) with *len, or -EAGAIN if none. */
int vhxl_vq_get_used(struct vhxl_vq *vq, uint32_t *len, void **cookie);
/* Number of used entries not consumed yet. */
unsigned vhxl_vq_pending_used(const struct vhxl_vq *vq);
/* Re-enable interrupts (clear NO_INTERRUPT / set used_event); returns true if
 * used entries are already pending (the caller should not sleep). */
bool vhxl_vq_enable_cb(struct vhxl_vq *vq);
void vhxl_vq_disable_cb(struct vhxl_vq *vq);
/* Wait until a used entry is pending, up to @timeout_ms; 0 ok, -ETIMEDOUT. */
int vhxl_vq_wait_used(struct vhxl_vq *vq, int timeout_ms);
/* Poll an eventfd for @timeout_ms; returns the counter read (>0), 0 on timeout. */
uint64_t vhxl_eventfd_wait(int efd, int timeout_ms);
/* Non-blocking read of an eventfd counter (0 if not signalled). */
uint64_t vhxl_eventfd_read(int efd);

/* ----------------------------------------------------------- net helpers */

struct vhxl_tx_opts {
	unsigned nsegs;		/* descriptors for header+payload (>= 1) */
	bool hdr_separate;	/* header in its own descriptor */
	bool indirect;
	const struct virtio_net_hdr_v1 *hdr;	/* NULL: zero header */
};

/* Post a TX frame: copies header+frame into the head's buffer. Returns head
 * or -ENOSPC / -EMSGSIZE. */
int vhxl_tx_post(struct vhxl_dev *d, const void *frame, size_t len,
		const struct vhxl_tx_opts *o);
/* Reclaim completed TX heads; returns the number reclaimed. */
int vhxl_tx_reclaim(struct vhxl_dev *d);
/* Reclaim until every TX chain came back (0) or @timeout_ms passed (-ETIMEDOUT). */
int vhxl_tx_drain(struct vhxl_dev *d, int timeout_ms);

struct vhxl_rx_opts {
	unsigned nsegs;		/* split the buffer over this many descriptors */
	bool indirect;
	size_t len;		/* buffer size (0: whole per-head buffer) */
};
/* Post RX buffers until @count are posted or the ring is full, then kick
 * (subject to notification suppression); returns the number posted. */
int vhxl_rx_fill(struct vhxl_dev *d, unsigned count, const struct vhxl_rx_opts *o);

/*
 * Receive one frame from the RX ring (waits up to @timeout_ms): assembles
 * mergeable buffers, copies the header into @hdr (hdr_len bytes, may be NULL)
 * and the frame into @buf.  Returns frame length (may exceed @cap: truncated
 * copy), -ETIMEDOUT, or -EPROTO on a malformed used entry.  *nbufs receives
 * the number of used entries consumed.  Buffers are not reposted.
 */
ssize_t vhxl_rx_recv(struct vhxl_dev *d, void *buf, size_t cap, void *hdr,
		    unsigned *nbufs, int timeout_ms);

struct vhxl_tap {
	int fd;			/* tun/tap fd (the vhost backend) */
	int pkt;		/* AF_PACKET socket bound to the tap */
	int ifindex;
	char name[IFNAMSIZ];
	bool vnet_hdr;
};

/*
 * Create a tap: IFF_TAP|IFF_NO_PI (+IFF_VNET_HDR when @hdr_sz > 0, with
 * TUNSETVNETHDRSZ @hdr_sz), TUNSETSNDBUF INT_MAX, IPv6 disabled, MTU @mtu
 * (0: leave), link up, AF_PACKET socket bound.
 */
int vhxl_tap_open(struct vhxl_tap *t, int hdr_sz, int mtu);
void vhxl_tap_close(struct vhxl_tap *t);
/* Inject a frame towards the tap's transmit path (→ vhost RX). */
int vhxl_tap_inject(struct vhxl_tap *t, const void *frame, size_t len);
/* Read one frame the tap received (= vhost TX); -ETIMEDOUT when none. */
ssize_t vhxl_tap_recv(struct vhxl_tap *t, void *buf, size_t cap, int timeout_ms);
/* Drop every queued frame on the AF_PACKET socket; returns count dropped. */
int vhxl_tap_drain(struct vhxl_tap *t, int quiet_ms);

/* Build an Ethernet test frame: dst/src MAC, ethertype 0x88b5, a 4-byte
 * sequence number, then a pattern derived from @seq. @len >= 18. */
void vhxl_make_frame(void *buf, size_t len, uint32_t seq);
/* Check a frame built by vhxl_make_frame; returns 0 or the first bad offset + 1. */
size_t vhxl_check_frame(const void *buf, size_t len, uint32_t seq);
uint32_t vhxl_frame_seq(const void *buf);

/* ------------------------------------------------ whole-setup convenience */

struct vhxl_net_cfg {
	uint64_t features;	/* acked features (hdr size derives from them) */
	unsigned num;		/* ring size */
	size_t rx_buf;		/* RX per-head buffer size */
	size_t tx_buf;		/* TX per-head buffer size */
	unsigned ind_max;
	size_t mem_size;	/* 0: computed */
	unsigned nregions;	/* 0: 1 */
	bool identity;		/* identity mapping (false: GPA base VHX_GPA_BASE) */
	int mtu;		/* tap MTU (0: leave 1500) */
	bool no_backend;	/* do not attach the tap */
	uint16_t base;		/* initial ring index of both vqs */
	bool dpdk_base;		/* packed: SET_VRING_BASE the way DPDK sends it */
};

/* Device + memory + both vqs + tap, backend attached to both queues. */
struct vhxl_net {
	struct vhxl_mem mem;
	struct vhxl_dev dev;
	struct vhxl_tap tap;
	struct vhxl_net_cfg cfg;
};

int vhxl_net_setup(struct vhxl_net *n, const struct vhxl_net_cfg *c);
void vhxl_net_teardown(struct vhxl_net *n);

/* One TX frame: post, kick, wait for completion and reclaim. */
int vhxl_net_tx_one(struct vhxl_net *n, const void *frame, size_t len,
		   const struct vhxl_tx_opts *o, int timeout_ms);

#endif /* VHXLIB_H */
