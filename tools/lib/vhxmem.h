/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxmem.h - vhxlib's guest memory (vhxmem.c): one anonymous mapping split
 * into memory regions, identity mapped or at a GPA base, with a bump
 * allocator.  The bottom of the library: it uses none of the rest.
 */
#ifndef VHXMEM_H
#define VHXMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/vhost.h>

#define VHX_PAGE 4096ULL
#define VHX_MAX_REGIONS 128	/* we may build tables larger than the device's limit */

/* Default GPA base for non-identity memory (QEMU-like, 1 MiB). */
#define VHX_GPA_BASE 0x100000ULL


struct vhxl_region {
	void *hva;
	uint64_t gpa;
	uint64_t size;
};

struct vhxl_mem {
	void *base;		/* the single anonymous mapping */
	size_t size;
	bool identity;
	unsigned nregions;
	struct vhxl_region r[VHX_MAX_REGIONS];
	uint64_t brk;		/* bump allocator: offset into the mapping */
};

/*
 * Map @size bytes (rounded to pages, split evenly in @nregions regions, each a
 * multiple of 4 KiB).  identity: gpa == hva, else gpa = @gpa_base + offset.
 */
int vhxl_mem_init(struct vhxl_mem *m, size_t size, unsigned nregions,
		 bool identity, uint64_t gpa_base);
void vhxl_mem_fini(struct vhxl_mem *m);
/* Allocate zeroed guest memory; returns its GPA, 0 on exhaustion. */
uint64_t vhxl_mem_alloc(struct vhxl_mem *m, size_t size, size_t align);
/* GPA -> HVA, NULL when @gpa..+@len is not inside the mapping. */
void *vhxl_gpa(const struct vhxl_mem *m, uint64_t gpa, size_t len);
uint64_t vhxl_hva_to_gpa(const struct vhxl_mem *m, const void *hva);
/* Build a malloc'ed struct vhost_memory describing the regions. */
struct vhost_memory *vhxl_mem_table(const struct vhxl_mem *m);
/*
 * Make the pages of [gpa, gpa + len) (page-aligned) stall whoever touches
 * them -- the device included -- until the returned userfaultfd is closed:
 * their contents are dropped and every access waits for a fault nobody
 * answers (what a hostile owner can do to its own guest memory).  Closing
 * the fd lets the accesses go on, reading zeros.  Returns the fd or -errno.
 */
int vhxl_mem_stall(struct vhxl_mem *m, uint64_t gpa, size_t len);

#endif
