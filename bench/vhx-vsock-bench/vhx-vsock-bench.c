// SPDX-License-Identifier: GPL-2.0
/*
 * vhx-vsock-bench - vsock stream throughput and connection rate against
 * /dev/vhost-vsock (vhx_vsock or the in-tree vhost_vsock), for make bench.
 *
 * One process plays both ends of a vsock link:
 *  - the guest: the main thread is the guest driver (tools/lib/vhxvsock: its
 *    own memory, split rings of 128 with EVENT_IDX, 4 KiB RX buffers as
 *    Linux's virtio_vsock posts them, a CID of its own) on a guest port;
 *  - the host: a thread with real AF_VSOCK sockets (local CID 2) that
 *    connects to the guest's CID;
 *  - a control thread that times the run: --warm seconds, then a window of
 *    --time seconds whose counts are the result.
 *
 * Workloads (-w):
 *  h2g   the host write()s --size bytes (64 KiB) at a time, the guest driver
 *        drains (vhxl_vsock_recv); counted: bytes the guest received
 *  g2h   the guest sends --size bytes per vhxl_vsock_send (packets of up to
 *        --pkt bytes, 64 KiB as Linux's), the host read()s --size at a time;
 *        counted: bytes the host read
 *  conn  one after the other: the host connect()s, the guest accepts, the
 *        host close()s (the guest answers its SHUTDOWN with an RST, as
 *        Linux does, so the host socket goes at once); counted: connect()s
 *        that succeeded
 * At the end every byte sent must have arrived (and every connection
 * accepted and reset): "errors" counts what did not.
 *
 * --sync (bench/workloads/vsock.sh): "ready PID" once the device is set up,
 * "mark start" and "mark stop" at the window's two ends, each waiting for a
 * line on stdin before going on: the caller pins the device's worker and
 * reads the instruction counters there (bench/lib/cost.sh).  The window's
 * counts are taken after "mark start" is answered and before "mark stop"
 * is printed.
 *
 * Output: "result tool=vhx-vsock-bench workload=... time_s=... bytes=...
 * mibps=... conns=... cps=... errors=... ..." on stdout.
 */
#define _GNU_SOURCE
#include "vhxvsock.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#ifndef AF_VSOCK
#define AF_VSOCK 40
#endif

#define WAIT_MS		20000	/* cap on anything a TCG guest must do */
#define SYNC_MS		300000	/* cap on the caller's answer */
#define TICK_MS		200	/* socket timeouts: how often stop is seen */

enum workload { W_H2G, W_G2H, W_CONN };
static const char *const wl_names[] = { "h2g", "g2h", "conn" };

struct opts {
	enum workload w;
	double secs, warm;
	size_t size;		/* host write/read, guest send size */
	size_t pkt;		/* guest TX packet payload (g2h) */
	unsigned num;		/* ring size */
	size_t rx_buf;		/* RX buffer bytes (header included) */
	uint32_t buf_alloc;	/* the guest's receive buffer (its credit) */
	uint64_t host_buf;	/* host socket SO_VM_SOCKETS_BUFFER_SIZE (0: default) */
	uint32_t cid, port;
	bool sync;
};

static struct opts o = {
	.w = W_H2G, .secs = 10, .warm = 2, .size = 65536, .pkt = 65536,
	.num = 128, .rx_buf = 4096, .buf_alloc = 256 * 1024,
};

/* Shared by the three threads. */
static atomic_bool stop;		/* the window is over (or a failure) */
static atomic_bool running;		/* the traffic is up: the warm-up begins */
static atomic_bool host_done;		/* the host thread closed its socket */
static atomic_bool guest_done;		/* the guest driver's part is over */
static atomic_ullong guest_bytes, host_bytes, host_conns, host_errs;
static int host_errno;			/* first failure of the host thread */
static const char *host_what = "";

/* The window (control thread). */
static unsigned long long win_count;
static double win_secs;
static char ctl_err[128];

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void host_fail(const char *what, int err)
{
	if (!atomic_fetch_add(&host_errs, 1)) {
		host_what = what;
		host_errno = err;
	}
}

/* ------------------------------------------------------------ host side */

static int host_socket(int rcv_tick, int snd_tick)
{
	struct timeval ct = { .tv_sec = WAIT_MS / 1000 };
	struct timeval tick = { .tv_usec = TICK_MS * 1000 };
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* a TCG guest may take its time: no 2 s connect timeout */
	setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &ct, sizeof(ct));
	if (o.host_buf) {
		uint64_t lo = 1, hi = o.host_buf > 262144 ? o.host_buf : 262144;

		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MIN_SIZE, &lo, sizeof(lo));
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &hi, sizeof(hi));
		setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &o.host_buf,
			   sizeof(o.host_buf));
	}
	if (rcv_tick)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tick, sizeof(tick));
	if (snd_tick)
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tick, sizeof(tick));
	return fd;
}

static int host_connect(int fd)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = o.cid,
				 .svm_port = o.port };

	return connect(fd, (struct sockaddr *)&a, sizeof(a)) ? -errno : 0;
}

static void *host_stream(void *arg)
{
	uint8_t *buf = arg;
	int fd = host_socket(o.w == W_G2H, o.w == W_H2G), r;

	if (fd < 0) {
		host_fail("socket", -fd);
		goto out;
	}
	r = host_connect(fd);
	if (r) {
		host_fail("connect", -r);
		goto out_close;
	}
	atomic_store(&running, true);
	for (;;) {
		ssize_t n;

		if (o.w == W_H2G) {
			if (atomic_load(&stop))
				break;
			n = write(fd, buf, o.size);
		} else {
			/* to EOF: the guest's SHUTDOWN after its last send */
			n = read(fd, buf, o.size);
			if (!n)
				break;
		}
		if (n > 0) {
			atomic_fetch_add(&host_bytes, (unsigned long long)n);
			continue;
		}
		if (errno == EAGAIN || errno == EINTR) {
			/* the guest gave up (it returns after our close) */
			if (atomic_load(&guest_done))
				break;
			continue;
		}
		host_fail(o.w == W_H2G ? "write" : "read", errno);
		break;
	}
out_close:
	close(fd);
out:
	atomic_store(&host_done, true);
	return NULL;
}

static void *host_conn(void *arg)
{
	(void)arg;
	atomic_store(&running, true);
	while (!atomic_load(&stop)) {
		int fd = host_socket(0, 0), r;

		if (fd < 0) {
			host_fail("socket", -fd);
			break;
		}
		r = host_connect(fd);
		if (r)
			host_fail("connect", -r);
		else
			atomic_fetch_add(&host_conns, 1);
		close(fd);
		if (r && atomic_load(&host_errs) > 10)
			break;
	}
	atomic_store(&host_done, true);
	return NULL;
}

/* -------------------------------------------------------------- control */

/* Sleep @secs unless stop comes first: 0, or -1 if stopped. */
static int nap(double secs)
{
	double end = now_s() + secs;

	while (!atomic_load(&stop)) {
		double left = end - now_s();

		if (left <= 0)
			return 0;
		usleep(left > 0.05 ? 50000 : (useconds_t)(left * 1e6));
	}
	return -1;
}

/* --sync: say @what on stdout and wait for the caller's line. */
static int sync_point(const char *what)
{
	char line[64];
	long long waited = 0;

	if (!o.sync)
		return 0;
	printf("%s\n", what);
	fflush(stdout);
	while (waited < SYNC_MS) {
		struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };

		if (atomic_load(&stop) && strncmp(what, "mark stop", 9))
			return -1;
		if (poll(&p, 1, 100) > 0) {
			if (!fgets(line, sizeof(line), stdin))
				return -1;
			return 0;
		}
		waited += 100;
	}
	return -1;
}

static unsigned long long counted(void)
{
	switch (o.w) {
	case W_H2G:
		return atomic_load(&guest_bytes);
	case W_G2H:
		return atomic_load(&host_bytes);
	default:
		return atomic_load(&host_conns);
	}
}

static void *control(void *arg)
{
	unsigned long long c0;
	double t0, deadline = now_s() + WAIT_MS / 1000.0;

	(void)arg;
	while (!atomic_load(&running)) {
		if (atomic_load(&stop))
			return NULL;
		if (now_s() > deadline) {
			snprintf(ctl_err, sizeof(ctl_err), "no traffic after %d s", WAIT_MS / 1000);
			atomic_store(&stop, true);
			return NULL;
		}
		usleep(10000);
	}
	if (nap(o.warm))
		return NULL;
	if (sync_point("mark start")) {
		snprintf(ctl_err, sizeof(ctl_err), "no answer to mark start");
		atomic_store(&stop, true);
		return NULL;
	}
	c0 = counted();
	t0 = now_s();
	if (nap(o.secs))
		return NULL;
	win_count = counted() - c0;
	win_secs = now_s() - t0;
	if (sync_point("mark stop"))
		snprintf(ctl_err, sizeof(ctl_err), "no answer to mark stop");
	atomic_store(&stop, true);
	return NULL;
}

/* ---------------------------------------------------------- guest side */

static int errors;
static char guest_err[160];

static void guest_fail(const char *what, int err)
{
	if (!errors++)
		snprintf(guest_err, sizeof(guest_err), "%s: %s", what, strerror(err));
	atomic_store(&stop, true);
}

/* Poll the device until @c is closed (our RST sent, or the peer's). */
static bool wait_closed(struct vhxl_vsock_conn *c, int timeout_ms)
{
	double end = now_s() + timeout_ms / 1000.0;

	while (c->state != VHXL_VS_CLOSED && now_s() < end)
		vhxl_vsock_poll(c->v, 100);
	return c->state == VHXL_VS_CLOSED;
}

static void guest_h2g(struct vhxl_vsock *v, uint8_t *buf, size_t cap,
		      struct vhxl_vsock_conn *c)
{
	double quiet_since = 0;
	ssize_t r;

	vhxl_vsock_conn_init(v, c, VIRTIO_VSOCK_TYPE_STREAM, o.port, o.buf_alloc);
	r = vhxl_vsock_accept(c, WAIT_MS);
	if (r) {
		guest_fail("accept", (int)-r);
		return;
	}
	/* to EOF: the host's SHUTDOWN (answered with an RST on dispatch) */
	for (;;) {
		r = vhxl_vsock_recv(c, buf, cap, TICK_MS);
		if (r > 0) {
			atomic_fetch_add(&guest_bytes, (unsigned long long)r);
			quiet_since = 0;
			continue;
		}
		if (!r)
			break;
		if (r != -ETIMEDOUT) {
			guest_fail("recv", (int)-r);
			return;
		}
		if (atomic_load(&host_done)) {
			if (!quiet_since)
				quiet_since = now_s();
			else if (now_s() - quiet_since > WAIT_MS / 1000.0) {
				guest_fail("recv: no EOF after the host closed", ETIMEDOUT);
				return;
			}
		}
	}
	if (!wait_closed(c, WAIT_MS))
		guest_fail("no RST after the host's SHUTDOWN", ETIMEDOUT);
}

static void guest_g2h(struct vhxl_vsock *v, const uint8_t *buf,
		      struct vhxl_vsock_conn *c)
{
	ssize_t r;

	vhxl_vsock_conn_init(v, c, VIRTIO_VSOCK_TYPE_STREAM, o.port, o.buf_alloc);
	r = vhxl_vsock_accept(c, WAIT_MS);
	if (r) {
		guest_fail("accept", (int)-r);
		return;
	}
	while (!atomic_load(&stop)) {
		r = vhxl_vsock_send(c, buf, o.size, WAIT_MS);
		if (r > 0)
			atomic_fetch_add(&guest_bytes, (unsigned long long)r);
		if (r != (ssize_t)o.size) {
			guest_fail("send", r < 0 ? (int)-r : EIO);
			return;
		}
	}
	/* EOF for the host reader; its close() then sends SHUTDOWN both ways */
	r = vhxl_vsock_shutdown(c, VIRTIO_VSOCK_SHUTDOWN_SEND);
	if (r) {
		guest_fail("shutdown", (int)-r);
		return;
	}
	if (!wait_closed(c, WAIT_MS))
		guest_fail("no SHUTDOWN from the host after EOF", ETIMEDOUT);
}

struct gconn {
	struct vhxl_vsock_conn c;
	struct gconn *next;
};

static unsigned long guest_accepts, guest_open_left;

/* Free the accepted connections that are closed; the number still open. */
static unsigned long reap(struct gconn **list)
{
	struct gconn **pp = list, *g;
	unsigned long open = 0;

	while ((g = *pp)) {
		if (g->c.state == VHXL_VS_CLOSED) {
			*pp = g->next;
			vhxl_vsock_conn_fini(&g->c);
			free(g);
		} else {
			open++;
			pp = &g->next;
		}
	}
	return open;
}

static void guest_conn(struct vhxl_vsock *v)
{
	struct gconn *list = NULL, *g = NULL;
	double end;
	int r;

	while (!atomic_load(&host_done)) {
		if (!g) {
			g = calloc(1, sizeof(*g));
			if (!g) {
				guest_fail("calloc", ENOMEM);
				break;
			}
		}
		vhxl_vsock_conn_init(v, &g->c, VIRTIO_VSOCK_TYPE_STREAM, o.port,
				     o.buf_alloc);
		r = vhxl_vsock_accept(&g->c, TICK_MS);
		if (!r) {
			guest_accepts++;
			g->next = list;
			list = g;
			g = NULL;
		} else if (r != -ETIMEDOUT) {
			guest_fail("accept", -r);
			break;
		}
		reap(&list);
	}
	free(g);
	/* the last SHUTDOWNs, answered with RSTs */
	end = now_s() + WAIT_MS / 1000.0;
	while (reap(&list) && now_s() < end)
		vhxl_vsock_poll(v, 100);
	guest_open_left = reap(&list);
	while (list) {
		g = list;
		list = g->next;
		vhxl_vsock_conn_fini(&g->c);
		free(g);
	}
}

/* ---------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: vhx-vsock-bench [-w h2g|g2h|conn] [-t SECS] [-r WARM] [-s SIZE]\n"
		"                       [--pkt BYTES] [--num N] [--rx-buf BYTES]\n"
		"                       [--buf-alloc BYTES] [--host-buf BYTES]\n"
		"                       [--cid CID] [--port PORT] [--sync]\n");
	exit(2);
}

static size_t size_arg(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 0);

	if (*end == 'k' || *end == 'K')
		v <<= 10, end++;
	else if (*end == 'm' || *end == 'M')
		v <<= 20, end++;
	if (*end || !v)
		usage();
	return v;
}

static void parse(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "workload", 1, 0, 'w' }, { "time", 1, 0, 't' }, { "warm", 1, 0, 'r' },
		{ "size", 1, 0, 's' }, { "pkt", 1, 0, 'P' }, { "num", 1, 0, 'n' },
		{ "rx-buf", 1, 0, 'R' }, { "buf-alloc", 1, 0, 'B' },
		{ "host-buf", 1, 0, 'H' }, { "cid", 1, 0, 'c' }, { "port", 1, 0, 'p' },
		{ "sync", 0, 0, 'S' }, { 0, 0, 0, 0 },
	};
	int ch;
	unsigned i;

	while ((ch = getopt_long(argc, argv, "w:t:r:s:", lo, NULL)) != -1) {
		switch (ch) {
		case 'w':
			for (i = 0; i < 3 && strcmp(optarg, wl_names[i]); i++)
				;
			if (i == 3)
				usage();
			o.w = i;
			break;
		case 't': o.secs = atof(optarg); break;
		case 'r': o.warm = atof(optarg); break;
		case 's': o.size = size_arg(optarg); break;
		case 'P': o.pkt = size_arg(optarg); break;
		case 'n': o.num = size_arg(optarg); break;
		case 'R': o.rx_buf = size_arg(optarg); break;
		case 'B': o.buf_alloc = size_arg(optarg); break;
		case 'H': o.host_buf = size_arg(optarg); break;
		case 'c': o.cid = size_arg(optarg); break;
		case 'p': o.port = size_arg(optarg); break;
		case 'S': o.sync = true; break;
		default: usage();
		}
	}
	if (optind != argc || o.secs <= 0 || o.warm < 0 || o.pkt > VHX_VSOCK_MAX_PKT)
		usage();
	/* a CID and a port of this process: a lingering device of an earlier
	 * run cannot hold them */
	if (!o.cid)
		o.cid = 10000 + (uint32_t)getpid();
	if (!o.port)
		o.port = 5000 + (uint32_t)getpid() % 50000;
}

int main(int argc, char **argv)
{
	struct vhxl_vsock_cfg cfg = { .event_idx = true };
	struct vhxl_vsock_conn c = { 0 };
	struct vhxl_vsock v;
	pthread_t host, ctl;
	unsigned long long hb, gb;
	size_t cap;
	uint8_t *buf, *hbuf;
	const char *why;
	int r;

	parse(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	why = vhxl_vsock_skip_reason();
	if (why) {
		printf("error: %s\n", why);
		return 4;
	}
	cfg.cid = o.cid;
	cfg.num = o.num;
	cfg.rx_buf = o.rx_buf;
	cfg.tx_buf = o.pkt + VHX_VSOCK_HDR_LEN;
	r = vhxl_vsock_setup(&v, &cfg);
	if (r) {
		printf("error: set-up of %s (CID %u): %s\n", vhxl_vsock_dev_path(),
		       o.cid, strerror(-r));
		return 1;
	}
	cap = o.size > 1048576 ? o.size : 1048576;
	buf = malloc(cap);
	hbuf = malloc(o.size);
	if (!buf || !hbuf) {
		printf("error: out of memory\n");
		return 1;
	}
	memset(hbuf, 0xa5, o.size);
	snprintf((char *)buf, cap, "ready %d", (int)getpid());
	if (sync_point((char *)buf) < 0) {
		printf("error: no answer to ready\n");
		return 1;
	}
	if (pthread_create(&ctl, NULL, control, NULL) ||
	    pthread_create(&host, NULL, o.w == W_CONN ? host_conn : host_stream, hbuf)) {
		printf("error: pthread_create\n");
		return 1;
	}
	switch (o.w) {
	case W_H2G: guest_h2g(&v, buf, cap, &c); break;
	case W_G2H: guest_g2h(&v, buf, &c); break;
	case W_CONN: guest_conn(&v); break;
	}
	atomic_store(&guest_done, true);
	atomic_store(&stop, true);
	pthread_join(host, NULL);
	pthread_join(ctl, NULL);
	hb = atomic_load(&host_bytes);
	gb = atomic_load(&guest_bytes);
	if (!errors && o.w != W_CONN && hb != gb)
		snprintf(guest_err, sizeof(guest_err), "%llu bytes sent, %llu arrived",
			 o.w == W_H2G ? hb : gb, o.w == W_H2G ? gb : hb), errors++;
	if (!errors && o.w == W_CONN &&
	    (guest_accepts != atomic_load(&host_conns) || guest_open_left))
		snprintf(guest_err, sizeof(guest_err),
			 "%llu connects, %lu accepts, %lu not reset at the end",
			 atomic_load(&host_conns), guest_accepts, guest_open_left), errors++;
	if (atomic_load(&host_errs)) {
		errors += atomic_load(&host_errs);
		printf("error: host %s: %s (%llu failures)\n", host_what,
		       strerror(host_errno), atomic_load(&host_errs));
	}
	if (guest_err[0])
		printf("error: guest %s\n", guest_err);
	if (ctl_err[0]) {
		errors++;
		printf("error: %s\n", ctl_err);
	}
	if (win_secs > 0)
		printf("result tool=vhx-vsock-bench workload=%s dev=%s cid=%u size=%zu "
		       "time_s=%.2f count=%llu bytes=%llu mibps=%.1f cps=%.1f "
		       "host_bytes=%llu guest_bytes=%llu conns=%llu accepts=%lu "
		       "rx_pkts=%lu tx_pkts=%lu rx_calls=%lu tx_kicks=%lu "
		       "credit_updates=%lu credit_requests=%lu credit_stalls=%lu "
		       "unexpected=%lu errors=%d\n",
		       wl_names[o.w], vhxl_vsock_dev_path(), o.cid, o.size, win_secs,
		       win_count, o.w == W_CONN ? 0 : win_count,
		       o.w == W_CONN ? 0 : win_count / win_secs / 1048576.0,
		       o.w == W_CONN ? win_count / win_secs : 0.0,
		       hb, gb, atomic_load(&host_conns), guest_accepts,
		       v.rx_pkts, v.tx_pkts, v.dev.vq[VHX_RX].calls,
		       v.dev.vq[VHX_TX].kicks, c.credit_updates_tx,
		       c.credit_requests, c.credit_stalls, c.unexpected, errors);
	vhxl_vsock_conn_fini(&c);
	vhxl_vsock_teardown(&v);
	free(buf);
	free(hbuf);
	return errors ? 1 : 0;
}
