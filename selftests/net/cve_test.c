// SPDX-License-Identifier: GPL-2.0
/*
 * cve_test - known vhost CVEs, replayed against the device as regressions.
 *
 *  cve_2019_3900   a guest that keeps TX busy forever (a thread refills the
 *                  TX ring as fast as the device drains it) must not own the
 *                  worker: RX on the same device still delivers every frame
 *                  within a bound, TX also progresses; on vhx the TX queue's
 *                  requeues= counter (debugfs) moves, i.e. the weight cut the
 *                  runs.
 *  cve_2019_14835  during "migration" (LOG_ALL + SET_LOG_BASE + VRING_F_LOG)
 *                  RX chains made of thousands of zero-length writable
 *                  descriptors between tiny ones: more descriptors than the
 *                  per-vq log array holds (iov_limit), but few iovecs.  The
 *                  frame must arrive intact, exactly the written pages and
 *                  the used ring must be logged, and the page every
 *                  zero-length descriptor points at must not be.  Two
 *                  shapes: one chain with a 2048-entry indirect table
 *                  (non-mergeable) and 96 mergeable chains of 32 entries.
 *  cve_2018_1118   IOTLB MISS messages read from the fd, v1 (struct
 *                  vhost_msg) and v2 (vhost_msg_v2): every byte outside the
 *                  documented fields reads 0 (buffer pre-filled with 0xA5),
 *                  nothing is written past the message.
 *  cve_2020_10942  NET_SET_BACKEND with fds that are neither a tap nor an
 *                  AF_PACKET raw socket (UDP, TCP, netlink, AF_PACKET DGRAM,
 *                  AF_UNIX, raw IPv4, eventfd, /dev/null, a pipe, an
 *                  epoll fd) is refused with ENOTSOCK (what the in-tree
 *                  6.1 vhost_net returns for every one of them); afterwards
 *                  the device still works with a real tap.
 *
 * The kernel-log scan of vm/run.sh (panic_on_warn) catches any splat.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include "dlog.h"
#include "harness.h"
#include "iotlbfix.h"
#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)
#define F_IND VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC)
#define F_LOG VHX_BIT(VHOST_F_LOG_ALL)
#define F_AP  VHX_BIT(VIRTIO_F_ACCESS_PLATFORM)

static bool target_is_vhx(void)
{
	const char *t = getenv("VHX_TARGET");

	return !t || !strcmp(t, "vhx");
}

static long long ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ============================================================ 2019-3900 */

/*
 * vhx debugfs: the requeues= counter of queue @idx of the device owned by
 * @pid; -1 when not found (no debugfs, not vhx).
 */
static long long vhx_requeues(pid_t pid, int idx)
{
	const char *path = "/sys/kernel/debug/vhx/devices";
	char line[512];
	long long v = -1;
	unsigned int dev = ~0u;
	FILE *f;

	if (access(path, R_OK))
		mount("debugfs", "/sys/kernel/debug", "debugfs", 0, NULL);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned int id, d;
		int owner, i;
		char *p;

		if (sscanf(line, "dev id=%u kind=%*s owner=%d", &id, &owner) == 2) {
			if (owner == pid)
				dev = id;
			continue;
		}
		if (sscanf(line, "vq dev=%u idx=%d", &d, &i) == 2 && d == dev &&
		    i == idx) {
			p = strstr(line, " requeues=");
			if (p)
				v = strtoll(p + 10, NULL, 10);
		}
	}
	fclose(f);
	return v;
}

struct busy_tx {
	struct vhxl_net *n;
	atomic_int stop;
	unsigned long posted, completed;
};

/* The hostile guest: TX ring never empty, kicked continuously. */
static void *busy_tx_thread(void *arg)
{
	struct busy_tx *b = arg;
	struct vhxl_dev *d = &b->n->dev;
	uint8_t frame[64];

	vhxl_make_frame(frame, sizeof(frame), 0x39000000);
	while (!atomic_load(&b->stop)) {
		int k = 0;

		b->completed += vhxl_tx_reclaim(d);
		while (vhxl_tx_post(d, frame, sizeof(frame), NULL) >= 0) {
			b->posted++;
			k++;
		}
		if (k)
			vhxl_vq_kick_force(&d->vq[VHX_TX]);
		else
			sched_yield();
	}
	return NULL;
}

#define RX_FRAMES 40

TEST_TIMEOUT(cve_2019_3900, 120)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG, .num = 256,
		.rx_buf = 2048, .tx_buf = 128, .identity = false,
	};
	const char *why = vhxl_skip_reason();
	static struct vhxl_net n;
	struct busy_tx b = { .n = &n };
	uint8_t f[1500], r[2048];
	long long rq0, rq1, t0, worst = 0;
	unsigned long done0;
	pthread_t th;
	int i, got = 0;

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&n, &c));
	vhxl_rx_fill(&n.dev, 256, NULL);
	rq0 = vhx_requeues(getpid(), VHX_TX);

	ASSERT_EQ(0, pthread_create(&th, NULL, busy_tx_thread, &b));
	/* let the flood establish itself */
	usleep(500000);
	done0 = b.completed;

	for (i = 0; i < RX_FRAMES; i++) {
		ssize_t len;
		long long dt;

		usleep(50000);	/* spread RX over ~2 s of flood */

		t0 = ms_now();
		vhxl_make_frame(f, 200 + i, 0x3900 + i);
		if (vhxl_tap_inject(&n.tap, f, 200 + i))
			continue;
		len = vhxl_rx_recv(&n.dev, r, sizeof(r), NULL, NULL, 10000);
		dt = ms_now() - t0;
		if (dt > worst)
			worst = dt;
		if (len == 200 + i && !vhxl_check_frame(r, len, 0x3900 + i))
			got++;
		else
			TH_LOG("RX frame %d: len %zd after %lld ms", i, len, dt);
		vhxl_rx_fill(&n.dev, 256, NULL);
	}
	atomic_store(&b.stop, 1);
	pthread_join(th, NULL);
	rq1 = vhx_requeues(getpid(), VHX_TX);

	TH_LOG("TX flood: %lu posted, %lu completed (%lu during the RX phase)",
	       b.posted, b.completed, b.completed - done0);
	TH_LOG("RX under flood: %d/%d frames, worst latency %lld ms", got, RX_FRAMES, worst);
	TH_LOG("TX requeues: %lld -> %lld", rq0, rq1);
	/* RX was not starved: every frame, each within 10 s (TCG) */
	EXPECT_EQ(RX_FRAMES, got);
	/* and the flood itself kept progressing meanwhile */
	EXPECT_GT(b.completed - done0, 256ul);
	if (target_is_vhx()) {
		if (rq0 < 0 || rq1 < 0)
			TH_LOG("no vhx debugfs counters: requeue check skipped");
		else
			EXPECT_GT(rq1, rq0);
	}
	vhxl_net_teardown(&n);
}

/* =========================================================== 2019-14835 */

FIXTURE(mig)
{
	struct vhxl_net n;
	bool up;
	struct dlog log;
	uint64_t canary;	/* the page zero-length descriptors point into */
	uint8_t f[4096], r[4096];
};

FIXTURE_VARIANT(mig)
{
	bool mergeable;
	unsigned int chains;	/* chains posted */
	unsigned int per_chain;	/* descriptors per chain (indirect table) */
	unsigned int every;	/* one tiny descriptor every @every */
	unsigned int tiny;	/* bytes of a tiny descriptor */
	size_t frame;
};

FIXTURE_VARIANT_ADD(mig, one_chain_2048_descs)
{
	.mergeable = false, .chains = 1, .per_chain = 2048, .every = 16,
	.tiny = 16, .frame = 1500,
};

FIXTURE_VARIANT_ADD(mig, mergeable_96_chains)
{
	.mergeable = true, .chains = 96, .per_chain = 32, .every = 8,
	.tiny = 4, .frame = 1000,
};

FIXTURE_SETUP(mig)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_IND | F_LOG |
			    (variant->mergeable ? F_MRG : 0),
		.num = 128, .rx_buf = 4096, .tx_buf = 2048,
		.ind_max = variant->per_chain, .identity = false,
		.no_backend = true,
	};
	const char *why = vhxl_skip_reason();

	self->log.fd = -1;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
	self->canary = vhxl_mem_alloc(&self->n.mem, VHX_PAGE, VHX_PAGE);
	ASSERT_NE(0ull, (unsigned long long)self->canary);
	ASSERT_EQ(0, dlog_start(&self->log, &self->n));
	/* the TX handler's first run logs its used ring: let it happen */
	usleep(200000);
}

FIXTURE_TEARDOWN(mig)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
	dlog_free(&self->log);
}

/*
 * One RX chain of @per_chain indirect descriptors: every @every-th is a
 * tiny writable slice of the head's buffer (consecutive slices), every other
 * one a zero-length writable descriptor pointing at the canary page.
 */
static int post_hostile_chain(FIXTURE_DATA(mig) *self,
			      const FIXTURE_VARIANT(mig) *v)
{
	struct vhxl_vq *vq = &self->n.dev.vq[VHX_RX];
	struct vhxl_sg *sg = calloc(v->per_chain, sizeof(*sg));
	uint16_t head = vq->free_head;
	unsigned int k, off = 0;
	int r;

	if (!sg)
		return -ENOMEM;
	for (k = 0; k < v->per_chain; k++) {
		sg[k].write = true;
		if (k % v->every == 0) {
			sg[k].gpa = vq->buf[head] + off;
			sg[k].len = v->tiny;
			off += v->tiny;
		} else {
			sg[k].gpa = self->canary + (k % 64) * 64;
			sg[k].len = 0;
		}
	}
	vq->posted_len[head] = off;
	r = vhxl_vq_add(vq, sg, v->per_chain, true, NULL);
	free(sg);
	return r;
}

TEST_F_TIMEOUT(mig, cve_2019_14835, 90)
{
	struct vhxl_dev *d = &self->n.dev;
	struct vhxl_vq *rx = &d->vq[VHX_RX];
	struct vhxl_vq *tx = &d->vq[VHX_TX];
	unsigned int k, nb, round, zero_descs;

	for (round = 0; round < 3; round++) {
		uint16_t first = rx->last_used;
		ssize_t got;

		dlog_clear(&self->log);
		/* TX notification updates may log the TX used ring */
		dlog_may_mark(&self->log, tx->used_gpa & ~(VHX_PAGE - 1),
			      ((8 * tx->num + 8) / VHX_PAGE + 1) * VHX_PAGE);
		for (k = 0; k < variant->chains; k++)
			ASSERT_LE(0, post_hostile_chain(self, variant));
		vhxl_vq_kick_force(rx);
		zero_descs = variant->chains * (variant->per_chain -
			     (variant->per_chain + variant->every - 1) / variant->every);
		vhxl_make_frame(self->f, variant->frame, 0x14835 + round);
		ASSERT_EQ(0, vhxl_tap_inject(&self->n.tap, self->f, variant->frame));
		got = vhxl_rx_recv(d, self->r, sizeof(self->r), NULL, &nb, 5000);
		TH_LOG("round %u: %u chain(s) posted, %u zero-length descriptors; frame %zd bytes in %u buffer(s)",
		       round, variant->chains, zero_descs, got, nb);
		ASSERT_EQ((ssize_t)variant->frame, got);
		ASSERT_EQ(0u, vhxl_check_frame(self->r, got, 0x14835 + round));
		for (k = 0; k < nb; k++) {
			struct vring_used_elem *e =
				&rx->used->ring[(uint16_t)(first + k) % rx->num];

			dlog_mark(&self->log, rx->buf[e->id], e->len);
		}
		dlog_mark(&self->log, rx->used_gpa, 6 + 8 * rx->num + 2);
		usleep(100000);
		DLOG_EXPECT_MATCH(&self->log, "round %u: ", round);
		EXPECT_FALSE(dlog_logged(&self->log, self->canary));
		EXPECT_GT(vhxl_eventfd_read(self->log.fd), 0u);
		/* the rest of the chains posted stay for the next round: drop
		 * them by resetting the queue (backend detached) */
		ASSERT_EQ(0, vhxl_set_backend(d, VHX_RX, -1));
		ASSERT_EQ(0, vhxl_vq_reset(rx));
		ASSERT_EQ(0, vhxl_set_backend(d, VHX_RX, self->n.tap.fd));
	}
	/* a queue error is not expected: chains are valid */
	EXPECT_EQ(0u, vhxl_eventfd_read(rx->err_fd));
}

/* ============================================================ 2018-1118 */

FIXTURE(iotlb)
{
	struct vhxl_net n;
	bool up;
};

FIXTURE_VARIANT(iotlb)
{
	bool v2;
};

FIXTURE_VARIANT_ADD(iotlb, v1) { .v2 = false };
FIXTURE_VARIANT_ADD(iotlb, v2) { .v2 = true };

FIXTURE_SETUP(iotlb)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG | F_AP, .num = 64,
		.rx_buf = 2048, .tx_buf = 2048, .identity = false,
		.no_backend = true,
	};
	const char *why = vhxl_skip_reason();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
	ASSERT_EQ(0, iotlb_start(&self->n, variant->v2));
}

FIXTURE_TEARDOWN(iotlb)
{
	if (self->up)
		vhxl_net_teardown(&self->n);
}

/*
 * Read every pending message; check format and that every byte outside the
 * fields is zero.  Returns the number of messages read.
 */
static int read_check_misses(struct __test_metadata *_metadata, int fd,
			     bool v2, int ms, const struct vhxl_mem *m)
{
	size_t sz = v2 ? sizeof(struct vhost_msg_v2) : sizeof(struct vhost_msg);
	size_t ioff = v2 ? offsetof(struct vhost_msg_v2, iotlb) :
			   offsetof(struct vhost_msg, iotlb);
	/* the defined bytes of the message */
	const struct { size_t off, len; } fields[] = {
		{ 0, 4 },	/* type */
		{ ioff + offsetof(struct vhost_iotlb_msg, iova), 8 },
		{ ioff + offsetof(struct vhost_iotlb_msg, size), 8 },
		{ ioff + offsetof(struct vhost_iotlb_msg, uaddr), 8 },
		{ ioff + offsetof(struct vhost_iotlb_msg, perm), 1 },
		{ ioff + offsetof(struct vhost_iotlb_msg, type), 1 },
	};
	int n = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint8_t raw[sizeof(struct vhost_msg_v2) + 64];
		struct vhost_iotlb_msg im;
		uint32_t type;
		size_t i, f;
		ssize_t r;

		if (poll(&p, 1, n ? 100 : ms) <= 0)
			return n;
		memset(raw, 0xa5, sizeof(raw));
		/* ask for more than a message: exactly one comes back */
		r = read(fd, raw, sz + 64);
		if (r < 0 && errno == EAGAIN)
			continue;
		ASSERT_EQ((ssize_t)sz, r);
		n++;
		memcpy(&type, raw, 4);
		memcpy(&im, raw + ioff, sizeof(im));
		EXPECT_EQ(v2 ? (uint32_t)VHOST_IOTLB_MSG_V2 : (uint32_t)VHOST_IOTLB_MSG, type);
		EXPECT_EQ(VHOST_IOTLB_MISS, im.type);
		EXPECT_TRUE(im.perm >= VHOST_ACCESS_RO && im.perm <= VHOST_ACCESS_RW);
		EXPECT_GE(im.iova, m->r[0].gpa);
		EXPECT_LT(im.iova, m->r[0].gpa + m->size);
		EXPECT_EQ(0ull, (unsigned long long)im.size);
		EXPECT_EQ(0ull, (unsigned long long)im.uaddr);
		for (i = 0; i < sz; i++) {
			bool defined = false;

			for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++)
				if (i >= fields[f].off && i < fields[f].off + fields[f].len)
					defined = true;
			if (!defined && raw[i]) {
				TH_LOG("byte %zu of a %s message is 0x%02x: undefined kernel memory?",
				       i, v2 ? "v2" : "v1", raw[i]);
				_metadata->res->failed = 1;
				break;
			}
		}
		for (i = sz; i < sizeof(raw); i++) {
			if (raw[i] != 0xa5) {
				TH_LOG("byte %zu past the message written", i);
				_metadata->res->failed = 1;
				break;
			}
		}
	}
}

TEST_F_TIMEOUT(iotlb, cve_2018_1118, 60)
{
	struct vhxl_dev *d = &self->n.dev;
	size_t sz = variant->v2 ? sizeof(struct vhost_msg_v2) : sizeof(struct vhost_msg);
	uint8_t f[100];
	int round, total = 0, got;

	/* misses from both queues, with and without a partial mapping, many
	 * rounds so that message nodes come from recycled slab objects */
	for (round = 0; round < 20; round++) {
		vhxl_make_frame(f, sizeof(f), round);
		vhxl_tx_post(d, f, sizeof(f), NULL);
		vhxl_vq_kick_force(&d->vq[VHX_TX]);
		vhxl_rx_fill(d, 4, NULL);
		vhxl_vq_kick_force(&d->vq[VHX_RX]);
		got = read_check_misses(_metadata, d->fd, variant->v2, 2000, &self->n.mem);
		total += got;
		/* map and unmap the avail ring: the next round misses again,
		 * possibly at other addresses */
		if (round % 2) {
			struct vhxl_vq *vq = &d->vq[round % 4 == 1 ? VHX_TX : VHX_RX];

			iotlb_send(d->fd, variant->v2, VHOST_IOTLB_UPDATE, vq->avail_gpa,
				   VHX_PAGE, (uintptr_t)vhxl_gpa(&self->n.mem, vq->avail_gpa, 1),
				   VHOST_ACCESS_RO);
			vhxl_vq_kick_force(vq);
			total += read_check_misses(_metadata, d->fd, variant->v2, 300,
						   &self->n.mem);
			ASSERT_EQ((ssize_t)sz,
				  iotlb_send(d->fd, variant->v2, VHOST_IOTLB_INVALIDATE,
					     vq->avail_gpa, VHX_PAGE, 0, 0));
		}
	}
	TH_LOG("%s: %d miss messages read, all padding zero", variant->v2 ? "v2" : "v1",
	       total);
	EXPECT_GE(total, 1);
}

/* =========================================================== 2020-10942 */

TEST_TIMEOUT(cve_2020_10942, 60)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG, .num = 64,
		.rx_buf = 2048, .tx_buf = 2048, .identity = false,
		.no_backend = true,
	};
	const char *why = vhxl_skip_reason();
	static struct vhxl_net n;
	struct {
		const char *what;
		int fd;
	} c_fds[12];
	int nfd = 0, pfd[2], i, q, bad = 0;
	uint8_t f[200], r[2048];

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_net_setup(&n, &c));

#define ADD(w, expr) do { c_fds[nfd].what = (w); c_fds[nfd].fd = (expr); \
		if (c_fds[nfd].fd < 0) TH_LOG("cannot make %s: %s", w, strerror(errno)); \
		else nfd++; } while (0)
	ADD("UDP socket", socket(AF_INET, SOCK_DGRAM, 0));
	ADD("TCP socket", socket(AF_INET, SOCK_STREAM, 0));
	ADD("netlink socket", socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE));
	ADD("AF_PACKET SOCK_DGRAM", socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ALL)));
	ADD("AF_UNIX stream", socket(AF_UNIX, SOCK_STREAM, 0));
	ADD("raw IPv4 socket", socket(AF_INET, SOCK_RAW, IPPROTO_UDP));
	ADD("eventfd", eventfd(0, 0));
	ADD("/dev/null", open("/dev/null", O_RDWR));
	ADD("epoll fd", epoll_create1(0));
	ASSERT_EQ(0, pipe(pfd));
	c_fds[nfd].what = "pipe (read end)";
	c_fds[nfd++].fd = pfd[0];
	c_fds[nfd].what = "pipe (write end)";
	c_fds[nfd++].fd = pfd[1];
#undef ADD

	/* a bound UDP socket too (the getname path of the original bug) */
	{
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

		bind(c_fds[0].fd, (struct sockaddr *)&sa, sizeof(sa));
	}

	for (i = 0; i < nfd; i++) {
		for (q = 0; q < VHX_NVQS; q++) {
			int rc = vhxl_set_backend(&n.dev, q, c_fds[i].fd);

			if (rc != -ENOTSOCK) {
				TH_LOG("%s as backend of vq %d: %s (want ENOTSOCK)",
				       c_fds[i].what, q, rc ? strerror(-rc) : "accepted");
				bad++;
				if (!rc)
					vhxl_set_backend(&n.dev, q, -1);
			}
		}
	}
	TH_LOG("%d non-backend fds tried on both queues, %d not refused with ENOTSOCK",
	       nfd, bad);
	EXPECT_EQ(0, bad);
	/* a closed fd number is EBADF on in-tree? it is ENOTSOCK: both fine */
	i = vhxl_set_backend(&n.dev, VHX_TX, 1000);
	EXPECT_TRUE(i == -EBADF || i == -ENOTSOCK);
	for (i = 0; i < nfd; i++)
		close(c_fds[i].fd);

	/* the device is unharmed: a real tap works on both queues */
	ASSERT_EQ(0, vhxl_set_backend(&n.dev, VHX_RX, n.tap.fd));
	ASSERT_EQ(0, vhxl_set_backend(&n.dev, VHX_TX, n.tap.fd));
	vhxl_make_frame(f, sizeof(f), 10942);
	ASSERT_EQ(0, vhxl_net_tx_one(&n, f, sizeof(f), NULL, 5000));
	ASSERT_EQ((ssize_t)sizeof(f), vhxl_tap_recv(&n.tap, r, sizeof(r), 5000));
	EXPECT_EQ(0u, vhxl_check_frame(r, sizeof(f), 10942));
	vhxl_rx_fill(&n.dev, 16, NULL);
	ASSERT_EQ(0, vhxl_tap_inject(&n.tap, f, sizeof(f)));
	EXPECT_EQ((ssize_t)sizeof(f), vhxl_rx_recv(&n.dev, r, sizeof(r), NULL, NULL, 5000));
	vhxl_net_teardown(&n);
}

TEST_HARNESS_MAIN
