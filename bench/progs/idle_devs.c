// SPDX-License-Identifier: GPL-2.0
/*
 * idle_devs - the "idle cost" workload of make bench: open N vhost-net
 * devices, own them and set both rings up (memory table, VRING_NUM/BASE/ADDR,
 * KICK, CALL, ERR) with a tap backend attached, and move no traffic.
 *
 *   usage: idle_devs [-n N] [-q QSIZE] PATH
 *
 * Phases, each ended by a line on stdin, so the caller can sample
 * /proc/meminfo and the thread count in between:
 *   1. N taps created (IFF_VNET_HDR, header 12)   -> prints "taps N"
 *   2. N devices on PATH owned, rings set, backend -> prints "ready N"
 *   3. everything closed                           -> exit 0
 * Errors go to stderr as "idle_devs: ..." and exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vhxlib.h"

#define FEATURES (VHX_BIT(VIRTIO_F_VERSION_1) | VHX_BIT(VIRTIO_NET_F_MRG_RXBUF) | \
		  VHX_BIT(VIRTIO_RING_F_INDIRECT_DESC))

static void wait_line(void)
{
	char buf[64];

	if (!fgets(buf, sizeof(buf), stdin))
		exit(0);
}

static int setup_dev(struct vhxl_dev *d, struct vhxl_mem *m, unsigned int num,
		     int tap_fd)
{
	struct vhxl_vq_cfg c = { .num = num };
	int r;

	r = vhxl_dev_open(d, m);
	if (!r)
		r = vhxl_dev_set_features(d, FEATURES);
	if (!r)
		r = vhxl_dev_set_mem(d);
	if (!r)
		r = vhxl_vq_setup(d, VHX_RX, &c);
	if (!r)
		r = vhxl_vq_setup(d, VHX_TX, &c);
	if (!r)
		r = vhxl_set_backend(d, VHX_RX, tap_fd);
	if (!r)
		r = vhxl_set_backend(d, VHX_TX, tap_fd);
	return r;
}

int main(int argc, char **argv)
{
	unsigned int n = 64, num = 256, i;
	struct vhxl_tap *taps;
	struct vhxl_dev *devs;
	struct vhxl_mem mem;
	int opt, r;

	while ((opt = getopt(argc, argv, "n:q:")) != -1) {
		switch (opt) {
		case 'n':
			n = strtoul(optarg, NULL, 0);
			break;
		case 'q':
			num = strtoul(optarg, NULL, 0);
			break;
		default:
			fprintf(stderr, "usage: idle_devs [-n N] [-q QSIZE] PATH\n");
			return 2;
		}
	}
	if (optind != argc - 1 || !n || num & (num - 1)) {
		fprintf(stderr, "usage: idle_devs [-n N] [-q QSIZE(power of 2)] PATH\n");
		return 2;
	}
	setenv("VHX_DEV", argv[optind], 1);
	setvbuf(stdout, NULL, _IOLBF, 0);

	taps = calloc(n, sizeof(*taps));
	devs = calloc(n, sizeof(*devs));
	if (!taps || !devs)
		return 1;
	/* Rings of every device in one shared mapping: 3 areas per vq. */
	r = vhxl_mem_init(&mem, (size_t)n * 2 * 3 * ((16 * num + 4095) & ~4095UL) +
			 64 * VHX_PAGE, 1, true, 0);
	if (r) {
		fprintf(stderr, "idle_devs: guest memory: %s\n", strerror(-r));
		return 1;
	}
	for (i = 0; i < n; i++) {
		r = vhxl_tap_open(&taps[i], 12, 0);
		if (r) {
			fprintf(stderr, "idle_devs: tap %u: %s\n", i, strerror(-r));
			return 1;
		}
	}
	printf("taps %u\n", n);
	wait_line();

	for (i = 0; i < n; i++) {
		r = setup_dev(&devs[i], &mem, num, taps[i].fd);
		if (r) {
			fprintf(stderr, "idle_devs: device %u on %s: %s\n", i,
				argv[optind], strerror(-r));
			return 1;
		}
	}
	printf("ready %u\n", n);
	wait_line();

	for (i = 0; i < n; i++)
		vhxl_dev_close(&devs[i]);
	for (i = 0; i < n; i++)
		vhxl_tap_close(&taps[i]);
	vhxl_mem_fini(&mem);
	return 0;
}
