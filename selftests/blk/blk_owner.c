// SPDX-License-Identifier: GPL-2.0
/*
 * blk_owner.c - blk_test's owner death: children that own a device with
 * requests in flight are SIGKILLed; no worker thread may be left and the
 * module's refcount must come back (blk.*.killed_owner, the last tests).
 */
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>

#include "blk_common.h"

/* A child owns a device with requests in flight and is SIGKILLed. */
static void owner_child(int ready)
{
	struct vhxl_blk_cfg c = { .num = 128, .nqueues = 2, .data_size = 8 << 20 };
	char reason[128];
	struct vhxl_blk b;
	struct disk d;

	/* null_blk's 5 ms completions: requests are in flight at the kill */
	if (disk_open(&d, BK_NULL_SLOW, false, reason, sizeof(reason)) &&
	    disk_open(&d, BK_RAM_DIRECT, false, reason, sizeof(reason)) &&
	    disk_open(&d, BK_FILE, false, reason, sizeof(reason)))
		_exit(2);
	if (vhxl_blk_setup(&b, &c, d.fd))
		_exit(3);
	post_writes(&b, 0, 128, 65536, 0);
	post_writes(&b, 1, 128, 65536, 8192);
	if (write(ready, "x", 1) != 1)
		_exit(4);
	for (;;)
		post_writes(&b, 0, 8, 4096, 0);
}

TEST_F_TIMEOUT(blk, killed_owner, 120)
{
	int round, i, p[2], n = -1, ref = -1, st;
	char name[32], x;
	pid_t pid;

	if (variant->kind != BK_FILE)
		SKIP(return, "one backend is enough");
	if (vhxl_module_refcnt("vhx_blk") < 0)
		SKIP(return, "no /sys/module/vhx_blk/refcnt (vhx_blk built in?)");
	/* our own fixture holds the module once */
	for (round = 0; round < 5; round++) {
		ASSERT_EQ(0, pipe(p));
		pid = fork();
		ASSERT_GE(pid, 0);
		if (!pid) {
			close(p[0]);
			owner_child(p[1]);
		}
		close(p[1]);
		ASSERT_EQ(1, read(p[0], &x, 1));
		close(p[0]);
		ASSERT_EQ(0, kill(pid, SIGKILL));
		ASSERT_EQ(pid, waitpid(pid, &st, 0));
		ASSERT_TRUE(WIFSIGNALED(st));
		snprintf(name, sizeof(name), "vhost-%d", pid);
		for (i = 0; i < 100; i++) {
			n = vhxl_count_comm(name);
			ref = vhxl_module_refcnt("vhx_blk");
			if (!n && ref == 1)
				break;
			usleep(50 * 1000);
		}
		EXPECT_EQ(0, n);
		EXPECT_EQ(1, ref);
	}
	TH_LOG("5 owners killed with 256 requests in flight: no worker left, refcount back to 1");
	/* the fixture's device still works */
	roundtrip(_metadata, self, 16, 4096, 5, NULL);
}
