// SPDX-License-Identifier: GPL-2.0
/* vhxmem.c - vhxlib's guest memory (see vhxmem.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "vhxmem.h"

static size_t mem_align(size_t v, size_t a)
{
	return (v + a - 1) & ~(a - 1);
}

int vhxl_mem_init(struct vhxl_mem *m, size_t size, unsigned nregions,
		 bool identity, uint64_t gpa_base)
{
	size_t rsize;
	unsigned i;

	memset(m, 0, sizeof(*m));
	if (!nregions)
		nregions = 1;
	if (nregions > VHX_MAX_REGIONS)
		return -EINVAL;
	rsize = mem_align(mem_align(size, VHX_PAGE) / nregions, VHX_PAGE);
	if (!rsize)
		rsize = VHX_PAGE;
	size = rsize * nregions;
	m->base = mmap(NULL, size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (m->base == MAP_FAILED) {
		m->base = NULL;
		return -errno;
	}
	m->size = size;
	m->identity = identity;
	m->nregions = nregions;
	for (i = 0; i < nregions; i++) {
		m->r[i].hva = (char *)m->base + i * rsize;
		m->r[i].gpa = identity ? (uint64_t)(uintptr_t)m->r[i].hva :
					 gpa_base + i * rsize;
		m->r[i].size = rsize;
	}
	/* Keep GPA 0 / the first page unused so that "0" means failure. */
	m->brk = VHX_PAGE;
	return 0;
}

void vhxl_mem_fini(struct vhxl_mem *m)
{
	if (m->base)
		munmap(m->base, m->size);
	m->base = NULL;
}

uint64_t vhxl_mem_alloc(struct vhxl_mem *m, size_t size, size_t align)
{
	size_t off;

	if (!align)
		align = 8;
	off = mem_align(m->brk, align);
	if (off + size > m->size || off + size < off)
		return 0;
	m->brk = off + size;
	memset((char *)m->base + off, 0, size);
	return vhxl_hva_to_gpa(m, (char *)m->base + off);
}

void *vhxl_gpa(const struct vhxl_mem *m, uint64_t gpa, size_t len)
{
	uint64_t off;

	if (m->identity) {
		off = gpa - (uint64_t)(uintptr_t)m->base;
	} else {
		if (gpa < m->r[0].gpa)
			return NULL;
		off = gpa - m->r[0].gpa;
	}
	if (off >= m->size || len > m->size - off)
		return NULL;
	return (char *)m->base + off;
}

uint64_t vhxl_hva_to_gpa(const struct vhxl_mem *m, const void *hva)
{
	uint64_t off = (uint64_t)((const char *)hva - (const char *)m->base);

	return m->identity ? (uint64_t)(uintptr_t)hva : m->r[0].gpa + off;
}

struct vhost_memory *vhxl_mem_table(const struct vhxl_mem *m)
{
	struct vhost_memory *t;
	unsigned i;

	t = calloc(1, sizeof(*t) + m->nregions * sizeof(t->regions[0]));
	if (!t)
		return NULL;
	t->nregions = m->nregions;
	for (i = 0; i < m->nregions; i++) {
		t->regions[i].guest_phys_addr = m->r[i].gpa;
		t->regions[i].memory_size = m->r[i].size;
		t->regions[i].userspace_addr = (uint64_t)(uintptr_t)m->r[i].hva;
	}
	return t;
}

int vhxl_mem_stall(struct vhxl_mem *m, uint64_t gpa, size_t len)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	void *p = vhxl_gpa(m, gpa, len);
	int fd, r;

	if (!p || ((uintptr_t)p | len) & (VHX_PAGE - 1))
		return -EINVAL;
	fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	reg.range.start = (uintptr_t)p;
	reg.range.len = len;
	if (ioctl(fd, UFFDIO_API, &api) || madvise(p, len, MADV_DONTNEED) ||
	    ioctl(fd, UFFDIO_REGISTER, &reg)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}
