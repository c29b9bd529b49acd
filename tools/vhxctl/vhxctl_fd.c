// SPDX-License-Identifier: GPL-2.0
/*
 * vhxctl_fd.c - the counters without debugfs (absent, or locked down on a
 * Secure Boot host): every /dev/vhost-net, /dev/vhost-blk, /dev/vhost-vsock or /dev/vhx-*
 * open in any process is copied with pidfd_getfd() (root, or ptrace rights
 * over its holder) and asked VHX_GET_QUEUE_STATS for each queue; the
 * answers become the lines debugfs would show.  Devices without an owner
 * are left out, as debugfs leaves them out.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/vhx.h>

#include "vhxctl.h"

/* The strings of lines built from the devices' fds (load_fds()). */
static char *owned[MAX_LINES * MAX_KV];
static int nowned;

static void add_kv(struct line *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void add_kv(struct line *l, const char *key, const char *fmt, ...)
{
	va_list ap;
	char *v;

	if (l->nkv >= MAX_KV || nowned >= MAX_LINES * MAX_KV)
		return;
	va_start(ap, fmt);
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	if (!v)
		return;
	owned[nowned++] = v;
	l->key[l->nkv] = (char *)key;
	l->val[l->nkv] = v;
	l->nkv++;
}

/* Is the fd link @target a vhx device node? */
static bool is_vhx_node(const char *target)
{
	return !strcmp(target, "/dev/vhost-net") ||
	       !strcmp(target, "/dev/vhost-blk") ||
	       !strcmp(target, "/dev/vhost-vsock") ||
	       !strncmp(target, "/dev/vhx", 8);
}

/* The lines of one device, from a copy of its fd; 0 if it has no owner. */
static int add_device(int fd, unsigned *seen, int *nseen)
{
	struct vhx_queue_stats st = { .index = 0 };
	struct line *d;
	unsigned i;

	if (ioctl(fd, VHX_GET_QUEUE_STATS, &st) || !(st.flags & VHX_QSTATS_F_OWNED))
		return 0;
	for (int k = 0; k < *nseen; k++)
		if (seen[k] == st.dev_id)
			return 0;	/* another fd of the same device */
	if (*nseen < MAX_LINES)
		seen[(*nseen)++] = st.dev_id;
	if (nlines + 1 + (int)st.nvqs > MAX_LINES)
		return 0;
	d = &lines[nlines++];
	memset(d, 0, sizeof(*d));
	d->is_dev = true;
	add_kv(d, "id", "%u", st.dev_id);
	add_kv(d, "kind", "%s", st.kind);
	add_kv(d, "owner", "%d", st.owner_pid);
	add_kv(d, "worker", "%d", st.worker_pid);
	add_kv(d, "features", "0x%llx", (unsigned long long)st.features);
	add_kv(d, "backend_features", "0x%llx",
	       (unsigned long long)st.backend_features);
	add_kv(d, "iotlb", "%d", !!(st.flags & VHX_QSTATS_F_IOTLB));
	add_kv(d, "nvqs", "%u", st.nvqs);
	for (i = 0; i < st.nvqs; i++) {
		struct line *q = &lines[nlines];

		memset(&st, 0, sizeof(st));
		st.index = i;
		if (ioctl(fd, VHX_GET_QUEUE_STATS, &st))
			break;
		nlines++;
		memset(q, 0, sizeof(*q));
		add_kv(q, "dev", "%u", st.dev_id);
		add_kv(q, "idx", "%u", i);
		add_kv(q, "name", "%s", st.name);
		add_kv(q, "num", "%u", st.num);
		add_kv(q, "backend", "%s", st.backend);
		if (st.flags & VHX_QSTATS_F_BLK) {
			add_kv(q, "inflight", "%llu", (unsigned long long)st.blk_inflight);
			add_kv(q, "punted", "%llu", (unsigned long long)st.blk_punted);
			add_kv(q, "bounced", "%llu", (unsigned long long)st.blk_bounced);
		}
		if (st.flags & VHX_QSTATS_F_VSOCK) {
			add_kv(q, "conns", "%llu", (unsigned long long)st.vsock_conns);
			add_kv(q, "rsts", "%llu", (unsigned long long)st.vsock_rsts);
			add_kv(q, "credit_requests", "%llu",
			       (unsigned long long)st.vsock_credit_requests);
			add_kv(q, "g2g", "%llu", (unsigned long long)st.vsock_g2g);
			add_kv(q, "drops", "%llu", (unsigned long long)st.vsock_drops);
		}
		add_kv(q, "broken", "%d", !!(st.flags & VHX_QSTATS_F_BROKEN));
		add_kv(q, "last_avail", "%u", st.last_avail);
		add_kv(q, "last_used", "%u", st.last_used);
		add_kv(q, "layout", "%s", st.flags & VHX_QSTATS_F_PACKED ?
		       "packed" : "split");
		add_kv(q, "packets", "%llu", (unsigned long long)st.packets);
		add_kv(q, "bytes", "%llu", (unsigned long long)st.bytes);
		add_kv(q, "kicks", "%llu", (unsigned long long)st.kicks);
		add_kv(q, "calls", "%llu", (unsigned long long)st.calls);
		add_kv(q, "runs", "%llu", (unsigned long long)st.runs);
		add_kv(q, "requeues", "%llu", (unsigned long long)st.requeues);
		add_kv(q, "errors", "%llu", (unsigned long long)st.errors);
		add_kv(q, "iotlb_misses", "%llu", (unsigned long long)st.iotlb_misses);
		add_kv(q, "worker", "%d", st.worker_pid);
	}
	return 1;
}

/*
 * The same lines as load() makes, from the devices themselves: each vhx
 * node open in any process, through a pidfd_getfd() copy of its fd.
 */
int load_fds(void)
{
	static unsigned seen[MAX_LINES];
	int nseen = 0;
	struct dirent *p, *f;
	DIR *proc, *fds;

	while (nowned)
		free(owned[--nowned]);
	nlines = 0;
	proc = opendir("/proc");
	if (!proc) {
		fprintf(stderr, "vhxctl: /proc: %s\n", strerror(errno));
		return -1;
	}
	while ((p = readdir(proc))) {
		char dir[300];
		int pidfd;

		if (p->d_name[0] < '1' || p->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/fd", p->d_name);
		fds = opendir(dir);
		if (!fds)
			continue;
		pidfd = -1;
		while ((f = readdir(fds))) {
			char link[600], target[64];
			ssize_t n;
			int fd;

			if (f->d_name[0] < '0' || f->d_name[0] > '9')
				continue;
			snprintf(link, sizeof(link), "%s/%s", dir, f->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			if (n <= 0)
				continue;
			target[n] = 0;
			if (!is_vhx_node(target))
				continue;
			if (pidfd < 0)
				pidfd = syscall(SYS_pidfd_open, atoi(p->d_name), 0);
			if (pidfd < 0)
				break;
			fd = syscall(SYS_pidfd_getfd, pidfd, atoi(f->d_name), 0);
			if (fd < 0)
				continue;
			add_device(fd, seen, &nseen);
			close(fd);
		}
		if (pidfd >= 0)
			close(pidfd);
		closedir(fds);
	}
	closedir(proc);
	return 0;
}
