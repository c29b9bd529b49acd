// SPDX-License-Identifier: GPL-2.0
/*
 * vsock_owner.c - vsock_test's last tests.
 *
 * owner_killed: a child owns a device with two connections open (one it
 * made to a host listener, one a host socket made to it) and is
 * SIGKILLed.  Both host sockets see the connection reset (ECONNRESET, or
 * EOF), no worker thread "vhost-<pid>" is left, the module's refcount
 * (/sys/module/vhost_vsock or vhx_vsock) comes back to its idle value 0
 * once the host sockets are closed, and the CID is free again.  It waits
 * first for the refcount to be 0 (sockets of earlier tests going away),
 * which also leaves the module unloadable for the VM runner.
 *
 * counters (vhx only): VHX_GET_QUEUE_STATS and debugfs's vhx/devices show
 * kind vsock, queues "rx" and "tx" with backend cid:N, and after a known
 * workload the packets= of each queue equal the packets the guest driver
 * counted, conns= count the REQUESTs of each direction, rsts= the RSTs,
 * credit_requests= the guest's CREDIT_REQUESTs, drops= the packet vhx
 * dropped (wrong src_cid), g2g= nothing.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/vhx.h>

#include "vsock_common.h"

/* The child: a device, a connection each way, then serve until killed. */
static void owner_child(int ready, uint32_t cid, uint32_t lport, uint32_t gport)
{
	struct vhxl_vsock_cfg cfg = { .cid = cid, .event_idx = true };
	struct vhxl_vsock_conn c1, c2;
	struct vhxl_vsock v;
	uint8_t b[1000];

	if (vhxl_vsock_setup(&v, &cfg))
		_exit(2);
	vhxl_vsock_conn_init(&v, &c1, VIRTIO_VSOCK_TYPE_STREAM, gport + 1, 0);
	if (vhxl_vsock_connect(&c1, VHX_VSOCK_HOST_CID, lport, WAIT_MS))
		_exit(3);
	if (write(ready, "R", 1) != 1)
		_exit(4);
	vhxl_vsock_conn_init(&v, &c2, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
	if (vhxl_vsock_accept(&c2, WAIT_MS))
		_exit(5);
	pat_fill(b, 0, sizeof(b));
	if (vhxl_vsock_send(&c1, b, sizeof(b), WAIT_MS) != sizeof(b) ||
	    vhxl_vsock_send(&c2, b, sizeof(b), WAIT_MS) != sizeof(b))
		_exit(6);
	if (write(ready, "A", 1) != 1)
		_exit(7);
	for (;;)
		vhxl_vsock_poll(&v, 1000);
}

/* After the owner died: the socket's next recv() is an error or EOF. */
static int reset_seen(int fd, int *err)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	char x;
	ssize_t r;

	*err = 0;
	if (poll(&p, 1, WAIT_MS) <= 0)
		return 0;
	r = recv(fd, &x, 1, MSG_DONTWAIT);
	if (r < 0)
		*err = errno;
	return r <= 0;
}

static bool wait_refcnt(int want, int *seen, int ms)
{
	long long t0 = vt_now_ms();

	for (;;) {
		*seen = vt_module_refcnt();
		if (*seen == want || vt_now_ms() - t0 > ms)
			return *seen == want;
		usleep(50 * 1000);
	}
}

TEST_TIMEOUT(owner_killed, 60)
{
	const char *why = vhxl_vsock_skip_reason();
	uint32_t cid = vt_cid(), lport = vt_port(), gport = vt_port();
	int p[2], lfd, h1, h2, st, ref, n = -1, e1, e2, i;
	uint8_t in[1000];
	char name[32], x;
	pid_t pid;

	if (why)
		SKIP(return, "%s", why);
	if (vt_module_refcnt() < 0)
		SKIP(return, "no /sys/module/%s/refcnt (built in?)", vt_module());
	EXPECT_TRUE(wait_refcnt(0, &ref, 15000));
	TH_LOG("%s refcount before: %d", vt_module(), ref);
	lfd = host_listen(lport, SOCK_STREAM, 0);
	ASSERT_GE(lfd, 0);
	ASSERT_EQ(0, pipe(p));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (!pid) {
		close(p[0]);
		owner_child(p[1], cid, lport, gport);
	}
	close(p[1]);
	ASSERT_EQ(1, read(p[0], &x, 1));
	ASSERT_EQ('R', x);
	h1 = host_accept(lfd, WAIT_MS);
	ASSERT_GE(h1, 0);
	h2 = host_connect_nb(cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(h2, 0);
	ASSERT_EQ(1, read(p[0], &x, 1));
	ASSERT_EQ('A', x);
	ASSERT_EQ(0, host_connect_wait(h2, WAIT_MS));
	for (i = 0; i < 2; i++) {
		size_t got = 0;

		while (got < sizeof(in)) {
			ssize_t r = recv(i ? h2 : h1, in + got, sizeof(in) - got, 0);

			ASSERT_GT(r, 0);
			got += r;
		}
		EXPECT_EQ(-1, pat_check(in, 0, sizeof(in)));
	}
	snprintf(name, sizeof(name), "vhost-%d", pid);
	n = vhxl_count_comm(name);
	TH_LOG("owner %d: worker threads %d, %s refcount %d, two connections up",
	       pid, n, vt_module(), vt_module_refcnt());
	EXPECT_GE(n, 1);
	EXPECT_GT(vt_module_refcnt(), 0);

	ASSERT_EQ(0, kill(pid, SIGKILL));
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(WIFSIGNALED(st));
	EXPECT_TRUE(reset_seen(h1, &e1));
	EXPECT_TRUE(reset_seen(h2, &e2));
	TH_LOG("after SIGKILL: host sockets read %s / %s",
	       e1 ? strerror(e1) : "EOF", e2 ? strerror(e2) : "EOF");
	EXPECT_TRUE(!e1 || e1 == ECONNRESET);
	EXPECT_TRUE(!e2 || e2 == ECONNRESET);
	for (i = 0; i < 100; i++) {
		n = vhxl_count_comm(name);
		if (!n)
			break;
		usleep(50 * 1000);
	}
	EXPECT_EQ(0, n);
	close(h1);
	close(h2);
	close(lfd);
	close(p[0]);
	EXPECT_TRUE(wait_refcnt(0, &ref, 10000));
	TH_LOG("worker gone, refcount back to %d", ref);
	/* the CID is free */
	{
		struct vhxl_vsock_cfg cfg = { .cid = cid };
		struct vhxl_vsock v;

		EXPECT_EQ(0, vhxl_vsock_setup(&v, &cfg));
		vhxl_vsock_teardown(&v);
	}
}

/* ------------------------------------------------------------ counters */

static const char *const keys[] = {
	"packets", "bytes", "conns", "rsts", "credit_requests", "g2g", "drops",
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

struct snap {
	long long v[2][NKEYS];
};

static void snap_take(struct snap *s)
{
	unsigned q, k;

	for (q = 0; q < 2; q++)
		for (k = 0; k < NKEYS; k++)
			s->v[q][k] = vt_vq_counter(getpid(), q, keys[k], NULL, 0);
}

static long long delta(const struct snap *a, const struct snap *b, unsigned q,
		       const char *key)
{
	unsigned k;

	for (k = 0; k < NKEYS; k++)
		if (!strcmp(keys[k], key))
			return b->v[q][k] - a->v[q][k];
	return -1;
}

TEST(counters)
{
	struct vhxl_vsock_cfg cfg = { .cid = vt_cid(), .event_idx = true };
	const char *why = vhxl_vsock_skip_reason();
	uint32_t lport = vt_port(), gport = vt_port();
	unsigned long rx0, tx0, rxb0, txb0;
	struct vhxl_vsock_conn c1, c2;
	struct vhx_queue_stats qs[2];
	struct virtio_vsock_hdr hd;
	struct snap a, b;
	char kind[16] = "", line[2048];
	uint8_t buf[20000];
	int lfd, h1, h2, q, k;
	struct vhxl_vsock v;
	long long bad;

	if (why)
		SKIP(return, "%s", why);
	if (vt_intree())
		SKIP(return, "the in-tree vhost_vsock has no VHX_GET_QUEUE_STATS or vhx debugfs");
	ASSERT_EQ(0, vhxl_vsock_setup(&v, &cfg));
	for (q = 0; q < 2; q++) {
		char want[32];

		memset(&qs[q], 0, sizeof(qs[q]));
		qs[q].index = q;
		ASSERT_EQ(0, vhxl_ioctl(v.dev.fd, VHX_GET_QUEUE_STATS, &qs[q]));
		snprintf(want, sizeof(want), "cid:%u", (unsigned)v.cid);
		EXPECT_EQ(0, strcmp(qs[q].kind, "vsock"));
		EXPECT_EQ(0, strcmp(qs[q].name, q ? "tx" : "rx"));
		EXPECT_EQ(0, strcmp(qs[q].backend, want));
		EXPECT_EQ(2u, qs[q].nvqs);
		EXPECT_EQ(getpid(), qs[q].owner_pid);
		EXPECT_TRUE(qs[q].flags & VHX_QSTATS_F_BACKEND);
		TH_LOG("VHX_GET_QUEUE_STATS %u: kind %s name %s backend %s flags 0x%x",
		       q, qs[q].kind, qs[q].name, qs[q].backend, qs[q].flags);
	}
	EXPECT_LE(0, vt_vq_counter(getpid(), 0, "packets", kind, sizeof(kind)));
	EXPECT_EQ(0, strcmp(kind, "vsock"));
	snap_take(&a);
	for (q = 0; q < 2; q++)
		for (k = 0; k < (int)NKEYS; k++)
			if (a.v[q][k] < 0) {
				vt_vq_line(getpid(), q, line, sizeof(line));
				TH_LOG("queue %d has no %s= in debugfs: \"%s\"", q, keys[k], line);
				_metadata->res->failed = 1;
			}
	rx0 = v.rx_pkts;
	tx0 = v.tx_pkts;
	rxb0 = v.rx_bytes;
	txb0 = v.tx_bytes;

	/* 1: guest -> host REQUEST (tx conns), RESPONSE */
	lfd = host_listen(lport, SOCK_STREAM, 0);
	ASSERT_GE(lfd, 0);
	vhxl_vsock_conn_init(&v, &c1, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 0);
	CONNECT_OK(&c1, lport);
	h1 = host_accept(lfd, WAIT_MS);
	ASSERT_GE(h1, 0);
	/* 2: host -> guest REQUEST (rx conns), RESPONSE */
	h2 = host_connect_nb(v.cid, gport, SOCK_STREAM, 0);
	ASSERT_GE(h2, 0);
	vhxl_vsock_conn_init(&v, &c2, VIRTIO_VSOCK_TYPE_STREAM, gport, 0);
	ACCEPT_OK(&c2);
	ASSERT_EQ(0, host_connect_wait(h2, WAIT_MS));
	/* 3: a REQUEST to a closed port (tx conns) and its RST (rx rsts) */
	{
		struct vhxl_vsock_conn c3;

		vhxl_vsock_conn_init(&v, &c3, VIRTIO_VSOCK_TYPE_STREAM, vt_port(), 0);
		EXPECT_EQ(-ECONNRESET, vhxl_vsock_connect(&c3, VHX_VSOCK_HOST_CID, vt_port(),
							  WAIT_MS));
		vhxl_vsock_conn_fini(&c3);
	}
	/* 4: a CREDIT_REQUEST (tx credit_requests), its CREDIT_UPDATE */
	ASSERT_EQ(0, vhxl_vsock_credit_request(&c1));
	/* 5: data both ways */
	pat_fill(buf, 0, sizeof(buf));
	ASSERT_EQ((ssize_t)sizeof(buf), vhxl_vsock_send(&c1, buf, sizeof(buf), WAIT_MS));
	ASSERT_EQ((ssize_t)sizeof(buf), send(h2, buf, sizeof(buf), 0));
	EXPECT_EQ(0, guest_recv_pattern(&c2, 0, sizeof(buf), &bad, WAIT_MS));
	{
		size_t got = 0;

		while (got < sizeof(buf)) {
			ssize_t r = recv(h1, buf, sizeof(buf) - got, 0);

			ASSERT_GT(r, 0);
			got += r;
		}
	}
	/* at rest: everything the host owes us arrived */
	ASSERT_EQ(0, vhxl_vsock_tx_drain(&v, WAIT_MS));
	while (vhxl_vsock_poll(&v, 300) > 0)
		;
	snap_take(&b);
	for (q = 0; q < 2; q++) {
		vt_vq_line(getpid(), q, line, sizeof(line));
		TH_LOG("%s", line);
	}
	TH_LOG("guest driver: rx %lu packets %lu bytes, tx %lu packets %lu bytes",
	       v.rx_pkts - rx0, v.rx_bytes - rxb0, v.tx_pkts - tx0, v.tx_bytes - txb0);
	EXPECT_EQ((long long)(v.rx_pkts - rx0), delta(&a, &b, 0, "packets"));
	EXPECT_EQ((long long)(v.tx_pkts - tx0), delta(&a, &b, 1, "packets"));
	for (q = 0; q < 2; q++) {
		long long pl = q ? v.tx_bytes - txb0 : v.rx_bytes - rxb0;
		long long np = q ? v.tx_pkts - tx0 : v.rx_pkts - rx0;

		/* payload bytes, or with the headers: either way exact */
		EXPECT_TRUE(delta(&a, &b, q, "bytes") == pl ||
			    delta(&a, &b, q, "bytes") == pl + VHX_VSOCK_HDR_LEN * np);
	}
	EXPECT_EQ(2, delta(&a, &b, 1, "conns"));
	EXPECT_EQ(1, delta(&a, &b, 0, "conns"));
	EXPECT_EQ(1, delta(&a, &b, 0, "rsts"));
	EXPECT_EQ(0, delta(&a, &b, 1, "rsts"));
	EXPECT_EQ(1, delta(&a, &b, 1, "credit_requests"));
	EXPECT_EQ(0, delta(&a, &b, 0, "credit_requests"));
	EXPECT_EQ(0, delta(&a, &b, 0, "drops") + delta(&a, &b, 1, "drops"));
	EXPECT_EQ(0, delta(&a, &b, 0, "g2g") + delta(&a, &b, 1, "g2g"));

	/* 6: a packet from a CID that is not ours: dropped (maybe an RST) */
	vhxl_vsock_hdr(&hd, v.cid + 1, vt_port(), VHX_VSOCK_HOST_CID, lport,
		       VIRTIO_VSOCK_TYPE_STREAM, VIRTIO_VSOCK_OP_RW, 0, 0);
	ASSERT_LE(0, vhxl_vsock_post(&v, &hd, NULL, 0, NULL, WAIT_MS));
	ASSERT_EQ(0, vhxl_vsock_tx_drain(&v, WAIT_MS));
	while (vhxl_vsock_poll(&v, 300) > 0)
		;
	snap_take(&a);
	TH_LOG("wrong src_cid: drops +%lld, rx rsts +%lld",
	       delta(&b, &a, 1, "drops"), delta(&b, &a, 0, "rsts"));
	EXPECT_EQ(1, delta(&b, &a, 1, "drops"));
	EXPECT_LE(delta(&b, &a, 0, "rsts"), 1);
	/* the ioctl reads what debugfs shows */
	for (q = 0; q < 2; q++) {
		ASSERT_EQ(0, vhxl_ioctl(v.dev.fd, VHX_GET_QUEUE_STATS, &qs[q]));
		EXPECT_EQ(a.v[q][0], (long long)qs[q].packets);
		EXPECT_EQ(a.v[q][1], (long long)qs[q].bytes);
	}
	vhxl_vsock_conn_fini(&c1);
	vhxl_vsock_conn_fini(&c2);
	vhxl_vsock_teardown(&v);
	close(h1);
	close(h2);
	close(lfd);
}
