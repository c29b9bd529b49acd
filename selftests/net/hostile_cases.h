/* SPDX-License-Identifier: GPL-2.0 */
/*
 * hostile_cases.h - the cases of hostile_test: what one case is (struct
 * hcase: its vq, the outcome it expects, the device it needs and the
 * function that corrupts the ring), the context that function works in
 * (struct hctx), and the case functions of hostile_cases.c that the case
 * table in hostile_test.c names.
 */
#ifndef VHX_HOSTILE_CASES_H
#define VHX_HOSTILE_CASES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vhxlib.h"

#define NUM 64

/* The expected outcomes are described at the top of hostile_test.c. */
enum expect { SAME, ERR, ERR_MAY_SEND, ERR_OR_DROP, TOLERATED, SETUP_EFAULT,
	      IGNORED, SENT };

struct hctx {
	struct vhxl_net n;
	struct vhxl_vq *vq;
	uint8_t frame[2048];
	void *unmapped;		/* page to restore after the case */
	uint64_t extra_gpa;	/* case-specific scratch in guest memory */
	unsigned nd;		/* descriptors of the raw chain being built */
};

/*
 * One descriptor of a case given as data: where it points (the TX or RX
 * buffer of head @k plus @addr, the case's indirect table plus @addr, or
 * the address @addr itself), its length (TXLEN: the valid TX buffer's,
 * TXREST(n): that less n bytes), flags and next (packed: buffer id).
 */
enum hwhere { TXBUF, RXBUF, IND, AT };
#define TXREST(n) (-1 - (int64_t)(n))
#define TXLEN TXREST(0)
#define HTABLE_MAX 4
#define BAD_GPA 0xdead00000000ULL

struct hdesc {
	enum hwhere where;
	unsigned k;
	uint64_t addr;
	int64_t len;		/* 0 .. UINT32_MAX, or TXLEN / TXREST(n) */
	uint16_t flags;
	uint16_t next;
};

struct hcase {
	const char *what;
	unsigned vq;		/* VHX_RX or VHX_TX */
	enum expect expect;
	enum expect pexpect;	/* on a packed ring, if not the same */
	bool vhost_hdr;
	bool event_idx;
	unsigned nregions;
	size_t mem;
	/*
	 * Corrupt the ring; may return -errno to fail the case.  NULL: the
	 * ring gets .chain (.nchain descriptors), published at .head, with
	 * .table (.ntable entries) as the indirect table its IND
	 * descriptors point at.
	 */
	int (*fn)(struct hctx *h);
	unsigned nchain;
	struct hdesc chain[3];
	uint16_t head;
	unsigned ntable;
	struct hdesc table[HTABLE_MAX];
};

/* Publish a case's .chain on its vq and kick (TX) or inject a frame (RX). */
int hcase_chain(struct hctx *h, const struct hcase *c);

/* TX cases */
int c_chain_longer_than_ring(struct hctx *h);
int c_avail_idx_jump(struct hctx *h);
int c_indirect_nested(struct hctx *h);
int c_indirect_and_next(struct hctx *h);
int c_too_many_iov_indirect(struct hctx *h);
int c_too_many_iov_regions(struct hctx *h);
int c_avail_unmapped(struct hctx *h);
int c_desc_unmapped(struct hctx *h);
int c_used_unmapped(struct hctx *h);
int c_buffer_unmapped(struct hctx *h);

/* RX cases */
int c_rx_indirect_nested(struct hctx *h);

/* packed-only cases */
int c_wrap_confused(struct hctx *h);
int c_head_looks_used(struct hctx *h);
int c_head_prev_lap(struct hctx *h);
int c_id_in_flight(struct hctx *h);
int c_indirect_in_chain(struct hctx *h);
int c_indirect_flags_ignored(struct hctx *h);
int c_drv_event_reserved(struct hctx *h);
int c_drv_event_desc_no_evtidx(struct hctx *h);
int c_drv_event_off_ge_num(struct hctx *h);
int c_rx_chain_longer_than_ring(struct hctx *h);

/* setup-time cases */
int c_used_addr_hole(struct hctx *h);
int c_used_addr_kernel(struct hctx *h);

#endif /* VHX_HOSTILE_CASES_H */
