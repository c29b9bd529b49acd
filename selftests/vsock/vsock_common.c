// SPDX-License-Identifier: GPL-2.0
/* vsock_common.c - what the files of vsock_test share (vsock_common.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "vsock_common.h"

/* ---------------------------------------------------------- identities */

static unsigned vt_seq;

uint32_t vt_cid(void)
{
	/* pids stay below 2^22: CIDs below 2^26, never 0..2 or U32_MAX */
	return 100000 + (uint32_t)getpid() * 8 + (vt_seq++ % 8);
}

uint32_t vt_port(void)
{
	return 20000 + ((uint32_t)getpid() % 100000) * 16 + (vt_seq++ % 16);
}

bool vt_intree(void)
{
	const char *t = getenv("VHX_TARGET");

	return t && !strcmp(t, "intree");
}

const char *vt_module(void)
{
	return vt_intree() ? "vhost_vsock" : "vhx_vsock";
}

int vt_module_refcnt(void)
{
	return vhxl_module_refcnt(vt_module());
}

long long vt_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------- pattern */

static inline uint8_t pat_byte(uint64_t off)
{
	uint64_t x = (off + 1) * 0x9e3779b97f4a7c15ULL;

	return (uint8_t)(x >> 56) ^ (uint8_t)(off >> 16);
}

void pat_fill(uint8_t *b, uint64_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = pat_byte(off + i);
}

long long pat_check(const uint8_t *b, uint64_t off, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (b[i] != pat_byte(off + i))
			return i;
	return -1;
}

/* -------------------------------------------------------- host sockets */

int host_bufsize(int fd, uint64_t size)
{
	uint64_t min = size < 128 ? size : 128, max = size > 262144 ? size : 262144;

	if (setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MIN_SIZE, &min, sizeof(min)) ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_MAX_SIZE, &max, sizeof(max)) ||
	    setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_BUFFER_SIZE, &size, sizeof(size)))
		return -errno;
	return 0;
}

int host_set_timeo(int fd, int opt, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) ? -errno : 0;
}

static int host_socket(int type, uint64_t bufsize)
{
	int fd = socket(AF_VSOCK, type | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -errno;
	if (bufsize) {
		r = host_bufsize(fd, bufsize);
		if (r) {
			close(fd);
			return r;
		}
	}
	return fd;
}

int host_listen(uint32_t port, int type, uint64_t bufsize)
{
	struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY,
				 .svm_port = port };
	int fd = host_socket(type, bufsize), r;

	if (fd < 0)
		return fd;
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 64)) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/*
 * A connect() in progress: a thread blocks in it.  (A non-blocking
 * connect() would do, but af_vsock then keeps the socket, and with it a
 * reference on the transport's module, until its connect timeout fires,
 * long after the connection is closed.)
 */
struct pending_connect {
	int fd;
	pthread_t th;
	struct sockaddr_vm a;
	int err;
};

static struct pending_connect pending[16];

static void *connect_thread(void *arg)
{
	struct pending_connect *pc = arg;

	pc->err = connect(pc->fd, (struct sockaddr *)&pc->a, sizeof(pc->a)) ? errno : 0;
	return NULL;
}

int host_connect_nb(uint32_t cid, uint32_t port, int type, uint64_t bufsize)
{
	struct timeval tv = { .tv_sec = 20 };
	struct pending_connect *pc = NULL;
	unsigned i;
	int fd, r;

	for (i = 0; i < sizeof(pending) / sizeof(pending[0]); i++)
		if (!pending[i].fd)
			pc = &pending[i];
	if (!pc)
		return -EMFILE;
	fd = host_socket(type, bufsize);
	if (fd < 0)
		return fd;
	/* a TCG guest may take its time: no 2 s connect timeout */
	setsockopt(fd, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
	pc->fd = fd;
	pc->a = (struct sockaddr_vm){ .svm_family = AF_VSOCK, .svm_cid = cid,
				      .svm_port = port };
	r = pthread_create(&pc->th, NULL, connect_thread, pc);
	if (r) {
		pc->fd = 0;
		close(fd);
		return -r;
	}
	return fd;
}

int host_connect_wait(int fd, int timeout_ms)
{
	struct pending_connect *pc = NULL;
	struct timespec ts;
	unsigned i;
	int r;

	for (i = 0; i < sizeof(pending) / sizeof(pending[0]); i++)
		if (pending[i].fd == fd)
			pc = &pending[i];
	if (!pc)
		return -ENOENT;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	r = pthread_timedjoin_np(pc->th, NULL, &ts);
	if (r) {
		pthread_cancel(pc->th);
		pthread_join(pc->th, NULL);
		pc->fd = 0;
		return -ETIMEDOUT;
	}
	pc->fd = 0;
	return -pc->err;
}

bool host_pending(int lfd, int timeout_ms)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) > 0 && (p.revents & POLLIN);
}

int host_accept(int lfd, int timeout_ms)
{
	int fd;

	if (!host_pending(lfd, timeout_ms))
		return -ETIMEDOUT;
	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int host_drain(int fd, uint8_t *buf, size_t cap, size_t *n, int timeout_ms)
{
	long long deadline = vt_now_ms() + timeout_ms;
	uint8_t tmp[4096];

	*n = 0;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - vt_now_ms();
		ssize_t r;

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		r = recv(fd, tmp, sizeof(tmp), MSG_DONTWAIT);
		if (r == 0)
			return 0;
		if (r < 0) {
			if (errno == EAGAIN)
				continue;
			return -errno;
		}
		if (*n < cap)
			memcpy(buf + *n, tmp, (size_t)r < cap - *n ? (size_t)r : cap - *n);
		*n += r;
	}
}

/* ------------------------------------------------------- host threads */

static void *hjob_run(void *arg)
{
	struct hjob *j = arg;
	size_t chunk = j->chunk ? j->chunk : 65536;
	uint8_t *buf = malloc(chunk);
	long long t0 = vt_now_ms();

	j->bad = -1;
	if (!buf) {
		j->err = ENOMEM;
		goto out;
	}
	switch (j->op) {
	case HJ_SEND:
		while (j->done < j->len) {
			size_t n = j->len - j->done < chunk ? j->len - j->done : chunk;
			ssize_t r;

			pat_fill(buf, j->off + j->done, n);
			r = send(j->fd, buf, n, MSG_NOSIGNAL);
			if (r < 0) {
				j->err = errno;
				break;
			}
			j->done += r;
		}
		break;
	case HJ_RECV:
		while (j->done < j->len) {
			ssize_t r = recv(j->fd, buf, chunk, 0);
			long long b;

			if (r < 0) {
				j->err = errno;
				break;
			}
			if (r == 0) {
				j->eof = true;
				break;
			}
			b = pat_check(buf, j->off + j->done, r);
			if (b >= 0 && j->bad < 0)
				j->bad = j->done + b;
			j->done += r;
		}
		break;
	case HJ_CLOSE:
		if (close(j->fd))
			j->err = errno;
		j->fd = -1;
		break;
	}
out:
	free(buf);
	j->ms = vt_now_ms() - t0;
	__atomic_store_n(&j->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

int hjob_start(struct hjob *j)
{
	j->done = 0;
	j->err = 0;
	j->eof = false;
	j->finished = 0;
	return -pthread_create(&j->th, NULL, hjob_run, j);
}

int hjob_join(struct hjob *j, int timeout_ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (pthread_timedjoin_np(j->th, NULL, &ts)) {
		pthread_cancel(j->th);
		pthread_join(j->th, NULL);
		return -ETIMEDOUT;
	}
	return 0;
}

/* ----------------------------------------------------- device helpers */

int guest_recv_pattern(struct vhxl_vsock_conn *c, uint64_t off, uint64_t len,
		       long long *bad, int timeout_ms)
{
	static uint8_t buf[65536];
	uint64_t got = 0;

	*bad = -1;
	while (got < len) {
		size_t want = len - got < sizeof(buf) ? len - got : sizeof(buf);
		ssize_t r = vhxl_vsock_recv(c, buf, want, timeout_ms);
		long long b;

		if (r <= 0)
			return r ? (int)r : -EPIPE;
		b = pat_check(buf, off + got, r);
		if (b >= 0 && *bad < 0)
			*bad = got + b;
		got += r;
	}
	return 0;
}

void vt_ring_state(struct vhxl_vsock *v, char *out, size_t len)
{
	size_t o = 0;
	int i;

	for (i = 0; i < VHX_NVQS && o < len; i++) {
		struct vhxl_vq *vq = &v->dev.vq[i];
		uint16_t avail_event = 0;

		if (vq->packed)
			o += snprintf(out + o, len - o,
				      "%s: packed avail %u/%d used %u/%d inflight %u pending %u dev_event 0x%x/0x%x kicks %lu suppressed %lu calls %lu; ",
				      i ? "tx" : "rx", vq->avail_idx, vq->avail_wrap,
				      vq->last_used, vq->used_wrap, vq->inflight,
				      vhxl_vq_pending_used(vq), vq->dev_event->flags,
				      vq->dev_event->off_wrap, vq->kicks,
				      vq->suppressed_kicks, vq->calls);
		else {
			memcpy(&avail_event, &vq->used->ring[vq->num], sizeof(avail_event));
			o += snprintf(out + o, len - o,
				      "%s: avail %u used %u (seen %u) flags 0x%x avail_event %u inflight %u kicks %lu suppressed %lu calls %lu; ",
				      i ? "tx" : "rx", vq->avail_idx, vq->used->idx,
				      vq->last_used, vq->used->flags,
				      avail_event, vq->inflight,
				      vq->kicks, vq->suppressed_kicks, vq->calls);
		}
	}
	if (o < len)
		snprintf(out + o, len - o, "queued %u unmatched %u", v->q_len, v->u_len);
}

/* The device line "dev id=N kind=K owner=P ..." and its "vq" lines. */
static bool vq_line(pid_t owner, unsigned q, char *line, size_t len,
		    char *kind_out, size_t kind_len)
{
	FILE *f = fopen("/sys/kernel/debug/vhx/devices", "r");
	char want[32];
	bool mine = false, found = false;

	if (!f)
		return false;
	snprintf(want, sizeof(want), " idx=%u ", q);
	while (!found && fgets(line, len, f)) {
		char kind[16];
		int dev, o;

		if (sscanf(line, "dev id=%d kind=%15s owner=%d", &dev, kind, &o) == 3) {
			mine = o == owner;
			if (mine && kind_out)
				snprintf(kind_out, kind_len, "%s", kind);
			continue;
		}
		if (mine && !strncmp(line, "vq ", 3) && strstr(line, want))
			found = true;
	}
	fclose(f);
	return found;
}

long long vt_vq_counter(pid_t owner, unsigned q, const char *key,
			char *kind_out, size_t kind_len)
{
	char line[2048], pat[64], *p;

	if (!vq_line(owner, q, line, sizeof(line), kind_out, kind_len))
		return -1;
	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	return p ? atoll(p + strlen(pat)) : -1;
}

void vt_vq_line(pid_t owner, unsigned q, char *out, size_t len)
{
	if (!vq_line(owner, q, out, len, NULL, 0))
		out[0] = 0;
	else
		out[strcspn(out, "\n")] = 0;
}
