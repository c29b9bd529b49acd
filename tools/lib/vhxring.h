/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxring.h - the state of vhxlib's guest driver: a device and its
 * virtqueues, split or packed.  Shared by the library's calls (vhxlib.c)
 * and the two layouts' drivers (vhxring_split.c, vhxring_packed.c); the
 * layouts depend on this header and vhxmem.h, never on vhxlib.c.
 */
#ifndef VHXRING_H
#define VHXRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/virtio_ring.h>

struct vhxl_mem;

/* Queues a struct vhxl_dev can hold (vhost-blk devices have more than 2). */
#define VHX_MAX_VQS 16

struct vhxl_dev;

/*
 * One virtqueue, split or packed.  "head" below is the split ring's head
 * descriptor index, or the packed ring's buffer id: the per-head arrays
 * (chain, cookie, posted_len, buf, ind) are indexed by it either way.
 */
struct vhxl_vq {
	struct vhxl_dev *dev;
	unsigned index;
	unsigned num;
	bool packed;		/* packed layout (VIRTIO_F_RING_PACKED acked) */
	/* ring areas (GPA and local pointers); packed: descriptor ring,
	 * driver event area (avail_gpa), device event area (used_gpa) */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	struct vring_packed_desc *pdesc;		/* = desc */
	struct vring_packed_desc_event *drv_event;	/* = avail */
	struct vring_packed_desc_event *dev_event;	/* = used */
	/* eventfds */
	int kick_fd, call_fd, err_fd;
	/* driver state.  Split: free-running indices; packed: positions in
	 * [0, num) with the wrap counters below. */
	uint16_t avail_idx;	/* next avail->idx to publish / next position */
	uint16_t last_used;	/* next used entry to consume */
	uint16_t kick_old;	/* split: avail idx at the previous kick decision */
	bool avail_wrap;	/* packed: driver wrap counter at avail_idx */
	bool used_wrap;		/* packed: wrap counter expected at last_used */
	unsigned added;		/* packed: descriptors since the last kick decision */
	uint16_t raw_head_flags;	/* packed: slot 0 of a raw chain */
	uint16_t free_head, num_free;	/* num_free: free ring descriptors */
	uint16_t *next;		/* free list: split descriptors, packed ids */
	uint16_t *chain;	/* per head: number of ring descriptors */
	void **cookie;		/* per head: caller data */
	uint32_t *posted_len;	/* per head: bytes of the buffer posted */
	unsigned inflight;	/* chains posted and not reclaimed */
	unsigned long used_total;	/* used entries consumed */
	/* per-head resources */
	uint64_t *buf;		/* per-head buffer GPA (buf_size bytes) */
	size_t buf_size;
	uint64_t *ind;		/* per-head indirect table GPA */
	unsigned ind_max;	/* entries per indirect table */
	bool event_idx;
	bool no_interrupt;	/* keep interrupts suppressed (NO_INTERRUPT / DISABLE) */
	bool log;		/* VHOST_VRING_F_LOG in SET_VRING_ADDR */
	uint64_t base;		/* initial ring index (packed: position base % num) */
	bool dpdk_base;		/* packed: SET_VRING_BASE as DPDK does (used half 0) */
	/* statistics */
	unsigned long kicks, suppressed_kicks, calls;
};

struct vhxl_dev {
	int fd;
	struct vhxl_mem *mem;
	uint64_t features;	/* acked */
	size_t hdr_len;		/* virtio-net header size in guest buffers */
	bool vhost_hdr;		/* VHOST_NET_F_VIRTIO_NET_HDR acked */
	bool iotlb;		/* ACCESS_PLATFORM: ring addresses are IOVAs (= GPA) */
	struct vhxl_vq vq[VHX_MAX_VQS];
};

/* Segment descriptor for vhxl_vq_add(). */
struct vhxl_sg {
	uint64_t gpa;
	uint32_t len;
	bool write;		/* device-writable */
};

/* vhxl_vq_raw_desc() flag: write the caller's AVAIL/USED bits as given. */
#define VHX_RAW_OWN_WRAP 0x10000

/*
 * Part of the API of vhxlib.h, given by the layouts' drivers:
 * vhxl_vq_publish_head() publishes a raw head into the avail ring (split,
 * for hostile tests); vhxl_vq_packed_avail_bits() is the AVAIL/USED bits a
 * packed driver sets for position avail_idx + @slot.
 */
void vhxl_vq_publish_head(struct vhxl_vq *vq, uint16_t head);
uint16_t vhxl_vq_packed_avail_bits(const struct vhxl_vq *vq, unsigned slot);

#endif
