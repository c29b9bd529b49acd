// SPDX-License-Identifier: GPL-2.0
/*
 * vhx-blk-bridge - serve QEMU's vhost-user-blk with the in-kernel
 * /dev/vhost-blk data plane.
 *
 *   QEMU -device vhost-user-blk-pci ── unix socket ── vhx-blk-bridge
 *     (guest RAM: memfd, share=on)                     │ control plane only
 *                                                      ▼
 *                          /dev/vhost-blk (vhx_blk.ko): one kernel worker per
 *                          queue reads the rings and does the I/O on --backend
 *
 * The vhost-user protocol is DPDK's librte_vhost: it accepts the
 * connection, maps the guest memory QEMU shares, and tracks rings, kick and
 * call eventfds and ring bases.  librte_vhost never polls the kick fds nor
 * touches the rings by itself (that is the application's data path, which
 * here is the kernel), so the bridge only has to:
 *   - answer GET_CONFIG (and GET_QUEUE_NUM) from VHX_BLK_GET_INFO, in an
 *     external pre-message handler, and refuse what it does not implement;
 *   - on new_device: open /dev/vhost-blk, SET_OWNER, SET_FEATURES (the
 *     negotiated bits the kernel knows), SET_MEM_TABLE (GPA -> the bridge's
 *     own mapping of guest RAM), and per queue NUM, BASE, ADDR (the bridge's
 *     addresses of the rings), KICK, CALL, ERR, VHX_BLK_SET_BACKEND, a kick;
 *   - when a queue is disabled or the device stops (GET_VRING_BASE,
 *     disconnect, RESET_OWNER): VHX_BLK_SET_BACKEND -1 (drains the requests
 *     in flight), VHOST_GET_VRING_BASE, and hand that index to librte_vhost
 *     (rte_vhost_set_vring_base) before it answers QEMU;
 *   - dirty logging: SET_LOG_BASE (shared log memfd) -> VHOST_SET_LOG_BASE,
 *     LOG_ALL through features_changed, ring log flags through SET_VRING_ADDR.
 * Everything that changes memory under a running queue (SET_MEM_TABLE,
 * SET_LOG_BASE, SET_VRING_ADDR) first stops the queues in the kernel.
 *
 * This file: options, the backend, EAL, main.  vhost-user.c: the messages
 * and librte_vhost's callbacks; vhost-blk.c: the kernel device; bridge.h:
 * what they share.
 */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_log.h>
#include <rte_vhost.h>

struct vhxb_globals vhxb_g = { .device = "/dev/vhost-blk", .backend_fd = -1 };

/* ------------------------------------------------------------------ logging */

void vhxb_logmsg(int level, const char *fmt, ...)
{
	struct timespec ts;
	va_list ap;
	char buf[512];

	if (level > vhxb_g.verbose)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vhx-blk-bridge[%.3f]: %s\n",
		(double)(ts.tv_sec - vhxb_g.t0.tv_sec) + (ts.tv_nsec - vhxb_g.t0.tv_nsec) / 1e9, buf);
}

/* ------------------------------------------------------------------- setup */

static void usage(FILE *f)
{
	fprintf(f,
"usage: vhx-blk-bridge --socket PATH --backend FILE|BLOCKDEV [options]\n"
"Serves QEMU's vhost-user-blk (control plane) with the in-kernel data plane\n"
"of /dev/vhost-blk: the guest's requests are processed by kernel workers.\n"
"\n"
"  -s, --socket PATH     vhost-user socket to listen on (QEMU: -chardev socket,path=PATH)\n"
"  -b, --backend PATH    regular file or block device the guest sees\n"
"  -r, --readonly        open it read-only (the guest sees VIRTIO_BLK_F_RO)\n"
"  -d, --direct          open it O_DIRECT (no host page cache)\n"
"  -S, --serial STR      what VIRTIO_BLK_T_GET_ID returns (20 bytes at most)\n"
"  -q, --queues N        queues offered (default: the kernel's, VHX_BLK_GET_INFO)\n"
"  -D, --device PATH     vhost-blk node (default /dev/vhost-blk)\n"
"  -1, --once            exit when the first client disconnects\n"
"      --no-lock         do not lock the backend (O_EXCL, flock): for the second\n"
"                        bridge of a live migration on one host\n"
"  -v, --verbose         more log (twice: every vhost-user message)\n"
"      --eal ARGS        extra DPDK EAL arguments (space separated)\n"
"  -h, --help\n"
"\n"
"QEMU side (guest RAM must be shared):\n"
"  -object memory-backend-memfd,id=mem,size=512M,share=on -machine memory-backend=mem\n"
"  -chardev socket,id=vb0,path=PATH[,reconnect=1]\n"
"  -device vhost-user-blk-pci,chardev=vb0,num-queues=2\n"
"The bridge survives its clients: a new QEMU (or a reconnecting one) is served\n"
"again; one client at a time.  SIGINT/SIGTERM stop it cleanly.\n");
}

static int open_backend(void)
{
	int flags = (vhxb_g.readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (vhxb_g.direct ? O_DIRECT : 0);
	struct stat st;

	if (!vhxb_g.no_lock && stat(vhxb_g.backend, &st) == 0 && S_ISBLK(st.st_mode))
		flags |= O_EXCL;	/* no mount of it while a guest owns it */
	vhxb_g.backend_fd = open(vhxb_g.backend, flags);
	if (vhxb_g.backend_fd < 0) {
		LOG("open %s: %s", vhxb_g.backend, strerror(errno));
		return -1;
	}
	if (fstat(vhxb_g.backend_fd, &vhxb_g.backend_st) < 0 ||
	    (!S_ISREG(vhxb_g.backend_st.st_mode) && !S_ISBLK(vhxb_g.backend_st.st_mode))) {
		LOG("%s: not a regular file or block device", vhxb_g.backend);
		return -1;
	}
	if (!vhxb_g.no_lock &&
	    flock(vhxb_g.backend_fd, (vhxb_g.readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
		LOG("%s: in use by another bridge (flock: %s)", vhxb_g.backend, strerror(errno));
		return -1;
	}
	return 0;
}

static int eal_init(const char *prog)
{
	char prefix[64], *extra = NULL, *tok, *save = NULL;
	char *argv[64];
	int argc = 0, r;

	snprintf(prefix, sizeof(prefix), "--file-prefix=vhx-blk-bridge-%d", (int)getpid());
	argv[argc++] = (char *)prog;
	argv[argc++] = "--no-huge";
	argv[argc++] = "--no-pci";
	argv[argc++] = "--no-shconf";
	argv[argc++] = "--no-telemetry";
	argv[argc++] = "--iova-mode=va";
	argv[argc++] = "-m";
	argv[argc++] = "64";
	argv[argc++] = "-l";
	argv[argc++] = "0";
	argv[argc++] = prefix;
	argv[argc++] = vhxb_g.verbose >= 2 ? "--log-level=lib.vhost.*:info" :
					"--log-level=lib.vhost.*:warning";
	argv[argc++] = vhxb_g.verbose >= 2 ? "--log-level=lib.eal:info" : "--log-level=lib.eal:error";
	if (vhxb_g.eal_extra) {
		extra = strdup(vhxb_g.eal_extra);
		for (tok = strtok_r(extra, " ", &save); tok && argc < 62;
		     tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
	}
	argv[argc] = NULL;
	r = rte_eal_init(argc, argv);
	if (r < 0) {
		LOG("rte_eal_init failed: %s", rte_strerror(rte_errno));
		return -1;
	}
	rte_openlog_stream(stderr);
	/* EAL pinned this thread to lcore 0; the bridge is not a poller. */
	pthread_setaffinity_np(pthread_self(), sizeof(vhxb_g.cpus), &vhxb_g.cpus);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, NULL, 's' }, { "backend", 1, NULL, 'b' }, { "readonly", 0, NULL, 'r' },
		{ "direct", 0, NULL, 'd' }, { "serial", 1, NULL, 'S' }, { "queues", 1, NULL, 'q' },
		{ "device", 1, NULL, 'D' }, { "once", 0, NULL, '1' }, { "verbose", 0, NULL, 'v' },
		{ "eal", 1, NULL, 'E' }, { "no-lock", 0, NULL, 'L' }, { "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct stat st;
	sigset_t set;
	int c, sig;

	clock_gettime(CLOCK_MONOTONIC, &vhxb_g.t0);
	while ((c = getopt_long(argc, argv, "s:b:rdS:q:D:1vh", lo, NULL)) != -1) {
		switch (c) {
		case 's': vhxb_g.socket = optarg; break;
		case 'b': vhxb_g.backend = optarg; break;
		case 'r': vhxb_g.readonly = true; break;
		case 'd': vhxb_g.direct = true; break;
		case 'S':
			if (strlen(optarg) > VHX_BLK_SERIAL_BYTES) {
				fprintf(stderr, "vhx-blk-bridge: --serial: at most %d bytes\n",
					VHX_BLK_SERIAL_BYTES);
				return 2;
			}
			vhxb_g.serial = optarg;
			break;
		case 'q':
			vhxb_g.queues = (unsigned)atoi(optarg);
			if (!vhxb_g.queues || vhxb_g.queues > MAX_QUEUES) {
				fprintf(stderr, "vhx-blk-bridge: --queues: 1..%d\n", MAX_QUEUES);
				return 2;
			}
			break;
		case 'D': vhxb_g.device = optarg; break;
		case '1': vhxb_g.once = true; break;
		case 'v': vhxb_g.verbose++; break;
		case 'E': vhxb_g.eal_extra = optarg; break;
		case 'L': vhxb_g.no_lock = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!vhxb_g.socket || !vhxb_g.backend || optind != argc) {
		usage(stderr);
		return 2;
	}
	sched_getaffinity(0, sizeof(vhxb_g.cpus), &vhxb_g.cpus);
	vhxb_g.main_thread = pthread_self();
	/* Signals go to the main thread's sigwait(), also for DPDK's threads. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (open_backend() || vhxb_probe_kernel())
		return 1;
	if (eal_init(argv[0]))
		return 1;
	if (lstat(vhxb_g.socket, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			LOG("%s exists and is not a socket", vhxb_g.socket);
			return 1;
		}
		unlink(vhxb_g.socket);	/* stale, from a bridge that died */
	}
	if (vhxb_vu_start(vhxb_g.socket)) {
		LOG("cannot serve vhost-user on %s", vhxb_g.socket);
		return 1;
	}
	LOG("listening on %s (backend %s%s%s, %u queue%s)", vhxb_g.socket, vhxb_g.backend,
	    vhxb_g.readonly ? ", read-only" : "", vhxb_g.direct ? ", O_DIRECT" : "", vhxb_g.queues,
	    vhxb_g.queues == 1 ? "" : "s");

	for (;;) {
		if (sigwait(&set, &sig))
			continue;
		if (sig == SIGHUP)
			continue;
		LOG("%s", sig == SIGUSR1 ? "client gone and --once: exiting" :
			  sig == SIGINT ? "SIGINT: exiting" : "SIGTERM: exiting");
		break;
	}
	/* Closes the connection: destroy_device/destroy_connection stop the
	 * kernel device first. */
	rte_vhost_driver_unregister(vhxb_g.socket);
	pthread_mutex_lock(&vhxb_lock);
	vhxb_dev_stop("bridge exiting");
	pthread_mutex_unlock(&vhxb_lock);
	unlink(vhxb_g.socket);
	close(vhxb_g.backend_fd);
	rte_eal_cleanup();
	return 0;
}
