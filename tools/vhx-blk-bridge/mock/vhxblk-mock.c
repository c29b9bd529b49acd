// SPDX-License-Identifier: GPL-2.0
/*
 * vhxblk-mock.so - a userspace stand-in for /dev/vhost-blk, LD_PRELOADed
 * into vhx-blk-bridge (or vhx-blk-bench) on a host that cannot load
 * kernel modules.  It exists to test the bridge's vhost-user side with
 * stock QEMU on the build host (tools/vhx-blk-bridge/mock-test.sh); the
 * real data plane is vhost/blk*.c, tested in the lab VM.
 *
 * open() of $VHX_MOCK_DEV (default /dev/vhost-blk) returns a placeholder
 * fd; ioctl() on it implements the UAPI of uapi/linux/vhx_blk.h the way
 * the module documents it: SET_OWNER, GET/SET_FEATURES, SET_MEM_TABLE,
 * SET_LOG_BASE, the vring ioctls, VHX_BLK_GET_INFO/SET_BACKEND/SET_SERIAL.
 * An attached queue gets a thread that sleeps on the kick eventfd and
 * processes split-ring requests synchronously (IN, OUT, FLUSH, GET_ID,
 * DISCARD, WRITE_ZEROES) with pread/pwrite/fallocate; detaching joins it,
 * which is the drain.  Counters go to $VHX_MOCK_STATS (one "vq" line per
 * queue, like the module's debugfs) when the fd is closed.  No dirty log.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include "../../../uapi/linux/vhx_blk.h"

#define MOCK_NQ 16
#define MOCK_MAXDEV 8
#define MOCK_MAXREG 64
#define MOCK_FEATURES ((1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_BLK_SIZE) | \
		       (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_MQ) |          \
		       (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES) | \
		       (1ULL << VIRTIO_BLK_F_RO) | (1ULL << VIRTIO_F_VERSION_1) |          \
		       (1ULL << VIRTIO_RING_F_INDIRECT_DESC) | (1ULL << VIRTIO_RING_F_EVENT_IDX) | \
		       (1ULL << VIRTIO_F_NOTIFY_ON_EMPTY) | (1ULL << VHOST_F_LOG_ALL))
#define SEG_MAX 126

struct mvq {
	unsigned num;
	uint16_t last_avail, last_used;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	int kick, call, err, backend, stop;
	pthread_t th;
	bool running;
	unsigned long requests, kicks, calls, errors;
};

struct mdev {
	int fd;
	bool owned;
	uint64_t features;
	unsigned nreg;
	struct vhost_memory_region reg[MOCK_MAXREG];
	pthread_mutex_t mlock;
	char serial[VHX_BLK_SERIAL_BYTES];
	struct mvq vq[MOCK_NQ];
};

static struct mdev *devs[MOCK_MAXDEV];
static pthread_mutex_t glock = PTHREAD_MUTEX_INITIALIZER;

static int (*real_open)(const char *, int, ...);
static int (*real_close)(int);
static int (*real_ioctl)(int, unsigned long, ...);

static void mlog(const char *fmt, ...)
{
	va_list ap;

	if (!getenv("VHX_MOCK_VERBOSE"))
		return;
	va_start(ap, fmt);
	fprintf(stderr, "vhxblk-mock: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
}

__attribute__((constructor)) static void init(void)
{
	real_open = dlsym(RTLD_NEXT, "open");
	real_close = dlsym(RTLD_NEXT, "close");
	real_ioctl = dlsym(RTLD_NEXT, "ioctl");
}

static const char *mock_path(void)
{
	const char *p = getenv("VHX_MOCK_DEV");

	return p && *p ? p : "/dev/vhost-blk";
}

static struct mdev *find(int fd)
{
	int i;

	for (i = 0; i < MOCK_MAXDEV; i++)
		if (devs[i] && devs[i]->fd == fd)
			return devs[i];
	return NULL;
}

/* GPA range -> pointer (one region). */
static void *gpa(struct mdev *d, uint64_t a, uint64_t len)
{
	unsigned i;

	for (i = 0; i < d->nreg; i++) {
		struct vhost_memory_region *r = &d->reg[i];

		if (a >= r->guest_phys_addr && a - r->guest_phys_addr < r->memory_size &&
		    len <= r->memory_size - (a - r->guest_phys_addr))
			return (void *)(uintptr_t)(r->userspace_addr + a - r->guest_phys_addr);
	}
	return NULL;
}

struct seg {
	uint8_t *p;
	uint32_t len;
	bool w;
};

static int walk(struct mdev *d, struct mvq *v, uint16_t head, struct seg *sg, int max)
{
	struct vring_desc *tab = v->desc;
	unsigned n = v->num, i = head, cnt = 0;
	int k = 0;

	for (;;) {
		struct vring_desc de;

		if (i >= n || ++cnt > n + 1)
			return -1;
		de = tab[i];
		if (le16toh(de.flags) & VRING_DESC_F_INDIRECT) {
			if (tab != v->desc || le32toh(de.len) % 16 || !le32toh(de.len))
				return -1;
			tab = gpa(d, le64toh(de.addr), le32toh(de.len));
			if (!tab)
				return -1;
			n = le32toh(de.len) / 16;
			i = 0;
			cnt = 0;
			continue;
		}
		if (k == max)
			return -1;
		sg[k].p = gpa(d, le64toh(de.addr), le32toh(de.len));
		sg[k].len = le32toh(de.len);
		sg[k].w = le16toh(de.flags) & VRING_DESC_F_WRITE;
		if (!sg[k].p && sg[k].len)
			return -1;
		k++;
		if (!(le16toh(de.flags) & VRING_DESC_F_NEXT))
			return k;
		i = le16toh(de.next);
	}
}

/* Copy @len bytes at byte offset @off of the readable (w=false) or writable
 * segments from/to @buf. */
static size_t sg_copy(struct seg *sg, int n, bool w, size_t off, void *buf, size_t len, bool to_sg)
{
	size_t done = 0;
	int i;

	for (i = 0; i < n && done < len; i++) {
		size_t l;

		if (sg[i].w != w)
			continue;
		if (off >= sg[i].len) {
			off -= sg[i].len;
			continue;
		}
		l = sg[i].len - off;
		if (l > len - done)
			l = len - done;
		if (to_sg)
			memcpy(sg[i].p + off, (uint8_t *)buf + done, l);
		else
			memcpy((uint8_t *)buf + done, sg[i].p + off, l);
		done += l;
		off = 0;
	}
	return done;
}

static uint8_t do_req(struct mdev *d, struct mvq *v, struct seg *sg, int n, uint32_t *written)
{
	struct virtio_blk_outhdr h;
	size_t rd = 0, wr = 0, dlen;
	uint64_t off, cap;
	struct stat st;
	uint8_t *buf;
	uint8_t s = VIRTIO_BLK_S_OK;
	int i;

	for (i = 0; i < n; i++)
		*(sg[i].w ? &wr : &rd) += sg[i].len;
	if (rd < sizeof(h) || wr < 1)
		return 0xff;
	sg_copy(sg, n, false, 0, &h, sizeof(h), false);
	fstat(v->backend, &st);
	if (S_ISBLK(st.st_mode))
		real_ioctl(v->backend, BLKGETSIZE64, &cap);
	else
		cap = (uint64_t)st.st_size;
	off = le64toh(h.sector) * 512;
	*written = 1;
	switch (le32toh(h.type)) {
	case VIRTIO_BLK_T_IN:
		dlen = wr - 1;
		if (off > cap || dlen > cap - off)
			return VIRTIO_BLK_S_IOERR;
		buf = malloc(dlen ? dlen : 1);
		if (pread(v->backend, buf, dlen, (off_t)off) != (ssize_t)dlen)
			s = VIRTIO_BLK_S_IOERR;
		else
			sg_copy(sg, n, true, 0, buf, dlen, true);
		free(buf);
		*written = (uint32_t)dlen + 1;
		break;
	case VIRTIO_BLK_T_OUT:
		dlen = rd - sizeof(h);
		if (off > cap || dlen > cap - off)
			return VIRTIO_BLK_S_IOERR;
		buf = malloc(dlen ? dlen : 1);
		sg_copy(sg, n, false, sizeof(h), buf, dlen, false);
		if (pwrite(v->backend, buf, dlen, (off_t)off) != (ssize_t)dlen)
			s = VIRTIO_BLK_S_IOERR;
		free(buf);
		break;
	case VIRTIO_BLK_T_FLUSH:
		if (fdatasync(v->backend))
			s = VIRTIO_BLK_S_IOERR;
		break;
	case VIRTIO_BLK_T_GET_ID:
		dlen = wr - 1 < VHX_BLK_SERIAL_BYTES ? wr - 1 : VHX_BLK_SERIAL_BYTES;
		sg_copy(sg, n, true, 0, d->serial, dlen, true);
		*written = (uint32_t)dlen + 1;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES: {
		struct virtio_blk_discard_write_zeroes seg;
		size_t o;

		for (o = sizeof(h); o + sizeof(seg) <= rd; o += sizeof(seg)) {
			uint64_t so, sl;

			sg_copy(sg, n, false, o, &seg, sizeof(seg), false);
			so = le64toh(seg.sector) * 512;
			sl = (uint64_t)le32toh(seg.num_sectors) * 512;
			if (so > cap || sl > cap - so) {
				s = VIRTIO_BLK_S_IOERR;
				break;
			}
			if (fallocate(v->backend, le32toh(h.type) == VIRTIO_BLK_T_DISCARD ?
				      FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
				      FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
				      (off_t)so, (off_t)sl))
				s = VIRTIO_BLK_S_IOERR;
		}
		break;
	}
	default:
		s = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	return s;
}

static void *worker(void *arg)
{
	struct mdev *d = ((void **)arg)[0];
	struct mvq *v = ((void **)arg)[1];
	struct seg sg[SEG_MAX + 4];
	uint64_t x;

	free(arg);
	for (;;) {
		struct pollfd p[2] = { { .fd = v->kick, .events = POLLIN },
				       { .fd = v->stop, .events = POLLIN } };
		bool any = false;

		while (__atomic_load_n(&v->avail->idx, __ATOMIC_ACQUIRE) != v->last_avail) {
			uint16_t head = le16toh(v->avail->ring[v->last_avail % v->num]);
			uint32_t written = 0;
			uint8_t st;
			int n, i;

			pthread_mutex_lock(&d->mlock);
			n = walk(d, v, head, sg, SEG_MAX + 4);
			st = n > 0 ? do_req(d, v, sg, n, &written) : 0xff;
			pthread_mutex_unlock(&d->mlock);
			if (n <= 0 || st == 0xff) {
				uint64_t one = 1;

				v->errors++;
				if (v->err >= 0 && write(v->err, &one, sizeof(one)) < 0)
					mlog("err eventfd: %s", strerror(errno));
				mlog("queue %ld: bad chain at head %u", (long)(v - d->vq), head);
				goto stopped;
			}
			for (i = n - 1; i >= 0; i--) {
				if (sg[i].w && sg[i].len) {
					sg[i].p[sg[i].len - 1] = st;
					break;
				}
			}
			v->used->ring[v->last_used % v->num].id = htole32(head);
			v->used->ring[v->last_used % v->num].len = htole32(written);
			v->last_avail++;
			v->last_used++;
			__atomic_store_n(&v->used->idx, htole16(v->last_used), __ATOMIC_RELEASE);
			v->requests++;
			any = true;
		}
		if (d->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) {
			/* avail_event: kick me for the next one */
			uint16_t *ae = (uint16_t *)&v->used->ring[v->num];

			__atomic_store_n(ae, htole16(v->last_avail), __ATOMIC_SEQ_CST);
			if (__atomic_load_n(&v->avail->idx, __ATOMIC_SEQ_CST) != v->last_avail)
				continue;
		}
		if (any && v->call >= 0) {
			uint64_t one = 1;

			v->calls++;
			if (write(v->call, &one, sizeof(one)) < 0)
				mlog("call eventfd: %s", strerror(errno));
		}
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents)
			break;
		if (p[0].revents && read(v->kick, &x, sizeof(x)) == sizeof(x))
			v->kicks++;
	}
	return NULL;
stopped:
	/* a broken ring stops the queue until it is reset */
	while (read(v->stop, &x, sizeof(x)) != sizeof(x)) {
		struct pollfd p = { .fd = v->stop, .events = POLLIN };

		poll(&p, 1, -1);
	}
	return NULL;
}

static void stop_vq(struct mvq *v)
{
	uint64_t one = 1;

	if (!v->running)
		return;
	if (write(v->stop, &one, sizeof(one)) < 0)
		mlog("stop: %s", strerror(errno));
	pthread_join(v->th, NULL);
	real_close(v->stop);
	real_close(v->backend);
	v->backend = -1;
	v->running = false;
}

static void put_fd(int *slot, int fd)
{
	if (*slot >= 0)
		real_close(*slot);
	*slot = fd >= 0 ? dup(fd) : -1;
}

static int info(struct mdev *d, struct vhx_blk_info *in)
{
	int fd = in->fd;
	struct stat st;
	uint64_t bytes;
	int fl;

	(void)d;
	if (fd < 0)
		return -ENXIO;
	if (fstat(fd, &st))
		return -errno;
	if (S_ISBLK(st.st_mode)) {
		if (real_ioctl(fd, BLKGETSIZE64, &bytes))
			return -errno;
	} else if (S_ISREG(st.st_mode)) {
		bytes = (uint64_t)st.st_size;
	} else {
		return -ENOTBLK;
	}
	fl = fcntl(fd, F_GETFL);
	memset(in, 0, sizeof(*in));
	in->fd = fd;
	in->capacity = bytes / 512;
	in->logical_block_size = 512;
	in->physical_block_size = 4096;
	in->num_queues = MOCK_NQ;
	in->seg_max = SEG_MAX;
	in->flags = VHX_BLK_INFO_F_FLUSH | (S_ISBLK(st.st_mode) ? VHX_BLK_INFO_F_BDEV : 0) |
		    ((fl & O_ACCMODE) == O_RDONLY ? VHX_BLK_INFO_F_RO : 0) |
		    ((fl & O_DIRECT) ? VHX_BLK_INFO_F_DIRECT : 0);
	if (S_ISREG(st.st_mode) && !(in->flags & VHX_BLK_INFO_F_RO)) {
		in->flags |= VHX_BLK_INFO_F_DISCARD | VHX_BLK_INFO_F_WRITE_ZEROES |
			     VHX_BLK_INFO_F_DISCARD_ZEROES;
		in->max_discard_sectors = in->max_write_zeroes_sectors = 1u << 22;
		in->max_discard_seg = in->max_write_zeroes_seg = 1;
		in->discard_sector_alignment = 8;
		in->write_zeroes_may_unmap = 1;
	}
	return 0;
}

static int mock_ioctl(struct mdev *d, unsigned long req, void *arg)
{
	struct vhost_vring_state *s = arg;
	struct vhost_vring_file *f = arg;
	struct vhost_vring_addr *a = arg;
	struct mvq *v;
	unsigned i;

	if (req == VHOST_SET_OWNER) {
		if (d->owned)
			return -EBUSY;
		d->owned = true;
		return 0;
	}
	if (req == VHOST_GET_FEATURES) {
		*(uint64_t *)arg = MOCK_FEATURES;
		return 0;
	}
	if (req == VHX_BLK_GET_INFO)
		return info(d, arg);
	if (!d->owned)
		return -EPERM;
	switch (req) {
	case VHOST_SET_FEATURES:
		if (*(uint64_t *)arg & ~MOCK_FEATURES)
			return -EOPNOTSUPP;
		d->features = *(uint64_t *)arg;
		return 0;
	case VHOST_SET_MEM_TABLE: {
		struct vhost_memory *m = arg;

		if (m->nregions > MOCK_MAXREG)
			return -E2BIG;
		pthread_mutex_lock(&d->mlock);
		d->nreg = m->nregions;
		memcpy(d->reg, m->regions, m->nregions * sizeof(m->regions[0]));
		pthread_mutex_unlock(&d->mlock);
		return 0;
	}
	case VHOST_SET_LOG_BASE:
		return 0;
	case VHX_BLK_SET_SERIAL:
		memcpy(d->serial, ((struct vhx_blk_serial *)arg)->id, VHX_BLK_SERIAL_BYTES);
		return 0;
	default:
		break;
	}
	/* vring ioctls: the index comes first */
	i = *(unsigned *)arg;
	if (i >= MOCK_NQ)
		return -ENOBUFS;
	v = &d->vq[i];
	switch (req) {
	case VHOST_SET_VRING_NUM:
		if (v->running)
			return -EBUSY;
		if (!s->num || s->num > 32768 || (s->num & (s->num - 1)))
			return -EINVAL;
		v->num = s->num;
		return 0;
	case VHOST_SET_VRING_BASE:
		if (v->running)
			return -EBUSY;
		v->last_avail = v->last_used = (uint16_t)s->num;
		return 0;
	case VHOST_GET_VRING_BASE:
		stop_vq(v);
		s->num = v->last_avail;
		return 0;
	case VHOST_SET_VRING_ADDR:
		v->desc = (void *)(uintptr_t)a->desc_user_addr;
		v->avail = (void *)(uintptr_t)a->avail_user_addr;
		v->used = (void *)(uintptr_t)a->used_user_addr;
		return 0;
	case VHOST_SET_VRING_KICK:
		if (v->running)
			return -EBUSY;	/* simplification: the bridge never does it */
		put_fd(&v->kick, f->fd);
		return 0;
	case VHOST_SET_VRING_CALL:
		put_fd(&v->call, f->fd);
		return 0;
	case VHOST_SET_VRING_ERR:
		put_fd(&v->err, f->fd);
		return 0;
	case VHX_BLK_SET_BACKEND: {
		void **targ;

		stop_vq(v);
		if (f->fd < 0)
			return 0;
		if (!v->num || !v->desc || !v->avail || !v->used || v->kick < 0)
			return -EFAULT;
		/* the module takes used->idx from guest memory when attaching */
		v->last_used = le16toh(v->used->idx);
		v->backend = dup(f->fd);
		v->stop = eventfd(0, EFD_CLOEXEC);
		targ = malloc(2 * sizeof(void *));
		targ[0] = d;
		targ[1] = v;
		v->running = true;
		pthread_create(&v->th, NULL, worker, targ);
		mlog("queue %u attached (num %u, base %u)", i, v->num, v->last_avail);
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	mode_t mode = 0;
	struct mdev *d;
	int i, fd;

	va_start(ap, flags);
	if (flags & (O_CREAT | __O_TMPFILE))
		mode = va_arg(ap, mode_t);
	va_end(ap);
	if (!real_open)
		init();
	if (strcmp(path, mock_path()))
		return real_open(path, flags, mode);
	fd = eventfd(0, (flags & O_CLOEXEC) ? EFD_CLOEXEC : 0);
	if (fd < 0)
		return -1;
	d = calloc(1, sizeof(*d));
	d->fd = fd;
	pthread_mutex_init(&d->mlock, NULL);
	for (i = 0; i < MOCK_NQ; i++) {
		d->vq[i].kick = d->vq[i].call = d->vq[i].err = d->vq[i].backend = -1;
	}
	pthread_mutex_lock(&glock);
	for (i = 0; i < MOCK_MAXDEV && devs[i]; i++)
		;
	if (i == MOCK_MAXDEV) {
		pthread_mutex_unlock(&glock);
		real_close(fd);
		free(d);
		errno = EMFILE;
		return -1;
	}
	devs[i] = d;
	pthread_mutex_unlock(&glock);
	mlog("open -> fd %d", fd);
	return fd;
}

int open64(const char *path, int flags, ...) __attribute__((alias("open")));

int ioctl(int fd, unsigned long req, ...)
{
	struct mdev *d;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real_ioctl)
		init();
	pthread_mutex_lock(&glock);
	d = find(fd);
	pthread_mutex_unlock(&glock);
	if (!d)
		return real_ioctl(fd, req, arg);
	r = mock_ioctl(d, req, arg);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return r;
}

int close(int fd)
{
	struct mdev *d = NULL;
	const char *stats;
	FILE *sf = NULL;
	int i;

	if (!real_close)
		init();
	pthread_mutex_lock(&glock);
	for (i = 0; i < MOCK_MAXDEV; i++) {
		if (devs[i] && devs[i]->fd == fd) {
			d = devs[i];
			devs[i] = NULL;
		}
	}
	pthread_mutex_unlock(&glock);
	if (!d)
		return real_close(fd);
	stats = getenv("VHX_MOCK_STATS");
	if (stats)
		sf = fopen(stats, "a");
	for (i = 0; i < MOCK_NQ; i++) {
		struct mvq *v = &d->vq[i];

		stop_vq(v);
		if (sf && v->num)
			fprintf(sf, "vq dev=%d idx=%d num=%u last_avail=%u packets=%lu kicks=%lu "
				"calls=%lu errors=%lu\n", fd, i, v->num, v->last_avail, v->requests,
				v->kicks, v->calls, v->errors);
		put_fd(&v->kick, -1);
		put_fd(&v->call, -1);
		put_fd(&v->err, -1);
	}
	if (sf)
		fclose(sf);
	free(d);
	return real_close(fd);
}
