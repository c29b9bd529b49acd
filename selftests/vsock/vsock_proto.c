// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_proto.c - vsock_test's connection protocol, on one split ring with
 * EVENT_IDX and VIRTIO_VSOCK_F_SEQPACKET acked (fixture "proto"):
 *  - RST on a closed port both ways (a guest REQUEST to a host port nobody
 *    listens on; a host connect() to a guest port the guest refuses), and
 *    RW without a connection;
 *  - half-close: SHUTDOWN SEND from the guest (the host reads EOF and can
 *    still send), SHUTDOWN RCV from the guest (the host's send gets EPIPE,
 *    it can still receive), shutdown(SHUT_WR) and (SHUT_RD) on the host
 *    (the guest sees exactly that flag);
 *  - close from either side: the guest's SHUTDOWN both ways gets the
 *    host's RST; the host's close() (SO_LINGER) returns as soon as the
 *    guest answers its SHUTDOWN with an RST;
 *  - seqpacket both ways: message boundaries across packets and RX
 *    buffers, EOR, MSG_TRUNC on the host; without the feature acked host
 *    SOCK_SEQPACKET sockets cannot reach the guest and a guest SEQPACKET
 *    REQUEST is reset;
 *  - SO_VM_SOCKETS_CONNECT_TIMEOUT: a REQUEST the guest had no buffer for
 *    is withdrawn at the timeout, one it got and answered late is reset.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>

#include "vsock_common.h"

#define SHUT_BOTH (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)

FIXTURE(proto)
{
	struct vhxl_vsock v;
	struct vhxl_vsock_conn c;
	bool up;
	int lfd, hfd;
	uint8_t buf[200000], in[200000];
};

FIXTURE_SETUP(proto)
{
	struct vhxl_vsock_cfg c = {
		.cid = vt_cid(), .event_idx = true, .seqpacket = true,
		.tx_buf = 16384 + VHX_VSOCK_HDR_LEN,
	};
	const char *why = vhxl_vsock_skip_reason();

	self->lfd = self->hfd = -1;
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_vsock_setup(&self->v, &c));
	self->up = true;
}

FIXTURE_TEARDOWN(proto)
{
	if (self->up) {
		vhxl_vsock_conn_fini(&self->c);
		vhxl_vsock_teardown(&self->v);
	}
	if (self->hfd >= 0)
		close(self->hfd);
	if (self->lfd >= 0)
		close(self->lfd);
}

static int sock_type(uint16_t vtype)
{
	return vtype == VIRTIO_VSOCK_TYPE_SEQPACKET ? SOCK_SEQPACKET : SOCK_STREAM;
}

/* The guest connects to a host listener; self->hfd is the accepted socket. */
static void est_guest(struct __test_metadata *_metadata,
		      FIXTURE_DATA(proto) *self, uint16_t vtype)
{
	uint32_t port = vt_port();

	self->lfd = host_listen(port, sock_type(vtype), 0);
	ASSERT_GE(self->lfd, 0);
	vhxl_vsock_conn_init(&self->v, &self->c, vtype, vt_port(), 0);
	CONNECT_OK(&self->c, port);
	self->hfd = host_accept(self->lfd, WAIT_MS);
	ASSERT_GE(self->hfd, 0);
}

/* A host socket connects to a guest port the guest accepts. */
static void est_host(struct __test_metadata *_metadata,
		     FIXTURE_DATA(proto) *self, uint16_t vtype)
{
	uint32_t gport = vt_port();

	self->hfd = host_connect_nb(self->v.cid, gport, sock_type(vtype), 0);
	ASSERT_GE(self->hfd, 0);
	vhxl_vsock_conn_init(&self->v, &self->c, vtype, gport, 0);
	ACCEPT_OK(&self->c);
	ASSERT_EQ(0, host_connect_wait(self->hfd, WAIT_MS));
}

/* Read exactly @len bytes on the host, pattern from @off. */
static void host_read(struct __test_metadata *_metadata, int fd, uint8_t *buf,
		      size_t len, uint64_t off)
{
	size_t n = 0;

	while (n < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
		r = recv(fd, buf + n, len - n, 0);
		ASSERT_GT(r, 0);
		n += r;
	}
	EXPECT_EQ(-1, pat_check(buf, off, len));
}

static void guest_send(struct __test_metadata *_metadata,
		       FIXTURE_DATA(proto) *self, size_t len, uint64_t off)
{
	pat_fill(self->buf, off, len);
	ASSERT_EQ((ssize_t)len, vhxl_vsock_send(&self->c, self->buf, len, WAIT_MS));
}

static void host_send(struct __test_metadata *_metadata,
		      FIXTURE_DATA(proto) *self, size_t len, uint64_t off)
{
	pat_fill(self->buf, off, len);
	ASSERT_EQ((ssize_t)len, send(self->hfd, self->buf, len, MSG_NOSIGNAL));
}

/* Poll the device until @cond or WAIT_MS. */
#define POLL_UNTIL(self, cond) do {					\
		long long _t = vt_now_ms();				\
		while (!(cond) && vt_now_ms() - _t < WAIT_MS)		\
			vhxl_vsock_poll(&(self)->v, 100);		\
	} while (0)

/* --------------------------------------------------------------- RST */

TEST_F(proto, rst_host_port_closed)
{
	uint32_t port = vt_port();
	long long t0 = vt_now_ms();

	vhxl_vsock_conn_init(&self->v, &self->c, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 0);
	EXPECT_EQ(-ECONNRESET, vhxl_vsock_connect(&self->c, VHX_VSOCK_HOST_CID, port, WAIT_MS));
	TH_LOG("REQUEST to host port %u (no listener): RST after %lld ms", port,
	       vt_now_ms() - t0);
	EXPECT_TRUE(self->c.rst_rcvd);
}

TEST_F(proto, rst_guest_port_closed)
{
	uint32_t gport = vt_port();
	struct vhxl_vsock_pkt *p;
	long long t0 = vt_now_ms();

	self->hfd = host_connect_nb(self->v.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(self->hfd, 0);
	p = vhxl_vsock_expect(&self->v, VIRTIO_VSOCK_OP_REQUEST, gport, WAIT_MS);
	ASSERT_NONNULL(p);
	EXPECT_EQ((uint64_t)VHX_VSOCK_HOST_CID, le64toh(p->hdr.src_cid));
	EXPECT_EQ(self->v.cid, le64toh(p->hdr.dst_cid));
	EXPECT_EQ(VIRTIO_VSOCK_TYPE_STREAM, le16toh(p->hdr.type));
	EXPECT_EQ(0u, le32toh(p->hdr.len));
	EXPECT_GT(le32toh(p->hdr.buf_alloc), 0u);
	ASSERT_EQ(0, vhxl_vsock_reply_rst(&self->v, p));
	vhxl_vsock_pkt_free(p);
	EXPECT_EQ(-ECONNRESET, host_connect_wait(self->hfd, WAIT_MS));
	TH_LOG("host connect() to guest port %u refused by RST: ECONNRESET after %lld ms",
	       gport, vt_now_ms() - t0);
}

TEST_F(proto, rst_rw_without_connection)
{
	uint32_t closed = vt_port(), lport = vt_port(), s1 = vt_port(), s2 = vt_port();
	struct virtio_vsock_hdr h;
	struct vhxl_vsock_pkt *p;

	/* to a port nobody uses */
	vhxl_vsock_hdr(&h, self->v.cid, s1, VHX_VSOCK_HOST_CID, closed,
		       VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW, 0, 10);
	ASSERT_LE(0, vhxl_vsock_post(&self->v, &h, "0123456789", 10, NULL, WAIT_MS));
	p = vhxl_vsock_expect(&self->v, VIRTIO_VSOCK_OP_RST, s1, WAIT_MS);
	ASSERT_NONNULL(p);
	EXPECT_EQ(closed, le32toh(p->hdr.src_port));
	vhxl_vsock_pkt_free(p);
	/* to a listener: not a REQUEST, so RST and no connection */
	self->lfd = host_listen(lport, SOCK_STREAM, 0);
	ASSERT_GE(self->lfd, 0);
	vhxl_vsock_hdr(&h, self->v.cid, s2, VHX_VSOCK_HOST_CID, lport,
		       VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW, 0, 10);
	ASSERT_LE(0, vhxl_vsock_post(&self->v, &h, "0123456789", 10, NULL, WAIT_MS));
	p = vhxl_vsock_expect(&self->v, VIRTIO_VSOCK_OP_RST, s2, WAIT_MS);
	ASSERT_NONNULL(p);
	vhxl_vsock_pkt_free(p);
	EXPECT_FALSE(host_pending(self->lfd, 0));
	TH_LOG("RW to a closed port and to a listener: RST for each, nothing to accept");
}

/* --------------------------------------------------------- half-close */

TEST_F(proto, half_close_guest_send)
{
	size_t n = 0;

	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_STREAM);
	guest_send(_metadata, self, 1000, 0);
	ASSERT_EQ(0, vhxl_vsock_shutdown(&self->c, VIRTIO_VSOCK_SHUTDOWN_SEND));
	/* the host reads the data, then EOF ... */
	EXPECT_EQ(0, host_drain(self->hfd, self->in, sizeof(self->in), &n, WAIT_MS));
	EXPECT_EQ(1000u, n);
	EXPECT_EQ(-1, pat_check(self->in, 0, 1000));
	/* ... and can still send */
	host_send(_metadata, self, 100000, 5000);
	n = 0;
	while (n < 100000) {
		ssize_t r = vhxl_vsock_recv(&self->c, self->in + n, 100000 - n, WAIT_MS);

		ASSERT_GT(r, 0);
		n += r;
	}
	EXPECT_EQ(-1, pat_check(self->in, 5000, 100000));
	EXPECT_EQ((int)VHXL_VS_ESTABLISHED, (int)self->c.state);
	/* the host closes its side: EOF for the guest, still no RST */
	ASSERT_EQ(0, shutdown(self->hfd, SHUT_WR));
	EXPECT_EQ(0, vhxl_vsock_recv(&self->c, self->in, 1, WAIT_MS));
	EXPECT_EQ((uint32_t)VIRTIO_VSOCK_SHUTDOWN_SEND, self->c.peer_shutdown);
	EXPECT_FALSE(self->c.rst_rcvd);
	/* the guest stops receiving too: now both ways, the host resets */
	ASSERT_EQ(0, vhxl_vsock_shutdown(&self->c, VIRTIO_VSOCK_SHUTDOWN_RCV));
	POLL_UNTIL(self, self->c.rst_rcvd);
	EXPECT_TRUE(self->c.rst_rcvd);
	TH_LOG("guest SHUT SEND: host got 1000 bytes + EOF, sent 100000 more; host SHUT_WR: guest EOF; guest SHUT RCV: RST %s",
	       self->c.rst_rcvd ? "received" : "missing");
	EXPECT_EQ(0ul, self->c.unexpected);
}

TEST_F(proto, half_close_guest_rcv)
{
	int sent_before = 0, err = 0;
	long long t0;

	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_STREAM);
	ASSERT_EQ(0, vhxl_vsock_shutdown(&self->c, VIRTIO_VSOCK_SHUTDOWN_RCV));
	ASSERT_EQ(0, vhxl_vsock_tx_drain(&self->v, WAIT_MS));
	/* the host can no longer send ... */
	t0 = vt_now_ms();
	while (vt_now_ms() - t0 < WAIT_MS) {
		if (send(self->hfd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			err = errno;
			break;
		}
		sent_before++;
		vhxl_vsock_poll(&self->v, 10);
	}
	EXPECT_EQ(EPIPE, err);
	EXPECT_EQ(0, sent_before);
	/* ... but still receive */
	guest_send(_metadata, self, 5000, 77);
	host_read(_metadata, self->hfd, self->in, 5000, 77);
	TH_LOG("guest SHUT RCV: host send() %s after %d byte(s); host still reads 5000 bytes",
	       strerror(err), sent_before);
	EXPECT_FALSE(self->c.rst_rcvd);
}

TEST_F(proto, half_close_host_wr)
{
	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_STREAM);
	host_send(_metadata, self, 3000, 9);
	ASSERT_EQ(0, shutdown(self->hfd, SHUT_WR));
	{
		size_t n = 0;

		while (n < 3000) {
			ssize_t r = vhxl_vsock_recv(&self->c, self->in + n, 3000 - n, WAIT_MS);

			ASSERT_GT(r, 0);
			n += r;
		}
	}
	EXPECT_EQ(-1, pat_check(self->in, 9, 3000));
	EXPECT_EQ(0, vhxl_vsock_recv(&self->c, self->in, 1, WAIT_MS));
	EXPECT_EQ((uint32_t)VIRTIO_VSOCK_SHUTDOWN_SEND, self->c.peer_shutdown);
	/* the guest still sends, the host still reads */
	guest_send(_metadata, self, 100000, 123);
	host_read(_metadata, self->hfd, self->in, 100000, 123);
	EXPECT_EQ((int)VHXL_VS_ESTABLISHED, (int)self->c.state);
	TH_LOG("host SHUT_WR: guest got 3000 bytes, EOF (flags 0x%x), then sent 100000 the host read",
	       self->c.peer_shutdown);
}

TEST_F(proto, half_close_host_rd)
{
	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_STREAM);
	ASSERT_EQ(0, shutdown(self->hfd, SHUT_RD));
	POLL_UNTIL(self, self->c.peer_shutdown);
	EXPECT_EQ((uint32_t)VIRTIO_VSOCK_SHUTDOWN_RCV, self->c.peer_shutdown);
	/* the host still sends */
	host_send(_metadata, self, 20000, 3);
	{
		size_t n = 0;

		while (n < 20000) {
			ssize_t r = vhxl_vsock_recv(&self->c, self->in + n, 20000 - n, WAIT_MS);

			ASSERT_GT(r, 0);
			n += r;
		}
	}
	EXPECT_EQ(-1, pat_check(self->in, 3, 20000));
	/* and the guest, told the host reads no more, sends nothing */
	EXPECT_EQ(-EPIPE, vhxl_vsock_send(&self->c, "x", 1, 100));
	TH_LOG("host SHUT_RD: guest saw flags 0x%x, still received 20000 bytes",
	       self->c.peer_shutdown);
}

/* -------------------------------------------------------------- close */

TEST_F(proto, close_guest_first)
{
	size_t n = 0;
	long long t0;

	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_STREAM);
	guest_send(_metadata, self, 500, 1);
	host_read(_metadata, self->hfd, self->in, 500, 1);
	t0 = vt_now_ms();
	ASSERT_EQ(0, vhxl_vsock_shutdown(&self->c, SHUT_BOTH));
	EXPECT_EQ(0, host_drain(self->hfd, self->in, sizeof(self->in), &n, WAIT_MS));
	EXPECT_EQ(0u, n);
	POLL_UNTIL(self, self->c.rst_rcvd);
	EXPECT_TRUE(self->c.rst_rcvd);
	EXPECT_EQ(-1, send(self->hfd, "x", 1, MSG_NOSIGNAL));
	EXPECT_EQ(EPIPE, errno);
	TH_LOG("guest SHUTDOWN both: host EOF, host's RST after %lld ms, host send() EPIPE",
	       vt_now_ms() - t0);
}

TEST_F(proto, close_host_first)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 10 };
	struct hjob j = { .op = HJ_CLOSE };

	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_STREAM);
	ASSERT_EQ(0, setsockopt(self->hfd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	j.fd = self->hfd;
	self->hfd = -1;
	ASSERT_EQ(0, hjob_start(&j));
	/* the host's SHUTDOWN both ways; the library answers with an RST */
	POLL_UNTIL(self, self->c.state == VHXL_VS_CLOSED);
	EXPECT_EQ((uint32_t)SHUT_BOTH, self->c.peer_shutdown);
	EXPECT_EQ((int)VHXL_VS_CLOSED, (int)self->c.state);
	EXPECT_FALSE(self->c.rst_rcvd);
	ASSERT_EQ(0, hjob_join(&j, 15000));
	EXPECT_EQ(0, j.err);
	/* lingering 10 s: only the guest's RST ends it early */
	EXPECT_LT(j.ms, 5000);
	TH_LOG("host close() with SO_LINGER 10 s: SHUTDOWN 0x%x to the guest, its RST ended the close after %lld ms",
	       self->c.peer_shutdown, j.ms);
}

/* ---------------------------------------------------------- seqpacket */

static const size_t msg_sizes[] = { 1, 44, 4052, 4053, 16384, 40000, 100000 };
#define NMSG (sizeof(msg_sizes) / sizeof(msg_sizes[0]))

TEST_F(proto, seqpacket_to_host)
{
	struct iovec iov = { .iov_base = self->in };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned i;
	ssize_t r;

	est_guest(_metadata, self, VIRTIO_VSOCK_TYPE_SEQPACKET);
	for (i = 0; i < NMSG; i++) {
		pat_fill(self->buf, i * 1000, msg_sizes[i]);
		ASSERT_EQ((ssize_t)msg_sizes[i],
			  vhxl_vsock_send_msg(&self->c, self->buf, msg_sizes[i], i & 1, WAIT_MS));
	}
	for (i = 0; i < NMSG; i++) {
		struct pollfd p = { .fd = self->hfd, .events = POLLIN };

		ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
		iov.iov_len = sizeof(self->in);
		m.msg_flags = 0;
		r = recvmsg(self->hfd, &m, 0);
		ASSERT_EQ((ssize_t)msg_sizes[i], r);
		EXPECT_EQ(-1, pat_check(self->in, i * 1000, r));
		EXPECT_EQ(i & 1 ? MSG_EOR : 0, m.msg_flags & (MSG_EOR | MSG_TRUNC));
	}
	/* a 10000-byte message into 100 bytes, twice (with and without
	 * MSG_TRUNC), each followed by an intact 300-byte one */
	for (i = 0; i < 2; i++) {
		struct pollfd p = { .fd = self->hfd, .events = POLLIN };

		pat_fill(self->buf, 50, 10000);
		ASSERT_EQ(10000, vhxl_vsock_send_msg(&self->c, self->buf, 10000, false, WAIT_MS));
		pat_fill(self->buf, 60, 300);
		ASSERT_EQ(300, vhxl_vsock_send_msg(&self->c, self->buf, 300, false, WAIT_MS));
		ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
		iov.iov_len = 100;
		m.msg_flags = 0;
		r = recvmsg(self->hfd, &m, i ? 0 : MSG_TRUNC);
		EXPECT_EQ(i ? 100 : 10000, r);
		EXPECT_TRUE(m.msg_flags & MSG_TRUNC);
		EXPECT_EQ(-1, pat_check(self->in, 50, 100));
		iov.iov_len = sizeof(self->in);
		m.msg_flags = 0;
		/* the device may still be carrying it: wait, as for the first */
		ASSERT_EQ(1, poll(&p, 1, WAIT_MS));
		r = recvmsg(self->hfd, &m, MSG_DONTWAIT);
		EXPECT_EQ(300, r);
		EXPECT_EQ(-1, pat_check(self->in, 60, 300));
		EXPECT_FALSE(m.msg_flags & MSG_TRUNC);
	}
	TH_LOG("%zu messages of 1..100000 bytes guest->host with their boundaries and EOR; MSG_TRUNC: 10000-byte message into 100 bytes",
	       NMSG);
	EXPECT_EQ(0ul, self->c.unexpected);
}

TEST_F(proto, seqpacket_to_guest)
{
	struct iovec iov;
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	unsigned long rx0;
	unsigned i;

	est_host(_metadata, self, VIRTIO_VSOCK_TYPE_SEQPACKET);
	rx0 = self->v.rx_pkts;
	for (i = 0; i < NMSG; i++) {
		pat_fill(self->buf, i * 777, msg_sizes[i]);
		iov.iov_base = self->buf;
		iov.iov_len = msg_sizes[i];
		ASSERT_EQ((ssize_t)msg_sizes[i], sendmsg(self->hfd, &m, i & 1 ? MSG_EOR : 0));
	}
	for (i = 0; i < NMSG; i++) {
		bool eor = false;
		ssize_t r = vhxl_vsock_recv_msg(&self->c, self->in, sizeof(self->in), &eor,
						WAIT_MS);

		ASSERT_EQ((ssize_t)msg_sizes[i], r);
		EXPECT_EQ(-1, pat_check(self->in, i * 777, r));
		EXPECT_EQ(!!(i & 1), eor);
	}
	TH_LOG("%zu messages host->guest in %lu packets (4 KiB RX buffers): boundaries and EOR kept",
	       NMSG, self->v.rx_pkts - rx0);
	EXPECT_EQ(0u, self->c.nmsgs);
	EXPECT_EQ(0u, self->c.rx_bytes);
	EXPECT_EQ(0ul, self->c.unexpected);
}

TEST_F(proto, seqpacket_needs_feature)
{
	struct vhxl_vsock_cfg cfg = { .cid = vt_cid(), .event_idx = true };
	struct vhxl_vsock v2;
	struct vhxl_vsock_conn c2;
	uint32_t port = vt_port();
	int fd;

	ASSERT_EQ(0, vhxl_vsock_setup(&v2, &cfg));
	/* a host SOCK_SEQPACKET socket cannot connect to this guest */
	fd = host_connect_nb(v2.cid, vt_port(), SOCK_SEQPACKET, 0);
	if (fd >= 0) {
		EXPECT_EQ(-ESOCKTNOSUPPORT, host_connect_wait(fd, WAIT_MS));
		close(fd);
	} else {
		EXPECT_EQ(-ESOCKTNOSUPPORT, fd);
	}
	/* a SEQPACKET REQUEST from it to a host SOCK_SEQPACKET listener: RST */
	self->lfd = host_listen(port, SOCK_SEQPACKET, 0);
	ASSERT_GE(self->lfd, 0);
	vhxl_vsock_conn_init(&v2, &c2, VIRTIO_VSOCK_TYPE_SEQPACKET, vt_port(), 0);
	EXPECT_EQ(-ECONNRESET, vhxl_vsock_connect(&c2, VHX_VSOCK_HOST_CID, port, WAIT_MS));
	EXPECT_FALSE(host_pending(self->lfd, 0));
	vhxl_vsock_conn_fini(&c2);
	vhxl_vsock_teardown(&v2);
	/* with the feature (this fixture's device) the same listener works */
	vhxl_vsock_conn_init(&self->v, &self->c, VIRTIO_VSOCK_TYPE_SEQPACKET, vt_port(), 0);
	EXPECT_EQ(0, vhxl_vsock_connect(&self->c, VHX_VSOCK_HOST_CID, port, WAIT_MS));
	self->hfd = host_accept(self->lfd, WAIT_MS);
	EXPECT_GE(self->hfd, 0);
	TH_LOG("without VIRTIO_VSOCK_F_SEQPACKET: host SOCK_SEQPACKET connect refused (ESOCKTNOSUPPORT), guest SEQPACKET REQUEST reset; with it: accepted");
}

/* ----------------------------------------------------- connect timeout */

/* A blocking host connect() to @cid:@port with a @ms connect timeout. */
static int host_connect_timeout(uint32_t cid, uint32_t port, int ms)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid,
				 .svm_port = port };
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = ms % 1000 * 1000 };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv)))
		r = -errno;
	else
		r = connect(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
	close(fd);
	return r;
}

TEST_F(proto, connect_timeout)
{
	struct vhxl_vsock_cfg cfg = { .cid = vt_cid(), .event_idx = true,
				      .no_rx_fill = true };
	uint32_t p1 = vt_port(), p2 = vt_port();
	struct virtio_vsock_hdr h;
	struct vhxl_vsock_pkt *p;
	struct vhxl_vsock v2;
	long long t0, t1, t2;

	ASSERT_EQ(0, vhxl_vsock_setup(&v2, &cfg));
	/* no RX buffers: the REQUEST waits in the device until the timeout */
	t0 = vt_now_ms();
	EXPECT_EQ(-ETIMEDOUT, host_connect_timeout(v2.cid, p1, 500));
	t1 = vt_now_ms() - t0;
	EXPECT_GE(t1, 450);
	/* ... which withdraws it (cancel_pkt): buffers now get nothing */
	ASSERT_LT(0, vhxl_vsock_rx_fill(&v2));
	p = vhxl_vsock_expect(&v2, VIRTIO_VSOCK_OP_REQUEST, p1, 500);
	EXPECT_NULL(p);
	vhxl_vsock_pkt_free(p);
	/* a guest that gets the REQUEST and answers after the timeout: RST */
	t0 = vt_now_ms();
	EXPECT_EQ(-ETIMEDOUT, host_connect_timeout(v2.cid, p2, 500));
	t2 = vt_now_ms() - t0;
	p = vhxl_vsock_expect(&v2, VIRTIO_VSOCK_OP_REQUEST, p2, WAIT_MS);
	ASSERT_NONNULL(p);
	vhxl_vsock_hdr(&h, v2.cid, p2, VHX_VSOCK_HOST_CID, le32toh(p->hdr.src_port),
		       VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RESPONSE, 0, 0);
	vhxl_vsock_pkt_free(p);
	ASSERT_LE(0, vhxl_vsock_post(&v2, &h, NULL, 0, NULL, WAIT_MS));
	p = vhxl_vsock_expect(&v2, VIRTIO_VSOCK_OP_RST, p2, WAIT_MS);
	EXPECT_NONNULL(p);
	vhxl_vsock_pkt_free(p);
	vhxl_vsock_teardown(&v2);
	TH_LOG("connect timeout 500 ms: ETIMEDOUT after %lld ms with the REQUEST unsent, then not delivered; after %lld ms with it unanswered, a late RESPONSE gets an RST",
	       t1, t2);
}
