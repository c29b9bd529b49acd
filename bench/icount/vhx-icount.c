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
 * Built against the plugin API of QEMU 7.2 (version 1; Debian 12): the
 * declarations below are the few calls it uses, as that release exports
 * them, so no QEMU source is needed to build it.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

static const unsigned char mark_bytes[8] = {
	0x0f, 0x1f, 0x84, 0x00, 'V', 'H', 'X', '1'
};

static void tb_exec(unsigned int vcpu, void *udata)
{
	if (vcpu >= MAX_VCPUS)
		return;
	count[vcpu].insns += (uintptr_t)udata;
	if (vcpu >= nvcpus)
		nvcpus = vcpu + 1;
}

static void mark_exec(unsigned int vcpu, void *udata)
{
	unsigned int i, n = nvcpus;

	(void)vcpu;
	(void)udata;
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

	(void)id;
	qemu_plugin_register_vcpu_tb_exec_cb(tb, tb_exec, QEMU_PLUGIN_CB_NO_REGS,
					     (void *)(uintptr_t)n);
	for (i = 0; i < n; i++) {
		struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);

		if (qemu_plugin_insn_size(insn) == sizeof(mark_bytes) &&
		    !memcmp(qemu_plugin_insn_data(insn), mark_bytes, sizeof(mark_bytes)))
			qemu_plugin_register_vcpu_insn_exec_cb(insn, mark_exec,
							       QEMU_PLUGIN_CB_NO_REGS, NULL);
	}
}

static void at_exit(qemu_plugin_id_t id, void *udata)
{
	(void)id;
	(void)udata;
	mark_exec(0, NULL);	/* the totals, as a last line */
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
	if (!path) {
		fprintf(stderr, "vhx-icount: usage: -plugin vhx-icount.so,out=FILE\n");
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
