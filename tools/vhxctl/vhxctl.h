/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vhxctl.h - what vhxctl's two sources of counters fill: the devices as
 * lines of key=value pairs, one "dev" line then one line per queue, as
 * debugfs's vhx/devices shows them (vhxctl.c reads that file; vhxctl_fd.c
 * builds the same lines from the devices' own fds).
 */
#ifndef VHXCTL_H
#define VHXCTL_H

#include <stdbool.h>

#define MAX_KV 32
#define MAX_LINES 4096

struct line {
	bool is_dev;
	int nkv;
	char *key[MAX_KV];
	char *val[MAX_KV];
};

extern struct line lines[MAX_LINES];
extern int nlines;

/* Fill lines from every open vhx device node (VHX_GET_QUEUE_STATS). */
int load_fds(void);

#endif /* VHXCTL_H */
