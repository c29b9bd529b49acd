// SPDX-License-Identifier: GPL-2.0
/*
 * vhx-blk-bench - block benchmark that plays the guest against /dev/vhost-blk.
 *
 * It maps its own guest memory, sets up split virtqueues with eventfds,
 * attaches a file or block device with VHX_BLK_SET_BACKEND and keeps
 * --iodepth virtio-blk requests in flight on each of --queues queues (one
 * thread per queue, each queue served by its own kernel worker).  It
 * reports IOPS, MB/s and completion latency percentiles, as text, as a
 * "result key=value ..." line, or as JSON (--json), in the same terms as
 * vhx-blk-fio.sh (beside it) reports fio's io_uring run on the same file.
 */
#define _GNU_SOURCE
#include "vhxblk.h"
#include "vhxblk_cfg.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <linux/fs.h>

enum rw { RW_READ, RW_WRITE, RW_RANDREAD, RW_RANDWRITE, RW_RANDRW, RW_RW };
static const char *const rw_names[] = { "read", "write", "randread", "randwrite", "randrw", "rw" };

struct opts {
	const char *file;
	const char *device;
	enum rw rw;
	unsigned mix;		/* read percent for randrw/rw */
	unsigned bs;
	unsigned qd;
	unsigned queues;
	double time_s;
	double ramp_s;
	uint64_t size;		/* bytes of the file used (0: all) */
	uint64_t offset;
	bool direct;
	bool json;
	bool quiet;
	bool poll;
	unsigned busy_us;	/* the kernel worker's busy-loop timeout */
	bool indirect;
	bool no_event_idx;
	unsigned ring;
	uint64_t seed;
};

/* ------------------------------------------------ latency histogram (ns) */

#define SUB_BITS 5
#define SUB (1u << SUB_BITS)
#define NBUCKETS (64 * SUB)

struct hist {
	uint64_t b[NBUCKETS];
	uint64_t n, sum, max, min;
};

static unsigned bucket_of(uint64_t v)
{
	unsigned msb;

	if (v < SUB)
		return (unsigned)v;
	msb = 63 - (unsigned)__builtin_clzll(v);
	return (msb - SUB_BITS + 1) * SUB + (unsigned)((v >> (msb - SUB_BITS)) & (SUB - 1));
}

/* Upper bound (inclusive) of the values of bucket @i. */
static uint64_t bucket_hi(unsigned i)
{
	unsigned e = i / SUB, m = i % SUB;

	if (e == 0)
		return m;
	return (((uint64_t)(SUB + m + 1)) << (e - 1)) - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->b[bucket_of(v)]++;
	h->n++;
	h->sum += v;
	if (v > h->max)
		h->max = v;
	if (!h->min || v < h->min)
		h->min = v;
}

static void hist_merge(struct hist *d, const struct hist *s)
{
	unsigned i;

	for (i = 0; i < NBUCKETS; i++)
		d->b[i] += s->b[i];
	d->n += s->n;
	d->sum += s->sum;
	if (s->max > d->max)
		d->max = s->max;
	if (s->min && (!d->min || s->min < d->min))
		d->min = s->min;
}

static double hist_pct(const struct hist *h, double pct)
{
	uint64_t want, acc = 0;
	unsigned i;

	if (!h->n)
		return 0;
	want = (uint64_t)ceil(h->n * pct / 100.0);
	if (!want)
		want = 1;
	for (i = 0; i < NBUCKETS; i++) {
		acc += h->b[i];
		if (acc >= want) {
			uint64_t hi = bucket_hi(i);

			return (double)(hi < h->max ? hi : h->max);
		}
	}
	return (double)h->max;
}

/* ------------------------------------------------------------- workers */

static atomic_int phase;	/* 0 ramp, 1 measure, 2 stop */
static atomic_int interrupted;

/* One request buffer of a queue: data in guest memory, what was posted. */
struct slot {
	uint64_t data;		/* GPA, bs bytes */
	uint64_t t_submit;
	uint32_t type;
};

struct job {
	pthread_t th;
	const struct opts *o;
	struct vhxl_blk *b;
	unsigned q;
	struct slot *slot;	/* iodepth of them */
	int *of_id;		/* vhx_blk request id -> slot */
	uint64_t rng;
	uint64_t seq_next;	/* next offset (bytes, relative) for sequential modes */
	uint64_t region_lo, region_len;	/* this queue's share for sequential modes */
	struct hist h;
	uint64_t reads, writes, errors, bad_len, bytes;
	uint64_t kicks, waits;
	int fail;		/* -errno that stopped the job */
	const char *fail_what;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(struct job *j)
{
	/* xorshift64* */
	j->rng ^= j->rng >> 12;
	j->rng ^= j->rng << 25;
	j->rng ^= j->rng >> 27;
	return j->rng * 0x2545F4914F6CDD1Dull;
}

static bool is_read_op(struct job *j)
{
	switch (j->o->rw) {
	case RW_READ:
	case RW_RANDREAD:
		return true;
	case RW_WRITE:
	case RW_RANDWRITE:
		return false;
	default:
		return rnd(j) % 100 < j->o->mix;
	}
}

static uint64_t next_offset(struct job *j)
{
	const struct opts *o = j->o;
	uint64_t blocks, off;

	if (o->rw == RW_RANDREAD || o->rw == RW_RANDWRITE || o->rw == RW_RANDRW) {
		blocks = o->size / o->bs;
		return o->offset + (rnd(j) % blocks) * o->bs;
	}
	off = j->region_lo + j->seq_next;
	j->seq_next += o->bs;
	if (j->seq_next + o->bs > j->region_len)
		j->seq_next = 0;
	return o->offset + off;
}

static int submit(struct job *j, unsigned s)
{
	struct slot *sl = &j->slot[s];
	struct vhxl_blk_io io = {
		.type = is_read_op(j) ? VIRTIO_BLK_T_IN : VIRTIO_BLK_T_OUT,
		.sector = next_offset(j) >> 9,
		.data = sl->data,
		.len = j->o->bs,
		.indirect = j->o->indirect,
	};
	int id;

	sl->type = io.type;
	sl->t_submit = now_ns();
	id = vhxl_blk_post(j->b, j->q, &io);
	if (id < 0)
		return id;
	j->of_id[id] = (int)s;
	return 0;
}

/* Reap one completion if there is one: its slot, or -EAGAIN / -errno. */
static int reap(struct job *j, uint8_t *status, uint32_t *len)
{
	int id;

	if (!vhxl_vq_pending_used(&j->b->dev.vq[j->q]))
		return -EAGAIN;
	id = vhxl_blk_reap(j->b, j->q, 0, status, len);
	if (id < 0)
		return id;
	if ((unsigned)id >= j->b->cfg.num || j->of_id[id] < 0)
		return -EPROTO;
	return j->of_id[id];
}

static void *job_run(void *arg)
{
	struct job *j = arg;
	struct vhxl_vq *vq = &j->b->dev.vq[j->q];
	const unsigned qd = j->o->qd;
	unsigned s, outstanding = 0;
	int r, ph;
	bool posted;

	if (j->o->poll)
		vhxl_vq_disable_cb(vq);
	for (s = 0; s < qd; s++) {
		r = submit(j, s);
		if (r < 0) {
			j->fail = r;
			j->fail_what = "post";
			goto drain;
		}
		outstanding++;
	}
	vhxl_vq_kick(vq);
	j->kicks++;

	for (;;) {
		uint32_t len = 0;
		uint8_t status = 0;
		unsigned got = 0;

		ph = atomic_load_explicit(&phase, memory_order_relaxed);
		posted = false;
		while ((r = reap(j, &status, &len)) >= 0) {
			struct slot *sl = &j->slot[r];
			uint64_t lat = now_ns() - sl->t_submit;
			uint32_t want = sl->type == VIRTIO_BLK_T_IN ? j->o->bs + 1 : 1;

			got++;
			outstanding--;
			if (ph == 1) {
				hist_add(&j->h, lat);
				if (status != VIRTIO_BLK_S_OK)
					j->errors++;
				else if (sl->type == VIRTIO_BLK_T_IN)
					j->reads++;
				else
					j->writes++;
				if (len != want)
					j->bad_len++;
				j->bytes += j->o->bs;
			}
			if (status != VIRTIO_BLK_S_OK && !j->fail) {
				j->fail = -EIO;
				j->fail_what = "request status";
			}
			if (ph == 2 || j->fail)
				continue;
			if (submit(j, (unsigned)r) < 0) {
				j->fail = -ENOSPC;
				j->fail_what = "repost";
				continue;
			}
			outstanding++;
			posted = true;
		}
		if (r == -EPROTO) {
			j->fail = r;
			j->fail_what = "used ring entry matches no request";
			break;
		}
		if (posted) {
			if (vhxl_vq_kick(vq))
				j->kicks++;
		}
		if ((ph == 2 || j->fail) && !outstanding)
			break;
		if (got)
			continue;
		if (j->o->poll) {
			if (ph == 2 || j->fail) {
				r = vhxl_vq_wait_used(vq, 10000);
				if (r) {
					j->fail = r;
					j->fail_what = "drain";
					break;
				}
			}
			continue;
		}
		if (vhxl_vq_enable_cb(vq))
			continue;
		{
			struct pollfd p = { .fd = vq->call_fd, .events = POLLIN };

			r = poll(&p, 1, (ph == 2 || j->fail) ? 10000 : 100);
			j->waits++;
			if (r > 0)
				vhxl_eventfd_read(vq->call_fd);
			else if (r == 0 && (ph == 2 || j->fail) && !vhxl_vq_pending_used(vq)) {
				j->fail = -ETIMEDOUT;
				j->fail_what = "drain (no completion in 10 s)";
				break;
			}
		}
	}
	return NULL;
drain:
	if (outstanding)
		vhxl_vq_kick_force(vq);
	while (outstanding && vhxl_vq_wait_used(vq, 10000) == 0) {
		while (reap(j, NULL, NULL) >= 0)
			outstanding--;
	}
	return NULL;
}

/* ---------------------------------------------------------------- main */

static uint64_t parse_size(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	switch (*end) {
	case 'k': case 'K': v *= 1024; break;
	case 'm': case 'M': v *= 1024 * 1024; break;
	case 'g': case 'G': v *= 1024.0 * 1024 * 1024; break;
	case 't': case 'T': v *= 1024.0 * 1024 * 1024 * 1024; break;
	case '\0': break;
	default:
		fprintf(stderr, "vhx-blk-bench: bad size '%s'\n", s);
		exit(2);
	}
	return (uint64_t)v;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: vhx-blk-bench --file FILE|BLOCKDEV [options]\n"
"Plays the guest against /dev/vhost-blk: own guest memory and split rings,\n"
"one thread per queue, VHX_BLK_SET_BACKEND on FILE.\n"
"\n"
"  -f, --file PATH       backend: regular file or block device (required)\n"
"  -w, --rw MODE         read|write|randread|randwrite|randrw|rw (randread)\n"
"  -M, --rwmixread PCT   read percentage for randrw/rw (50)\n"
"  -b, --bs BYTES        request size, K/M suffixes (4k)\n"
"  -q, --iodepth N       requests in flight per queue (1)\n"
"  -j, --queues N        virtqueues, one thread and one kernel worker each (1)\n"
"  -t, --time SECS       measured duration (10)\n"
"  -r, --ramp SECS       unmeasured warm-up before (1)\n"
"  -s, --size BYTES      use the first BYTES of the file (whole file)\n"
"  -o, --offset BYTES    start of the used region (0)\n"
"  -d, --direct          open the backend O_DIRECT\n"
"      --poll            poll the used ring instead of sleeping on the call eventfd\n"
"      --busy-poll US    the kernel worker polls an empty ring US microseconds\n"
"                        (VHOST_SET_VRING_BUSYLOOP_TIMEOUT, QEMU's poll-us) (0)\n"
"      --indirect        one indirect descriptor per request\n"
"      --no-event-idx    do not negotiate VIRTIO_RING_F_EVENT_IDX\n"
"      --ring N          ring size (auto: >= 3 x iodepth, at least 256)\n"
"      --device PATH     vhost-blk node ($VHX_BLK_DEV or /dev/vhost-blk)\n"
"      --seed N          random seed (1)\n"
"      --json            print one JSON object instead of text\n"
"      --quiet           only the 'result ...' line\n"
"  -h, --help\n"
"\n"
"Output: a human summary, then one line\n"
"  result tool=vhx-blk-bench rw=.. bs=.. qd=.. queues=.. iops=.. mbps=.. mibps=..\n"
"         lat_avg_us=.. lat_p50_us=.. lat_p99_us=.. lat_p999_us=.. lat_max_us=.. errors=..\n"
"vhx-blk-fio.sh (beside it) prints the same line for fio (ioengine=io_uring) on the same file.\n");
}

static void on_sig(int sig)
{
	(void)sig;
	atomic_store(&interrupted, 1);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "file", 1, NULL, 'f' }, { "rw", 1, NULL, 'w' }, { "rwmixread", 1, NULL, 'M' },
		{ "bs", 1, NULL, 'b' }, { "iodepth", 1, NULL, 'q' }, { "queues", 1, NULL, 'j' },
		{ "time", 1, NULL, 't' }, { "ramp", 1, NULL, 'r' }, { "size", 1, NULL, 's' },
		{ "offset", 1, NULL, 'o' }, { "direct", 0, NULL, 'd' }, { "poll", 0, NULL, 'P' },
		{ "busy-poll", 1, NULL, 'B' },
		{ "indirect", 0, NULL, 'I' }, { "no-event-idx", 0, NULL, 'E' }, { "ring", 1, NULL, 'R' }, { "device", 1, NULL, 'D' },
		{ "seed", 1, NULL, 'S' }, { "json", 0, NULL, 'J' }, { "quiet", 0, NULL, 'Q' },
		{ "help", 0, NULL, 'h' }, { NULL, 0, NULL, 0 }
	};
	struct opts o = { .rw = RW_RANDREAD, .mix = 50, .bs = 4096, .qd = 1, .queues = 1,
			  .time_s = 10, .ramp_s = 1, .seed = 1 };
	struct vhxl_blk_cfg cfg = { 0 };
	struct vhxl_blk b;
	struct job *jobs;
	struct hist all = { 0 };
	uint64_t reads = 0, writes = 0, errors = 0, bad_len = 0, bytes = 0, filesz, t0, t1;
	char infostr[512];
	double secs, iops, mbps;
	struct stat st;
	int c, fd, r, rc = 0;
	unsigned i, k;

	while ((c = getopt_long(argc, argv, "f:w:M:b:q:j:t:r:s:o:dh", lo, NULL)) != -1) {
		switch (c) {
		case 'f': o.file = optarg; break;
		case 'w':
			for (k = 0; k < sizeof(rw_names) / sizeof(rw_names[0]); k++)
				if (!strcmp(optarg, rw_names[k]))
					break;
			if (k == sizeof(rw_names) / sizeof(rw_names[0])) {
				fprintf(stderr, "vhx-blk-bench: unknown --rw %s\n", optarg);
				return 2;
			}
			o.rw = (enum rw)k;
			break;
		case 'M': o.mix = (unsigned)atoi(optarg); break;
		case 'b': o.bs = (unsigned)parse_size(optarg); break;
		case 'q': o.qd = (unsigned)atoi(optarg); break;
		case 'j': o.queues = (unsigned)atoi(optarg); break;
		case 't': o.time_s = atof(optarg); break;
		case 'r': o.ramp_s = atof(optarg); break;
		case 's': o.size = parse_size(optarg); break;
		case 'o': o.offset = parse_size(optarg); break;
		case 'd': o.direct = true; break;
		case 'P': o.poll = true; break;
		case 'B': o.busy_us = (unsigned)atoi(optarg); break;
		case 'I': o.indirect = true; break;
		case 'E': o.no_event_idx = true; break;
		case 'R': o.ring = (unsigned)atoi(optarg); break;
		case 'D': setenv("VHX_BLK_DEV", optarg, 1); o.device = optarg; break;
		case 'S': o.seed = strtoull(optarg, NULL, 0); break;
		case 'J': o.json = true; break;
		case 'Q': o.quiet = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.file || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!o.bs || o.bs % 512 || o.bs > (64u << 20) || !o.qd || o.qd > 4096 ||
	    !o.queues || o.queues > VHX_MAX_VQS || o.mix > 100 || o.time_s <= 0 ||
	    o.ramp_s < 0 || o.offset % 512) {
		fprintf(stderr, "vhx-blk-bench: bad parameters (bs multiple of 512, 1 <= iodepth <= 4096, "
			"1 <= queues <= %d, 0 <= rwmixread <= 100, time > 0)\n", VHX_MAX_VQS);
		return 2;
	}
	o.device = vhxl_blk_dev_path();

	fd = open(o.file, (o.rw == RW_READ || o.rw == RW_RANDREAD ? O_RDONLY : O_RDWR) |
		  (o.direct ? O_DIRECT : 0) | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "vhx-blk-bench: %s: %s\n", o.file, strerror(errno));
		return 1;
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &filesz) < 0)
			filesz = 0;
	} else {
		filesz = (uint64_t)st.st_size;
	}
	if (!o.size)
		o.size = filesz > o.offset ? filesz - o.offset : 0;
	if (o.offset + o.size > filesz || o.size < (uint64_t)o.bs * o.queues) {
		fprintf(stderr, "vhx-blk-bench: %s: %llu bytes, need offset+size within it and at "
			"least bs x queues (create it first, e.g. truncate -s 1G or dd)\n",
			o.file, (unsigned long long)filesz);
		return 1;
	}

	cfg.nqueues = o.queues;
	cfg.event_idx = !o.no_event_idx;
	cfg.num = o.ring;
	if (!cfg.num) {
		cfg.num = 256;
		while (cfg.num < 3 * o.qd && cfg.num < 32768)
			cfg.num <<= 1;
	}
	if (!o.indirect && cfg.num < 3 * o.qd) {
		fprintf(stderr, "vhx-blk-bench: --ring %u too small for --iodepth %u (3 descriptors "
			"per request; or --indirect)\n", cfg.num, o.qd);
		return 2;
	}
	if (cfg.num < o.qd) {
		fprintf(stderr, "vhx-blk-bench: --ring smaller than --iodepth\n");
		return 2;
	}
	cfg.data_size = (size_t)o.queues * o.qd * ((o.bs + VHX_PAGE - 1) & ~(VHX_PAGE - 1)) +
			VHX_PAGE;
	r = vhxl_blk_setup(&b, &cfg, fd);
	if (r) {
		fprintf(stderr, "vhx-blk-bench: %s: setup failed: %s\n", o.device, strerror(-r));
		return 1;
	}
	for (unsigned q = 0; o.busy_us && q < o.queues; q++) {
		struct vhost_vring_state st = { .index = q, .num = o.busy_us };

		r = vhxl_ioctl(b.dev.fd, VHOST_SET_VRING_BUSYLOOP_TIMEOUT, &st);
		if (r) {
			fprintf(stderr, "vhx-blk-bench: busy-poll: %s\n", strerror(-r));
			vhxl_blk_teardown(&b);
			return 1;
		}
	}
	if (b.info.num_queues && o.queues > b.info.num_queues) {
		fprintf(stderr, "vhx-blk-bench: the device has %u queues\n", b.info.num_queues);
		vhxl_blk_teardown(&b);
		return 2;
	}
	if (!o.quiet && !o.json)
		printf("vhx-blk-bench: %s on %s (%s): features 0x%llx, %s\n", o.device, o.file,
		       S_ISBLK(st.st_mode) ? "block device" : "file",
		       (unsigned long long)b.dev.features,
		       vhxl_blk_info_str(&b.info, infostr, sizeof(infostr)));

	jobs = calloc(o.queues, sizeof(*jobs));
	if (!jobs)
		return 1;
	signal(SIGINT, on_sig);
	signal(SIGTERM, on_sig);
	atomic_store(&phase, o.ramp_s > 0 ? 0 : 1);
	for (i = 0; i < o.queues; i++) {
		struct job *j = &jobs[i];
		unsigned s;

		j->o = &o;
		j->b = &b;
		j->q = i;
		j->rng = (o.seed + 1) * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull;
		j->region_len = (o.size / o.queues) / o.bs * o.bs;
		j->region_lo = i * j->region_len;
		j->slot = calloc(o.qd, sizeof(*j->slot));
		j->of_id = malloc(cfg.num * sizeof(*j->of_id));
		if (!j->slot || !j->of_id)
			return 1;
		for (s = 0; s < cfg.num; s++)
			j->of_id[s] = -1;
		for (s = 0; s < o.qd; s++) {
			uint64_t *d;
			size_t w;

			j->slot[s].data = vhxl_blk_alloc(&b, o.bs);
			d = vhxl_blk_ptr(&b, j->slot[s].data, o.bs);
			if (!j->slot[s].data || !d) {
				fprintf(stderr, "vhx-blk-bench: out of guest memory\n");
				return 1;
			}
			for (w = 0; w < o.bs / 8; w++)
				d[w] = rnd(j);
		}
		r = pthread_create(&j->th, NULL, job_run, j);
		if (r) {
			fprintf(stderr, "vhx-blk-bench: pthread_create: %s\n", strerror(r));
			return 1;
		}
	}
	if (o.ramp_s > 0) {
		struct timespec ts = { (time_t)o.ramp_s,
				       (long)((o.ramp_s - (time_t)o.ramp_s) * 1e9) };

		nanosleep(&ts, NULL);
		atomic_store(&phase, 1);
	}
	t0 = now_ns();
	while (!atomic_load(&interrupted) && (now_ns() - t0) < (uint64_t)(o.time_s * 1e9)) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		bool any_failed = false;

		for (i = 0; i < o.queues; i++)
			any_failed |= jobs[i].fail != 0;
		if (any_failed)
			break;
		nanosleep(&ts, NULL);
	}
	atomic_store(&phase, 2);
	t1 = now_ns();
	for (i = 0; i < o.queues; i++)
		pthread_join(jobs[i].th, NULL);
	secs = (double)(t1 - t0) / 1e9;

	for (i = 0; i < o.queues; i++) {
		struct job *j = &jobs[i];

		hist_merge(&all, &j->h);
		reads += j->reads;
		writes += j->writes;
		errors += j->errors;
		bad_len += j->bad_len;
		bytes += j->bytes;
		if (j->fail) {
			fprintf(stderr, "vhx-blk-bench: queue %u: %s: %s\n", i, j->fail_what,
				strerror(-j->fail));
			rc = 1;
		}
	}
	iops = secs > 0 ? (double)(reads + writes) / secs : 0;
	mbps = secs > 0 ? (double)bytes / secs / 1e6 : 0;
	if (o.json) {
		printf("{\"tool\":\"vhx-blk-bench\",\"file\":\"%s\",\"device\":\"%s\",\"rw\":\"%s\","
		       "\"rwmixread\":%u,\"bs\":%u,\"qd\":%u,\"queues\":%u,\"direct\":%d,\"poll\":%d,"
		       "\"time_s\":%.3f,\"reads\":%" PRIu64 ",\"writes\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"used_len_not_spec\":%" PRIu64 ",\"iops\":%.0f,\"mbps\":%.2f,\"mibps\":%.2f,"
		       "\"lat_us\":{\"avg\":%.2f,\"p50\":%.2f,\"p99\":%.2f,\"p99.9\":%.2f,\"max\":%.2f}}\n",
		       o.file, o.device, rw_names[o.rw], o.mix, o.bs, o.qd, o.queues, o.direct, o.poll,
		       secs, reads, writes, errors, bad_len, iops, mbps, mbps * 1e6 / 1048576.0,
		       all.n ? (double)all.sum / all.n / 1e3 : 0, hist_pct(&all, 50) / 1e3,
		       hist_pct(&all, 99) / 1e3, hist_pct(&all, 99.9) / 1e3, (double)all.max / 1e3);
	} else {
		if (!o.quiet) {
			printf("vhx-blk-bench: %s bs=%u iodepth=%u queues=%u%s%s, %.2f s measured\n",
			       rw_names[o.rw], o.bs, o.qd, o.queues, o.direct ? " direct" : "",
			       o.poll ? " poll" : "", secs);
			printf("  IOPS %.0f  %.2f MB/s (%.2f MiB/s)  reads %" PRIu64 " writes %" PRIu64
			       " errors %" PRIu64 "\n", iops, mbps, mbps * 1e6 / 1048576.0, reads,
			       writes, errors);
			printf("  latency us: avg %.2f  p50 %.2f  p99 %.2f  p99.9 %.2f  max %.2f\n",
			       all.n ? (double)all.sum / all.n / 1e3 : 0, hist_pct(&all, 50) / 1e3,
			       hist_pct(&all, 99) / 1e3, hist_pct(&all, 99.9) / 1e3,
			       (double)all.max / 1e3);
			if (bad_len)
				printf("  note: %" PRIu64 " completions had used.len != the spec's "
				       "(data + 1 for reads, 1 for writes)\n", bad_len);
		}
		printf("result tool=vhx-blk-bench rw=%s rwmixread=%u bs=%u qd=%u queues=%u direct=%d "
		       "time_s=%.2f iops=%.0f mbps=%.2f mibps=%.2f lat_avg_us=%.2f lat_p50_us=%.2f "
		       "lat_p99_us=%.2f lat_p999_us=%.2f lat_max_us=%.2f errors=%" PRIu64 "\n",
		       rw_names[o.rw], o.mix, o.bs, o.qd, o.queues, o.direct, secs, iops, mbps,
		       mbps * 1e6 / 1048576.0, all.n ? (double)all.sum / all.n / 1e3 : 0,
		       hist_pct(&all, 50) / 1e3, hist_pct(&all, 99) / 1e3,
		       hist_pct(&all, 99.9) / 1e3, (double)all.max / 1e3, errors);
	}
	vhxl_blk_teardown(&b);
	close(fd);
	for (i = 0; i < o.queues; i++) {
		free(jobs[i].slot);
		free(jobs[i].of_id);
	}
	free(jobs);
	if (errors)
		rc = 1;
	return rc;
}
