// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_features - print the features a vhost-net device offers (helper of
 * the *_test.sh scripts; not a test itself).
 *
 * Opens $VHX_DEV (or /dev/vhost-net, or the path given), issues
 * VHOST_GET_FEATURES and prints the mask in hex.  With -b BIT, prints
 * nothing and exits 0 if BIT is offered, 1 if not.  Exit 2 on errors.
 *
 * usage: vhx_features [-b BIT] [DEVICE]
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/vhost.h>

int main(int argc, char **argv)
{
	const char *path = getenv("VHX_DEV");
	uint64_t f = 0;
	int bit = -1, fd, i = 1;

	if (argc > 2 && !strcmp(argv[1], "-b")) {
		bit = atoi(argv[2]);
		i = 3;
	}
	if (i < argc)
		path = argv[i];
	if (!path || !*path)
		path = "/dev/vhost-net";
	fd = open(path, O_RDWR);
	if (fd < 0 || ioctl(fd, VHOST_GET_FEATURES, &f) < 0) {
		fprintf(stderr, "vhx_features: %s: %s\n", path, strerror(errno));
		return 2;
	}
	close(fd);
	if (bit >= 0)
		return bit < 64 && (f >> bit) & 1 ? 0 : 1;
	printf("0x%llx\n", (unsigned long long)f);
	return 0;
}
