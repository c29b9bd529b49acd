// SPDX-License-Identifier: GPL-2.0
/*
 * vhost-blk.c - vhx-blk-bridge's /dev/vhost-blk side: the probe at start, and
 * programming the kernel device from librte_vhost's view of the client (the
 * memory table, dirty log, features, and per queue ring, eventfds and
 * backend), stopping queues with their ring bases handed back.
 */
#define _GNU_SOURCE
#include "bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <rte_vhost.h>

int vhxb_kioctl(unsigned long req, void *arg, const char *what, int q)
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

int vhxb_queue_start(unsigned q)
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
int vhxb_queue_stop(unsigned q)
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

void vhxb_dev_stop(const char *why)
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

int vhxb_set_mem_table(void)
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

int vhxb_set_log_base(void)
{
	uint64_t base = 0, size = 0;

	if (rte_vhost_get_log_base(vhxb_conn.vid, &base, &size) || !base || !size)
		return 0;
	DBG("dirty log at 0x%" PRIx64 ", %" PRIu64 " bytes", base, size);
	return vhxb_kioctl(VHOST_SET_LOG_BASE, &base, "VHOST_SET_LOG_BASE", -1);
}

int vhxb_set_kernel_features(uint64_t negotiated)
{
	uint64_t kf = negotiated & vhxb_g.kfeatures;

	return vhxb_kioctl(VHOST_SET_FEATURES, &kf, "VHOST_SET_FEATURES", -1);
}

int vhxb_dev_start(void)
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
void vhxb_quiesce(const char *why)
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

int vhxb_resume(void)
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

bool vhxb_any_quiesced(void)
{
	unsigned q;

	for (q = 0; q < MAX_QUEUES; q++)
		if (vhxb_conn.q[q].quiesced)
			return true;
	return false;
}

static int get_info(int fd, int backend_fd, struct vhx_blk_info *info)
{
	memset(info, 0, sizeof(*info));
	info->fd = backend_fd;
	return ioctl(fd, VHX_BLK_GET_INFO, info) < 0 ? -errno : 0;
}

int vhxb_probe_kernel(void)
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
	vhxb_g.features = vhxl_blk_guest_features(vhxb_g.kfeatures, &vhxb_g.info, vhxb_g.queues);
	vhxl_blk_guest_config(&vhxb_g.cfg, &vhxb_g.info, vhxb_g.features, vhxb_g.queues);
	LOG("kernel %s: features 0x%" PRIx64 "; backend %s: %s", vhxb_g.device, vhxb_g.kfeatures,
	    vhxb_g.backend, vhxl_blk_info_str(&vhxb_g.info, buf, sizeof(buf)));
	LOG("offering %u queue%s, virtio features 0x%" PRIx64, vhxb_g.queues,
	    vhxb_g.queues == 1 ? "" : "s", vhxb_g.features);
	return 0;
}
