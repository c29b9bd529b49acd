// SPDX-License-Identifier: GPL-2.0
/*
 * vhx_traffic - a small vhost-net owner that keeps traffic running (helper
 * of fault_test.sh; not a test itself).
 *
 * Sets up a device (vhxlib: 4 memory regions, both queues on a tap), then a
 * TX thread keeps the TX ring full and kicked while an RX thread injects
 * frames into the tap and recycles RX buffers.  Prints "tap=NAME pid=PID"
 * and then "running" once both directions moved, and optionally injects
 * one kind of fault from the main thread, under traffic, LOOPS times:
 *
 *   swap     NET_SET_BACKEND -1 / a second tap / the first tap, each queue
 *   eventfd  new kick/call/err eventfds installed and the old ones closed
 *            (dup2 over the old numbers), and CALL/ERR unbound and rebound
 *   mem      SET_MEM_TABLE with only the first region (rings survive,
 *            buffers vanish), then the full table again; queues that
 *            failed are reset (traffic paused for that)
 *   none     just traffic, until -t SECS passed or a signal
 *
 * After the faults traffic must flow again (exit 1 if it does not).  Exit 0
 * on SIGTERM/SIGINT, after -t SECS, or (with -f and no -t) once the faults
 * are done and traffic was checked; 2 on a setup error.
 *
 * usage: vhx_traffic [-f none|swap|eventfd|mem] [-n LOOPS] [-t SECS] [-- ARGS]
 *
 * ARGS are ignored: vhxctl_test.sh puts a QEMU-style -name there, for
 * vhxctl to find on the owner's command line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define F_MRG VHX_BIT(VIRTIO_NET_F_MRG_RXBUF)

static struct vhxl_net n;
static struct vhxl_tap tap2;
static atomic_int stop, pause_req, parked;
static atomic_ulong tx_done, rx_done;
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	(void)sig;
	got_signal = 1;
	atomic_store(&stop, 1);
}

static void park(void)
{
	atomic_fetch_add(&parked, 1);
	while (atomic_load(&pause_req) && !atomic_load(&stop))
		usleep(1000);
	atomic_fetch_sub(&parked, 1);
}

static void *tx_thread(void *arg)
{
	struct vhxl_dev *d = &n.dev;
	uint8_t frame[128];
	uint32_t seq = 0;

	(void)arg;
	while (!atomic_load(&stop)) {
		int k = 0;

		if (atomic_load(&pause_req)) {
			park();
			continue;
		}
		atomic_fetch_add(&tx_done, vhxl_tx_reclaim(d));
		for (;;) {
			vhxl_make_frame(frame, sizeof(frame), seq);
			if (vhxl_tx_post(d, frame, sizeof(frame), NULL) < 0)
				break;
			seq++;
			k++;
		}
		if (k)
			vhxl_vq_kick_force(&d->vq[VHX_TX]);
		else
			usleep(500);
	}
	return NULL;
}

static void *rx_thread(void *arg)
{
	struct vhxl_dev *d = &n.dev;
	struct vhxl_vq *vq = &d->vq[VHX_RX];
	uint8_t frame[600];
	uint32_t seq = 0;
	int i;

	(void)arg;
	vhxl_rx_fill(d, vq->num, NULL);
	while (!atomic_load(&stop)) {
		unsigned long got = 0;

		if (atomic_load(&pause_req)) {
			park();
			continue;
		}
		while (vhxl_vq_get_used(vq, NULL, NULL) >= 0)
			got++;
		atomic_fetch_add(&rx_done, got);
		vhxl_rx_fill(d, vq->num, NULL);
		for (i = 0; i < 16; i++) {
			vhxl_make_frame(frame, 60 + (seq % 500), seq);
			vhxl_tap_inject(&n.tap, frame, 60 + (seq % 500));
			seq++;
		}
		usleep(2000);
	}
	return NULL;
}

static void pause_traffic(void)
{
	atomic_store(&pause_req, 1);
	while (atomic_load(&parked) < 2 && !atomic_load(&stop))
		usleep(1000);
}

static void resume_traffic(void)
{
	atomic_store(&pause_req, 0);
}

/* Detach, re-initialise the ring, re-attach: what a driver reset does. */
static int reset_vq(int q)
{
	int r;

	r = vhxl_set_backend(&n.dev, q, -1);
	if (!r)
		r = vhxl_vq_reset(&n.dev.vq[q]);
	if (!r)
		r = vhxl_set_backend(&n.dev, q, n.tap.fd);
	if (!r && q == VHX_RX)
		vhxl_rx_fill(&n.dev, n.dev.vq[q].num, NULL);
	return r;
}

/* Traffic moves in both directions within @ms. */
static bool flowing(int ms)
{
	unsigned long t0 = atomic_load(&tx_done), r0 = atomic_load(&rx_done);
	int waited;

	for (waited = 0; waited < ms; waited += 50) {
		if (atomic_load(&tx_done) > t0 + 8 && atomic_load(&rx_done) > r0 + 8)
			return true;
		usleep(50000);
	}
	fprintf(stderr, "vhx_traffic: no traffic for %d ms (tx %lu -> %lu, rx %lu -> %lu)\n",
		ms, t0, atomic_load(&tx_done), r0, atomic_load(&rx_done));
	return false;
}

static int fault_swap(void)
{
	int q, r;

	for (q = 0; q < VHX_NVQS; q++) {
		r = vhxl_set_backend(&n.dev, q, -1);
		if (r)
			return r;
		usleep(20000);
		r = vhxl_set_backend(&n.dev, q, tap2.fd);
		if (r)
			return r;
		usleep(20000);
		r = vhxl_set_backend(&n.dev, q, n.tap.fd);
		if (r)
			return r;
	}
	return 0;
}

static int set_file(unsigned long req, int q, int fd)
{
	struct vhost_vring_file f = { .index = q, .fd = fd };

	return vhxl_ioctl(n.dev.fd, req, &f);
}

/* Install a new eventfd for @req and close the old one under its number. */
static int swap_efd(unsigned long req, int q, int *slot)
{
	int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = set_file(req, q, fd);
	if (!r && dup3(fd, *slot, O_CLOEXEC) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int fault_eventfd(void)
{
	int q, r;

	for (q = 0; q < VHX_NVQS; q++) {
		struct vhxl_vq *vq = &n.dev.vq[q];

		r = swap_efd(VHOST_SET_VRING_KICK, q, &vq->kick_fd);
		if (!r)
			r = swap_efd(VHOST_SET_VRING_CALL, q, &vq->call_fd);
		if (!r)
			r = swap_efd(VHOST_SET_VRING_ERR, q, &vq->err_fd);
		/* unbind call and err for a moment (VHOST_FILE_UNBIND) */
		if (!r)
			r = set_file(VHOST_SET_VRING_CALL, q, -1);
		if (!r)
			r = set_file(VHOST_SET_VRING_ERR, q, -1);
		usleep(20000);
		if (!r)
			r = set_file(VHOST_SET_VRING_CALL, q, vq->call_fd);
		if (!r)
			r = set_file(VHOST_SET_VRING_ERR, q, vq->err_fd);
		if (r)
			return r;
		/* the TX kick may have been lost meanwhile */
		vhxl_vq_kick_force(vq);
	}
	return 0;
}

static int fault_mem(void)
{
	struct vhost_memory *full = vhxl_mem_table(&n.mem), *small;
	size_t sz = sizeof(*full) + sizeof(full->regions[0]);
	int r, q;

	if (!full)
		return -ENOMEM;
	small = malloc(sz);
	if (!small) {
		free(full);
		return -ENOMEM;
	}
	memcpy(small, full, sz);
	small->nregions = 1;
	r = vhxl_ioctl(n.dev.fd, VHOST_SET_MEM_TABLE, small);
	usleep(100000);
	if (!r)
		r = vhxl_ioctl(n.dev.fd, VHOST_SET_MEM_TABLE, full);
	free(small);
	free(full);
	if (r)
		return r;
	/* queues that hit the hole have failed: reset them */
	pause_traffic();
	for (q = 0; q < VHX_NVQS && !r; q++)
		r = reset_vq(q);
	resume_traffic();
	return r;
}

int main(int argc, char **argv)
{
	struct vhxl_net_cfg c = {
		.features = F_V1 | F_MRG, .num = 256,
		.rx_buf = 2048, .tx_buf = 256, .nregions = 4,
		.mem_size = 8 << 20, .identity = false,
	};
	const char *fault = "none";
	int loops = 1, secs = 0, opt, i, r = 0, rc = 0;
	pthread_t tx, rx;
	time_t t_end;

	while ((opt = getopt(argc, argv, "f:n:t:")) != -1) {
		switch (opt) {
		case 'f': fault = optarg; break;
		case 'n': loops = atoi(optarg); break;
		case 't': secs = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: %s [-f none|swap|eventfd|mem] [-n LOOPS] [-t SECS]\n",
				argv[0]);
			return 2;
		}
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	setvbuf(stdout, NULL, _IOLBF, 0);

	r = vhxl_net_setup(&n, &c);
	if (r) {
		fprintf(stderr, "vhx_traffic: setup: %s\n", strerror(-r));
		return 2;
	}
	if (!strcmp(fault, "swap")) {
		r = vhxl_tap_open(&tap2, 0, 0);
		if (r) {
			fprintf(stderr, "vhx_traffic: second tap: %s\n", strerror(-r));
			return 2;
		}
	}
	printf("tap=%s pid=%d\n", n.tap.name, getpid());
	pthread_create(&tx, NULL, tx_thread, NULL);
	pthread_create(&rx, NULL, rx_thread, NULL);
	if (!flowing(20000)) {
		rc = 1;
		goto out;
	}
	printf("running\n");

	for (i = 0; i < loops && strcmp(fault, "none") && !atomic_load(&stop); i++) {
		if (!strcmp(fault, "swap"))
			r = fault_swap();
		else if (!strcmp(fault, "eventfd"))
			r = fault_eventfd();
		else if (!strcmp(fault, "mem"))
			r = fault_mem();
		else
			r = -EINVAL;
		if (r) {
			fprintf(stderr, "vhx_traffic: fault %s loop %d: %s\n", fault, i,
				strerror(-r));
			rc = 1;
			break;
		}
		usleep(50000);
	}
	if (!rc && strcmp(fault, "none") && !atomic_load(&stop)) {
		if (!flowing(5000)) {
			/* a queue may have failed on a fault: a reset must cure it */
			pause_traffic();
			for (i = 0; i < VHX_NVQS; i++)
				reset_vq(i);
			resume_traffic();
			if (!flowing(10000))
				rc = 1;
		}
		printf("faults: %d x %s, traffic %s\n", loops, fault, rc ? "STUCK" : "flowing");
	}
	/* plain traffic: until -t SECS or a signal; after faults: -t SECS */
	t_end = time(NULL) + secs;
	while (!atomic_load(&stop) && (secs ? time(NULL) < t_end : !strcmp(fault, "none")))
		usleep(20000);
out:
	atomic_store(&stop, 1);
	pthread_join(tx, NULL);
	pthread_join(rx, NULL);
	printf("tx %lu rx %lu\n", atomic_load(&tx_done), atomic_load(&rx_done));
	vhxl_net_teardown(&n);
	if (tap2.fd > 0)
		vhxl_tap_close(&tap2);
	return rc;
}
