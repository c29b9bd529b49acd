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
 */
#define _GNU_SOURCE
#include "../lib/vhxblk_cfg.h"

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

#define BIT(n) (1ULL << (n))
#define MAX_QUEUES 64		/* the kernel's GET_INFO num_queues bounds it too */

/* ---------------------------------------------------------------- vhost-user */

/* Requests (docs/interop/vhost-user.rst, "Front-end message types"). */
enum {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
};

#define VU_F_PROTOCOL_FEATURES	30	/* feature bit: protocol features exist */
#define VU_PF_MQ		0
#define VU_PF_LOG_SHMFD		1
#define VU_PF_REPLY_ACK		3
#define VU_PF_CONFIG		9
#define VU_VRING_IDX_MASK	0xffu
#define VU_VRING_NOFD		(1u << 8)
#define VU_MAX_CONFIG		256
#define VU_MAX_FDS		8
#define VU_CONFIG_HDR		12	/* offset, size, flags */

/*
 * A message as librte_vhost passes it to external handlers: the spec's
 * header and payload (the payload union is sized by DPDK's largest member,
 * 632 bytes), followed by the file descriptors that came with it (DPDK's
 * struct vhu_msg_context, which its vhost_user.h keeps stable "as external
 * message handlers rely on them").
 */
struct vu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vhost_vring_state state;
		struct vhost_vring_addr addr;
		struct {
			uint64_t mmap_size;
			uint64_t mmap_offset;
		} log;
		struct {
			uint32_t offset;
			uint32_t size;
			uint32_t flags;
			uint8_t region[VU_MAX_CONFIG];
		} cfg;
		uint8_t raw[632];
	} payload;
	int fds[VU_MAX_FDS];
	int fd_num;
} __attribute__((packed));

_Static_assert(sizeof(struct vu_msg) == 12 + 632 + 4 * VU_MAX_FDS + 4,
	       "vu_msg must match librte_vhost's struct vhu_msg_context");

/* ------------------------------------------------------------------ state */

static struct {
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
} vhxb_g = { .device = "/dev/vhost-blk", .backend_fd = -1 };

struct bq {
	bool ready;		/* librte_vhost: configured and enabled */
	bool running;		/* backend attached in the kernel */
	bool quiesced;		/* stopped for a memory/log/ring change, to restart */
	uint32_t addr_flags;	/* SET_VRING_ADDR flags (VHOST_VRING_F_LOG) */
	int err_fd;		/* QEMU's error eventfd, or -1 */
	unsigned long starts;
};

static struct conn {
	int vid;		/* -1: no client */
	int kfd;		/* /dev/vhost-blk of the running device, or -1 */
	bool started;		/* new_device done, kernel device set up */
	bool broken;		/* a setup step failed: refuse further messages */
	uint64_t features;	/* negotiated (incl. protocol bit) */
	unsigned nvr;		/* vrings the client configured */
	unsigned long devices;	/* new_device count on this connection */
	struct bq q[MAX_QUEUES];
} vhxb_conn = { .vid = -1, .kfd = -1 };

static pthread_mutex_t vhxb_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_conns;

/* ------------------------------------------------------------------ logging */

static void vhxb_logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vhxb_logmsg(int level, const char *fmt, ...)
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

#define LOG(...) vhxb_logmsg(0, __VA_ARGS__)
#define DBG(...) vhxb_logmsg(1, __VA_ARGS__)
#define TRACE(...) vhxb_logmsg(2, __VA_ARGS__)

static int vhxb_kioctl(unsigned long req, void *arg, const char *what, int q)
{
	if (ioctl(vhxb_conn.kfd, req, arg) < 0) {
		int e = errno;

		if (q >= 0)
			LOG("queue %d: %s: %s", q, what, strerror(e));
		else
			LOG("%s: %s", what, strerror(e));
		return -e;
	}
	return 0;
}

/* ------------------------------------------------------------ kernel side */

static int vhxb_queue_start(unsigned q)
{
	struct rte_vhost_vring vr;
	struct vhost_vring_state st = { .index = q };
	struct vhost_vring_addr a = { .index = q };
	struct vhost_vring_file f = { .index = q };
	uint16_t last_avail, last_used;
	uint64_t one = 1;
	int r;

	if (rte_vhost_get_vhost_vring(vhxb_conn.vid, (uint16_t)q, &vr) ||
	    rte_vhost_get_vring_base(vhxb_conn.vid, (uint16_t)q, &last_avail, &last_used)) {
		LOG("queue %u: no ring state from librte_vhost", q);
		return -EINVAL;
	}
	if (!vr.desc || !vr.avail || !vr.used || vr.kickfd < 0) {
		/* Not mapped (yet): started when librte_vhost reports it ready. */
		DBG("queue %u: rings or kick eventfd not there yet (kickfd %d)", q, vr.kickfd);
		return 0;
	}
	st.num = vr.size;
	r = vhxb_kioctl(VHOST_SET_VRING_NUM, &st, "VHOST_SET_VRING_NUM", (int)q);
	if (r)
		return r;
	st.num = last_avail;
	r = vhxb_kioctl(VHOST_SET_VRING_BASE, &st, "VHOST_SET_VRING_BASE", (int)q);
	if (r)
		return r;
	a.desc_user_addr = (uint64_t)(uintptr_t)vr.desc;
	a.avail_user_addr = (uint64_t)(uintptr_t)vr.avail;
	a.used_user_addr = (uint64_t)(uintptr_t)vr.used;
	if ((vhxb_conn.q[q].addr_flags & (1u << VHOST_VRING_F_LOG)) && vr.log_guest_addr) {
		a.flags = 1u << VHOST_VRING_F_LOG;
		a.log_guest_addr = vr.log_guest_addr;
	}
	r = vhxb_kioctl(VHOST_SET_VRING_ADDR, &a, "VHOST_SET_VRING_ADDR", (int)q);
	if (r)
		return r;
	f.fd = vr.kickfd;
	r = vhxb_kioctl(VHOST_SET_VRING_KICK, &f, "VHOST_SET_VRING_KICK", (int)q);
	if (r)
		return r;
	f.fd = vr.callfd;	/* -1 (no call fd) clears */
	r = vhxb_kioctl(VHOST_SET_VRING_CALL, &f, "VHOST_SET_VRING_CALL", (int)q);
	if (r)
		return r;
	if (vhxb_conn.q[q].err_fd >= 0) {
		f.fd = vhxb_conn.q[q].err_fd;
		r = vhxb_kioctl(VHOST_SET_VRING_ERR, &f, "VHOST_SET_VRING_ERR", (int)q);
		if (r)
			return r;
	}
	f.fd = vhxb_g.backend_fd;
	r = vhxb_kioctl(VHX_BLK_SET_BACKEND, &f, "VHX_BLK_SET_BACKEND", (int)q);
	if (r)
		return r;
	vhxb_conn.q[q].running = true;
	vhxb_conn.q[q].starts++;
	/* Requests the guest made available while no backend was attached. */
	if (write(vr.kickfd, &one, sizeof(one)) != sizeof(one))
		DBG("queue %u: kick: %s", q, strerror(errno));
	DBG("queue %u: started in the kernel: size %u base %u, desc %p avail %p used %p%s, "
	    "kick %d call %d err %d", q, vr.size, last_avail, (void *)vr.desc, (void *)vr.avail,
	    (void *)vr.used, a.flags ? " +log" : "", vr.kickfd, vr.callfd, vhxb_conn.q[q].err_fd);
	return 0;
}

/* Detach (drains), read the kernel's ring base and give it to librte_vhost. */
static int vhxb_queue_stop(unsigned q)
{
	struct vhost_vring_file f = { .index = q, .fd = -1 };
	struct vhost_vring_state st = { .index = q };
	struct rte_vhost_vring vr;
	int r, r2;

	if (!vhxb_conn.q[q].running)
		return 0;
	vhxb_conn.q[q].running = false;
	r = vhxb_kioctl(VHX_BLK_SET_BACKEND, &f, "VHX_BLK_SET_BACKEND -1", (int)q);
	r2 = vhxb_kioctl(VHOST_GET_VRING_BASE, &st, "VHOST_GET_VRING_BASE", (int)q);
	if (r2)
		return r2;
	rte_vhost_set_vring_base(vhxb_conn.vid, (uint16_t)q, (uint16_t)st.num, (uint16_t)st.num);
	if (!rte_vhost_get_vhost_vring(vhxb_conn.vid, (uint16_t)q, &vr) && vr.used) {
		uint16_t used = __atomic_load_n(&vr.used->idx, __ATOMIC_ACQUIRE);

		if (used != (uint16_t)st.num)
			LOG("queue %u: after the drain the kernel's base is %u but used->idx is %u",
			    q, st.num, used);
	}
	DBG("queue %u: stopped in the kernel, base %u", q, st.num);
	return r;
}

static void vhxb_dev_stop(const char *why)
{
	unsigned q;

	if (!vhxb_conn.started && vhxb_conn.kfd < 0)
		return;
	for (q = 0; q < MAX_QUEUES; q++) {
		vhxb_queue_stop(q);
		vhxb_conn.q[q].quiesced = false;
	}
	if (vhxb_conn.kfd >= 0)
		close(vhxb_conn.kfd);	/* the release drains too */
	vhxb_conn.kfd = -1;
	vhxb_conn.started = false;
	LOG("device stopped (%s)", why);
}

static int vhxb_set_mem_table(void)
{
	struct rte_vhost_memory *mem = NULL;
	struct vhost_memory *km;
	uint32_t i;
	int r;

	if (rte_vhost_get_mem_table(vhxb_conn.vid, &mem) || !mem) {
		LOG("no memory table from librte_vhost");
		return -EINVAL;
	}
	km = calloc(1, sizeof(*km) + mem->nregions * sizeof(km->regions[0]));
	if (!km) {
		free(mem);
		return -ENOMEM;
	}
	km->nregions = mem->nregions;
	for (i = 0; i < mem->nregions; i++) {
		km->regions[i].guest_phys_addr = mem->regions[i].guest_phys_addr;
		km->regions[i].memory_size = mem->regions[i].size;
		km->regions[i].userspace_addr = mem->regions[i].host_user_addr;
		DBG("memory region %u: gpa 0x%" PRIx64 " size 0x%" PRIx64 " -> bridge va 0x%" PRIx64,
		    i, mem->regions[i].guest_phys_addr, mem->regions[i].size,
		    mem->regions[i].host_user_addr);
	}
	r = vhxb_kioctl(VHOST_SET_MEM_TABLE, km, "VHOST_SET_MEM_TABLE", -1);
	free(km);
	free(mem);
	return r;
}

static int vhxb_set_log_base(void)
{
	uint64_t base = 0, size = 0;

	if (rte_vhost_get_log_base(vhxb_conn.vid, &base, &size) || !base || !size)
		return 0;
	DBG("dirty log at 0x%" PRIx64 ", %" PRIu64 " bytes", base, size);
	return vhxb_kioctl(VHOST_SET_LOG_BASE, &base, "VHOST_SET_LOG_BASE", -1);
}

static int vhxb_set_kernel_features(uint64_t negotiated)
{
	uint64_t kf = negotiated & vhxb_g.kfeatures;

	return vhxb_kioctl(VHOST_SET_FEATURES, &kf, "VHOST_SET_FEATURES", -1);
}

static int vhxb_dev_start(void)
{
	struct vhx_blk_serial ser;
	unsigned q;
	int r, fd;

	if (rte_vhost_get_negotiated_features(vhxb_conn.vid, &vhxb_conn.features))
		return -EINVAL;
	vhxb_conn.nvr = rte_vhost_get_vring_num(vhxb_conn.vid);
	if (!vhxb_conn.nvr || vhxb_conn.nvr > vhxb_g.queues) {
		LOG("client configured %u queues, the bridge serves 1..%u", vhxb_conn.nvr, vhxb_g.queues);
		return -EINVAL;
	}
	/* The kernel workers inherit this thread's CPUs (vhost_task kernels). */
	pthread_setaffinity_np(pthread_self(), sizeof(vhxb_g.cpus), &vhxb_g.cpus);
	fd = open(vhxb_g.device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		LOG("open %s: %s", vhxb_g.device, strerror(errno));
		return r;
	}
	vhxb_conn.kfd = fd;
	r = vhxb_kioctl(VHOST_SET_OWNER, NULL, "VHOST_SET_OWNER", -1);
	memset(&ser, 0, sizeof(ser));
	if (!r && vhxb_g.serial) {
		memcpy(ser.id, vhxb_g.serial, strlen(vhxb_g.serial));	/* <= 20, checked */
		r = vhxb_kioctl(VHX_BLK_SET_SERIAL, &ser, "VHX_BLK_SET_SERIAL", -1);
	}
	if (!r)
		r = vhxb_set_kernel_features(vhxb_conn.features);
	if (!r)
		r = vhxb_set_mem_table();
	if (!r)
		r = vhxb_set_log_base();
	for (q = 0; !r && q < vhxb_conn.nvr; q++) {
		if (!vhxb_conn.q[q].ready)
			continue;
		r = vhxb_queue_start(q);
	}
	if (r) {
		vhxb_dev_stop("setup failed");
		return r;
	}
	vhxb_conn.started = true;
	vhxb_conn.devices++;
	LOG("device started: %u queue%s, features 0x%" PRIx64 " (kernel 0x%" PRIx64 ")",
	    vhxb_conn.nvr, vhxb_conn.nvr == 1 ? "" : "s", vhxb_conn.features,
	    vhxb_conn.features & vhxb_g.kfeatures);
	return 0;
}

/* Stop the running queues before librte_vhost remaps memory or the log. */
static void vhxb_quiesce(const char *why)
{
	unsigned q, n = 0;

	for (q = 0; q < MAX_QUEUES; q++) {
		if (!vhxb_conn.q[q].running)
			continue;
		vhxb_queue_stop(q);
		vhxb_conn.q[q].quiesced = true;
		n++;
	}
	if (n)
		DBG("%u queue%s stopped for %s", n, n == 1 ? "" : "s", why);
}

static int vhxb_resume(void)
{
	unsigned q;
	int r = 0;

	for (q = 0; q < MAX_QUEUES && !r; q++) {
		if (!vhxb_conn.q[q].quiesced)
			continue;
		vhxb_conn.q[q].quiesced = false;
		if (vhxb_conn.started && vhxb_conn.q[q].ready)
			r = vhxb_queue_start(q);
	}
	return r;
}

static bool vhxb_any_quiesced(void)
{
	unsigned q;

	for (q = 0; q < MAX_QUEUES; q++)
		if (vhxb_conn.q[q].quiesced)
			return true;
	return false;
}

/* ---------------------------------------------------------- DPDK callbacks */

static int cb_new_device(int vid)
{
	int r;

	pthread_mutex_lock(&vhxb_lock);
	if (vid != vhxb_conn.vid || vhxb_conn.broken) {
		pthread_mutex_unlock(&vhxb_lock);
		return -1;
	}
	r = vhxb_dev_start();
	if (r)
		vhxb_conn.broken = true;	/* the next message closes the connection */
	pthread_mutex_unlock(&vhxb_lock);
	return r ? -1 : 0;
}

static void cb_destroy_device(int vid)
{
	pthread_mutex_lock(&vhxb_lock);
	if (vid == vhxb_conn.vid)
		vhxb_dev_stop("stopped by the client");
	pthread_mutex_unlock(&vhxb_lock);
}

static int cb_vring_state_changed(int vid, uint16_t q, int enable)
{
	int r = 0;

	pthread_mutex_lock(&vhxb_lock);
	if (vid != vhxb_conn.vid || q >= MAX_QUEUES) {
		pthread_mutex_unlock(&vhxb_lock);
		return 0;
	}
	vhxb_conn.q[q].ready = !!enable;
	TRACE("queue %u: %s", q, enable ? "ready" : "not ready");
	if (vhxb_conn.started) {
		if (enable && !vhxb_conn.q[q].running && !vhxb_conn.q[q].quiesced)
			r = vhxb_queue_start(q);
		else if (!enable && vhxb_conn.q[q].running)
			r = vhxb_queue_stop(q);
		if (r)
			vhxb_conn.broken = true;
	}
	pthread_mutex_unlock(&vhxb_lock);
	return 0;
}

static int cb_features_changed(int vid, uint64_t features)
{
	pthread_mutex_lock(&vhxb_lock);
	if (vid == vhxb_conn.vid && vhxb_conn.started) {
		DBG("features changed to 0x%" PRIx64 " (dirty log %s)", features,
		    features & BIT(VHOST_F_LOG_ALL) ? "on" : "off");
		if (vhxb_set_kernel_features(features))
			vhxb_conn.broken = true;
		vhxb_conn.features = features;
	}
	pthread_mutex_unlock(&vhxb_lock);
	return 0;
}

static void close_msg_fds(struct vu_msg *m)
{
	int i, n = m->fd_num;

	if (n < 0 || n > VU_MAX_FDS)
		n = 0;
	for (i = 0; i < n; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->fd_num = 0;
}

/*
 * Refuse a message: librte_vhost then sends an error reply if the client
 * asked for one (REPLY_ACK), else closes the connection.  Its descriptors
 * are ours to close.
 */
static enum rte_vhost_msg_result reject(struct vu_msg *m, const char *why)
{
	LOG("refusing request %u (size %u): %s", m->request, m->size, why);
	close_msg_fds(m);
	return RTE_VHOST_MSG_RESULT_ERR;
}

static bool want_fds(const struct vu_msg *m, int n)
{
	return m->fd_num == n;
}

static enum rte_vhost_msg_result on_get_config(struct vu_msg *m)
{
	uint32_t off = m->payload.cfg.offset, len = m->payload.cfg.size;
	uint8_t full[VU_MAX_CONFIG] = { 0 };

	if (m->size < VU_CONFIG_HDR || m->size > VU_CONFIG_HDR + VU_MAX_CONFIG ||
	    len > VU_MAX_CONFIG || off > VU_MAX_CONFIG - len || !want_fds(m, 0))
		return reject(m, "malformed GET_CONFIG");
	memcpy(full, &vhxb_g.cfg, sizeof(vhxb_g.cfg));
	memset(m->payload.cfg.region, 0, sizeof(m->payload.cfg.region));
	memcpy(m->payload.cfg.region, full + off, len);
	m->size = VU_CONFIG_HDR + len;
	TRACE("GET_CONFIG offset %u size %u", off, len);
	return RTE_VHOST_MSG_RESULT_REPLY;
}

static enum rte_vhost_msg_result on_set_vring_err(struct vu_msg *m)
{
	unsigned q = (unsigned)(m->payload.u64 & VU_VRING_IDX_MASK);
	bool nofd = m->payload.u64 & VU_VRING_NOFD;
	struct vhost_vring_file f = { .index = q, .fd = -1 };

	if (m->size != sizeof(uint64_t) || q >= vhxb_g.queues || !want_fds(m, nofd ? 0 : 1))
		return reject(m, "malformed SET_VRING_ERR");
	if (vhxb_conn.q[q].err_fd >= 0)
		close(vhxb_conn.q[q].err_fd);
	vhxb_conn.q[q].err_fd = nofd ? -1 : m->fds[0];
	m->fd_num = 0;
	if (vhxb_conn.started && vhxb_conn.q[q].running) {
		f.fd = vhxb_conn.q[q].err_fd;
		vhxb_kioctl(VHOST_SET_VRING_ERR, &f, "VHOST_SET_VRING_ERR", (int)q);
	}
	return RTE_VHOST_MSG_RESULT_OK;
}

static enum rte_vhost_msg_result pre_msg(int vid, void *msg)
{
	struct vu_msg *m = msg;
	enum rte_vhost_msg_result res = RTE_VHOST_MSG_RESULT_NOT_HANDLED;
	unsigned q;

	pthread_mutex_lock(&vhxb_lock);
	if (vid != vhxb_conn.vid) {
		res = reject(m, "unknown connection");
		goto out;
	}
	if (vhxb_conn.broken) {
		res = reject(m, "the device failed to start earlier");
		goto out;
	}
	TRACE("request %u size %u flags 0x%x fds %d", m->request, m->size, m->flags, m->fd_num);
	if (vhxb_any_quiesced() && m->request != VU_SET_MEM_TABLE && m->request != VU_SET_LOG_BASE &&
	    vhxb_resume()) {
		vhxb_conn.broken = true;
		res = reject(m, "cannot restart the queues");
		goto out;
	}
	switch (m->request) {
	case VU_GET_CONFIG:
		res = on_get_config(m);
		break;
	case VU_SET_CONFIG:
		/* Nothing in the config space is writable (no CONFIG_WCE). */
		res = reject(m, "SET_CONFIG: the config space is read-only");
		break;
	case VU_GET_QUEUE_NUM:
		if (m->size != 0 && m->size != sizeof(uint64_t)) {
			res = reject(m, "malformed GET_QUEUE_NUM");
			break;
		}
		close_msg_fds(m);
		m->payload.u64 = vhxb_g.queues;
		m->size = sizeof(uint64_t);
		res = RTE_VHOST_MSG_RESULT_REPLY;
		break;
	case VU_SET_VRING_ERR:
		res = on_set_vring_err(m);
		break;
	case VU_SET_VRING_NUM:
	case VU_SET_VRING_BASE:
	case VU_GET_VRING_BASE:
	case VU_SET_VRING_ENABLE:
		q = m->payload.state.index;
		if (m->size != sizeof(m->payload.state) || q >= vhxb_g.queues) {
			res = reject(m, "bad vring index or size");
		} else if (m->request == VU_SET_VRING_NUM &&
			   (!m->payload.state.num || m->payload.state.num > 32768 ||
			    (m->payload.state.num & (m->payload.state.num - 1)))) {
			res = reject(m, "ring size not a power of two in 1..32768");
		} else if ((m->request == VU_SET_VRING_NUM || m->request == VU_SET_VRING_BASE) &&
			   vhxb_conn.q[q].running) {
			res = reject(m, "ring size or base changed while the queue runs");
		}
		break;
	case VU_SET_VRING_ADDR:
		q = m->payload.addr.index;
		if (m->size != sizeof(m->payload.addr) || q >= vhxb_g.queues) {
			res = reject(m, "bad SET_VRING_ADDR");
		} else if (m->payload.addr.flags & ~(1u << VHOST_VRING_F_LOG)) {
			res = reject(m, "unknown SET_VRING_ADDR flags");
		} else {
			vhxb_conn.q[q].addr_flags = m->payload.addr.flags;
			if (vhxb_conn.q[q].running) {	/* restarted with the new addresses after */
				vhxb_queue_stop(q);
				vhxb_conn.q[q].quiesced = true;
			}
		}
		break;
	case VU_SET_VRING_KICK:
	case VU_SET_VRING_CALL:
		q = (unsigned)(m->payload.u64 & VU_VRING_IDX_MASK);
		if (m->size != sizeof(uint64_t) || q >= vhxb_g.queues || (m->payload.u64 >> 9))
			res = reject(m, "bad vring index or flags");
		else if (m->request == VU_SET_VRING_KICK && (m->payload.u64 & VU_VRING_NOFD))
			res = reject(m, "polling mode (no kick eventfd) is not supported");
		break;
	case VU_SET_MEM_TABLE:
		vhxb_quiesce("a new memory table");
		break;
	case VU_SET_LOG_BASE:
		vhxb_quiesce("a new dirty log");
		break;
	case VU_SET_FEATURES:
		if (m->size == sizeof(uint64_t) &&
		    (m->payload.u64 & ~(vhxb_g.features | BIT(VU_F_PROTOCOL_FEATURES))))
			res = reject(m, "features not offered");
		break;
	case VU_GET_FEATURES:
	case VU_SET_OWNER:
	case VU_RESET_OWNER:
	case VU_GET_PROTOCOL_FEATURES:
	case VU_SET_PROTOCOL_FEATURES:
	case VU_SET_LOG_FD:
		break;
	default:
		res = reject(m, "not implemented by this device");
		break;
	}
out:
	pthread_mutex_unlock(&vhxb_lock);
	return res;
}

static enum rte_vhost_msg_result post_msg(int vid, void *msg)
{
	struct vu_msg *m = msg;
	int r = 0;

	pthread_mutex_lock(&vhxb_lock);
	if (vid != vhxb_conn.vid)
		goto out;
	switch (m->request) {
	case VU_SET_MEM_TABLE:
		if (vhxb_conn.started)
			r = vhxb_set_mem_table();
		if (!r)
			r = vhxb_resume();
		break;
	case VU_SET_LOG_BASE:
		if (vhxb_conn.started)
			r = vhxb_set_log_base();
		if (!r)
			r = vhxb_resume();
		break;
	case VU_SET_VRING_ADDR:
		r = vhxb_resume();
		break;
	default:
		break;
	}
	if (r)
		vhxb_conn.broken = true;
out:
	pthread_mutex_unlock(&vhxb_lock);
	return r ? RTE_VHOST_MSG_RESULT_ERR : RTE_VHOST_MSG_RESULT_NOT_HANDLED;
}

static const struct rte_vhost_user_extern_ops ext_ops = {
	.pre_msg_handle = pre_msg,
	.post_msg_handle = post_msg,
};

static int cb_new_connection(int vid)
{
	char ifname[128] = "";
	unsigned q;

	pthread_mutex_lock(&vhxb_lock);
	if (vhxb_conn.vid >= 0) {
		pthread_mutex_unlock(&vhxb_lock);
		LOG("refusing a second client (vid %d) while vid %d is connected", vid, vhxb_conn.vid);
		return -1;
	}
	memset(&vhxb_conn, 0, sizeof(vhxb_conn));
	vhxb_conn.vid = vid;
	vhxb_conn.kfd = -1;
	for (q = 0; q < MAX_QUEUES; q++)
		vhxb_conn.q[q].err_fd = -1;
	n_conns++;
	pthread_mutex_unlock(&vhxb_lock);
	if (rte_vhost_extern_callback_register(vid, &ext_ops, NULL)) {
		LOG("cannot register the message handlers");
		return -1;
	}
	rte_vhost_get_ifname(vid, ifname, sizeof(ifname));
	LOG("client connected (connection %lu, vid %d)", n_conns, vid);
	return 0;
}

static void cb_destroy_connection(int vid)
{
	unsigned q;

	pthread_mutex_lock(&vhxb_lock);
	if (vid != vhxb_conn.vid) {
		pthread_mutex_unlock(&vhxb_lock);
		return;
	}
	vhxb_dev_stop("client gone");
	for (q = 0; q < MAX_QUEUES; q++)
		if (vhxb_conn.q[q].err_fd >= 0)
			close(vhxb_conn.q[q].err_fd);
	LOG("client disconnected (vid %d, %lu device start%s)", vid, vhxb_conn.devices,
	    vhxb_conn.devices == 1 ? "" : "s");
	vhxb_conn.vid = -1;
	pthread_mutex_unlock(&vhxb_lock);
	if (vhxb_g.once)
		pthread_kill(vhxb_g.main_thread, SIGUSR1);
}

static const struct rte_vhost_device_ops dev_ops = {
	.new_device = cb_new_device,
	.destroy_device = cb_destroy_device,
	.vring_state_changed = cb_vring_state_changed,
	.features_changed = cb_features_changed,
	.new_connection = cb_new_connection,
	.destroy_connection = cb_destroy_connection,
};

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

static int get_info(int fd, int backend_fd, struct vhx_blk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = backend_fd;
	return ioctl(fd, VHX_BLK_GET_INFO, info) < 0 ? -errno : 0;
}

static int vhxb_probe_kernel(void)
{
	char buf[512];
	int fd, r;

	fd = open(vhxb_g.device, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		LOG("open %s: %s (is vhx_blk.ko loaded?)", vhxb_g.device, strerror(errno));
		return -1;
	}
	if (ioctl(fd, VHOST_GET_FEATURES, &vhxb_g.kfeatures) < 0) {
		LOG("%s: VHOST_GET_FEATURES: %s", vhxb_g.device, strerror(errno));
		close(fd);
		return -1;
	}
	r = get_info(fd, vhxb_g.backend_fd, &vhxb_g.info);
	if (r == -EPERM) {	/* the device may want an owner first */
		if (ioctl(fd, VHOST_SET_OWNER) == 0)
			r = get_info(fd, vhxb_g.backend_fd, &vhxb_g.info);
	}
	close(fd);
	if (r) {
		LOG("%s: VHX_BLK_GET_INFO(%s): %s", vhxb_g.device, vhxb_g.backend, strerror(-r));
		return -1;
	}
	if (!vhxb_g.info.num_queues)
		vhxb_g.info.num_queues = 1;
	if (!vhxb_g.queues)
		vhxb_g.queues = vhxb_g.info.num_queues;
	if (vhxb_g.queues > vhxb_g.info.num_queues || vhxb_g.queues > MAX_QUEUES) {
		LOG("--queues %u: the device has %u queues", vhxb_g.queues, vhxb_g.info.num_queues);
		return -1;
	}
	if (vhxb_g.info.capacity == 0)
		LOG("warning: %s has capacity 0", vhxb_g.backend);
	vhxb_g.features = vhx_blk_guest_features(vhxb_g.kfeatures, &vhxb_g.info, vhxb_g.queues);
	vhx_blk_guest_config(&vhxb_g.cfg, &vhxb_g.info, vhxb_g.features, vhxb_g.queues);
	LOG("kernel %s: features 0x%" PRIx64 "; backend %s: %s", vhxb_g.device, vhxb_g.kfeatures,
	    vhxb_g.backend, vhx_blk_info_str(&vhxb_g.info, buf, sizeof(buf)));
	LOG("offering %u queue%s, virtio features 0x%" PRIx64, vhxb_g.queues,
	    vhxb_g.queues == 1 ? "" : "s", vhxb_g.features);
	return 0;
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
	uint64_t pf = BIT(VU_PF_MQ) | BIT(VU_PF_LOG_SHMFD) | BIT(VU_PF_REPLY_ACK) |
		      BIT(VU_PF_CONFIG);
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
	if (rte_vhost_driver_register(vhxb_g.socket, 0) ||
	    rte_vhost_driver_set_features(vhxb_g.socket, vhxb_g.features | BIT(VU_F_PROTOCOL_FEATURES)) ||
	    rte_vhost_driver_set_protocol_features(vhxb_g.socket, pf) ||
	    rte_vhost_driver_callback_register(vhxb_g.socket, &dev_ops) ||
	    rte_vhost_driver_start(vhxb_g.socket)) {
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
