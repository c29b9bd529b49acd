// SPDX-License-Identifier: GPL-2.0
/*
 * ioctl_fuzz - in-VM fuzzer of the vhx device (built as ioctlfuzz_test).
 *
 * Seeded random sequences of valid and invalid ioctls, IOTLB messages
 * (write) and reads, eventfds (new, closed, unbound, wrong kind), backends,
 * memory tables and ring addresses over up to three open devices, while a
 * "guest" thread per device keeps mutating its ring memory and kicking, and
 * frames are injected towards RX.  Bounded number of operations: VHX_FUZZ_OPS
 * (default 3000, 100000 with VHX_SOAK=1); seed VHX_FUZZ_SEED (default: the
 * time, printed).  The kernel-log scan and the module unload of vm/run.sh
 * judge the run; the program itself fails only if a device stops answering
 * (an ioctl hangs past the test timeout) or cannot be reopened.
 * The in-tree vhost_net is excluded (SKIP with VHX_TARGET=intree).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "vhxlib.h"

#define NDEV 3
#define MEM_SIZE (1 << 20)

struct fdev {
	struct vhxl_net n;
	bool up;
	pthread_t guest;
	atomic_int stop;
	unsigned int seed;
};

static struct fdev devs[NDEV];
static struct vhxl_tap spare_tap;

static uint64_t rnd64(unsigned int *s)
{
	return ((uint64_t)rand_r(s) << 33) ^ ((uint64_t)rand_r(s) << 11) ^ rand_r(s);
}

/* An address: in guest memory (HVA or GPA), near it, or wild. */
static uint64_t pick(struct fdev *d, unsigned int *s, bool gpa)
{
	uint64_t base = gpa ? d->n.mem.r[0].gpa : (uintptr_t)d->n.mem.base;

	switch (rand_r(s) % 6) {
	case 0: return rnd64(s);
	case 1: return base + d->n.mem.size - (rand_r(s) % 4096);
	case 2: return rand_r(s) % 2 ? 0 : ~0ULL - rand_r(s) % 4096;
	default: return base + (rnd64(s) % d->n.mem.size & ~15ULL);
	}
}

/* The guest: rewrites bytes of its rings and kicks, until stopped. */
static void *guest_thread(void *arg)
{
	struct fdev *d = arg;
	unsigned int s = d->seed;

	while (!atomic_load(&d->stop)) {
		struct vhxl_vq *vq = &d->n.dev.vq[rand_r(&s) % VHX_NVQS];
		uint8_t *p;
		size_t len;

		switch (rand_r(&s) % 4) {
		case 0: p = (uint8_t *)vq->desc; len = 16 * vq->num; break;
		case 1: p = (uint8_t *)vq->avail; len = 6 + 2 * vq->num; break;
		case 2: p = (uint8_t *)vq->used; len = 6 + 8 * vq->num; break;
		default: p = d->n.mem.base; len = d->n.mem.size; break;
		}
		p[rand_r(&s) % len] = rand_r(&s);
		if (rand_r(&s) % 8 == 0) {
			vhxl_vq_kick_force(vq);
			usleep(100);
		}
	}
	return NULL;
}

static int dev_up(struct fdev *d, unsigned int *s)
{
	struct vhxl_net_cfg c = {
		.features = (rand_r(s) % 2 ? VHX_BIT(VIRTIO_F_VERSION_1) : 0) |
			    (rand_r(s) % 2 ? VHX_BIT(VIRTIO_NET_F_MRG_RXBUF) : 0) |
			    (rand_r(s) % 2 ? VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC) : 0) |
			    (rand_r(s) % 2 ? VHX_BIT(VIRTIO_RING_F_EVENT_IDX) : 0),
		.num = 1u << (rand_r(s) % 9), .rx_buf = 1536, .tx_buf = 1536,
		.ind_max = 8, .mem_size = MEM_SIZE, .nregions = 1 + rand_r(s) % 4,
		.identity = rand_r(s) % 2,
	};
	int r = vhxl_net_setup(&d->n, &c);

	if (r) {
		vhxl_net_teardown(&d->n);
		return r;
	}
	d->up = true;
	/* reads must never block: no message pending is EAGAIN */
	fcntl(d->n.dev.fd, F_SETFL, O_NONBLOCK);
	d->seed = rand_r(s);
	atomic_store(&d->stop, 0);
	pthread_create(&d->guest, NULL, guest_thread, d);
	return 0;
}

static void dev_down(struct fdev *d)
{
	if (!d->up)
		return;
	atomic_store(&d->stop, 1);
	pthread_join(d->guest, NULL);
	vhxl_net_teardown(&d->n);
	d->up = false;
}

/* A file descriptor of some kind for SET_VRING_* / SET_BACKEND. */
static int pick_fd(struct fdev *d, unsigned int *s, int *tmp)
{
	*tmp = -1;
	switch (rand_r(s) % 8) {
	case 0: return -1;
	case 1: return d->n.tap.fd;
	case 2: return spare_tap.fd;
	case 3: return d->n.dev.fd;
	case 4: return 1000 + rand_r(s) % 100;	/* not open */
	case 5: return *tmp = socket(AF_INET, SOCK_DGRAM, 0);
	default: return *tmp = eventfd(0, EFD_NONBLOCK);
	}
}

static void one_op(struct fdev *d, unsigned int *s)
{
	int fd = d->n.dev.fd, tmp = -1;
	unsigned int q = rand_r(s) % 3;		/* 2: out of range */
	struct vhost_vring_state st = { .index = q };
	struct vhost_vring_file f = { .index = q };
	struct vhost_vring_addr a = { .index = q };
	uint64_t u64v;
	uint8_t buf[128];

	switch (rand_r(s) % 20) {
	case 0:
		u64v = rnd64(s) & (VHX_NET_FEATURES | VHX_F_RING_PACKED |
				   VHX_BIT(VIRTIO_F_ACCESS_PLATFORM) |
				   (rand_r(s) % 8 ? 0 : rnd64(s)));
		ioctl(fd, VHOST_SET_FEATURES, &u64v);
		break;
	case 1: {
		struct vhost_memory *m = vhxl_mem_table(&d->n.mem);

		if (!m)
			break;
		if (rand_r(s) % 2 && m->nregions) {
			struct vhost_memory_region *r = &m->regions[rand_r(s) % m->nregions];

			switch (rand_r(s) % 4) {
			case 0: r->memory_size = rnd64(s) % (2 * MEM_SIZE); break;
			case 1: r->guest_phys_addr = pick(d, s, true); break;
			case 2: r->userspace_addr = pick(d, s, false); break;
			default: m->nregions = rand_r(s) % m->nregions; break;
			}
		}
		ioctl(fd, VHOST_SET_MEM_TABLE, m);
		free(m);
		break;
	}
	case 2:
		st.num = rand_r(s) % 3 ? 1u << (rand_r(s) % 10) : (unsigned int)rand_r(s);
		ioctl(fd, VHOST_SET_VRING_NUM, &st);
		break;
	case 3:
		st.num = rand_r(s) % 3 ? (unsigned int)rand_r(s) % 65536 : (unsigned int)rand_r(s);
		ioctl(fd, rand_r(s) % 2 ? VHOST_SET_VRING_BASE : VHOST_GET_VRING_BASE, &st);
		break;
	case 4:
		a.flags = rand_r(s) % 4 ? 0 : rand_r(s) % 3;
		a.desc_user_addr = pick(d, s, d->n.dev.iotlb);
		a.avail_user_addr = pick(d, s, d->n.dev.iotlb);
		a.used_user_addr = pick(d, s, d->n.dev.iotlb);
		a.log_guest_addr = pick(d, s, true);
		if (rand_r(s) % 2 && q < 2)	/* mostly the real rings */
			vhxl_vq_set_addr(&d->n.dev.vq[q]);
		else
			ioctl(fd, VHOST_SET_VRING_ADDR, &a);
		break;
	case 5:
	case 6:
		f.fd = pick_fd(d, s, &tmp);
		ioctl(fd, rand_r(s) % 3 == 0 ? VHOST_SET_VRING_KICK :
			  rand_r(s) % 2 ? VHOST_SET_VRING_CALL : VHOST_SET_VRING_ERR, &f);
		break;
	case 7:
	case 8:
		f.fd = pick_fd(d, s, &tmp);
		ioctl(fd, VHOST_NET_SET_BACKEND, &f);
		break;
	case 9:
		u64v = rand_r(s) % 2 ? (uintptr_t)d->n.mem.base : pick(d, s, false);
		ioctl(fd, VHOST_SET_LOG_BASE, &u64v);
		f.fd = pick_fd(d, s, &tmp);
		ioctl(fd, VHOST_SET_LOG_FD, &f.fd);
		break;
	case 10:
		u64v = rand_r(s) % 4 ? (uint64_t)(rand_r(s) % 8) : rnd64(s);
		ioctl(fd, VHOST_SET_BACKEND_FEATURES, &u64v);
		ioctl(fd, VHOST_GET_BACKEND_FEATURES, &u64v);
		ioctl(fd, VHOST_GET_FEATURES, &u64v);
		break;
	case 11: {	/* IOTLB message, v1 or v2 layout */
		struct vhost_msg_v2 m2;

		memset(&m2, 0, sizeof(m2));
		m2.type = rand_r(s) % 4 ? VHOST_IOTLB_MSG_V2 : rand_r(s) % 8;
		m2.asid = rand_r(s) % 8 ? 0 : rand_r(s);
		m2.iotlb.type = 1 + rand_r(s) % 6;
		m2.iotlb.iova = pick(d, s, true);
		m2.iotlb.size = rand_r(s) % 4 ? (uint64_t)(rand_r(s) % (2 * MEM_SIZE)) : rnd64(s);
		m2.iotlb.uaddr = pick(d, s, false);
		m2.iotlb.perm = rand_r(s) % 5;
		if (write(fd, &m2, rand_r(s) % 8 ? sizeof(m2) : rand_r(s) % sizeof(m2)) < 0)
			break;
		break;
	}
	case 12:
		if (read(fd, buf, rand_r(s) % 2 ? sizeof(buf) : rand_r(s) % sizeof(buf)) < 0)
			break;
		break;
	case 13:
		st.num = rand_r(s) % 1000;
		ioctl(fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &st);
		break;
	case 14:
		ioctl(fd, rand_r(s) % 2 ? VHOST_RESET_OWNER : VHOST_SET_OWNER, NULL);
		break;
	case 15:	/* a random vhost ioctl number */
		memset(buf, rand_r(s), sizeof(buf));
		ioctl(fd, _IOC(rand_r(s) % 4, VHOST_VIRTIO, rand_r(s) % 0x90,
			       rand_r(s) % 64), buf);
		break;
	case 16:
		vhxl_make_frame(buf, 60 + rand_r(s) % 60, rand_r(s));
		vhxl_tap_inject(&d->n.tap, buf, 60 + rand_r(s) % 60);
		break;
	case 17:
		if (q < 2 && rand_r(s) % 2)
			vhxl_vq_reset(&d->n.dev.vq[q]);
		break;
	case 18:	/* the owner dies or closes: reopen */
		if (rand_r(s) % 10 == 0) {
			dev_down(d);
			dev_up(d, s);
		}
		break;
	default:
		if (q < 2)
			vhxl_vq_kick_force(&d->n.dev.vq[q]);
		break;
	}
	if (tmp >= 0)
		close(tmp);
}

int main(void)
{
	const char *t = getenv("VHX_TARGET"), *e;
	unsigned int seed, s;
	long ops, i;
	int k, reopen_fail = 0;

	printf("1..1\n");
	if (t && strcmp(t, "vhx")) {
		printf("ok 1 ioctl_fuzz # SKIP the in-tree vhost_net is excluded\n");
		return 4;
	}
	if (vhxl_skip_reason()) {
		printf("ok 1 ioctl_fuzz # SKIP %s\n", vhxl_skip_reason());
		return 4;
	}
	e = getenv("VHX_FUZZ_SEED");
	seed = e ? strtoul(e, NULL, 0) : (unsigned int)time(NULL) ^ getpid();
	e = getenv("VHX_FUZZ_OPS");
	ops = e ? atol(e) : getenv("VHX_SOAK") ? 100000 : 3000;
	printf("# seed %u (VHX_FUZZ_SEED=%u reproduces), %ld operations\n", seed, seed, ops);
	fflush(stdout);
	s = seed;
	if (vhxl_tap_open(&spare_tap, 0, 0))
		spare_tap.fd = -1;
	for (k = 0; k < NDEV; k++)
		dev_up(&devs[k], &s);
	for (i = 0; i < ops; i++) {
		struct fdev *d = &devs[rand_r(&s) % NDEV];

		if (!d->up && dev_up(d, &s)) {
			reopen_fail++;
			continue;
		}
		one_op(d, &s);
		if (i % 1000 == 999) {
			printf("# %ld operations\n", i + 1);
			fflush(stdout);
		}
	}
	for (k = 0; k < NDEV; k++)
		dev_down(&devs[k]);
	if (spare_tap.fd >= 0)
		vhxl_tap_close(&spare_tap);
	printf("# done: %ld operations, %d failed re-opens\n", ops, reopen_fail);
	/* a device that cannot be set up again means the module is wedged */
	if (reopen_fail > ops / 100 + 3) {
		printf("not ok 1 ioctl_fuzz\n");
		return 1;
	}
	printf("ok 1 ioctl_fuzz\n");
	return 0;
}
