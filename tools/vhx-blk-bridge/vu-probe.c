// SPDX-License-Identifier: GPL-2.0
/*
 * vu-probe - a minimal, deliberately rude vhost-user front-end for testing
 * vhx-blk-bridge without QEMU (selftests/blk/blk_bridge_test.sh).  TAP output.
 *
 *   vu-probe SOCKET BACKEND_FILE QUEUES [SERIAL]
 *
 *   - negotiation: GET_FEATURES, protocol features, GET_QUEUE_NUM and
 *     GET_CONFIG agree with the backend file (capacity) and QUEUES;
 *   - hostile messages, each on a fresh connection: the bridge answers with
 *     an error (REPLY_ACK) or closes that connection, and a new connection
 *     still works (the bridge did not die);
 *   - data: one queue set up by hand on memfd "guest RAM": IN, OUT, FLUSH,
 *     GET_ID through the kernel, checked against the backend file; a broken
 *     descriptor raises the error eventfd; GET_VRING_BASE after it.
 */
#define _GNU_SOURCE
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <linux/vhost.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>

enum {
	GET_FEATURES = 1, SET_FEATURES = 2, SET_OWNER = 3, SET_MEM_TABLE = 5,
	SET_VRING_NUM = 8, SET_VRING_ADDR = 9, SET_VRING_BASE = 10, GET_VRING_BASE = 11,
	SET_VRING_KICK = 12, SET_VRING_CALL = 13, SET_VRING_ERR = 14,
	GET_PROTOCOL_FEATURES = 15, SET_PROTOCOL_FEATURES = 16, GET_QUEUE_NUM = 17,
	SET_VRING_ENABLE = 18, IOTLB_MSG = 22, GET_CONFIG = 24, SET_CONFIG = 25,
};
#define F_PROTOCOL 30
#define PF_MQ 0
#define PF_REPLY_ACK 3
#define PF_CONFIG 9
#define FL_VERSION 1
#define FL_REPLY (1u << 2)
#define FL_NEED_REPLY (1u << 3)

struct msg {
	uint32_t req, flags, size;
	union {
		uint64_t u64;
		struct vhost_vring_state st;
		struct vhost_vring_addr addr;
		struct {
			uint32_t nregions, pad;
			struct { uint64_t gpa, size, uaddr, off; } r[9];
		} mem;
		struct { uint32_t offset, size, flags; uint8_t region[256]; } cfg;
		uint8_t raw[512];
	} p;
} __attribute__((packed));

static const char *sock_path;
static int tap_n, tap_fail;

static void tap(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d ", ok ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!ok)
		tap_fail++;
}

static int rpc(int s, uint32_t req, uint64_t *val);

static int conn1(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	struct timeval tv = { 3, 0 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		printf("# connect %s: %s\n", sock_path, strerror(errno));
		close(fd);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/*
 * A connection the bridge accepted: it serves one client at a time and may
 * not have noticed yet that the previous one closed, so a GET_FEATURES
 * round trip proves it, with retries.
 */
static int conn(void)
{
	uint64_t f;
	int i, fd;

	for (i = 0; i < 50; i++) {
		fd = conn1();
		if (fd < 0)
			return -1;
		if (!rpc(fd, GET_FEATURES, &f))
			return fd;
		close(fd);
		usleep(50 * 1000);
	}
	return -1;
}

static int sendm(int s, struct msg *m, const int *fds, int nfd, size_t raw_len)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 9)];
	struct iovec iov = { m, raw_len ? raw_len : 12 + m->size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	m->flags |= FL_VERSION;
	if (nfd) {
		struct cmsghdr *c;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfd);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfd);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfd);
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Reply into @m: 1 ok, 0 connection closed, -1 timeout/error. */
static int recvm(int s, struct msg *m)
{
	ssize_t n = recv(s, m, 12, MSG_WAITALL);

	if (n == 0)
		return 0;
	if (n != 12)
		return n < 0 && errno == ECONNRESET ? 0 : -1;
	if (m->size > sizeof(m->p))
		return -1;
	if (m->size && recv(s, &m->p, m->size, MSG_WAITALL) != (ssize_t)m->size)
		return -1;
	return 1;
}

static int rpc(int s, uint32_t req, uint64_t *val)
{
	struct msg m = { .req = req };
	int r = sendm(s, &m, NULL, 0, 0);

	if (r)
		return r;
	if (recvm(s, &m) != 1 || m.req != req || !(m.flags & FL_REPLY))
		return -EPROTO;
	if (val)
		*val = m.p.u64;
	return 0;
}

static int set_u64(int s, uint32_t req, uint64_t v)
{
	struct msg m = { .req = req, .size = 8, .p.u64 = v };

	return sendm(s, &m, NULL, 0, 0);
}

/* Is the bridge still serving?  A fresh connection answers GET_FEATURES. */
static bool alive(void)
{
	uint64_t f = 0;
	int s = conn(), r;

	if (s < 0)
		return false;
	r = rpc(s, GET_FEATURES, &f);
	close(s);
	return !r && (f & (1ULL << F_PROTOCOL));
}

/* After a hostile message: closed connection or an error reply. */
static const char *verdict(int s)
{
	struct msg m;
	int r = recvm(s, &m);

	if (r == 0)
		return "connection closed";
	if (r == 1 && m.size == 8 && m.p.u64)
		return "error reply";
	if (r == 1)
		return "a reply";
	return "no answer";
}

static void hostile(const char *name, struct msg *m, const int *fds, int nfd, size_t raw)
{
	const char *v;
	int s = conn();

	if (s < 0) {
		tap(false, "hostile %s: cannot connect", name);
		return;
	}
	sendm(s, m, fds, nfd, raw);
	if (raw)
		shutdown(s, SHUT_WR);	/* truncated: nothing more comes */
	v = verdict(s);
	close(s);
	tap(strcmp(v, "a reply") != 0 && alive(), "hostile %s: %s, bridge alive", name, v);
}

/* --------------------------------------------------------------- data */

#define RAM (4u << 20)
#define QN 8

struct ring {
	uint8_t *ram;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t avail_idx, last_used;
	int kick, call, err;
};

static uint64_t ga(struct ring *r, void *p)
{
	return (uint64_t)((uint8_t *)p - r->ram);	/* GPA 0 = start of RAM */
}

/* One request: header at 64K, data at 128K, status at 96K. */
static int request(struct ring *r, uint32_t type, uint64_t sector, uint32_t len, uint8_t *status,
		   uint32_t *used_len)
{
	struct virtio_blk_outhdr *h = (void *)(r->ram + 0x10000);
	uint8_t *st = r->ram + 0x18000;
	bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
	struct pollfd p = { .fd = r->call, .events = POLLIN };
	uint64_t x = 1;
	unsigned n = 0;

	h->type = htole32(type);
	h->ioprio = 0;
	h->sector = htole64(sector);
	*st = 0xee;
	r->desc[0] = (struct vring_desc){ ga(r, h), 16, VRING_DESC_F_NEXT, 1 };
	n = 1;
	if (len) {
		r->desc[1] = (struct vring_desc){ 0x20000, len,
			(uint16_t)(VRING_DESC_F_NEXT | (in ? VRING_DESC_F_WRITE : 0)), 2 };
		n = 2;
	} else {
		r->desc[0].next = 2;
	}
	r->desc[2] = (struct vring_desc){ ga(r, st), 1, VRING_DESC_F_WRITE, 0 };
	(void)n;
	r->avail->ring[r->avail_idx % QN] = 0;
	__atomic_store_n(&r->avail->idx, ++r->avail_idx, __ATOMIC_RELEASE);
	if (write(r->kick, &x, 8) != 8)
		return -errno;
	while (__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE) == r->last_used) {
		if (poll(&p, 1, 5000) <= 0)
			return -ETIMEDOUT;
		if (read(r->call, &x, 8) < 0)
			return -errno;
	}
	*used_len = r->used->ring[r->last_used % QN].len;
	r->last_used++;
	*status = *st;
	return 0;
}

static void data_tests(const char *backend, unsigned queues, const char *serial)
{
	struct msg m;
	struct ring r = { 0 };
	uint8_t st, *buf;
	uint32_t ulen;
	uint64_t feat = 0, pf = 0, base, x;
	int s, mfd, fds[3], bfd, i, rr;
	struct pollfd p;

	(void)queues;
	s = conn();
	mfd = memfd_create("vu-probe-ram", MFD_CLOEXEC);
	if (s < 0 || mfd < 0 || ftruncate(mfd, RAM)) {
		tap(false, "data: setup (connect, memfd)");
		return;
	}
	r.ram = mmap(NULL, RAM, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	r.desc = (void *)(r.ram + 0x1000);
	r.avail = (void *)(r.ram + 0x2000);
	r.used = (void *)(r.ram + 0x3000);
	r.kick = eventfd(0, EFD_CLOEXEC);
	r.call = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r.err = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	rpc(s, GET_FEATURES, &feat);
	rpc(s, GET_PROTOCOL_FEATURES, &pf);
	set_u64(s, SET_PROTOCOL_FEATURES, pf & ((1ULL << PF_MQ) | (1ULL << PF_CONFIG)));
	/* no EVENT_IDX: kick every time, no avail_event to honour */
	set_u64(s, SET_FEATURES, feat & ((1ULL << VIRTIO_F_VERSION_1) | (1ULL << F_PROTOCOL) |
					  (1ULL << VIRTIO_BLK_F_FLUSH) | (1ULL << VIRTIO_BLK_F_SEG_MAX) |
					  (1ULL << VIRTIO_BLK_F_BLK_SIZE)));
	m = (struct msg){ .req = SET_OWNER };
	sendm(s, &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_MEM_TABLE, .size = 8 + 32 };
	m.p.mem.nregions = 1;
	m.p.mem.r[0].gpa = 0;
	m.p.mem.r[0].size = RAM;
	m.p.mem.r[0].uaddr = (uint64_t)(uintptr_t)r.ram;	/* "QEMU's" address */
	m.p.mem.r[0].off = 0;
	sendm(s, &m, &mfd, 1, 0);
	m = (struct msg){ .req = SET_VRING_NUM, .size = 8, .p.st = { 0, QN } };
	sendm(s, &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_BASE, .size = 8, .p.st = { 0, 0 } };
	sendm(s, &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_ADDR, .size = sizeof(struct vhost_vring_addr) };
	m.p.addr.index = 0;
	m.p.addr.desc_user_addr = (uint64_t)(uintptr_t)r.desc;
	m.p.addr.avail_user_addr = (uint64_t)(uintptr_t)r.avail;
	m.p.addr.used_user_addr = (uint64_t)(uintptr_t)r.used;
	sendm(s, &m, NULL, 0, 0);
	fds[0] = r.kick;
	fds[1] = r.call;
	fds[2] = r.err;
	m = (struct msg){ .req = SET_VRING_KICK, .size = 8, .p.u64 = 0 };
	sendm(s, &m, &fds[0], 1, 0);
	m = (struct msg){ .req = SET_VRING_CALL, .size = 8, .p.u64 = 0 };
	sendm(s, &m, &fds[1], 1, 0);
	m = (struct msg){ .req = SET_VRING_ERR, .size = 8, .p.u64 = 0 };
	sendm(s, &m, &fds[2], 1, 0);
	m = (struct msg){ .req = SET_VRING_ENABLE, .size = 8, .p.st = { 0, 1 } };
	sendm(s, &m, NULL, 0, 0);
	/* a round trip: everything above has been processed */
	rr = rpc(s, GET_FEATURES, &x);
	tap(!rr, "data: one queue configured by hand (memfd RAM, split ring of %d)", QN);

	bfd = open(backend, O_RDWR);
	buf = malloc(8192);
	/* IN 4 KiB at sector 0 */
	rr = request(&r, VIRTIO_BLK_T_IN, 0, 4096, &st, &ulen);
	pread(bfd, buf, 4096, 0);
	tap(!rr && st == 0 && !memcmp(buf, r.ram + 0x20000, 4096),
	    "data: IN 4 KiB at sector 0 equals the backend file (status %d, used.len %u%s)",
	    rr ? rr : st, ulen, ulen == 4097 ? "" : ", spec: 4097");
	/* OUT 4 KiB at sector 16, then FLUSH */
	for (i = 0; i < 4096; i++)
		r.ram[0x20000 + i] = (uint8_t)(i * 7 + 3);
	rr = request(&r, VIRTIO_BLK_T_OUT, 16, 4096, &st, &ulen);
	pread(bfd, buf, 4096, 16 * 512);
	tap(!rr && st == 0 && !memcmp(buf, r.ram + 0x20000, 4096),
	    "data: OUT 4 KiB at sector 16 is in the backend file (status %d, used.len %u%s)",
	    rr ? rr : st, ulen, ulen == 1 ? "" : ", spec: 1");
	rr = request(&r, VIRTIO_BLK_T_FLUSH, 0, 0, &st, &ulen);
	tap(!rr && st == 0, "data: FLUSH (status %d)", rr ? rr : st);
	memset(r.ram + 0x20000, 0, 64);
	rr = request(&r, VIRTIO_BLK_T_GET_ID, 0, 20, &st, &ulen);
	tap(!rr && st == 0 && (!serial || !strncmp((char *)r.ram + 0x20000, serial, 20)),
	    "data: GET_ID '%.20s'%s (status %d)", (char *)r.ram + 0x20000,
	    serial ? "" : " (no --serial)", rr ? rr : st);
	/* out of range: IN beyond the capacity must fail, not read */
	{
		struct stat sb;

		fstat(bfd, &sb);
		rr = request(&r, VIRTIO_BLK_T_IN, (uint64_t)sb.st_size / 512, 4096, &st, &ulen);
		tap(!rr && st == VIRTIO_BLK_S_IOERR, "data: IN past the capacity gets IOERR (status %d)",
		    rr ? rr : st);
	}
	/* hostile descriptor: data outside guest memory */
	r.desc[0] = (struct vring_desc){ 0x10000, 16, VRING_DESC_F_NEXT, 1 };
	r.desc[1] = (struct vring_desc){ 0x7fff0000, 4096, VRING_DESC_F_NEXT | VRING_DESC_F_WRITE, 2 };
	r.desc[2] = (struct vring_desc){ 0x18000, 1, VRING_DESC_F_WRITE, 0 };
	((struct virtio_blk_outhdr *)(r.ram + 0x10000))->type = VIRTIO_BLK_T_IN;
	r.avail->ring[r.avail_idx % QN] = 0;
	__atomic_store_n(&r.avail->idx, ++r.avail_idx, __ATOMIC_RELEASE);
	x = 1;
	if (write(r.kick, &x, 8) != 8)
		perror("kick");
	p = (struct pollfd){ .fd = r.err, .events = POLLIN };
	rr = poll(&p, 1, 5000);
	tap(rr == 1, "data: a descriptor outside guest memory raises the error eventfd%s",
	    rr == 1 ? "" : " (not within 5 s)");
	m = (struct msg){ .req = GET_VRING_BASE, .size = 8, .p.st = { 0, 0 } };
	sendm(s, &m, NULL, 0, 0);
	rr = recvm(s, &m);
	base = m.p.st.num;
	tap(rr == 1 && base >= 5 && base <= 6,
	    "data: GET_VRING_BASE after stop: %llu (5 requests served, the broken one %s)",
	    (unsigned long long)base, base == 6 ? "consumed" : "not consumed");
	close(s);
	close(bfd);
	free(buf);
	munmap(r.ram, RAM);
	close(mfd);
	close(r.kick);
	close(r.call);
	close(r.err);
	tap(alive(), "data: the bridge serves a new client after this one");
}

int main(int argc, char **argv)
{
	struct msg m;
	uint64_t f = 0, pf = 0, qn = 0, cap;
	unsigned queues;
	struct stat sb;
	int s, fd, r;

	if (argc < 4) {
		fprintf(stderr, "usage: vu-probe SOCKET BACKEND QUEUES [SERIAL]\n");
		return 2;
	}
	sock_path = argv[1];
	queues = (unsigned)atoi(argv[3]);
	if (stat(argv[2], &sb))
		return 2;
	cap = (uint64_t)sb.st_size / 512;

	/* negotiation */
	s = conn();
	if (s < 0) {
		printf("Bail out! no bridge on %s\n", sock_path);
		return 1;
	}
	r = rpc(s, GET_FEATURES, &f);
	tap(!r && (f & (1ULL << F_PROTOCOL)) && (f & (1ULL << VIRTIO_F_VERSION_1)),
	    "GET_FEATURES 0x%llx: VERSION_1 and PROTOCOL_FEATURES", (unsigned long long)f);
	r = rpc(s, GET_PROTOCOL_FEATURES, &pf);
	tap(!r && (pf & (1ULL << PF_CONFIG)) && (pf & (1ULL << PF_MQ)),
	    "GET_PROTOCOL_FEATURES 0x%llx: CONFIG and MQ", (unsigned long long)pf);
	set_u64(s, SET_PROTOCOL_FEATURES, pf);
	r = rpc(s, GET_QUEUE_NUM, &qn);
	tap(!r && qn == queues, "GET_QUEUE_NUM %llu (want %u)", (unsigned long long)qn, queues);
	m = (struct msg){ .req = GET_CONFIG, .size = 12 + 60, .p.cfg = { 0, 60, 0, { 0 } } };
	sendm(s, &m, NULL, 0, 0);
	r = recvm(s, &m);
	{
		struct virtio_blk_config *c = (void *)m.p.cfg.region;

		tap(r == 1 && m.size == 72 && le64toh(c->capacity) == cap &&
		    (!(f & (1ULL << VIRTIO_BLK_F_MQ)) || le16toh(c->num_queues) == queues),
		    "GET_CONFIG: capacity %llu (file %llu sectors), seg_max %u, blk_size %u, "
		    "num_queues %u, max_discard_sectors %u", (unsigned long long)le64toh(c->capacity),
		    (unsigned long long)cap, le32toh(c->seg_max), le32toh(c->blk_size),
		    le16toh(c->num_queues), le32toh(c->max_discard_sectors));
	}
	m = (struct msg){ .req = GET_CONFIG, .size = 12 + 8, .p.cfg = { 0, 8, 0, { 0 } } };
	sendm(s, &m, NULL, 0, 0);
	r = recvm(s, &m);
	tap(r == 1 && m.size == 20 && le64toh(*(uint64_t *)m.p.cfg.region) == cap,
	    "GET_CONFIG of the first 8 bytes only");
	/* REPLY_ACK: an unknown request with NEED_REPLY gets an error, connection stays */
	m = (struct msg){ .req = 99, .flags = FL_NEED_REPLY, .size = 8 };
	sendm(s, &m, NULL, 0, 0);
	r = recvm(s, &m);
	tap(r == 1 && m.p.u64 != 0 && !rpc(s, GET_FEATURES, &f),
	    "unknown request with NEED_REPLY: error reply, the connection stays usable");
	close(s);

	/* hostile messages, one connection each */
	m = (struct msg){ .req = GET_CONFIG, .size = 12 + 300, .p.cfg = { 0, 300, 0, { 0 } } };
	hostile("GET_CONFIG of 300 bytes", &m, NULL, 0, 0);
	m = (struct msg){ .req = GET_CONFIG, .size = 12 + 20, .p.cfg = { 250, 20, 0, { 0 } } };
	hostile("GET_CONFIG offset 250 size 20", &m, NULL, 0, 0);
	m = (struct msg){ .req = GET_CONFIG, .size = 4 };
	hostile("GET_CONFIG with a 4-byte payload", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_CONFIG, .size = 12 + 1, .p.cfg = { 32, 1, 0, { 1 } } };
	hostile("SET_CONFIG (wce)", &m, NULL, 0, 0);
	m = (struct msg){ .req = 99, .size = 0 };
	hostile("unknown request 99", &m, NULL, 0, 0);
	m = (struct msg){ .req = IOTLB_MSG, .size = 64 };
	hostile("IOTLB message (not negotiated)", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_NUM, .size = 8, .p.st = { 200, 128 } };
	hostile("SET_VRING_NUM index 200", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_NUM, .size = 8, .p.st = { 0, 3 } };
	hostile("SET_VRING_NUM size 3", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_NUM, .size = 8, .p.st = { 0, 65536 } };
	hostile("SET_VRING_NUM size 65536", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_ADDR, .size = sizeof(struct vhost_vring_addr) };
	m.p.addr.flags = 0x6;
	hostile("SET_VRING_ADDR unknown flags", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_KICK, .size = 8, .p.u64 = 0x100 };
	hostile("SET_VRING_KICK without fd (polling)", &m, NULL, 0, 0);
	m = (struct msg){ .req = SET_VRING_ERR, .size = 8, .p.u64 = 100 | 0x100 };
	hostile("SET_VRING_ERR index 100", &m, NULL, 0, 0);
	fd = eventfd(0, EFD_CLOEXEC);
	m = (struct msg){ .req = SET_VRING_CALL, .size = 8, .p.u64 = 0 };
	{
		int two[2] = { fd, fd };

		hostile("SET_VRING_CALL with two fds", &m, two, 2, 0);
	}
	m = (struct msg){ .req = GET_CONFIG, .size = 12 + 8, .p.cfg = { 0, 8, 0, { 0 } } };
	hostile("GET_CONFIG carrying an fd", &m, &fd, 1, 0);
	m = (struct msg){ .req = SET_MEM_TABLE, .size = 8 + 9 * 32 };
	m.p.mem.nregions = 9;
	hostile("SET_MEM_TABLE with 9 regions", &m, NULL, 0, 0);
	{
		int mfd = memfd_create("small", MFD_CLOEXEC);

		if (ftruncate(mfd, 4096))
			perror("ftruncate");
		m = (struct msg){ .req = SET_MEM_TABLE, .size = 8 + 32 };
		m.p.mem.nregions = 1;
		m.p.mem.r[0].size = 1ULL << 40;
		m.p.mem.r[0].uaddr = 0x100000;
		m.p.mem.r[0].off = 1ULL << 50;
		hostile("SET_MEM_TABLE region larger than its memfd, huge offset", &m, &mfd, 1, 0);
		close(mfd);
	}
	m = (struct msg){ .req = GET_FEATURES };
	hostile("truncated header (5 bytes)", &m, NULL, 0, 5);
	m = (struct msg){ .req = SET_FEATURES, .size = 64 };
	hostile("payload shorter than its size", &m, NULL, 0, 12 + 8);
	m = (struct msg){ .req = SET_FEATURES, .size = 8, .p.u64 = ~0ULL };
	hostile("SET_FEATURES with every bit", &m, NULL, 0, 0);
	close(fd);

	data_tests(argv[2], queues, argc > 4 ? argv[4] : NULL);
	printf("# %d tests, %d failed\n", tap_n, tap_fail);
	printf("1..%d\n", tap_n);
	return tap_fail ? 1 : 0;
}
