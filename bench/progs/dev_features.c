// SPDX-License-Identifier: GPL-2.0
/*
 * dev_features - print what a vhost-net device offers (VHOST_GET_FEATURES)
 * as "features 0x..." and, with -b BIT, exit 0 iff bit BIT is offered
 * (make bench: are packed rings, bit 34, there to measure?).
 *
 *   usage: dev_features [-b BIT] PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vhost.h>

int main(int argc, char **argv)
{
	unsigned long long features = 0;
	int opt, fd, bit = -1;

	while ((opt = getopt(argc, argv, "b:")) != -1) {
		if (opt != 'b') {
			fprintf(stderr, "usage: dev_features [-b BIT] PATH\n");
			return 2;
		}
		bit = atoi(optarg);
	}
	if (optind != argc - 1 || bit > 63) {
		fprintf(stderr, "usage: dev_features [-b BIT] PATH\n");
		return 2;
	}
	fd = open(argv[optind], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "dev_features: %s: %s\n", argv[optind], strerror(errno));
		return 2;
	}
	/* GET_FEATURES needs no owner. */
	if (ioctl(fd, VHOST_GET_FEATURES, &features) < 0) {
		fprintf(stderr, "dev_features: VHOST_GET_FEATURES: %s\n", strerror(errno));
		return 2;
	}
	close(fd);
	printf("features 0x%llx\n", features);
	if (bit >= 0)
		return (features >> bit) & 1 ? 0 : 1;
	return 0;
}
