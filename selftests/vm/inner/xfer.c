// SPDX-License-Identifier: GPL-2.0
/*
 * xfer.c — the inner guest's TCP file mover (selftests/vm/inner, built
 * static into the image by mkinner.sh as /bin/vhxi-xfer).
 *
 *   vhxi-xfer send ADDR PORT FILE   connect, send FILE ("-": stdin), close
 *   vhxi-xfer recv PORT FILE        accept one connection, write what
 *                                   arrives to FILE ("-": stdout) until the
 *                                   peer closes
 *
 * It replaces busybox nc for bulk data: nc moves ~1 KiB per read/write and
 * a select() per chunk, and under two layers of TCG each system call costs
 * milliseconds, so nc, not the virtio path, set the pace.  This moves
 * 256 KiB per call.  Prints "bytes=N" on stderr; exit status 0 only if the
 * whole stream went through.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

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

static int xsend(const char *addr, int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	long long total = 0;
	int s, fd, rc;

	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
		fprintf(stderr, "vhxi-xfer: bad address %s\n", addr);
		return 2;
	}
	fd = open_file(path, O_RDONLY, 0);
	if (fd < 0)
		return 1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("vhxi-xfer: connect");
		return 1;
	}
	rc = copy(fd, s, &total);
	/* FIN after the last byte; wait for the peer to close its side. */
	if (!rc && shutdown(s, SHUT_WR) == 0)
		while (read(s, buf, sizeof(buf)) > 0)
			;
	fprintf(stderr, "bytes=%lld\n", total);
	close(s);
	return rc ? 1 : 0;
}

static int xrecv(int port, const char *path)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	long long total = 0;
	int s, c, fd, one = 1, rc;

	fd = open_file(path, O_WRONLY | O_CREAT | O_TRUNC, 1);
	if (fd < 0)
		return 1;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 1) < 0) {
		perror("vhxi-xfer: listen");
		return 1;
	}
	c = accept(s, NULL, NULL);
	if (c < 0) {
		perror("vhxi-xfer: accept");
		return 1;
	}
	close(s);
	rc = copy(c, fd, &total);
	if (fd != 1 && close(fd) < 0) {
		perror(path);
		rc = -1;
	}
	fprintf(stderr, "bytes=%lld\n", total);
	close(c);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "send"))
		return xsend(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 4 && !strcmp(argv[1], "recv"))
		return xrecv(atoi(argv[2]), argv[3]);
	fprintf(stderr, "usage: vhxi-xfer send ADDR PORT FILE | recv PORT FILE\n");
	return 2;
}
