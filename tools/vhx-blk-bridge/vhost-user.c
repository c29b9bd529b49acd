// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-user.c - vhx-blk-bridge's vhost-user side: the messages librte_vhost
 * passes to the external handlers (answered, checked or refused here), its
 * device and connection callbacks, and the state of the one client.
 */
#define _GNU_SOURCE
#include "bridge.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <rte_vhost.h>

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

struct conn vhxb_conn = { .vid = -1, .kfd = -1 };

pthread_mutex_t vhxb_lock = PTHREAD_MUTEX_INITIALIZER;

static unsigned long n_conns;

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

int vhxb_vu_start(const char *path)
{
	uint64_t pf = BIT(VU_PF_MQ) | BIT(VU_PF_LOG_SHMFD) | BIT(VU_PF_REPLY_ACK) |
		      BIT(VU_PF_CONFIG);

	if (rte_vhost_driver_register(path, 0) ||
	    rte_vhost_driver_set_features(path, vhxb_g.features | BIT(VU_F_PROTOCOL_FEATURES)) ||
	    rte_vhost_driver_set_protocol_features(path, pf) ||
	    rte_vhost_driver_callback_register(path, &dev_ops) ||
	    rte_vhost_driver_start(path))
		return -1;
	return 0;
}
