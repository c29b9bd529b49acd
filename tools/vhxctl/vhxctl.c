// SPDX-License-Identifier: GPL-2.0
/*
 * vhxctl: list the open vhx devices and their per-queue counters.
 *
 *   vhxctl list            devices: owner, worker, features, backends, rings
 *   vhxctl stats [ID]      per-queue counters (all devices, or one)
 *   vhxctl watch [-n SEC] [ID]   stats, refreshed, with per-second rates
 *   vhxctl raw             the kernel's view as is
 *
 * Reads /sys/kernel/debug/vhx/devices (root; debugfs is mounted on demand).
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEBUGFS "/sys/kernel/debug"
#define DEVICES DEBUGFS "/vhx/devices"
#define MAX_KV 32
#define MAX_LINES 4096

struct line {
	bool is_dev;
	int nkv;
	char *key[MAX_KV];
	char *val[MAX_KV];
};

static struct line lines[MAX_LINES];
static int nlines;
static char *text;

static const char *get(const struct line *l, const char *key)
{
	for (int i = 0; i < l->nkv; i++)
		if (!strcmp(l->key[i], key))
			return l->val[i];
	return "?";
}

static uint64_t getu(const struct line *l, const char *key)
{
	return strtoull(get(l, key), NULL, 0);
}

static int ensure_debugfs(void)
{
	struct stat st;

	if (!stat(DEBUGFS "/vhx", &st))
		return 0;
	/* Not there: debugfs may just not be mounted yet. */
	if (!stat(DEBUGFS, &st))
		(void)mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	if (!stat(DEBUGFS "/vhx", &st))
		return 0;
	fprintf(stderr, "vhxctl: %s not found: is vhx_core loaded, debugfs mounted, and are you root?\n",
		DEVICES);
	return -1;
}

/* Read and split the devices file into key=value lines. */
static int load(void)
{
	size_t cap = 1 << 16, len = 0;
	FILE *f = fopen(DEVICES, "r");
	char *p, *save;

	if (!f) {
		fprintf(stderr, "vhxctl: %s: %s\n", DEVICES, strerror(errno));
		return -1;
	}
	free(text);
	text = malloc(cap);
	for (;;) {
		size_t n = fread(text + len, 1, cap - len - 1, f);

		len += n;
		if (len < cap - 1)
			break;
		cap *= 2;
		text = realloc(text, cap);
	}
	fclose(f);
	text[len] = 0;
	nlines = 0;
	for (p = strtok_r(text, "\n", &save); p && nlines < MAX_LINES;
	     p = strtok_r(NULL, "\n", &save)) {
		struct line *l = &lines[nlines];
		char *tok, *s2;

		l->nkv = 0;
		tok = strtok_r(p, " ", &s2);
		if (!tok)
			continue;
		l->is_dev = !strcmp(tok, "dev");
		while ((tok = strtok_r(NULL, " ", &s2)) && l->nkv < MAX_KV) {
			char *eq = strchr(tok, '=');

			if (!eq)
				continue;
			*eq = 0;
			l->key[l->nkv] = tok;
			l->val[l->nkv] = eq + 1;
			l->nkv++;
		}
		nlines++;
	}
	return 0;
}

static const char *comm_of(const char *pid)
{
	static char buf[64];
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%s/comm", pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		strcpy(buf, "?");
	if (f)
		fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return buf;
}

/* Feature bits by name, the ones vhx can negotiate. */
static void print_features(uint64_t f)
{
	static const struct { int bit; const char *name; } names[] = {
		{ 15, "MRG_RXBUF" }, { 24, "NOTIFY_ON_EMPTY" },
		{ 26, "LOG_ALL" }, { 27, "VNET_HDR" },
		{ 28, "INDIRECT" }, { 29, "EVENT_IDX" },
		{ 32, "VERSION_1" }, { 33, "ACCESS_PLATFORM" },
		{ 34, "RING_PACKED" }, { 40, "RING_RESET" },
	};
	bool first = true;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (f & (1ULL << names[i].bit)) {
			printf("%s%s", first ? "" : ",", names[i].name);
			first = false;
		}
	}
	if (first)
		printf("-");
}

static int cmd_list(void)
{
	int ndev = 0;

	printf("%-4s %-4s %-22s %-8s %-18s %-10s %s\n", "ID", "KIND", "OWNER",
	       "WORKER", "FEATURES", "BACKENDS", "RINGS");
	for (int i = 0; i < nlines; i++) {
		const struct line *d = &lines[i];
		char owner[48], backends[64] = "", rings[64] = "";

		if (!d->is_dev)
			continue;
		ndev++;
		snprintf(owner, sizeof(owner), "%s(%s)", get(d, "owner"),
			 comm_of(get(d, "owner")));
		for (int j = i + 1; j < nlines && !lines[j].is_dev; j++) {
			size_t bl = strlen(backends), rl = strlen(rings);

			snprintf(backends + bl, sizeof(backends) - bl, "%s%s",
				 bl ? "," : "", get(&lines[j], "backend"));
			snprintf(rings + rl, sizeof(rings) - rl, "%s%s:%s%s",
				 rl ? " " : "", get(&lines[j], "name"),
				 get(&lines[j], "num"),
				 strcmp(get(&lines[j], "layout"), "packed") ?
				 "" : "/packed");
		}
		printf("%-4s %-4s %-22s %-8s %-18s %-10s %s\n", get(d, "id"),
		       get(d, "kind"), owner, get(d, "worker"),
		       get(d, "features"), backends, rings);
		printf("     features: ");
		print_features(getu(d, "features"));
		printf("%s\n", getu(d, "iotlb") ? " (device IOTLB on)" : "");
	}
	if (!ndev)
		printf("(no open vhx device)\n");
	return 0;
}

static const char *counters[] = {
	"packets", "bytes", "kicks", "calls", "runs", "requeues", "errors",
	"iotlb_misses",
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

/* Previous sample for rates in watch mode, keyed by dev/idx. */
struct sample {
	char dev[16];
	char idx[8];
	uint64_t v[NCOUNTERS];
};
static struct sample prev[MAX_LINES];
static int nprev;

static const struct sample *find_prev(const char *dev, const char *idx)
{
	for (int i = 0; i < nprev; i++)
		if (!strcmp(prev[i].dev, dev) && !strcmp(prev[i].idx, idx))
			return &prev[i];
	return NULL;
}

static int cmd_stats(const char *only, double interval)
{
	struct sample cur[MAX_LINES];
	int ncur = 0, shown = 0;

	printf("%-4s %-3s %-4s %-6s %-10s", "DEV", "VQ", "NAME", "RING",
	       "BACKEND");
	for (size_t c = 0; c < NCOUNTERS; c++)
		printf(" %12s", counters[c]);
	printf("%s\n", interval > 0 ? "   (rates per second below)" : "");
	for (int i = 0; i < nlines; i++) {
		const struct line *q = &lines[i];
		const struct sample *p;
		struct sample *s = &cur[ncur];

		if (q->is_dev || (only && strcmp(get(q, "dev"), only)))
			continue;
		snprintf(s->dev, sizeof(s->dev), "%s", get(q, "dev"));
		snprintf(s->idx, sizeof(s->idx), "%s", get(q, "idx"));
		printf("%-4s %-3s %-4s %-6s %-10s", s->dev, s->idx,
		       get(q, "name"), get(q, "num"), get(q, "backend"));
		for (size_t c = 0; c < NCOUNTERS; c++) {
			s->v[c] = getu(q, counters[c]);
			printf(" %12" PRIu64, s->v[c]);
		}
		printf("%s\n", getu(q, "broken") ? "  BROKEN" : "");
		p = interval > 0 ? find_prev(s->dev, s->idx) : NULL;
		if (p) {
			printf("%-29s", "");
			for (size_t c = 0; c < NCOUNTERS; c++)
				printf(" %12.0f",
				       (s->v[c] - p->v[c]) / interval);
			printf("\n");
		}
		ncur++;
		shown++;
	}
	if (!shown)
		printf("(no open vhx device%s%s)\n", only ? " with id " : "",
		       only ? only : "");
	memcpy(prev, cur, sizeof(cur[0]) * ncur);
	nprev = ncur;
	return 0;
}

static volatile sig_atomic_t stop;

static void on_sigint(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(int rc)
{
	fprintf(rc ? stderr : stdout,
		"usage: vhxctl list | stats [ID] | watch [-n SECONDS] [ID] | raw\n");
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "list";

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return usage(0);
	if (ensure_debugfs())
		return 1;
	if (!strcmp(cmd, "raw")) {
		if (load())
			return 1;
		execlp("cat", "cat", DEVICES, (char *)NULL);
		return 1;
	}
	if (!strcmp(cmd, "list"))
		return load() ? 1 : cmd_list();
	if (!strcmp(cmd, "stats"))
		return load() ? 1 : cmd_stats(argc > 2 ? argv[2] : NULL, 0);
	if (!strcmp(cmd, "watch")) {
		double interval = 1;
		const char *only = NULL;

		for (int i = 2; i < argc; i++) {
			if (!strcmp(argv[i], "-n") && i + 1 < argc)
				interval = atof(argv[++i]);
			else
				only = argv[i];
		}
		if (interval <= 0)
			return usage(2);
		signal(SIGINT, on_sigint);
		while (!stop) {
			struct timespec ts = {
				.tv_sec = (time_t)interval,
				.tv_nsec = (long)((interval - (time_t)interval) * 1e9),
			};

			if (load())
				return 1;
			if (isatty(1))
				printf("\033[H\033[2J");
			printf("vhxctl watch: every %.1fs, Ctrl-C to stop\n\n",
			       interval);
			cmd_list();
			printf("\n");
			cmd_stats(only, interval);
			fflush(stdout);
			nanosleep(&ts, NULL);
		}
		return 0;
	}
	return usage(2);
}
