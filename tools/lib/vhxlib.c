// SPDX-License-Identifier: GPL-2.0
/*
 * vhxlib.c - userspace guest-driver library for /dev/vhost-net (see vhxlib.h):
 * the device, virtqueue set-up and the vhxl_vq_* calls of both ring
 * layouts.  Guest memory is vhxmem.c, the layouts' drivers are
 * vhxring_split.c and vhxring_packed.c, the net helpers vhxnet.c, the tap
 * vhxtap.c.
 */
#define _GNU_SOURCE
#include "vhxlib.h"
#include "vhxlib_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ================================================================ device */

const char *vhxl_dev_path(void)
{
	const char *p = getenv("VHX_DEV");

	return p && *p ? p : "/dev/vhost-net";
}

const char *vhxl_skip_reason(void)
{
	static char why[256];
	int fd;

	if (geteuid() != 0)
		return "not root";
	fd = open(vhxl_dev_path(), O_RDWR);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open %s: %s", vhxl_dev_path(),
			 strerror(errno));
		return why;
	}
	close(fd);
	fd = open("/dev/net/tun", O_RDWR);
	if (fd < 0) {
		snprintf(why, sizeof(why), "cannot open /dev/net/tun: %s",
			 strerror(errno));
		return why;
	}
	close(fd);
	return NULL;
}

const char *vhxl_skip_packed(void)
{
	static char why[256];
	const char *r = vhxl_skip_reason();
	uint64_t f = 0;
	int fd;

	if (r)
		return r;
	fd = open(vhxl_dev_path(), O_RDWR);
	if (fd < 0 || ioctl(fd, VHOST_GET_FEATURES, &f) < 0) {
		snprintf(why, sizeof(why), "GET_FEATURES on %s: %s", vhxl_dev_path(),
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		return why;
	}
	close(fd);
	if (!(f & VHX_F_RING_PACKED)) {
		snprintf(why, sizeof(why),
			 "%s does not offer VIRTIO_F_RING_PACKED (bit 34; features 0x%llx)",
			 vhxl_dev_path(), (unsigned long long)f);
		return why;
	}
	return NULL;
}

int vhxl_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg) < 0 ? -errno : 0;
}

int vhxl_write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY), r = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int comm_is(const char *path, const char *name, size_t l)
{
	char comm[64] = "";
	FILE *f = fopen(path, "r");
	int hit;

	if (!f)
		return 0;
	hit = fgets(comm, sizeof(comm), f) && !strncmp(comm, name, l) &&
	      comm[l] == '\n';
	fclose(f);
	return hit;
}

/*
 * Every thread, not only every process: a worker made with kthread_create()
 * is a process of its own, a vhost_task (6.11+) a thread of its owner.
 */
int vhxl_count_comm(const char *name)
{
	DIR *p = opendir("/proc");
	size_t l = strlen(name);
	struct dirent *e, *t;
	int n = 0;

	if (!p)
		return -1;
	while ((e = readdir(p))) {
		char path[600];
		DIR *td;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task", e->d_name);
		td = opendir(path);
		if (!td)
			continue;
		while ((t = readdir(td))) {
			if (t->d_name[0] < '0' || t->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/task/%s/comm",
				 e->d_name, t->d_name);
			n += comm_is(path, name, l);
		}
		closedir(td);
	}
	closedir(p);
	return n;
}

int vhxl_module_refcnt(const char *module)
{
	char path[128];
	int n = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/%s/refcnt", module);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%d", &n) != 1)
		n = -1;
	fclose(f);
	return n;
}

int vhxl_open(void)
{
	int fd = open(vhxl_dev_path(), O_RDWR);

	return fd < 0 ? -errno : fd;
}

int vhxl_dev_open(struct vhxl_dev *d, struct vhxl_mem *m)
{
	return vhxl_dev_open_path(d, m, vhxl_dev_path());
}

int vhxl_dev_open_path(struct vhxl_dev *d, struct vhxl_mem *m, const char *path)
{
	int i, r;

	memset(d, 0, sizeof(*d));
	for (i = 0; i < VHX_MAX_VQS; i++) {
		d->vq[i].kick_fd = d->vq[i].call_fd = d->vq[i].err_fd = -1;
		d->vq[i].dev = d;
		d->vq[i].index = i;
	}
	d->mem = m;
	d->fd = open(path, O_RDWR);
	if (d->fd < 0)
		return -errno;
	r = vhxl_ioctl(d->fd, VHOST_SET_OWNER, NULL);
	if (r) {
		close(d->fd);
		d->fd = -1;
	}
	return r;
}

static void vq_free_local(struct vhxl_vq *vq)
{
	free(vq->next);
	free(vq->chain);
	free(vq->cookie);
	free(vq->posted_len);
	free(vq->buf);
	free(vq->ind);
	vq->next = vq->chain = NULL;
	vq->cookie = NULL;
	vq->posted_len = NULL;
	vq->buf = vq->ind = NULL;
}

void vhxl_dev_close(struct vhxl_dev *d)
{
	int i;

	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
	for (i = 0; i < VHX_MAX_VQS; i++) {
		struct vhxl_vq *vq = &d->vq[i];

		if (vq->kick_fd >= 0)
			close(vq->kick_fd);
		if (vq->call_fd >= 0)
			close(vq->call_fd);
		if (vq->err_fd >= 0)
			close(vq->err_fd);
		vq->kick_fd = vq->call_fd = vq->err_fd = -1;
		vq_free_local(vq);
	}
}

int vhxl_dev_set_features(struct vhxl_dev *d, uint64_t f)
{
	int r = vhxl_ioctl(d->fd, VHOST_SET_FEATURES, &f);

	if (r)
		return r;
	d->features = f;
	d->hdr_len = (f & (VHX_BIT(VIRTIO_NET_F_MRG_RXBUF) |
			   VHX_BIT(VIRTIO_F_VERSION_1))) ?
		sizeof(struct virtio_net_hdr_mrg_rxbuf) :
		sizeof(struct virtio_net_hdr);
	d->vhost_hdr = !!(f & VHX_BIT(VHOST_NET_F_VIRTIO_NET_HDR));
	d->iotlb = !!(f & VHX_BIT(VIRTIO_F_ACCESS_PLATFORM));
	d->vq[0].event_idx = d->vq[1].event_idx =
		!!(f & VHX_BIT(VIRTIO_RING_F_EVENT_IDX));
	d->vq[0].packed = d->vq[1].packed = !!(f & VHX_F_RING_PACKED);
	return 0;
}

int vhxl_dev_set_mem(struct vhxl_dev *d)
{
	struct vhost_memory *t = vhxl_mem_table(d->mem);
	int r;

	if (!t)
		return -ENOMEM;
	r = vhxl_ioctl(d->fd, VHOST_SET_MEM_TABLE, t);
	free(t);
	return r;
}

/* Address of a ring area as vhost expects it in SET_VRING_ADDR. */
static uint64_t ring_addr(struct vhxl_vq *vq, uint64_t gpa)
{
	if (vq->dev->iotlb)
		return gpa;		/* IOVA space == GPA space */
	return (uint64_t)(uintptr_t)vhxl_gpa(vq->dev->mem, gpa, 1);
}

int vhxl_vq_set_addr(struct vhxl_vq *vq)
{
	struct vhost_vring_addr a = {
		.index = vq->index,
		.flags = vq->log ? (1u << VHOST_VRING_F_LOG) : 0,
		.desc_user_addr = ring_addr(vq, vq->desc_gpa),
		.avail_user_addr = ring_addr(vq, vq->avail_gpa),
		.used_user_addr = ring_addr(vq, vq->used_gpa),
		.log_guest_addr = vq->used_gpa,
	};

	return vhxl_ioctl(vq->dev->fd, VHOST_SET_VRING_ADDR, &a);
}

/* Ring area sizes of the layout. */
static size_t vq_avail_size(const struct vhxl_vq *vq)
{
	return vq->packed ? sizeof(struct vring_packed_desc_event) : 6 + 2 * vq->num;
}

static size_t vq_used_size(const struct vhxl_vq *vq)
{
	return vq->packed ? sizeof(struct vring_packed_desc_event) : 6 + 8 * vq->num;
}

static void vq_init_state(struct vhxl_vq *vq)
{
	unsigned i;

	memset(vq->desc, 0, 16 * vq->num);
	memset(vq->avail, 0, vq_avail_size(vq));
	memset(vq->used, 0, vq_used_size(vq));
	if (vq->packed)
		vhxl_packed_init_state(vq);
	else
		vhxl_split_init_state(vq);
	vq->inflight = 0;
	vq->used_total = 0;
	for (i = 0; i < vq->num; i++) {
		vq->next[i] = (i + 1) % vq->num;
		vq->chain[i] = 0;
		vq->cookie[i] = NULL;
	}
	vq->free_head = 0;
	vq->num_free = vq->num;
}

static int vq_program(struct vhxl_vq *vq)
{
	struct vhost_vring_state s = { .index = vq->index, .num = vq->num };
	int r;

	r = vhxl_ioctl(vq->dev->fd, VHOST_SET_VRING_NUM, &s);
	if (r)
		return r;
	if (vq->packed) {
		/*
		 * avail position | wrap << 15, used half likewise (QEMU's
		 * shape: 0x80008000 at position 0), or with the used half all
		 * zero as DPDK virtio-user sends it (0x00008000).
		 */
		uint32_t half = packed_event(vq->avail_idx, vq->avail_wrap);

		s.num = vq->dpdk_base ? half : half | half << 16;
	} else {
		s.num = (unsigned)vq->base;
	}
	r = vhxl_ioctl(vq->dev->fd, VHOST_SET_VRING_BASE, &s);
	if (r)
		return r;
	return vhxl_vq_set_addr(vq);
}

int vhxl_vq_setup(struct vhxl_dev *d, unsigned index, const struct vhxl_vq_cfg *c)
{
	struct vhxl_vq *vq = &d->vq[index];
	struct vhost_vring_file f = { .index = index };
	unsigned n = c->num, i;
	int r;

	vq->dev = d;
	vq->index = index;
	vq->num = n;
	vq->buf_size = c->buf_size;
	vq->ind_max = c->ind_max;
	vq->base = c->base;
	vq->dpdk_base = c->dpdk_base;
	vq->desc_gpa = vhxl_mem_alloc(d->mem, 16 * n, VHX_PAGE);
	vq->avail_gpa = vhxl_mem_alloc(d->mem, vq_avail_size(vq), VHX_PAGE);
	vq->used_gpa = vhxl_mem_alloc(d->mem, vq_used_size(vq), VHX_PAGE);
	if (!vq->desc_gpa || !vq->avail_gpa || !vq->used_gpa)
		return -ENOMEM;
	vq->desc = vhxl_gpa(d->mem, vq->desc_gpa, 16 * n);
	vq->avail = vhxl_gpa(d->mem, vq->avail_gpa, vq_avail_size(vq));
	vq->used = vhxl_gpa(d->mem, vq->used_gpa, vq_used_size(vq));
	vq->pdesc = (struct vring_packed_desc *)vq->desc;
	vq->drv_event = (struct vring_packed_desc_event *)vq->avail;
	vq->dev_event = (struct vring_packed_desc_event *)vq->used;
	vq->next = calloc(n, sizeof(*vq->next));
	vq->chain = calloc(n, sizeof(*vq->chain));
	vq->cookie = calloc(n, sizeof(*vq->cookie));
	vq->posted_len = calloc(n, sizeof(*vq->posted_len));
	vq->buf = calloc(n, sizeof(*vq->buf));
	vq->ind = calloc(n, sizeof(*vq->ind));
	if (!vq->next || !vq->chain || !vq->cookie || !vq->posted_len ||
	    !vq->buf || !vq->ind)
		return -ENOMEM;
	/* buffers start on their own page (the dirty-log test relies on it) */
	d->mem->brk = align_up(d->mem->brk, VHX_PAGE);
	for (i = 0; i < n; i++) {
		if (c->buf_size) {
			vq->buf[i] = vhxl_mem_alloc(d->mem, c->buf_size, 64);
			if (!vq->buf[i])
				return -ENOMEM;
		}
		if (c->ind_max) {
			vq->ind[i] = vhxl_mem_alloc(d->mem, 16 * c->ind_max, 16);
			if (!vq->ind[i])
				return -ENOMEM;
		}
	}
	vq_init_state(vq);
	r = vq_program(vq);
	if (r)
		return r;

	vq->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	vq->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!c->no_err_fd)
		vq->err_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (vq->kick_fd < 0 || vq->call_fd < 0 || (!c->no_err_fd && vq->err_fd < 0))
		return -errno;
	f.fd = vq->kick_fd;
	r = vhxl_ioctl(d->fd, VHOST_SET_VRING_KICK, &f);
	if (r)
		return r;
	f.fd = vq->call_fd;
	r = vhxl_ioctl(d->fd, VHOST_SET_VRING_CALL, &f);
	if (r)
		return r;
	if (vq->err_fd >= 0) {
		f.fd = vq->err_fd;
		r = vhxl_ioctl(d->fd, VHOST_SET_VRING_ERR, &f);
	}
	return r;
}

int vhxl_vq_reset(struct vhxl_vq *vq)
{
	vq_init_state(vq);
	vhxl_eventfd_read(vq->call_fd);
	vhxl_eventfd_read(vq->err_fd);
	return vq_program(vq);
}

int vhxl_set_backend(struct vhxl_dev *d, unsigned index, int fd)
{
	struct vhost_vring_file f = { .index = index, .fd = fd };

	return vhxl_ioctl(d->fd, VHOST_NET_SET_BACKEND, &f);
}

/* ================================================================ rings */

/*
 * The calls of both layouts: each is the split driver's (vhxring_split.c) or
 * the packed driver's (vhxring_packed.c) part, plus what they share.
 */

void vhxl_vq_raw_desc(struct vhxl_vq *vq, unsigned slot, uint64_t addr,
		     uint32_t len, uint32_t flags, uint16_t next)
{
	if (!vq->packed) {
		vhxl_split_raw_desc(vq, slot, addr, len, flags, next);
		return;
	}
	vhxl_packed_raw_desc(vq, slot, addr, len, flags, next);
}

void vhxl_vq_raw_publish(struct vhxl_vq *vq, uint16_t head, unsigned ndesc)
{
	if (!vq->packed) {
		vhxl_vq_publish_head(vq, head);
		return;
	}
	vhxl_packed_raw_publish(vq, ndesc);
}

uint32_t vhxl_vq_expected_base(const struct vhxl_vq *vq)
{
	if (!vq->packed)
		return vq->avail_idx;
	return vhxl_packed_expected_base(vq);
}

unsigned vhxl_vq_inflight(const struct vhxl_vq *vq)
{
	return vq->inflight;
}

int vhxl_vq_add(struct vhxl_vq *vq, const struct vhxl_sg *sg, unsigned n,
	       bool indirect, void *cookie)
{
	if (!n)
		return -EINVAL;
	if (vq->packed)
		return vhxl_packed_add(vq, sg, n, indirect, cookie);
	return vhxl_split_add(vq, sg, n, indirect, cookie);
}

static void eventfd_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		perror("vhxlib: eventfd write");
}

void vhxl_vq_kick_force(struct vhxl_vq *vq)
{
	vq->kicks++;
	eventfd_kick(vq->kick_fd);
}

int vhxl_vq_kick(struct vhxl_vq *vq)
{
	bool need;

	mb();
	if (vq->packed) {
		need = vhxl_packed_kick_needed(vq);
		vq->added = 0;
	} else {
		need = vhxl_split_kick_needed(vq);
	}
	if (need)
		vhxl_vq_kick_force(vq);
	else
		vq->suppressed_kicks++;
	return need;
}

unsigned vhxl_vq_pending_used(const struct vhxl_vq *vq)
{
	if (vq->packed)
		return vhxl_packed_pending(vq);
	return vhxl_split_pending(vq);
}

int vhxl_vq_get_used(struct vhxl_vq *vq, uint32_t *len, void **cookie)
{
	if (vq->packed)
		return vhxl_packed_get_used(vq, len, cookie);
	return vhxl_split_get_used(vq, len, cookie);
}

bool vhxl_vq_enable_cb(struct vhxl_vq *vq)
{
	if (vq->packed)
		vhxl_packed_enable_cb(vq);
	else
		vhxl_split_enable_cb(vq);
	vq->no_interrupt = false;
	mb();
	return vhxl_vq_pending_used(vq) != 0;
}

void vhxl_vq_disable_cb(struct vhxl_vq *vq)
{
	vq->no_interrupt = true;
	if (vq->packed)
		vhxl_packed_disable_cb(vq);
	else
		vhxl_split_disable_cb(vq);
	mb();
}

uint64_t vhxl_eventfd_read(int efd)
{
	uint64_t v = 0;

	if (efd < 0)
		return 0;
	if (read(efd, &v, sizeof(v)) != sizeof(v))
		return 0;
	return v;
}

uint64_t vhxl_eventfd_wait(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	int r;

	r = poll(&p, 1, timeout_ms);
	if (r <= 0)
		return 0;
	return vhxl_eventfd_read(efd);
}

int vhxl_vq_wait_used(struct vhxl_vq *vq, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		long long left;

		if (vhxl_vq_pending_used(vq))
			return 0;
		left = deadline - now_ms();
		if (left < 0)
			return -ETIMEDOUT;
		if (vq->no_interrupt) {
			/* Polling mode: the device must not interrupt us. */
			usleep(200);
			continue;
		}
		if (vhxl_vq_enable_cb(vq))
			return 0;
		if (vhxl_eventfd_wait(vq->call_fd, (int)left > 100 ? 100 : (int)left))
			vq->calls++;
	}
}
