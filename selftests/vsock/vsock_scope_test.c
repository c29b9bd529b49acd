// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_scope_test - who reaches whom: guest to guest (vhx_vsock's g2g
 * parameter) and CIDs per network namespace (its netns parameter).
 *
 * g2g: two devices of this process play two guests, A in the test's
 * thread and B in a thread of its own.
 *  - off (the default): A's REQUEST to B's CID never reaches B, and A's
 *    connect fails (vhx answers with an RST at once; the in-tree module
 *    drops the packet and the connect times out: both pass);
 *  - on: a 4 MiB stream A -> B through a 64 KiB window (B's credit: many
 *    CREDIT_UPDATE/REQUEST rounds, end to end between the two drivers) and
 *    1 MiB back, byte-exact; seqpacket messages keep their boundaries;
 *    vhx's g2g counters moved on both sides;
 *  - a receiver that stops reading: B accepts with a 16 MiB window and
 *    stops draining its ring; A's 8 MiB stream is cut when 4 MiB wait for
 *    B (an RST ends A's connection, drops counted), and A's traffic to a
 *    host socket still flows meanwhile: B cost only its own connection.
 * netns:
 *  - by default one space of CIDs (mainline's, on both targets): a CID
 *    taken in one namespace is EADDRINUSE in another;
 *  - with vhx_vsock reloaded with netns=1: the same CID in two namespaces;
 *    a third device in the first is EADDRINUSE; a host socket reaches the
 *    guest of its own namespace and not the other's; a guest reaches host
 *    listeners of its own namespace, another namespace's listener answers
 *    RST; seqpacket connects both ways within a namespace; the host
 *    stack's RST for a closed port reaches the guest that asked and not
 *    its namesake in the other namespace.
 * The g2g-on and netns=1 cases SKIP on the in-tree module (mainline has
 * neither).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/stat.h>

#include "vsock_common.h"

#define G2G_PARAM "/sys/module/vhx_vsock/parameters/g2g"

static int write_param(const char *path, const char *v)
{
	return vhxl_write_str(path, v);
}

/*
 * Close the host end of a connection and let the guest answer its
 * SHUTDOWN: the host socket is then gone at once, instead of lingering for
 * the socket layer's close timeout (8 s) holding the transport's module.
 */
static void close_host_end(int fd, struct vhxl_vsock_conn *c)
{
	long long end = vt_now_ms() + 2000;

	close(fd);
	while (c->state != VHXL_VS_CLOSED && vt_now_ms() < end)
		vhxl_vsock_poll(c->v, 50);
}

/* ------------------------------------------------------------ a guest B */

struct peer {
	struct vhxl_vsock v;
	struct vhxl_vsock_conn c;
	pthread_t th;
	bool up, thread;
	/* what B does in its thread */
	uint16_t type;
	uint32_t port, buf_alloc;
	uint64_t recv_len, send_len;
	volatile int stall;	/* accept, then do nothing while set */
	/* results */
	int accept_rc, rc;
	long long bad;
	uint64_t got;
	unsigned nmsgs;
	volatile int done;
};

static int send_pattern(struct vhxl_vsock_conn *c, uint64_t len, int tmo)
{
	static __thread uint8_t buf[65536];
	uint64_t off = 0;

	while (off < len) {
		size_t n = len - off < sizeof(buf) ? len - off : sizeof(buf);
		ssize_t r;

		pat_fill(buf, off, n);
		r = vhxl_vsock_send(c, buf, n, tmo);
		if (r < 0)
			return (int)r;
		off += r;
	}
	return 0;
}

static void *peer_main(void *arg)
{
	struct peer *p = arg;

	vhxl_vsock_conn_init(&p->v, &p->c, p->type, p->port, p->buf_alloc);
	p->accept_rc = vhxl_vsock_accept(&p->c, 15000);
	p->rc = p->accept_rc;
	while (!p->rc && p->stall)
		usleep(10000);
	if (!p->rc && p->type == VIRTIO_VSOCK_TYPE_SEQPACKET) {
		static __thread uint8_t msg[100000];
		bool eor;

		while (p->nmsgs < p->recv_len) {
			ssize_t r = vhxl_vsock_recv_msg(&p->c, msg, sizeof(msg),
							&eor, 20000);

			if (r <= 0 || pat_check(msg, p->nmsgs * 1000, r) >= 0 ||
			    r != 1000 + 3000 * p->nmsgs) {
				p->rc = r < 0 ? (int)r : -EBADMSG;
				break;
			}
			p->nmsgs++;
		}
	} else if (!p->rc && p->recv_len) {
		uint8_t buf[65536];

		p->bad = -1;
		while (p->got < p->recv_len) {
			size_t want = p->recv_len - p->got;
			ssize_t r = vhxl_vsock_recv(&p->c, buf, want < sizeof(buf) ?
						    want : sizeof(buf), 20000);
			long long b;

			if (r <= 0) {
				p->rc = r ? (int)r : -EPIPE;
				break;
			}
			b = pat_check(buf, p->got, r);
			if (b >= 0 && p->bad < 0)
				p->bad = p->got + b;
			p->got += r;
		}
	}
	if (!p->rc && p->send_len)
		p->rc = send_pattern(&p->c, p->send_len, 20000);
	/* Keep serving the connection (credit updates) until told. */
	p->done = 1;
	return NULL;
}

static int peer_start(struct peer *p)
{
	int r = pthread_create(&p->th, NULL, peer_main, p);

	p->thread = !r;
	return -r;
}

static void peer_join(struct peer *p)
{
	if (p->thread)
		pthread_join(p->th, NULL);
	p->thread = false;
}

/* ------------------------------------------------------------------ g2g */

FIXTURE(g2g)
{
	struct vhxl_vsock a;
	struct vhxl_vsock_conn c;
	struct peer b;
	bool a_up, g2g_set;
};

FIXTURE_SETUP(g2g)
{
	struct vhxl_vsock_cfg ca = {
		.cid = vt_cid(), .event_idx = true, .seqpacket = true,
		.tx_buf = 65536 + VHX_VSOCK_HDR_LEN, .num = 256,
	};
	struct vhxl_vsock_cfg cb = {
		.cid = vt_cid(), .event_idx = true, .seqpacket = true,
		.packed = !vhxl_vsock_skip_packed(), .num = 128,
	};
	const char *why = vhxl_vsock_skip_reason();

	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, vhxl_vsock_setup(&self->a, &ca));
	self->a_up = true;
	ASSERT_EQ(0, vhxl_vsock_setup(&self->b.v, &cb));
	self->b.up = true;
	self->b.port = vt_port();
	self->b.type = VIRTIO_VSOCK_TYPE_STREAM;
	TH_LOG("guest A cid %u (split), guest B cid %u (%s)",
	       (unsigned)self->a.cid, (unsigned)self->b.v.cid,
	       cb.packed ? "packed" : "split");
}

FIXTURE_TEARDOWN(g2g)
{
	self->b.stall = 0;
	peer_join(&self->b);
	if (self->g2g_set)
		write_param(G2G_PARAM, "0");
	if (self->b.up) {
		vhxl_vsock_conn_fini(&self->b.c);
		vhxl_vsock_teardown(&self->b.v);
	}
	if (self->a_up) {
		vhxl_vsock_conn_fini(&self->c);
		vhxl_vsock_teardown(&self->a);
	}
}

/* Turn g2g on (vhx only): 0, -EOPNOTSUPP on the in-tree module. */
static int g2g_on(bool *set)
{
	int r;

	if (vt_intree())
		return -EOPNOTSUPP;
	r = write_param(G2G_PARAM, "1");
	*set = !r;
	return r;
}

TEST_F(g2g, off_refused)
{
	long long t0 = vt_now_ms();
	struct vhxl_vsock_pkt *p;
	int r;

	if (!vt_intree())
		ASSERT_EQ(0, write_param(G2G_PARAM, "0"));
	vhxl_vsock_conn_init(&self->a, &self->c, VIRTIO_VSOCK_TYPE_STREAM,
			     vt_port(), 0);
	r = vhxl_vsock_connect(&self->c, self->b.v.cid, self->b.port, 3000);
	TH_LOG("A -> B with g2g off: %s after %lld ms", r ? strerror(-r) : "connected",
	       vt_now_ms() - t0);
	ASSERT_NE(0, r);
	if (!vt_intree())
		EXPECT_EQ(-ECONNRESET, r);
	vhxl_vsock_poll(&self->b.v, 300);
	p = vhxl_vsock_expect(&self->b.v, VIRTIO_VSOCK_OP_REQUEST, 0, 0);
	EXPECT_EQ(NULL, p);
	vhxl_vsock_pkt_free(p);
	if (!vt_intree())
		EXPECT_LE(1, vt_vq_counter(getpid(), 1, "drops", NULL, 0));
}

TEST_F_TIMEOUT(g2g, stream_both_ways, 120)
{
	const uint64_t there = 4 << 20, back = 1 << 20;
	long long t0, bad;
	int r;

	if (vt_intree())
		SKIP(return, "no guest-to-guest in the in-tree vhost_vsock");
	ASSERT_EQ(0, g2g_on(&self->g2g_set));
	self->b.buf_alloc = 65536;
	self->b.recv_len = there;
	self->b.send_len = back;
	ASSERT_EQ(0, peer_start(&self->b));
	vhxl_vsock_conn_init(&self->a, &self->c, VIRTIO_VSOCK_TYPE_STREAM,
			     vt_port(), 0);
	t0 = vt_now_ms();
	r = vhxl_vsock_connect(&self->c, self->b.v.cid, self->b.port, 15000);
	if (r)
		LOG_RINGS(&self->a);
	ASSERT_EQ(0, r);
	ASSERT_EQ(0, send_pattern(&self->c, there, 20000));
	r = guest_recv_pattern(&self->c, 0, back, &bad, 20000);
	peer_join(&self->b);
	TH_LOG("A -> B %llu KiB (B's window 64 KiB: A ran out of credit %lu times), B -> A %llu KiB, in %lld ms",
	       (unsigned long long)there >> 10, self->c.credit_stalls,
	       (unsigned long long)back >> 10, vt_now_ms() - t0);
	EXPECT_EQ(0, self->b.rc);
	EXPECT_EQ(there, self->b.got);
	EXPECT_EQ(-1, self->b.bad);
	EXPECT_EQ(0, r);
	EXPECT_EQ(-1, bad);
	EXPECT_LT(0UL, self->c.credit_stalls);
	/* (the counters of this process's first device: A) */
	TH_LOG("A's counters: tx g2g %lld, rx bytes %lld",
	       vt_vq_counter(getpid(), 1, "g2g", NULL, 0),
	       vt_vq_counter(getpid(), 0, "bytes", NULL, 0));
	EXPECT_LT(0, vt_vq_counter(getpid(), 1, "g2g", NULL, 0));
}

TEST_F_TIMEOUT(g2g, seqpacket, 60)
{
	static uint8_t msg[100000];
	unsigned i;

	if (vt_intree())
		SKIP(return, "no guest-to-guest in the in-tree vhost_vsock");
	ASSERT_EQ(0, g2g_on(&self->g2g_set));
	self->b.type = VIRTIO_VSOCK_TYPE_SEQPACKET;
	self->b.recv_len = 20;	/* messages of 1000 + 3000 i bytes */
	ASSERT_EQ(0, peer_start(&self->b));
	vhxl_vsock_conn_init(&self->a, &self->c, VIRTIO_VSOCK_TYPE_SEQPACKET,
			     vt_port(), 0);
	ASSERT_EQ(0, vhxl_vsock_connect(&self->c, self->b.v.cid, self->b.port,
					15000));
	for (i = 0; i < 20; i++) {
		size_t len = 1000 + 3000 * i;

		pat_fill(msg, i * 1000, len);
		ASSERT_EQ((ssize_t)len, vhxl_vsock_send_msg(&self->c, msg, len,
							    i % 3 == 0, 20000));
	}
	for (i = 0; i < 500 && !self->b.done; i++)
		vhxl_vsock_poll(&self->a, 20);
	peer_join(&self->b);
	TH_LOG("B got %u of 20 messages, 1000 to 58000 bytes, boundaries kept",
	       self->b.nmsgs);
	EXPECT_EQ(0, self->b.rc);
	EXPECT_EQ(20u, self->b.nmsgs);
}

TEST_F_TIMEOUT(g2g, stalled_receiver, 120)
{
	uint32_t hport = vt_port();
	struct vhxl_vsock_conn h;
	struct hjob j = { .op = HJ_RECV, .len = 1 << 20 };
	int lfd, hfd, r, i;
	long long drops;
	ssize_t sent;

	if (vt_intree())
		SKIP(return, "no guest-to-guest in the in-tree vhost_vsock");
	ASSERT_EQ(0, g2g_on(&self->g2g_set));
	self->b.buf_alloc = 16 << 20;
	self->b.stall = 1;
	ASSERT_EQ(0, peer_start(&self->b));
	vhxl_vsock_conn_init(&self->a, &self->c, VIRTIO_VSOCK_TYPE_STREAM,
			     vt_port(), 0);
	ASSERT_EQ(0, vhxl_vsock_connect(&self->c, self->b.v.cid, self->b.port,
					15000));
	/* B's window is 16 MiB; it reads nothing: 8 MiB cannot all wait. */
	r = send_pattern(&self->c, 8 << 20, 20000);
	sent = self->c.tx_cnt;
	/* (the RST may come after A's last packet is on its ring) */
	for (i = 0; !r && !self->c.rst_rcvd && i < 50; i++)
		vhxl_vsock_poll(&self->a, 100);
	if (!r && self->c.rst_rcvd)
		r = -ECONNRESET;
	drops = vt_vq_counter(getpid(), 1, "drops", NULL, 0);
	TH_LOG("A -> stalled B: %s after %zd KiB; A's tx drops %lld",
	       r ? strerror(-r) : "all sent", sent >> 10, drops);
	EXPECT_EQ(-ECONNRESET, r);
	EXPECT_LE(1, drops);
	EXPECT_GE(sent, 4 << 20);

	/* A's own traffic to the host is not held up by B. */
	lfd = host_listen(hport, SOCK_STREAM, 0);
	ASSERT_LE(0, lfd);
	vhxl_vsock_conn_init(&self->a, &h, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 0);
	r = vhxl_vsock_connect(&h, VHX_VSOCK_HOST_CID, hport, WAIT_MS);
	hfd = host_accept(lfd, WAIT_MS);
	EXPECT_EQ(0, r);
	EXPECT_LE(0, hfd);
	if (!r && hfd >= 0) {
		j.fd = hfd;
		ASSERT_EQ(0, hjob_start(&j));
		EXPECT_EQ(0, send_pattern(&h, j.len, 20000));
		EXPECT_EQ(0, hjob_join(&j, 20000));
		EXPECT_EQ(j.len, j.done);
		EXPECT_EQ(-1, j.bad);
		TH_LOG("meanwhile A -> host: %llu KiB byte-exact in %lld ms",
		       (unsigned long long)j.done >> 10, j.ms);
	}
	if (hfd >= 0)
		close_host_end(hfd, &h);
	vhxl_vsock_conn_fini(&h);
	close(lfd);
	self->b.stall = 0;
}

/* ---------------------------------------------------------------- netns */

/*
 * Reload vhx_vsock with @params, waiting up to 12 s for the references of
 * closing sockets (the socket layer's close timeout is 8 s).
 */
static int vsock_reload(const char *params)
{
	const char *root = getenv("VHX_ROOT");
	char cmd[512];
	int i;

	for (i = 0; i < 120 && system("rmmod vhx_vsock 2>/dev/null"); i++)
		usleep(100000);
	if (i == 120) {
		fprintf(stdout, "# rmmod vhx_vsock: still %d references after 12 s\n",
			vt_module_refcnt());
		return -EBUSY;
	}
	snprintf(cmd, sizeof(cmd), "insmod %s/vhost/vhx_vsock.ko %s",
		 root ? root : ".", params);
	if (system(cmd)) {
		fprintf(stdout, "# %s failed\n", cmd);
		return -EIO;
	}
	for (i = 0; i < 50 && access("/dev/vhost-vsock", F_OK); i++)
		usleep(100000);
	return access("/dev/vhost-vsock", F_OK) ? -ENOENT : 0;
}

FIXTURE(netns)
{
	char name[2][32];
	int ns[2], ns0;
	struct vhxl_vsock g[2];
	bool up[2], reloaded;
};

static int enter(int fd)
{
	return setns(fd, CLONE_NEWNET) ? -errno : 0;
}

FIXTURE_SETUP(netns)
{
	char path[64], cmd[96];
	int i;

	self->ns0 = self->ns[0] = self->ns[1] = -1;
	if (vhxl_vsock_skip_reason())
		SKIP(return, "%s", vhxl_vsock_skip_reason());
	self->ns0 = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_LE(0, self->ns0);
	for (i = 0; i < 2; i++) {
		snprintf(self->name[i], sizeof(self->name[i]), "vhxs%d-%d",
			 getpid(), i);
		snprintf(cmd, sizeof(cmd), "ip netns add %s", self->name[i]);
		ASSERT_EQ(0, system(cmd));
		snprintf(path, sizeof(path), "/run/netns/%s", self->name[i]);
		self->ns[i] = open(path, O_RDONLY);
		ASSERT_LE(0, self->ns[i]);
	}
}

FIXTURE_TEARDOWN(netns)
{
	char cmd[96];
	int i;

	if (self->ns0 >= 0)
		enter(self->ns0);
	for (i = 0; i < 2; i++)
		if (self->up[i])
			vhxl_vsock_teardown(&self->g[i]);
	if (self->reloaded && vsock_reload(""))
		TH_LOG("could not load vhx_vsock back without netns=1");
	for (i = 0; i < 2; i++) {
		if (self->ns[i] >= 0) {
			close(self->ns[i]);
			snprintf(cmd, sizeof(cmd), "ip netns del %s", self->name[i]);
			system(cmd);
		}
	}
}

/* Open guest @i's device in namespace @i with @cid; the errno of the CID. */
static int guest_in(FIXTURE_DATA(netns) *self, int i, uint32_t cid)
{
	struct vhxl_vsock_cfg c = { .cid = cid, .event_idx = true,
				    .seqpacket = true };
	int r;

	r = enter(self->ns[i]);
	if (r)
		return r;
	r = vhxl_vsock_setup(&self->g[i], &c);
	self->up[i] = !r;
	if (r)	/* its fd would hold the module */
		vhxl_vsock_teardown(&self->g[i]);
	enter(self->ns0);
	return r;
}

TEST_F(netns, default_one_space)
{
	uint32_t cid = vt_cid();
	int r;

	if (!vt_intree())
		ASSERT_EQ(0, access("/sys/module/vhx_vsock/parameters/netns", R_OK));
	ASSERT_EQ(0, guest_in(self, 0, cid));
	r = guest_in(self, 1, cid);
	TH_LOG("CID %u taken in one namespace, set in another: %s", cid,
	       r ? strerror(-r) : "accepted");
	EXPECT_EQ(-EADDRINUSE, r);
}

/* Guest @g connects to the host listener @lfd (@port): connected, accepted. */
static void guest_reaches(struct __test_metadata *_metadata,
			  struct vhxl_vsock *g, uint16_t type, int lfd,
			  uint32_t port, const char *what)
{
	struct vhxl_vsock_conn c;
	int r, hfd;

	vhxl_vsock_conn_init(g, &c, type, vt_port(), 0);
	r = vhxl_vsock_connect(&c, VHX_VSOCK_HOST_CID, port, WAIT_MS);
	hfd = host_accept(lfd, WAIT_MS);
	TH_LOG("%s: %s, accepted %s", what, r ? strerror(-r) : "connected",
	       hfd >= 0 ? "yes" : "no");
	EXPECT_EQ(0, r);
	EXPECT_LE(0, hfd);
	if (hfd >= 0)
		close_host_end(hfd, &c);
	vhxl_vsock_conn_fini(&c);
}

TEST_F_TIMEOUT(netns, per_namespace, 90)
{
	uint32_t cid = vt_cid(), gport = vt_port(), lport[2], closed = vt_port();
	struct vhxl_vsock_conn c[2];
	struct vhxl_vsock_pkt *p;
	int lfd[2], fd, i, r;
	struct vhxl_vsock extra;
	struct vhxl_vsock_cfg xc = { .cid = cid };
	long long t0;

	if (vt_intree())
		SKIP(return, "one space of CIDs in the in-tree vhost_vsock of 6.1");
	t0 = vt_now_ms();
	ASSERT_EQ(0, vsock_reload("netns=1"));
	TH_LOG("vhx_vsock reloaded with netns=1 in %lld ms", vt_now_ms() - t0);
	self->reloaded = true;

	/* The same CID in both namespaces; a third one is refused. */
	ASSERT_EQ(0, guest_in(self, 0, cid));
	ASSERT_EQ(0, guest_in(self, 1, cid));
	ASSERT_EQ(0, enter(self->ns[0]));
	r = vhxl_vsock_setup(&extra, &xc);
	vhxl_vsock_teardown(&extra);
	enter(self->ns0);
	TH_LOG("CID %u in namespaces 0 and 1; a second device in 0: %s", cid,
	       r ? strerror(-r) : "accepted");
	EXPECT_EQ(-EADDRINUSE, r);

	/* A host socket reaches the guest of its own namespace only. */
	for (i = 0; i < 2; i++) {
		vhxl_vsock_conn_init(&self->g[i], &c[i], VIRTIO_VSOCK_TYPE_STREAM,
				     gport, 0);
		ASSERT_EQ(0, enter(self->ns[i]));
		fd = host_connect_nb(cid, gport, SOCK_STREAM, 0);
		enter(self->ns0);
		ASSERT_LE(0, fd);
		r = vhxl_vsock_accept(&c[i], WAIT_MS);
		EXPECT_EQ(0, r);
		EXPECT_EQ(0, host_connect_wait(fd, WAIT_MS));
		vhxl_vsock_poll(&self->g[!i], 300);
		p = vhxl_vsock_expect(&self->g[!i], VIRTIO_VSOCK_OP_REQUEST, gport, 0);
		TH_LOG("namespace %d's connect to %u:%u: guest %d %s, guest %d %s",
		       i, cid, gport, i, r ? "missed it" : "accepted",
		       !i, p ? "saw it too" : "saw nothing");
		EXPECT_EQ(NULL, p);
		vhxl_vsock_pkt_free(p);
		close_host_end(fd, &c[i]);
		vhxl_vsock_conn_fini(&c[i]);
	}

	/* A guest reaches its own namespace's listeners only. */
	for (i = 0; i < 2; i++) {
		lport[i] = vt_port();
		ASSERT_EQ(0, enter(self->ns[i]));
		lfd[i] = host_listen(lport[i], SOCK_STREAM, 0);
		enter(self->ns0);
		ASSERT_LE(0, lfd[i]);
	}
	vhxl_vsock_conn_init(&self->g[0], &c[0], VIRTIO_VSOCK_TYPE_STREAM,
			     vt_port(), 0);
	r = vhxl_vsock_connect(&c[0], VHX_VSOCK_HOST_CID, lport[1], WAIT_MS);
	TH_LOG("guest 0 -> namespace 1's listener: %s",
	       r ? strerror(-r) : "connected");
	EXPECT_EQ(-ECONNRESET, r);
	EXPECT_FALSE(host_pending(lfd[1], 200));
	vhxl_vsock_conn_fini(&c[0]);
	guest_reaches(_metadata, &self->g[0], VIRTIO_VSOCK_TYPE_STREAM, lfd[0],
		      lport[0], "guest 0 -> namespace 0's listener");
	for (i = 0; i < 2; i++)
		close(lfd[i]);

	/*
	 * Seqpacket both ways in namespace 1.  Before 7.0 the transport's
	 * seqpacket check gets no socket: for a guest's REQUEST it runs on
	 * the device's worker, whose namespace is not the guest's.
	 */
	lport[1] = vt_port();
	ASSERT_EQ(0, enter(self->ns[1]));
	lfd[1] = host_listen(lport[1], SOCK_SEQPACKET, 0);
	enter(self->ns0);
	ASSERT_LE(0, lfd[1]);
	guest_reaches(_metadata, &self->g[1], VIRTIO_VSOCK_TYPE_SEQPACKET,
		      lfd[1], lport[1], "guest 1 -> namespace 1's seqpacket listener");
	close(lfd[1]);
	vhxl_vsock_conn_init(&self->g[1], &c[1], VIRTIO_VSOCK_TYPE_SEQPACKET,
			     gport, 0);
	ASSERT_EQ(0, enter(self->ns[1]));
	fd = host_connect_nb(cid, gport, SOCK_SEQPACKET, 0);
	enter(self->ns0);
	ASSERT_LE(0, fd);
	r = vhxl_vsock_accept(&c[1], WAIT_MS);
	TH_LOG("namespace 1's seqpacket connect to guest 1: %s",
	       r ? strerror(-r) : "accepted");
	EXPECT_EQ(0, r);
	EXPECT_EQ(0, host_connect_wait(fd, WAIT_MS));
	close_host_end(fd, &c[1]);
	vhxl_vsock_conn_fini(&c[1]);

	/*
	 * The host stack's RST for a closed port goes to the guest that
	 * asked (the reply names no namespace before 7.0), not its namesake.
	 */
	vhxl_vsock_conn_init(&self->g[1], &c[1], VIRTIO_VSOCK_TYPE_STREAM,
			     vt_port(), 0);
	t0 = vt_now_ms();
	r = vhxl_vsock_connect(&c[1], VHX_VSOCK_HOST_CID, closed, WAIT_MS);
	vhxl_vsock_poll(&self->g[0], 300);
	p = vhxl_vsock_expect(&self->g[0], VIRTIO_VSOCK_OP_RST, 0, 0);
	TH_LOG("guest 1 -> closed port %u: %s after %lld ms; guest 0 %s", closed,
	       r ? strerror(-r) : "connected", vt_now_ms() - t0,
	       p ? "got an RST too" : "got nothing");
	EXPECT_EQ(-ECONNRESET, r);
	EXPECT_EQ(NULL, p);
	vhxl_vsock_pkt_free(p);
	vhxl_vsock_conn_fini(&c[1]);
}

TEST_HARNESS_MAIN
