// SPDX-License-Identifier: GPL-2.0
/*
 * tenant_test - one tenant cannot stall the others through vhx's shared
 * state.  A hostile owner can leave a virtqueue stuck with its mutex held:
 * here a TX buffer's page is made to fault forever (userfaultfd, never
 * answered), so the worker that copies the frame out of it waits inside
 * the TX handler.  While it waits:
 *
 *  - the counters (/sys/kernel/debug/vhx/devices, what vhxctl reads) still
 *    read, the stuck queue with its backend, within two seconds;
 *  - another tenant's SET_OWNER and close, which take the device
 *    registry's lock, still complete.
 *
 * Then the fault is released and the frame goes out (as zeros).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>

#include "harness.h"
#include "vhxlib.h"

#define F_V1  VHX_BIT(VIRTIO_F_VERSION_1)
#define DEVICES "/sys/kernel/debug/vhx/devices"

FIXTURE(tenant)
{
	struct vhxl_net n;
	bool up;
	int uffd;
};

FIXTURE_SETUP(tenant)
{
	struct vhxl_net_cfg c = {
		.features = F_V1, .num = 64, .rx_buf = 2048, .tx_buf = 2048,
		.identity = true,
	};
	const char *why = vhxl_skip_reason();

	self->uffd = -1;
	if (why)
		SKIP(return, "%s", why);
	if (access(DEVICES, R_OK))
		SKIP(return, "no %s: %s", DEVICES, strerror(errno));
	ASSERT_EQ(0, vhxl_net_setup(&self->n, &c));
	self->up = true;
}

FIXTURE_TEARDOWN(tenant)
{
	if (self->uffd >= 0)
		close(self->uffd);
	if (self->up)
		vhxl_net_teardown(&self->n);
}

/* Wait up to @ms for child @pid; its exit status, or -1 if still running. */
static int wait_ms(pid_t pid, int ms)
{
	int st;

	for (; ms > 0; ms -= 10) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
		usleep(10000);
	}
	return -1;
}

/*
 * A child that reads the counters into @out; exit 0 if it got any.  It
 * drops its copy of @uffd first: the stall ends when the parent closes it.
 */
static pid_t read_counters(int out, int uffd)
{
	pid_t pid = fork();
	char buf[4096];
	ssize_t n, got = 0;
	int fd;

	if (pid)
		return pid;
	close(uffd);
	fd = open(DEVICES, O_RDONLY);
	if (fd < 0)
		_exit(2);
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		got += n;
		if (write(out, buf, n) != n)
			_exit(3);
	}
	_exit(got > 0 ? 0 : 4);
}

/* A child that is another tenant: open, SET_OWNER, close. */
static pid_t other_tenant(int uffd)
{
	pid_t pid = fork();
	int fd;

	if (pid)
		return pid;
	close(uffd);
	fd = open(vhxl_dev_path(), O_RDWR);
	if (fd < 0 || ioctl(fd, VHOST_SET_OWNER, NULL))
		_exit(2);
	close(fd);
	_exit(0);
}

/* Is the worker of this process (vhost-PID) waiting in a userfault? */
static int worker_in_userfault(void)
{
	char want[32], path[300], buf[4096];
	struct dirent *e;
	DIR *d = opendir("/proc");
	int r = -1;

	snprintf(want, sizeof(want), "vhost-%d\n", getpid());
	while (d && (e = readdir(d))) {
		int fd;
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%s/comm", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0 || (buf[n] = 0, strcmp(buf, want)))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stack", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			break;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n > 0) {
			buf[n] = 0;
			r = !!strstr(buf, "handle_userfault");
		}
		break;
	}
	if (d)
		closedir(d);
	return r;
}

TEST_F(tenant, stuck_vq_stalls_nobody_else)
{
	struct vhxl_vq *tx = &self->n.dev.vq[VHX_TX];
	struct vhxl_sg sg = { 0 };
	int p[2], head, in_uf, ra, rb, i;
	char out[8192] = "", want[64];
	pid_t a, b;
	ssize_t n;

	/*
	 * The stall first, then the chain: the worker may run TX at any time
	 * (the tap's writability wakes it), and must meet the stalled page.
	 * The frame is the page's zeros.
	 */
	self->uffd = vhxl_mem_stall(&self->n.mem, tx->buf[0] & ~(VHX_PAGE - 1),
				    VHX_PAGE);
	if (self->uffd < 0)
		SKIP(return, "userfaultfd: %s", strerror(-self->uffd));
	sg.gpa = tx->buf[0];
	sg.len = self->n.dev.hdr_len + 60;
	head = vhxl_vq_add(tx, &sg, 1, false, NULL);
	ASSERT_LE(0, head);
	vhxl_vq_kick_force(tx);
	for (i = 0; i < 100 && (in_uf = worker_in_userfault()) == 0; i++)
		usleep(10000);
	if (in_uf < 0)
		TH_LOG("no /proc/PID/stack: the stall is not checked");
	else
		ASSERT_EQ(1, in_uf);
	EXPECT_EQ(0u, vhxl_vq_pending_used(tx));

	ASSERT_EQ(0, pipe(p));
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	a = read_counters(p[1], self->uffd);
	b = other_tenant(self->uffd);
	ASSERT_LT(0, a);
	ASSERT_LT(0, b);
	ra = wait_ms(a, 2000);
	rb = wait_ms(b, 2000);
	n = read(p[0], out, sizeof(out) - 1);
	if (n > 0)
		out[n] = 0;
	TH_LOG("counters read: %s, other tenant: %s",
	       ra < 0 ? "still blocked after 2 s" : "done",
	       rb < 0 ? "still blocked after 2 s" : "done");
	EXPECT_EQ(0, ra);
	EXPECT_EQ(0, rb);
	snprintf(want, sizeof(want), "name=tx num=64 backend=%s ", self->n.tap.name);
	EXPECT_NE(NULL, strstr(out, want));

	/* release: the frame goes out, the children finish in any case */
	close(self->uffd);
	self->uffd = -1;
	if (ra < 0)
		wait_ms(a, 5000);
	if (rb < 0)
		wait_ms(b, 5000);
	kill(a, SIGKILL);
	kill(b, SIGKILL);
	waitpid(a, NULL, 0);
	waitpid(b, NULL, 0);
	close(p[0]);
	close(p[1]);
	EXPECT_EQ(0, vhxl_tx_drain(&self->n.dev, 5000));
}

TEST_HARNESS_MAIN
