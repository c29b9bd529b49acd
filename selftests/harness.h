/* SPDX-License-Identifier: GPL-2.0 */
/*
 * harness.h - a small kselftest-style test harness for the vhx selftests.
 *
 * Own implementation of the kselftest_harness.h vocabulary (TEST, FIXTURE,
 * FIXTURE_SETUP/TEARDOWN, FIXTURE_VARIANT(_ADD), TEST_F, TEST_F_TIMEOUT,
 * ASSERT_* / EXPECT_*, SKIP, TH_LOG, TEST_HARNESS_MAIN) so the tests build
 * outside a kernel tree.
 *
 * Every test runs in a forked child (own process group) with a timeout
 * (default 30 s): a crash or a hang fails only that test.  ASSERT_* stops the
 * test (the fixture teardown still runs), EXPECT_* records a failure and
 * continues.  Output is TAP 13.  Options, as kselftest_harness.h's (each
 * may repeat): -l lists the selected tests; -f FIXTURE, -v VARIANT,
 * -t TEST (a test's own name, or its full FIXTURE.VARIANT.TEST name) and
 * -r FIXTURE:VARIANT:TEST select; -F, -V, -T exclude.  With no selecting
 * option every test is selected; an excluding one always wins.  -h.
 *
 * Exit status: 0 when every selected test passed or skipped, 1 on any
 * failure, 4 (KSFT_SKIP) when every selected test skipped.
 *
 * A program may be built from several files with tests: they run in the
 * order of definition within a file and in link order across files;
 * TEST_HARNESS_MAIN goes in exactly one of them.  A fixture whose TEST_F()s
 * are in several files is declared with FIXTURE_EXTERN and defined with
 * FIXTURE_SHARED (below).
 */
#ifndef VHX_HARNESS_H
#define VHX_HARNESS_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KSFT_PASS 0
#define KSFT_FAIL 1
#define KSFT_SKIP 4

#define TEST_TIMEOUT_DEFAULT 30

/* Result block shared (MAP_SHARED) between the runner and the test child. */
struct __th_result {
	int failed;
	int skipped;
	char reason[256];
};

struct __test_metadata;
struct __fixture_metadata;

struct __fixture_variant_metadata {
	const char *name;
	const void *data;
	struct __fixture_variant_metadata *next;
};

struct __fixture_metadata {
	const char *name;
	struct __fixture_variant_metadata *variants, **vtail;
	struct __fixture_metadata *next;
};

struct __test_metadata {
	const char *name;		/* test name */
	struct __fixture_metadata *fixture;	/* NULL for TEST() */
	void (*fn)(struct __test_metadata *, const void *variant);
	int timeout;
	/* runtime state (child side) */
	struct __th_result *res;
	sigjmp_buf env;
	int in_teardown;
	int no_jump;
	struct __test_metadata *next;
};

/*
 * The registration lists, in the order the constructors run: the order of
 * definition within a file, and the order of the files on the link command
 * line.  One program may be built from several files that define tests:
 * harness.h only declares the lists, TEST_HARNESS_MAIN (exactly once per
 * program) defines them.
 */
extern struct __test_metadata *__th_tests, **__th_tests_tail;
extern struct __fixture_metadata *__th_fixtures, **__th_fixtures_tail;

static inline void __th_register_test(struct __test_metadata *t)
{
	t->next = NULL;
	*__th_tests_tail = t;
	__th_tests_tail = &t->next;
}

static inline void __th_register_fixture(struct __fixture_metadata *f)
{
	f->next = NULL;
	f->vtail = &f->variants;
	*__th_fixtures_tail = f;
	__th_fixtures_tail = &f->next;
}

static inline void __th_register_variant(struct __fixture_metadata *f,
					 struct __fixture_variant_metadata *v)
{
	if (!f->vtail)
		f->vtail = &f->variants;
	v->next = NULL;
	*f->vtail = v;
	f->vtail = &v->next;
}

/* ------------------------------------------------------------------ */
/* Logging and assertions                                              */

#define TH_LOG(fmt, ...) do { \
	fprintf(stdout, "# %s:%d:%s: " fmt "\n", __FILE__, __LINE__, \
		_metadata->name, ##__VA_ARGS__); \
	fflush(stdout); \
} while (0)

static inline void __attribute__((noreturn))
__th_abort(struct __test_metadata *m)
{
	fflush(stdout);
	if (m->in_teardown || m->no_jump)
		_exit(KSFT_FAIL);
	siglongjmp(m->env, 1);
}

#define __TH_CMP(expected, seen, op, is_assert) do { \
	__typeof__(expected) __exp = (expected); \
	__typeof__(seen) __seen = (seen); \
	if (!(__exp op __seen)) { \
		fprintf(stdout, "# %s:%d:%s: Expected %s (%lld, 0x%llx) %s %s (%lld, 0x%llx)\n", \
			__FILE__, __LINE__, _metadata->name, \
			#expected, (long long)__exp, (unsigned long long)__exp, #op, \
			#seen, (long long)__seen, (unsigned long long)__seen); \
		_metadata->res->failed = 1; \
		if (is_assert) \
			__th_abort(_metadata); \
	} \
} while (0)

#define __TH_BOOL(cond, want, is_assert) do { \
	bool __c = !!(cond); \
	if (__c != (want)) { \
		fprintf(stdout, "# %s:%d:%s: Expected %s to be %s\n", \
			__FILE__, __LINE__, _metadata->name, #cond, \
			(want) ? "true" : "false"); \
		_metadata->res->failed = 1; \
		if (is_assert) \
			__th_abort(_metadata); \
	} \
} while (0)

#define ASSERT_EQ(expected, seen) __TH_CMP(expected, seen, ==, 1)
#define ASSERT_NE(expected, seen) __TH_CMP(expected, seen, !=, 1)
#define ASSERT_LT(expected, seen) __TH_CMP(expected, seen, <, 1)
#define ASSERT_LE(expected, seen) __TH_CMP(expected, seen, <=, 1)
#define ASSERT_GT(expected, seen) __TH_CMP(expected, seen, >, 1)
#define ASSERT_GE(expected, seen) __TH_CMP(expected, seen, >=, 1)
#define ASSERT_TRUE(cond)  __TH_BOOL(cond, true, 1)
#define ASSERT_FALSE(cond) __TH_BOOL(cond, false, 1)
#define ASSERT_NULL(p)     __TH_BOOL((p) == NULL, true, 1)
#define ASSERT_NONNULL(p)  __TH_BOOL((p) != NULL, true, 1)

#define EXPECT_EQ(expected, seen) __TH_CMP(expected, seen, ==, 0)
#define EXPECT_NE(expected, seen) __TH_CMP(expected, seen, !=, 0)
#define EXPECT_LT(expected, seen) __TH_CMP(expected, seen, <, 0)
#define EXPECT_LE(expected, seen) __TH_CMP(expected, seen, <=, 0)
#define EXPECT_GT(expected, seen) __TH_CMP(expected, seen, >, 0)
#define EXPECT_GE(expected, seen) __TH_CMP(expected, seen, >=, 0)
#define EXPECT_TRUE(cond)  __TH_BOOL(cond, true, 0)
#define EXPECT_FALSE(cond) __TH_BOOL(cond, false, 0)
#define EXPECT_NULL(p)     __TH_BOOL((p) == NULL, true, 0)
#define EXPECT_NONNULL(p)  __TH_BOOL((p) != NULL, true, 0)

/* Mark the test skipped with a reason, then run @statement (usually return). */
#define SKIP(statement, fmt, ...) do { \
	_metadata->res->skipped = 1; \
	snprintf(_metadata->res->reason, sizeof(_metadata->res->reason), \
		 fmt, ##__VA_ARGS__); \
	statement; \
} while (0)

/* Fail the test explicitly. */
#define FAIL_TEST(fmt, ...) do { \
	TH_LOG(fmt, ##__VA_ARGS__); \
	_metadata->res->failed = 1; \
	__th_abort(_metadata); \
} while (0)

/* ------------------------------------------------------------------ */
/* Test / fixture definitions                                          */

#define TEST(test_name) __TEST_IMPL(test_name, TEST_TIMEOUT_DEFAULT)
#define TEST_TIMEOUT(test_name, t) __TEST_IMPL(test_name, t)

#define __TEST_IMPL(test_name, t) \
	static void test_name(struct __test_metadata *_metadata); \
	static void __wrap_##test_name(struct __test_metadata *_metadata, \
				       const void *variant) \
	{ \
		(void)variant; \
		if (sigsetjmp(_metadata->env, 1) == 0) \
			test_name(_metadata); \
	} \
	static struct __test_metadata __meta_##test_name = { \
		.name = #test_name, .fn = __wrap_##test_name, .timeout = (t), \
	}; \
	static void __attribute__((constructor)) __reg_##test_name(void) \
	{ \
		__th_register_test(&__meta_##test_name); \
	} \
	static void test_name(struct __test_metadata __attribute__((unused)) *_metadata)

#define FIXTURE_DATA(fixture_name) struct _test_data_##fixture_name
#define FIXTURE_VARIANT(fixture_name) struct _fixture_variant_##fixture_name

#define __FIXTURE_FNS(linkage, fixture_name) \
	linkage void fixture_name##_setup(struct __test_metadata *, \
		FIXTURE_DATA(fixture_name) *, \
		const FIXTURE_VARIANT(fixture_name) *); \
	linkage void fixture_name##_teardown(struct __test_metadata *, \
		FIXTURE_DATA(fixture_name) *, \
		const FIXTURE_VARIANT(fixture_name) *)

#define __FIXTURE_REG(fixture_name) \
	static void __attribute__((constructor)) __reg_fixture_##fixture_name(void) \
	{ \
		__th_register_fixture(&__fixture_##fixture_name); \
	}

/*
 * A fixture of one file.  Its setup and teardown are static (declared so
 * here: FIXTURE_SETUP and FIXTURE_TEARDOWN inherit the linkage).
 */
#define FIXTURE(fixture_name) \
	FIXTURE_VARIANT(fixture_name); \
	FIXTURE_DATA(fixture_name); \
	__FIXTURE_FNS(static, fixture_name); \
	static struct __fixture_metadata __fixture_##fixture_name = { \
		.name = #fixture_name, \
	}; \
	__FIXTURE_REG(fixture_name) \
	FIXTURE_DATA(fixture_name)

/*
 * A fixture with TEST_F()s in more than one file of a program.  A header
 * that each of those files includes defines the FIXTURE_DATA(name) and
 * FIXTURE_VARIANT(name) structs, then says FIXTURE_EXTERN(name).  Exactly
 * one of the files says FIXTURE_SHARED(name) where FIXTURE(name) { ... }
 * would be, and holds FIXTURE_SETUP, FIXTURE_TEARDOWN and the
 * FIXTURE_VARIANT_ADDs; the others only add TEST_F(name, ...).
 */
#define FIXTURE_EXTERN(fixture_name) \
	extern struct __fixture_metadata __fixture_##fixture_name; \
	__FIXTURE_FNS(extern, fixture_name)

#define FIXTURE_SHARED(fixture_name) \
	struct __fixture_metadata __fixture_##fixture_name = { \
		.name = #fixture_name, \
	}; \
	__FIXTURE_REG(fixture_name)

/* No storage class: static after FIXTURE, extern after FIXTURE_EXTERN. */
#define FIXTURE_SETUP(fixture_name) \
	void fixture_name##_setup( \
		struct __test_metadata __attribute__((unused)) *_metadata, \
		FIXTURE_DATA(fixture_name) __attribute__((unused)) *self, \
		const FIXTURE_VARIANT(fixture_name) __attribute__((unused)) *variant)

#define FIXTURE_TEARDOWN(fixture_name) \
	void fixture_name##_teardown( \
		struct __test_metadata __attribute__((unused)) *_metadata, \
		FIXTURE_DATA(fixture_name) __attribute__((unused)) *self, \
		const FIXTURE_VARIANT(fixture_name) __attribute__((unused)) *variant)

#define FIXTURE_VARIANT_ADD(fixture_name, variant_name) \
	static const FIXTURE_VARIANT(fixture_name) \
		_##fixture_name##_##variant_name##_variant; \
	static struct __fixture_variant_metadata \
		_##fixture_name##_##variant_name##_object = { \
		.name = #variant_name, \
		.data = &_##fixture_name##_##variant_name##_variant, \
	}; \
	static void __attribute__((constructor)) \
		_##fixture_name##_##variant_name##_reg(void) \
	{ \
		__th_register_variant(&__fixture_##fixture_name, \
				      &_##fixture_name##_##variant_name##_object); \
	} \
	static const FIXTURE_VARIANT(fixture_name) \
		_##fixture_name##_##variant_name##_variant =

#define TEST_F(fixture_name, test_name) \
	__TEST_F_IMPL(fixture_name, test_name, TEST_TIMEOUT_DEFAULT)
#define TEST_F_TIMEOUT(fixture_name, test_name, t) \
	__TEST_F_IMPL(fixture_name, test_name, t)

#define __TEST_F_IMPL(fixture_name, test_name, t) \
	static void fixture_name##_##test_name( \
		struct __test_metadata *_metadata, \
		FIXTURE_DATA(fixture_name) *self, \
		const FIXTURE_VARIANT(fixture_name) *variant); \
	static void __wrap_##fixture_name##_##test_name( \
		struct __test_metadata *_metadata, const void *v) \
	{ \
		const FIXTURE_VARIANT(fixture_name) *variant = v; \
		FIXTURE_DATA(fixture_name) *self = calloc(1, sizeof(*self)); \
		if (!self) \
			_exit(KSFT_FAIL); \
		if (sigsetjmp(_metadata->env, 1) == 0) { \
			fixture_name##_setup(_metadata, self, variant); \
			if (!_metadata->res->skipped && !_metadata->res->failed) \
				fixture_name##_##test_name(_metadata, self, variant); \
		} \
		_metadata->in_teardown = 1; \
		fixture_name##_teardown(_metadata, self, variant); \
		free(self); \
	} \
	static struct __test_metadata __meta_##fixture_name##_##test_name = { \
		.name = #test_name, \
		.fixture = &__fixture_##fixture_name, \
		.fn = __wrap_##fixture_name##_##test_name, \
		.timeout = (t), \
	}; \
	static void __attribute__((constructor)) \
		__reg_##fixture_name##_##test_name(void) \
	{ \
		__th_register_test(&__meta_##fixture_name##_##test_name); \
	} \
	static void fixture_name##_##test_name( \
		struct __test_metadata __attribute__((unused)) *_metadata, \
		FIXTURE_DATA(fixture_name) __attribute__((unused)) *self, \
		const FIXTURE_VARIANT(fixture_name) __attribute__((unused)) *variant)

/* ------------------------------------------------------------------ */
/* Runner                                                              */

struct __th_instance {
	struct __test_metadata *t;
	const struct __fixture_variant_metadata *v;
	char full[256];
};

static inline double __th_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A filter option: its letter and argument. */
struct __th_filter {
	char opt;
	const char *arg;
};

static inline int __th_match(const struct __th_filter *f, const char *fixture,
			     const char *variant, const char *test,
			     const char *full)
{
	char rule[768];

	switch (f->opt) {
	case 'f': case 'F':
		return !strcmp(f->arg, fixture);
	case 'v': case 'V':
		return !strcmp(f->arg, variant);
	case 't': case 'T':
		return !strcmp(f->arg, test) || !strcmp(f->arg, full);
	case 'r':
		snprintf(rule, sizeof(rule), "%s:%s:%s", fixture, variant, test);
		return !strcmp(f->arg, rule);
	}
	return 0;
}

/*
 * Is a test instance selected?  Excluding options (upper case) drop it;
 * otherwise it runs if no selecting option was given or one matches.
 */
static inline int __th_selected(const char *fixture, const char *variant,
				const char *test, const char *full,
				const struct __th_filter *flt, int nflt)
{
	int i, selecting = 0, hit = 0;

	for (i = 0; i < nflt; i++) {
		int m = __th_match(&flt[i], fixture, variant, test, full);

		if (flt[i].opt >= 'A' && flt[i].opt <= 'Z') {
			if (m)
				return 0;
		} else {
			selecting = 1;
			hit |= m;
		}
	}
	return !selecting || hit;
}

/* Run one instance in a child; returns 0 pass, 1 fail, 4 skip. */
static inline int __th_run_one(struct __th_instance *in, struct __th_result *res,
			       double *elapsed)
{
	struct __test_metadata *t = in->t;
	double start = __th_now(), deadline = start + t->timeout;
	int status = 0, timed_out = 0;
	pid_t pid, w;

	memset(res, 0, sizeof(*res));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(res->reason, sizeof(res->reason), "fork: %s", strerror(errno));
		return KSFT_FAIL;
	}
	if (pid == 0) {
		setpgid(0, 0);
		setvbuf(stdout, NULL, _IOLBF, 0);
		t->res = res;
		t->name = in->full;
		t->in_teardown = 0;
		t->fn(t, in->v ? in->v->data : NULL);
		fflush(stdout);
		_exit(res->failed ? KSFT_FAIL : res->skipped ? KSFT_SKIP : KSFT_PASS);
	}
	setpgid(pid, pid);
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			status = 0x100; /* treat as failure */
			break;
		}
		if (__th_now() > deadline) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	/* Reap anything left in the test's process group. */
	kill(-pid, SIGKILL);
	*elapsed = __th_now() - start;
	if (timed_out) {
		printf("# %s: Test terminated by timeout (%d s)\n", in->full, t->timeout);
		return KSFT_FAIL;
	}
	if (WIFSIGNALED(status)) {
		printf("# %s: Test terminated unexpectedly by signal %d\n",
		       in->full, WTERMSIG(status));
		return KSFT_FAIL;
	}
	if (!WIFEXITED(status))
		return KSFT_FAIL;
	switch (WEXITSTATUS(status)) {
	case KSFT_PASS:
		return res->failed ? KSFT_FAIL : KSFT_PASS;
	case KSFT_SKIP:
		return KSFT_SKIP;
	default:
		return KSFT_FAIL;
	}
}

static inline int __th_main(int argc, char **argv)
{
	struct __th_instance *inst = NULL;
	int ninst = 0, cap = 0, i, opt, list = 0, nsel = 0;
	int pass = 0, fail = 0, skip = 0;
	struct __th_filter *flt = calloc(argc + 1, sizeof(*flt));
	struct __test_metadata *t;
	struct __th_result *res;

	if (!flt)
		return KSFT_FAIL;
	while ((opt = getopt(argc, argv, "lf:F:v:V:t:T:r:h")) != -1) {
		switch (opt) {
		case 'l':
			list = 1;
			break;
		case 'f': case 'F': case 'v': case 'V':
		case 't': case 'T': case 'r':
			flt[nsel].opt = opt;
			flt[nsel++].arg = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-h|-l] [-t|-T|-v|-V|-f|-F|-r name]\n"
				"  -l list; -t TEST, -v VARIANT, -f FIXTURE, -r F:V:T select;\n"
				"  -T, -V, -F exclude (and win over any selection)\n", argv[0]);
			free(flt);
			return opt == 'h' ? 0 : KSFT_FAIL;
		}
	}

	/* Expand fixture variants. */
	for (t = __th_tests; t; t = t->next) {
		const struct __fixture_variant_metadata *v =
			t->fixture ? t->fixture->variants : NULL;
		do {
			struct __th_instance *in;

			if (ninst == cap) {
				cap = cap ? cap * 2 : 64;
				inst = realloc(inst, cap * sizeof(*inst));
				if (!inst)
					return KSFT_FAIL;
			}
			in = &inst[ninst];
			in->t = t;
			in->v = v;
			if (t->fixture && v)
				snprintf(in->full, sizeof(in->full), "%s.%s.%s",
					 t->fixture->name, v->name, t->name);
			else if (t->fixture)
				snprintf(in->full, sizeof(in->full), "%s.%s",
					 t->fixture->name, t->name);
			else
				snprintf(in->full, sizeof(in->full), "%s", t->name);
			if (__th_selected(t->fixture ? t->fixture->name : "",
					  v ? v->name : "", t->name, in->full,
					  flt, nsel))
				ninst++;
			v = v ? v->next : NULL;
		} while (v);
	}

	if (list) {
		for (i = 0; i < ninst; i++)
			printf("%s\n", inst[i].full);
		free(flt);
		return 0;
	}

	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (res == MAP_FAILED) {
		perror("mmap");
		return KSFT_FAIL;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	printf("1..%d\n", ninst);
	for (i = 0; i < ninst; i++) {
		double el = 0;
		int r;

		printf("# RUN           %s ...\n", inst[i].full);
		r = __th_run_one(&inst[i], res, &el);
		if (r == KSFT_PASS) {
			pass++;
			printf("#            OK  %s (%.2f s)\n", inst[i].full, el);
			printf("ok %d %s\n", i + 1, inst[i].full);
		} else if (r == KSFT_SKIP) {
			skip++;
			printf("#      SKIP      %s\n", inst[i].full);
			printf("ok %d %s # SKIP %s\n", i + 1, inst[i].full, res->reason);
		} else {
			fail++;
			printf("#          FAIL  %s (%.2f s)\n", inst[i].full, el);
			printf("not ok %d %s\n", i + 1, inst[i].full);
		}
	}
	printf("# %s: %d / %d tests passed.\n", fail ? "FAILED" : "PASSED",
	       pass + skip, ninst);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       pass, fail, skip);
	free(flt);
	if (fail)
		return KSFT_FAIL;
	if (ninst && skip == ninst)
		return KSFT_SKIP;
	return KSFT_PASS;
}

#define TEST_HARNESS_MAIN \
	struct __test_metadata *__th_tests, **__th_tests_tail = &__th_tests; \
	struct __fixture_metadata *__th_fixtures, \
		**__th_fixtures_tail = &__th_fixtures; \
	int main(int argc, char **argv) { return __th_main(argc, argv); }

#endif /* VHX_HARNESS_H */
