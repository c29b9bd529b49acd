/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blk_common.h - what the files of blk_test share: the backends a test
 * runs over (struct disk), the device set-up of every fixture (blk_up,
 * BLK_SETUP, BLK_TEARDOWN), one request and a write/read round trip,
 * bursts of writes, and the per-queue debugfs counters.
 */
#ifndef VHX_BLK_COMMON_H
#define VHX_BLK_COMMON_H

#include <sys/types.h>

#include "harness.h"
#include "vhxblk.h"

#define DISK_BYTES (16ULL << 20)
#define DISK_SECTORS (DISK_BYTES / 512)

enum backend { BK_FILE, BK_LOOP, BK_RAM_DIRECT, BK_NULL_SLOW };

/* A backend for one test: the fd given to the device and one to check. */
struct disk {
	enum backend kind;
	int fd;			/* handed to VHX_BLK_SET_BACKEND */
	int check;		/* read-back fd (backing file for loop) */
	int loop_nr;
	uint64_t sectors;	/* capacity */
	char path[64];
	char loop_path[32];
};

/* Backends, and the set-up of a device over one (blk_common.c) */
int disk_open(struct disk *d, enum backend kind, bool ro, char *why,
	      size_t whylen);
void disk_close(struct disk *d);
int disk_pread(struct disk *d, void *buf, size_t len, off_t off);
void pattern(void *buf, size_t len, uint32_t seed);
/* Run a shell command built from @fmt: its exit status, or -errno. */
int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int blk_up(struct vhxl_blk *b, struct disk *d, enum backend kind,
	   const struct vhxl_blk_cfg *c, char *why, size_t whylen);

#define BLK_SETUP(kind, ...) do {					\
		struct vhxl_blk_cfg c = { __VA_ARGS__ };			\
		char why[160] = "";					\
		int r = blk_up(&self->b, &self->d, kind, &c, why, sizeof(why)); \
									\
		if (r > 0)						\
			SKIP(return, "%s", why);			\
		ASSERT_EQ(0, r);					\
		self->up = true;					\
	} while (0)

#define BLK_TEARDOWN() do {						\
		if (self->up)						\
			vhxl_blk_teardown(&self->b);			\
		disk_close(&self->d);					\
	} while (0)

/* Requests (blk_common.c) */
void do_io(struct __test_metadata *_metadata, struct vhxl_blk *b,
	   const struct vhxl_blk_io *io, uint8_t status, int64_t used_len);
void rt(struct __test_metadata *_metadata, struct vhxl_blk *b,
	struct disk *disk, uint64_t sector, uint32_t len, uint32_t seed,
	const struct vhxl_blk_io *layout);

/* Any fixture with a struct vhxl_blk b and a struct disk d. */
#define roundtrip(m, self, ...) rt(m, &(self)->b, &(self)->d, __VA_ARGS__)

unsigned post_writes(struct vhxl_blk *b, unsigned q, unsigned n,
		     uint32_t len, uint64_t sector0);

/* debugfs counter @key of queue @q of the blk device @owner owns */
long long vq_counter(pid_t owner, unsigned q, const char *key);

/*
 * The blk fixture: one device over each backend, split and packed.  It is
 * defined in blk_test.c; its last test, killed_owner, is in blk_owner.c.
 */
FIXTURE_DATA(blk)
{
	struct vhxl_blk b;
	struct disk d;
	bool up;
	char wq_cpumask[64];	/* to restore at teardown, if changed */
};

FIXTURE_VARIANT(blk)
{
	enum backend kind;
	bool event_idx;
	bool packed;
};

FIXTURE_EXTERN(blk);

#endif /* VHX_BLK_COMMON_H */
