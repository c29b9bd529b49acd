// SPDX-License-Identifier: GPL-2.0
/*
 * blk_mq.c - blk_test's multiqueue tests (the mq fixture): four queues
 * loaded in parallel, each served by a worker of its own, and a stopped
 * queue that does not hold up another.
 */
#define _GNU_SOURCE
#include <pthread.h>

#include "blk_common.h"

struct mq_arg {
	struct vhxl_blk *b;
	unsigned q;
	uint64_t wbuf[16], rbuf[16];
	unsigned rounds;
	int errors;
	unsigned done;
};

#define MQ_DEPTH 16
#define MQ_IO 16384

/*
 * Post one batch of MQ_DEPTH requests of @type, the i-th on bufs[i], kick
 * once and reap them all.  A write batch fills its buffers with the round's
 * pattern first; a read batch clears them.
 */
static void mq_batch(struct mq_arg *a, uint32_t type, const uint64_t *bufs,
		     unsigned r)
{
	uint64_t base = 2048 + a->q * 8192ULL;	/* 4 MiB per queue */
	unsigned i;
	uint8_t st;

	for (i = 0; i < MQ_DEPTH; i++) {
		struct vhxl_blk_io io = {
			.type = type, .data = bufs[i],
			.len = MQ_IO, .sector = base + i * (MQ_IO / 512),
		};
		void *p = vhxl_blk_ptr(a->b, bufs[i], MQ_IO);

		if (type == VIRTIO_BLK_T_OUT)
			pattern(p, MQ_IO, a->q * 100000 + r * 100 + i);
		else
			memset(p, 0, MQ_IO);
		if (vhxl_blk_post(a->b, a->q, &io) < 0)
			a->errors++;
	}
	vhxl_blk_kick(a->b, a->q);
	for (i = 0; i < MQ_DEPTH; i++)
		if (vhxl_blk_reap(a->b, a->q, 10000, &st, NULL) < 0 || st)
			a->errors++;
}

/* One queue's load: rounds of MQ_DEPTH writes then MQ_DEPTH reads back. */
static void *mq_thread(void *p)
{
	struct mq_arg *a = p;
	unsigned r, i;

	for (r = 0; r < a->rounds; r++) {
		mq_batch(a, VIRTIO_BLK_T_OUT, a->wbuf, r);
		mq_batch(a, VIRTIO_BLK_T_IN, a->rbuf, r);
		for (i = 0; i < MQ_DEPTH; i++)
			if (memcmp(vhxl_blk_ptr(a->b, a->wbuf[i], MQ_IO),
				   vhxl_blk_ptr(a->b, a->rbuf[i], MQ_IO), MQ_IO))
				a->errors++;
		a->done += 2 * MQ_DEPTH;
	}
	return NULL;
}

FIXTURE(mq)
{
	struct vhxl_blk b;
	struct disk d;
	bool up;
};

FIXTURE_SETUP(mq)
{
	BLK_SETUP(BK_RAM_DIRECT, .num = 64, .nqueues = 4, .data_size = 20 << 20);
}

FIXTURE_TEARDOWN(mq)
{
	BLK_TEARDOWN();
}

/* Parse the worker= of each attached vq of the blk device owned by @owner. */
static int vq_workers(pid_t owner, int *pids, int max)
{
	FILE *f = fopen("/sys/kernel/debug/vhx/devices", "r");
	char line[1024];
	int n = 0, mine = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && n < max) {
		char *w;
		int dev, o;

		if (sscanf(line, "dev id=%d kind=blk owner=%d", &dev, &o) == 2) {
			mine = o == owner;
			continue;
		}
		if (!strncmp(line, "dev ", 4))
			mine = 0;
		if (!mine || strncmp(line, "vq ", 3) || strstr(line, "backend=- "))
			continue;
		w = strstr(line, " worker=");
		if (w)
			pids[n++] = atoi(w + 8);
	}
	fclose(f);
	return n;
}

TEST_F_TIMEOUT(mq, queues_in_parallel, 120)
{
	struct mq_arg a[4];
	pthread_t t[4];
	int pids[16], n, i, j;

	for (i = 0; i < 4; i++) {
		a[i] = (struct mq_arg){ .b = &self->b, .q = i, .rounds = 20 };
		for (j = 0; j < MQ_DEPTH; j++) {
			a[i].wbuf[j] = vhxl_blk_alloc(&self->b, MQ_IO);
			a[i].rbuf[j] = vhxl_blk_alloc(&self->b, MQ_IO);
			ASSERT_NE(0u, a[i].wbuf[j]);
			ASSERT_NE(0u, a[i].rbuf[j]);
		}
	}
	for (i = 0; i < 4; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, mq_thread, &a[i]));
	for (i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (i = 0; i < 4; i++) {
		TH_LOG("queue %d: %u requests, %d errors, counter packets=%lld",
		       i, a[i].done, a[i].errors, vq_counter(getpid(), i, "packets"));
		EXPECT_EQ(0, a[i].errors);
		EXPECT_EQ(a[i].done, (unsigned)vq_counter(getpid(), i, "packets"));
	}
	/* Each queue has a worker of its own, so they run on several CPUs. */
	n = vq_workers(getpid(), pids, 16);
	ASSERT_EQ(4, n);
	TH_LOG("workers of the 4 queues: %d %d %d %d", pids[0], pids[1], pids[2], pids[3]);
	for (i = 0; i < 4; i++)
		for (j = i + 1; j < 4; j++)
			EXPECT_NE(pids[i], pids[j]);
}

/* A slow queue (its requests wait for a FLUSH of a dirty page cache) does
 * not hold up another queue. */
TEST_F(mq, independent_queues)
{
	uint8_t st;
	uint64_t buf = vhxl_blk_alloc(&self->b, 4096);
	unsigned i;

	/* Queue 0 stopped (GET_VRING_BASE): queue 1 still serves. */
	struct vhost_vring_state s = { .index = 0 };

	ASSERT_EQ(0, vhxl_ioctl(self->b.dev.fd, VHOST_GET_VRING_BASE, &s));
	ASSERT_EQ(1u, post_writes(&self->b, 0, 1, 4096, 0));
	for (i = 0; i < 20; i++) {
		ASSERT_EQ(0, vhxl_blk_rw(&self->b, 1, false, i * 8, buf, 4096, &st));
		ASSERT_EQ(VIRTIO_BLK_S_OK, st);
	}
	EXPECT_EQ(0u, vhxl_vq_pending_used(&self->b.dev.vq[0]));
}
