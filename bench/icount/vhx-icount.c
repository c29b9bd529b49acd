// SPDX-License-Identifier: GPL-2.0
/*
 * vhx-icount.c - a QEMU TCG plugin for make bench: guest instructions
 * executed per vCPU, read by the guest at marks of its own choosing.
 *
 *   qemu-system-x86_64 ... -plugin vhx-icount.so,out=FILE
 *
 * Every translated block adds its instruction count to the counter of the
 * vCPU that runs it (a halted vCPU runs nothing, so idle costs nothing).
 * A mark is the 8-byte no-op "nopl 0x31584856(%rax,%rax,1)" (the
 * displacement spells "VHX1"), executed anywhere in the guest: on its
 * execution the plugin appends one line to FILE,
 *
 *   SEQ COUNT_OF_VCPU0 COUNT_OF_VCPU1 ...
 *
 * and flushes it, so the guest program that ran the mark reads the line
 * right after (bench/progs/icount_mark.c, through a 9p export of FILE's
 * directory mounted without a cache).  Counts are exact for the blocks
 * that complete; a block cut short by an exception counts whole.
 *
 * With prof=PFILE it also keeps an instruction profile of vCPU 0 (the
 * one the bench pins the vhost workers to): instructions executed per
 * translated block, keyed by the block's guest address.  Mark "VHX2"
 * zeroes the profile and starts it, "VHX3" stops it and rewrites PFILE
 * with one "ADDRESS INSNS" line (hex, decimal) per block that ran; both
 * also append a count line as "VHX1" does.  The guest resolves the
 * addresses against /proc/kallsyms (bench/lib/cost.sh).  The profile
 * costs host time only: the guest's instruction counts do not change.
 *
 * Built against the plugin API of QEMU 7.2 (version 1; Debian 12): the
 * declarations below are the few calls it uses, as that release exports
 * them, so no QEMU source is needed to build it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

/* --- the QEMU 7.2 plugin API used here (opaque types, version 1) --- */
typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*vcpu_udata_cb)(unsigned int vcpu_index, void *udata);
typedef void (*tb_trans_cb)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*udata_cb)(qemu_plugin_id_t id, void *udata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id, tb_trans_cb cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb, vcpu_udata_cb cb,
					  enum qemu_plugin_cb_flags flags, void *udata);
void qemu_plugin_register_vcpu_insn_exec_cb(struct qemu_plugin_insn *insn, vcpu_udata_cb cb,
					    enum qemu_plugin_cb_flags flags, void *udata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb cb, void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb, size_t idx);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *insn);
size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *insn);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
/* --- end of the API --- */

EXPORT int qemu_plugin_version = 1;

#define MAX_VCPUS 64

/* One counter per vCPU, each on its own cache line: only that vCPU's
 * thread writes it, the mark callback (any vCPU) reads all of them. */
static struct {
	volatile uint64_t insns;
	char pad[56];
} count[MAX_VCPUS] __attribute__((aligned(64)));

static volatile unsigned int nvcpus;	/* highest vCPU index seen + 1 */
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *out;
static uint64_t seq;

/* The mark is "nopl 0x3?584856(%rax,%rax,1)"; the last byte says which. */
static const unsigned char mark_bytes[7] = {
	0x0f, 0x1f, 0x84, 0x00, 'V', 'H', 'X'
};
enum { MARK_COUNT = '1', MARK_PROF_START = '2', MARK_PROF_STOP = '3' };

/* The profile: one record per translated block (address and size). */
#define PROF_CPU 0
#define PROF_BITS 16
struct tb_rec {
	uint64_t vaddr;
	uint64_t insns;		/* executed on PROF_CPU while profiling */
	uint32_t n;		/* instructions in the block */
	struct tb_rec *next;
};
static struct tb_rec *prof_tab[1 << PROF_BITS];
static pthread_mutex_t prof_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *prof_path;
static volatile int profiling;

static void count_insns(unsigned int vcpu, uint32_t n)
{
	if (vcpu >= MAX_VCPUS)
		return;
	count[vcpu].insns += n;
	if (vcpu >= nvcpus)
		nvcpus = vcpu + 1;
}

static void tb_exec(unsigned int vcpu, void *udata)
{
	count_insns(vcpu, (uintptr_t)udata);
}

static void tb_exec_prof(unsigned int vcpu, void *udata)
{
	struct tb_rec *r = udata;

	count_insns(vcpu, r->n);
	if (vcpu == PROF_CPU && profiling)
		r->insns += r->n;
}

static struct tb_rec *prof_rec(uint64_t vaddr, uint32_t n)
{
	unsigned int h = (unsigned int)((vaddr * 0x9e3779b97f4a7c15ULL) >> (64 - PROF_BITS));
	struct tb_rec *r;

	pthread_mutex_lock(&prof_lock);
	for (r = prof_tab[h]; r; r = r->next)
		if (r->vaddr == vaddr && r->n == n)
			break;
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (r) {
			r->vaddr = vaddr;
			r->n = n;
			r->next = prof_tab[h];
			prof_tab[h] = r;
		}
	}
	pthread_mutex_unlock(&prof_lock);
	return r;
}

/* Zero the profile (start), or write it out (stop). */
static void prof_mark(int kind)
{
	struct tb_rec *r;
	FILE *f = NULL;
	unsigned int h;

	if (!prof_path)
		return;
	if (kind == MARK_PROF_STOP) {
		profiling = 0;
		f = fopen(prof_path, "w");
		if (!f)
			perror(prof_path);
	}
	pthread_mutex_lock(&prof_lock);
	for (h = 0; h < 1U << PROF_BITS; h++)
		for (r = prof_tab[h]; r; r = r->next) {
			if (kind == MARK_PROF_START)
				r->insns = 0;
			else if (f && r->insns)
				fprintf(f, "%016llx %llu\n", (unsigned long long)r->vaddr,
					(unsigned long long)r->insns);
		}
	pthread_mutex_unlock(&prof_lock);
	if (f)
		fclose(f);
	if (kind == MARK_PROF_START)
		profiling = 1;
}

static void mark_exec(unsigned int vcpu, void *udata)
{
	unsigned int i, n = nvcpus;

	(void)vcpu;
	prof_mark((int)(uintptr_t)udata);
	pthread_mutex_lock(&out_lock);
	fprintf(out, "%llu", (unsigned long long)++seq);
	for (i = 0; i < n; i++)
		fprintf(out, " %llu", (unsigned long long)count[i].insns);
	fputc('\n', out);
	fflush(out);
	pthread_mutex_unlock(&out_lock);
}

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t i, n = qemu_plugin_tb_n_insns(tb);
	struct tb_rec *r = prof_path ? prof_rec(qemu_plugin_tb_vaddr(tb), n) : NULL;

	(void)id;
	if (r)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec_prof,
						     QEMU_PLUGIN_CB_NO_REGS, r);
	else
		qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
						     (void *)(uintptr_t)n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
		const unsigned char *d = qemu_plugin_insn_data(insn);

		if (qemu_plugin_insn_size(insn) == sizeof(mark_bytes) + 1 &&
		    !memcmp(d, mark_bytes, sizeof(mark_bytes)) &&
		    d[7] >= MARK_COUNT && d[7] <= MARK_PROF_STOP)
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec,
							       QEMU_PLUGIN_CB_NO_REGS,
							       (void *)(uintptr_t)d[7]);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	mark_exec(0, (void *)(uintptr_t)MARK_COUNT);	/* the totals, as a last line */
	fclose(out);
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *info,
			       int argc, char **argv)
{
	const char *path = NULL;
	int i;

	(void)info;
	for (i = 0; i < argc; i++)
		if (!strncmp(argv[i], "out=", 4))
			path = argv[i] + 4;
		else if (!strncmp(argv[i], "prof=", 5))
			prof_path = argv[i] + 5;
	if (!path) {
		fprintf(stderr, "vhx-icount: usage: -plugin vhx-icount.so,out=FILE[,prof=PFILE]\n");
		return -1;
	}
	out = fopen(path, "w");
	if (!out) {
		perror(path);
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
	qemu_plugin_register_atexit_cb(id, at_exit, NULL);
	return 0;
}
