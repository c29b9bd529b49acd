// SPDX-License-Identifier: GPL-2.0
/*
 * vhxtap.c - vhxlib's host side of the net tests (see vhxlib.h): the tap
 * backend with its AF_PACKET socket, and the numbered test frames.
 */
#define _GNU_SOURCE
#include "vhxlib.h"
#include "vhxlib_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

/* ================================================================== tap */

static int ctl_sock(void)
{
	return socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

static void write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0)
		return;
	if (write(fd, val, strlen(val)) < 0) {
		/* best effort */
	}
	close(fd);
}

int vhxl_tap_open(struct vhxl_tap *t, int hdr_sz, int mtu)
{
	struct ifreq ifr;
	struct sockaddr_ll sll;
	char path[128];
	int s, r, one = 1, big = 16 << 20, sndbuf = INT_MAX;

	memset(t, 0, sizeof(*t));
	t->fd = t->pkt = -1;
	t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (hdr_sz > 0 ? IFF_VNET_HDR : 0);
	strcpy(ifr.ifr_name, "vhx%d");
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0)
		goto err;
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = 0;
	t->vnet_hdr = hdr_sz > 0;
	if (hdr_sz > 0 && ioctl(t->fd, TUNSETVNETHDRSZ, &hdr_sz) < 0)
		goto err;
	if (ioctl(t->fd, TUNSETSNDBUF, &sndbuf) < 0)
		goto err;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", t->name);
	write_sysctl(path, "1");

	s = ctl_sock();
	if (s < 0)
		goto err;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (mtu > 0) {
		ifr.ifr_mtu = mtu;
		if (ioctl(s, SIOCSIFMTU, &ifr) < 0) {
			r = -errno;
			close(s);
			vhxl_tap_close(t);
			return r;
		}
	}
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0) {
		close(s);
		goto err;
	}
	t->ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
		close(s);
		goto err;
	}
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) {
		close(s);
		goto err;
	}
	close(s);

	/* protocol 0: nothing is queued until bind() selects the device. */
	t->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (t->pkt < 0)
		goto err;
	setsockopt(t->pkt, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(t->pkt, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(t->pkt, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = t->ifindex;
	if (bind(t->pkt, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto err;
	return 0;
err:
	r = -errno;
	vhxl_tap_close(t);
	return r;
}

void vhxl_tap_close(struct vhxl_tap *t)
{
	if (t->pkt >= 0)
		close(t->pkt);
	if (t->fd >= 0)
		close(t->fd);
	t->pkt = t->fd = -1;
}

int vhxl_tap_inject(struct vhxl_tap *t, const void *frame, size_t len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_ifindex = t->ifindex,
		.sll_halen = ETH_ALEN,
	};
	ssize_t r;

	memcpy(sll.sll_addr, frame, ETH_ALEN);
	r = sendto(t->pkt, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll));
	if (r < 0)
		return -errno;
	return r == (ssize_t)len ? 0 : -EIO;
}

ssize_t vhxl_tap_recv(struct vhxl_tap *t, void *buf, size_t cap, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = t->pkt, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		long long left = deadline - now_ms();
		ssize_t r;

		if (left < 0)
			left = 0;
		if (poll(&p, 1, (int)left) <= 0)
			return -ETIMEDOUT;
		r = recvfrom(t->pkt, buf, cap, MSG_TRUNC | MSG_DONTWAIT,
			     (struct sockaddr *)&from, &fl);
		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				continue;
			return -errno;
		}
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;
		return r;
	}
}

int vhxl_tap_drain(struct vhxl_tap *t, int quiet_ms)
{
	static char sink[65536 + 64];
	int n = 0;

	while (vhxl_tap_recv(t, sink, sizeof(sink), quiet_ms) >= 0)
		n++;
	return n;
}

static const uint8_t vhxl_dst[6] = { 0x02, 0x00, 0x76, 0x68, 0x78, 0x02 };
static const uint8_t vhxl_src[6] = { 0x02, 0x00, 0x76, 0x68, 0x78, 0x01 };

static uint8_t pattern(uint32_t seq, size_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + (i >> 8) * 13u + 0x5a);
}

void vhxl_make_frame(void *buf, size_t len, uint32_t seq)
{
	uint8_t *b = buf;
	size_t i;

	memcpy(b, vhxl_dst, 6);
	memcpy(b + 6, vhxl_src, 6);
	b[12] = 0x88;
	b[13] = 0xb5;
	for (i = 14; i < len && i < 18; i++)
		b[i] = (uint8_t)(seq >> (8 * (17 - i)));
	for (i = 18; i < len; i++)
		b[i] = pattern(seq, i);
}

uint32_t vhxl_frame_seq(const void *buf)
{
	const uint8_t *b = buf;

	return (uint32_t)b[14] << 24 | (uint32_t)b[15] << 16 |
	       (uint32_t)b[16] << 8 | b[17];
}

size_t vhxl_check_frame(const void *buf, size_t len, uint32_t seq)
{
	const uint8_t *b = buf;
	uint8_t ref[18];
	size_t i;

	vhxl_make_frame(ref, sizeof(ref), seq);
	for (i = 0; i < len && i < 18; i++)
		if (b[i] != ref[i])
			return i + 1;
	for (i = 18; i < len; i++)
		if (b[i] != pattern(seq, i))
			return i + 1;
	return 0;
}
