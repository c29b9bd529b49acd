// SPDX-License-Identifier: GPL-2.0
/*
 * xfer.c — the inner guest's TCP file mover (selftests/vm/inner, built
 * static into the image by mkinner.sh as /bin/vhxi-xfer).
 *
 *   vhxi-xfer send ADDR PORT FILE   connect, send FILE ("-": stdin), close
 *   vhxi-xfer recv PORT FILE        accept one connection, write what
 *                                   arrives to FILE ("-": stdout) until the
 *                                   peer closes
 *   vhxi-xfer vsend CID PORT FILE   the same over AF_VSOCK (qemu_vsock and
 *   vhxi-xfer vrecv PORT FILE       libvirt_test's guest side, where socat
 *   vhxi-xfer vpull CID PORT FILE   would take seconds to load its
 *                                   libraries); vpull connects and receives
 *   vhxi-xfer vecho PORT            an echo server, a child per connection
 *   vhxi-xfer vconns CID PORT N     N short connections to an echo server
 *   vhxi-xfer vtry CID PORT         one connection attempt
 *
 * vsock listeners print "listening on PORT" once they listen and
 * "accepting connection from cid:C port:P" for each connection.
 * It replaces busybox nc for bulk data: nc moves ~1 KiB per read/write and
 * a select() per chunk, and under two layers of TCG each system call costs
 * milliseconds, so nc, not the virtio path, set the pace.  This moves
 * 256 KiB per call.  Prints "bytes=N" on stderr; exit status 0 only if the
 * whole stream went through.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#define CHUNK (256 * 1024)

static char buf[CHUNK];

static int copy(int in, int out, long long *total)
{
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf)), off = 0;

		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("vhxi-xfer: read");
			return -1;
		}
		while (off < n) {
			ssize_t w = write(out, buf + off, n - off);

			if (w < 0) {
				if (errno == EINTR)
					continue;
				perror("vhxi-xfer: write");
				return -1;
			}
			off += w;
		}
		*total += n;
	}
}

static int open_file(const char *path, int flags, int std)
{
	int fd;

	if (!strcmp(path, "-"))
		return std;
	fd = open(path, flags, 0644);
	if (fd < 0)
		perror(path);
	return fd;
}

/* An address to connect to or listen on (@vsock: @addr is a CID). */
union addr {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_vm vm;
};

static socklen_t make_addr(union addr *a, bool vsock, const char *addr, int port)
{
	memset(a, 0, sizeof(*a));
	if (vsock) {
		a->vm.svm_family = AF_VSOCK;
		a->vm.svm_cid = addr ? strtoul(addr, NULL, 0) : VMADDR_CID_ANY;
		a->vm.svm_port = port;
		return sizeof(a->vm);
	}
	a->in.sin_family = AF_INET;
	a->in.sin_port = htons(port);
	a->in.sin_addr.s_addr = htonl(INADDR_ANY);
	if (addr && inet_pton(AF_INET, addr, &a->in.sin_addr) != 1)
		return 0;
	return sizeof(a->in);
}

static int xconnect(bool vsock, const char *addr, int port)
{
	/* a starved TCG guest may answer late: no 2 s vsock connect timeout */
	struct timeval tv = { .tv_sec = 30 };
	union addr a;
	socklen_t l = make_addr(&a, vsock, addr, port);
	int s;

	if (!l) {
		fprintf(stderr, "vhxi-xfer: bad address %s\n", addr);
		return -1;
	}
	s = socket(a.sa.sa_family, SOCK_STREAM, 0);
	if (s >= 0 && vsock)
		setsockopt(s, AF_VSOCK, SO_VM_SOCKETS_CONNECT_TIMEOUT, &tv, sizeof(tv));
	if (s < 0 || connect(s, &a.sa, l) < 0) {
		perror("vhxi-xfer: connect");
		return -1;
	}
	return s;
}

static int xlisten(bool vsock, int port)
{
	union addr a;
	socklen_t l = make_addr(&a, vsock, NULL, port);
	int s, one = 1;

	s = socket(a.sa.sa_family, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, &a.sa, l) < 0 || listen(s, 16) < 0) {
		perror("vhxi-xfer: listen");
		return -1;
	}
	if (vsock)	/* vhxi-vsock.sh's vs_listening waits for it */
		fprintf(stderr, "listening on %d\n", port);
	return s;
}

static int xaccept_on(int s, bool vsock)
{
	union addr a;
	socklen_t l = sizeof(a);
	int c = accept(s, &a.sa, &l);

	if (c < 0)
		perror("vhxi-xfer: accept");
	else if (vsock)
		fprintf(stderr, "accepting connection from cid:%u port:%u\n",
			a.vm.svm_cid, a.vm.svm_port);
	return c;
}

static int xaccept(bool vsock, int port)
{
	int s = xlisten(vsock, port), c;

	if (s < 0)
		return -1;
	c = xaccept_on(s, vsock);
	close(s);
	return c;
}

static int xsend(bool vsock, const char *addr, int port, const char *path)
{
	long long total = 0;
	int s, fd, rc;

	fd = open_file(path, O_RDONLY, 0);
	if (fd < 0)
		return 1;
	s = xconnect(vsock, addr, port);
	if (s < 0)
		return 1;
	rc = copy(fd, s, &total);
	/* FIN after the last byte; wait for the peer to close its side. */
	if (!rc && shutdown(s, SHUT_WR) == 0)
		while (read(s, buf, sizeof(buf)) > 0)
			;
	fprintf(stderr, "bytes=%lld\n", total);
	close(s);
	return rc ? 1 : 0;
}

/* Receive into @path from a connection: accepted on @port, or (@addr set)
 * opened to @addr:@port. */
static int xrecv(bool vsock, const char *addr, int port, const char *path)
{
	long long total = 0;
	int c, fd, rc;

	fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 1);
	if (fd < 0)
		return 1;
	c = addr ? xconnect(vsock, addr, port) : xaccept(vsock, port);
	if (c < 0)
		return 1;
	rc = copy(c, fd, &total);
	if (fd != 1 && close(fd) < 0) {
		perror(path);
		rc = -1;
	}
	fprintf(stderr, "bytes=%lld\n", total);
	close(c);
	return rc ? 1 : 0;
}

/* vecho PORT: an echo server over vsock, a child per connection. */
static int xecho(int port)
{
	int s = xlisten(true, port);

	if (s < 0)
		return 1;
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		long long total = 0;
		int c = xaccept_on(s, true);

		if (c < 0)
			return 1;
		if (fork() == 0) {
			close(s);
			_exit(copy(c, c, &total) ? 1 : 0);
		}
		close(c);
	}
}

/*
 * vconns CID PORT N: N connections one after the other to an echo server;
 * each sends a line and must get it back.  Prints "conns ok=K of N".
 */
static int xconns(const char *cid, int port, int n)
{
	int i, ok = 0;

	for (i = 0; i < n; i++) {
		char line[32], got[32] = "";
		int s = xconnect(true, cid, port), len, r = 0, k;

		if (s < 0)
			continue;
		len = snprintf(line, sizeof(line), "vhx-g-%d\n", i);
		if (write(s, line, len) == len && shutdown(s, SHUT_WR) == 0)
			while (r < (int)sizeof(got) - 1 &&
			       (k = read(s, got + r, sizeof(got) - 1 - r)) > 0)
				r += k;
		close(s);
		if (r == len && !memcmp(got, line, len))
			ok++;
		else
			fprintf(stderr, "conn %d: got '%.*s'\n", i, r, got);
	}
	printf("conns ok=%d of %d\n", ok, n);
	return ok == n ? 0 : 1;
}

/* vtry CID PORT: one connection attempt that sends a line; the error, if
 * any, on stderr ("vhxi-xfer: connect: ..."). */
static int xtry(const char *cid, int port)
{
	int s = xconnect(true, cid, port);

	if (s < 0)
		return 1;
	if (write(s, "hello\n", 6) != 6) {
		perror("vhxi-xfer: write");
		close(s);
		return 1;
	}
	close(s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "send"))
		return xsend(false, argv[2], atoi(argv[3]), argv[4]);
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return xrecv(false, NULL, atoi(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "vsend"))
		return xsend(true, argv[2], atoi(argv[3]), argv[4]);
	if (argc == 4 && !strcmp(argv[1], "vrecv"))
		return xrecv(true, NULL, atoi(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "vpull"))
		return xrecv(true, argv[2], atoi(argv[3]), argv[4]);
	if (argc == 3 && !strcmp(argv[1], "vecho"))
		return xecho(atoi(argv[2]));
	if (argc == 5 && !strcmp(argv[1], "vconns"))
		return xconns(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "vtry"))
		return xtry(argv[2], atoi(argv[3]));
	fprintf(stderr, "usage: vhxi-xfer send ADDR PORT FILE | recv PORT FILE |\n"
		"       vsend CID PORT FILE | vrecv PORT FILE | vpull CID PORT FILE |\n"
		"       vecho PORT | vconns CID PORT N | vtry CID PORT\n");
	return 2;
}
