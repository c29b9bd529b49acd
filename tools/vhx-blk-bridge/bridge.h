/* SPDX-License-Identifier: GPL-2.0 */
/*
 * bridge.h - what vhx-blk-bridge's files share: its state (options and
 * backend, the client connection and its queues), logging, and the calls
 * between the vhost-user side (vhost-user.c), the /dev/vhost-blk side
 * (vhost-blk.c) and main (vhx-blk-bridge.c).
 */
#ifndef VHX_BLK_BRIDGE_H
#define VHX_BLK_BRIDGE_H

#include "../lib/vhxblk_cfg.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>

#define BIT(n) (1ULL << (n))
#define MAX_QUEUES 64		/* the kernel's GET_INFO num_queues bounds it too */

/* ------------------------------------------------------------------ state */

/* Options, the backend and what the kernel offers: set up by main(). */
struct vhxb_globals {
	const char *socket;
	const char *backend;
	const char *device;
	const char *serial;
	const char *eal_extra;
	bool readonly, direct, once, no_lock;
	int verbose;
	unsigned queues;		/* offered to QEMU (GET_QUEUE_NUM, config) */
	int backend_fd;
	struct stat backend_st;
	struct vhx_blk_info info;	/* GET_INFO of the backend */
	uint64_t kfeatures;		/* VHOST_GET_FEATURES of the kernel */
	uint64_t features;		/* virtio feature bits offered to QEMU */
	struct virtio_blk_config cfg;	/* what GET_CONFIG answers */
	cpu_set_t cpus;			/* affinity at start, for the kernel workers */
	pthread_t main_thread;
	struct timespec t0;
};

struct bq {
	bool ready;		/* librte_vhost: configured and enabled */
	bool running;		/* backend attached in the kernel */
	bool quiesced;		/* stopped for a memory/log/ring change, to restart */
	uint32_t addr_flags;	/* SET_VRING_ADDR flags (VHOST_VRING_F_LOG) */
	int err_fd;		/* QEMU's error eventfd, or -1 */
	unsigned long starts;
};

/* The one client connection (vhost-user.c), under vhxb_lock. */
struct conn {
	int vid;		/* -1: no client */
	int kfd;		/* /dev/vhost-blk of the running device, or -1 */
	bool started;		/* new_device done, kernel device set up */
	bool broken;		/* a setup step failed: refuse further messages */
	uint64_t features;	/* negotiated (incl. protocol bit) */
	unsigned nvr;		/* vrings the client configured */
	unsigned long devices;	/* new_device count on this connection */
	struct bq q[MAX_QUEUES];
};

extern struct vhxb_globals vhxb_g;
extern struct conn vhxb_conn;
extern pthread_mutex_t vhxb_lock;

/* ------------------------------------------------------------------ logging */

void vhxb_logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define LOG(...) vhxb_logmsg(0, __VA_ARGS__)
#define DBG(...) vhxb_logmsg(1, __VA_ARGS__)
#define TRACE(...) vhxb_logmsg(2, __VA_ARGS__)

/* ------------------------------------------- vhost-blk.c: the kernel side */

/*
 * All under vhxb_lock but vhxb_probe_kernel (at start).  Those returning int
 * return 0 or -errno.
 */
int vhxb_kioctl(unsigned long req, void *arg, const char *what, int q);
int vhxb_queue_start(unsigned q);
int vhxb_queue_stop(unsigned q);
void vhxb_dev_stop(const char *why);
int vhxb_set_mem_table(void);
int vhxb_set_log_base(void);
int vhxb_set_kernel_features(uint64_t negotiated);
int vhxb_dev_start(void);
void vhxb_quiesce(const char *why);
int vhxb_resume(void);
bool vhxb_any_quiesced(void);
/* Open the device, GET_FEATURES and GET_INFO of the backend: -1 on failure. */
int vhxb_probe_kernel(void);

/* ------------------------------------------ vhost-user.c: the client side */

/* Serve vhost-user on @path with librte_vhost: 0, or -1 on failure. */
int vhxb_vu_start(const char *path);

#endif
