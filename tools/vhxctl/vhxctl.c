// SPDX-License-Identifier: GPL-2.0
/*
 * vhxctl: list the open vhx devices and their per-queue counters.
 *
 *   vhxctl list            devices: owner and its VM, worker, features,
 *                          backends, rings
 *   vhxctl stats [ID]      per-queue counters (all devices, or one)
 *   vhxctl stats --json [ID]   the same as one JSON document (README.md)
 *   vhxctl prom            Prometheus text exposition (node_exporter's
 *                          textfile collector)
 *   vhxctl watch [-n SEC] [ID]   stats, refreshed, with per-second rates
 *   vhxctl raw             the kernel's view as is
 *
 * Reads /sys/kernel/debug/vhx/devices (root; debugfs is mounted on demand).
 * Where debugfs is absent or locked down (or with VHXCTL_SOURCE=fd), it
 * asks each device itself (vhxctl_fd.c).
 * The VM behind a device is the owner's QEMU -name (guest=NAME as libvirt
 * passes it), read from /proc/PID/cmdline.
 */
#define _GNU_SOURCE
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

#include "vhxctl.h"

#define DEBUGFS "/sys/kernel/debug"
#define DEVICES DEBUGFS "/vhx/devices"
struct line lines[MAX_LINES];
int nlines;
static char *text;

static const char *get(const struct line *l, const char *key)
{
	for (int i = 0; i < l->nkv; i++)
		if (!strcmp(l->key[i], key))
			return l->val[i];
	return "?";
}

static bool has(const struct line *l, const char *key)
{
	for (int i = 0; i < l->nkv; i++)
		if (!strcmp(l->key[i], key))
			return true;
	return false;
}

static uint64_t getu(const struct line *l, const char *key)
{
	return strtoull(get(l, key), NULL, 0);
}

static int ensure_debugfs(bool quiet)
{
	struct stat st;

	if (!access(DEVICES, R_OK))
		return 0;
	/* Not there: debugfs may just not be mounted yet. */
	if (!stat(DEBUGFS, &st))
		(void)mount("debugfs", DEBUGFS, "debugfs", 0, NULL);
	if (!access(DEVICES, R_OK))
		return 0;
	if (quiet)
		return -1;
	fprintf(stderr, "vhxctl: %s not found: is vhx_core loaded, debugfs mounted, and are you root?\n",
		DEVICES);
	return -1;
}

/* Read and split the devices file into key=value lines. */
static int load_debugfs(void)
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

/* Where the lines come from: debugfs, or the devices' fds. */
static bool from_fds;

/* vm_of()'s answers, by owner pid; forgotten at each load. */
#define VM_CACHE 64
static struct { char pid[16]; char vm[128]; } vm_cache[VM_CACHE];
static int nvm_cache;

static int load(void)
{
	nvm_cache = 0;
	return from_fds ? load_fds() : load_debugfs();
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

/*
 * The VM an owner runs: the value of QEMU's -name, or its guest= part
 * (libvirt: "-name guest=DOMAIN,debug-threads=on"); "" if none.
 */
static const char *vm_of(const char *pid)
{
	static char spare[128];
	char path[64], buf[8192], *vm = spare;
	size_t n = 0, off;
	FILE *f;

	/* prom asks once per sample: read each owner's command line once */
	for (int i = 0; i < nvm_cache; i++)
		if (!strcmp(vm_cache[i].pid, pid))
			return vm_cache[i].vm;
	if (nvm_cache < VM_CACHE) {
		snprintf(vm_cache[nvm_cache].pid, sizeof(vm_cache[0].pid), "%s", pid);
		vm = vm_cache[nvm_cache++].vm;
	}
	vm[0] = 0;
	snprintf(path, sizeof(path), "/proc/%s/cmdline", pid);
	f = fopen(path, "r");
	if (!f)
		return vm;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (off = 0; off < n; off += strlen(buf + off) + 1) {
		const char *v, *g;
		size_t len;

		if (strcmp(buf + off, "-name") && strcmp(buf + off, "--name"))
			continue;
		off += strlen(buf + off) + 1;
		if (off >= n)
			break;
		v = buf + off;
		g = strstr(v, "guest=");
		if (g && (g == v || g[-1] == ','))
			v = g + strlen("guest=");
		else if (strchr(v, '=') && strchr(v, '=') < strchrnul(v, ','))
			continue;	/* only other key=value options */
		len = strcspn(v, ",");
		if (len >= sizeof(spare))
			len = sizeof(spare) - 1;
		memcpy(vm, v, len);
		vm[len] = 0;
		break;
	}
	return vm;
}

/* Feature bits by name, the ones vhx can negotiate. */
/* Feature bits by name: the device kind's own (kind set), then common ones. */
static const struct { int bit; const char *name, *kind; } feature_names[] = {
	{ 1, "SEQPACKET", "vsock" },
	{ 15, "MRG_RXBUF", "net" }, { 24, "NOTIFY_ON_EMPTY", NULL },
	{ 26, "LOG_ALL", NULL }, { 27, "VNET_HDR", "net" },
	{ 28, "INDIRECT", NULL }, { 29, "EVENT_IDX", NULL },
	{ 32, "VERSION_1", NULL }, { 33, "ACCESS_PLATFORM", NULL },
	{ 34, "RING_PACKED", NULL }, { 40, "RING_RESET", NULL },
};
#define NFEATURES (sizeof(feature_names) / sizeof(feature_names[0]))

/* Is feature_names[i] acked in @f by a device of @kind? */
static bool feature_on(size_t i, uint64_t f, const char *kind)
{
	return (f & (1ULL << feature_names[i].bit)) &&
	       (!feature_names[i].kind || !strcmp(feature_names[i].kind, kind));
}

static void print_features(uint64_t f, const char *kind)
{
	bool first = true;

	for (size_t i = 0; i < NFEATURES; i++) {
		if (feature_on(i, f, kind)) {
			printf("%s%s", first ? "" : ",", feature_names[i].name);
			first = false;
		}
	}
	if (first)
		printf("-");
}

static int cmd_list(void)
{
	int ndev = 0;

	printf("%-4s %-4s %-22s %-16s %-8s %-18s %-10s %s\n", "ID", "KIND",
	       "OWNER", "VM", "WORKER", "FEATURES", "BACKENDS", "RINGS");
	for (int i = 0; i < nlines; i++) {
		const struct line *d = &lines[i];
		char owner[48], backends[64] = "", rings[64] = "";
		const char *vm;

		if (!d->is_dev)
			continue;
		ndev++;
		snprintf(owner, sizeof(owner), "%s(%s)", get(d, "owner"),
			 comm_of(get(d, "owner")));
		vm = vm_of(get(d, "owner"));
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
		printf("%-4s %-4s %-22s %-16s %-8s %-18s %-10s %s\n", get(d, "id"),
		       get(d, "kind"), owner, *vm ? vm : "-", get(d, "worker"),
		       get(d, "features"), backends, rings);
		printf("     features: ");
		print_features(getu(d, "features"), get(d, "kind"));
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

/*
 * The device kinds' own per-queue values: vhost-blk's (gauge first, then
 * counters) and vhost-vsock's counters.
 */
static const char *kind_values[] = {
	"inflight", "punted", "bounced",
	"conns", "rsts", "credit_requests", "g2g", "drops",
};
#define NKIND (sizeof(kind_values) / sizeof(kind_values[0]))

/* @v as a JSON string: quotes, backslashes and control bytes escaped. */
static void json_str(const char *v)
{
	putchar('"');
	for (; *v; v++) {
		unsigned char c = *v;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

/*
 * stats --json: {"version": 1, "devices": [...]}, every device (or the one
 * with id @only) with its queues.  The keys are listed in README.md and are
 * only ever added to.
 */
static int cmd_json(const char *only)
{
	bool first_dev = true;

	printf("{\"version\": 1, \"devices\": [");
	for (int i = 0; i < nlines; i++) {
		const struct line *d = &lines[i];
		const char *pid = get(d, "owner");
		uint64_t f = getu(d, "features");
		bool first = true;

		if (!d->is_dev || (only && strcmp(get(d, "id"), only)))
			continue;
		printf("%s\n  {\"id\": %" PRIu64 ", \"kind\": ",
		       first_dev ? "" : ",", getu(d, "id"));
		first_dev = false;
		json_str(get(d, "kind"));
		printf(", \"owner\": {\"pid\": %" PRIu64 ", \"comm\": ",
		       getu(d, "owner"));
		json_str(comm_of(pid));
		printf(", \"vm\": ");
		json_str(vm_of(pid));
		printf("}, \"worker\": %" PRIu64 ", \"features\": %" PRIu64
		       ", \"feature_names\": [", getu(d, "worker"), f);
		for (size_t b = 0; b < NFEATURES; b++) {
			if (!feature_on(b, f, get(d, "kind")))
				continue;
			printf("%s", first ? "" : ", ");
			json_str(feature_names[b].name);
			first = false;
		}
		printf("], \"backend_features\": %" PRIu64
		       ", \"iotlb\": %s, \"queues\": [",
		       getu(d, "backend_features"),
		       getu(d, "iotlb") ? "true" : "false");
		first = true;
		for (int j = i + 1; j < nlines && !lines[j].is_dev; j++) {
			const struct line *q = &lines[j];

			printf("%s\n    {\"idx\": %" PRIu64 ", \"name\": ",
			       first ? "" : ",", getu(q, "idx"));
			first = false;
			json_str(get(q, "name"));
			printf(", \"num\": %" PRIu64 ", \"layout\": ",
			       getu(q, "num"));
			json_str(get(q, "layout"));
			printf(", \"backend\": ");
			json_str(get(q, "backend"));
			printf(", \"broken\": %s, \"worker\": %" PRIu64,
			       getu(q, "broken") ? "true" : "false",
			       getu(q, "worker"));
			for (size_t c = 0; c < NCOUNTERS; c++)
				printf(", \"%s\": %" PRIu64, counters[c],
				       getu(q, counters[c]));
			for (size_t c = 0; c < NKIND; c++)
				if (has(q, kind_values[c]))
					printf(", \"%s\": %" PRIu64, kind_values[c],
					       getu(q, kind_values[c]));
			printf("}");
		}
		printf("%s]}", first ? "" : "\n  ");
	}
	printf("%s]}\n", first_dev ? "" : "\n");
	return 0;
}

/* @v as a Prometheus label value: backslash, quote and newline escaped. */
static void prom_label(const char *key, const char *v, bool last)
{
	printf("%s=\"", key);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			printf("\\%c", *v);
		else if (*v == '\n')
			printf("\\n");
		else
			putchar(*v);
	}
	printf("\"%s", last ? "" : ",");
}

static void prom_sample(const char *metric, const struct line *d,
			const struct line *q, uint64_t v)
{
	const char *pid = get(d, "owner");

	printf("%s{", metric);
	prom_label("dev", get(d, "id"), false);
	prom_label("kind", get(d, "kind"), false);
	prom_label("owner", pid, false);
	prom_label("vm", vm_of(pid), false);
	prom_label("vq", get(q, "idx"), false);
	prom_label("name", get(q, "name"), false);
	prom_label("backend", get(q, "backend"), true);
	printf("} %" PRIu64 "\n", v);
}

/* One metric family over every queue that has @key. */
static void prom_family(const char *metric, const char *type,
			const char *help, const char *key)
{
	const struct line *d = NULL;
	bool head = false;

	for (int i = 0; i < nlines; i++) {
		const struct line *q = &lines[i];

		if (q->is_dev) {
			d = q;
			continue;
		}
		if (!d || !has(q, key))
			continue;
		if (!head) {
			printf("# HELP %s %s\n# TYPE %s %s\n", metric, help,
			       metric, type);
			head = true;
		}
		prom_sample(metric, d, q, getu(q, key));
	}
}

/*
 * prom: the Prometheus text format, one family per counter (vhx_vq_*_total,
 * labels dev, kind, owner, vm, vq, name, backend), fit for node_exporter's
 * textfile collector (write to a .prom file, rename into place).
 */
static int cmd_prom(void)
{
	static const char *help[NCOUNTERS] = {
		"frames (net), requests completed OK (blk) or packets (vsock)",
		"payload bytes moved",
		"handler runs started by a guest kick",
		"guest notifications",
		"handler runs",
		"runs cut short by the packet or byte weight",
		"ring errors (the queue stops until reset)",
		"IOTLB miss messages",
	};
	char metric[64];
	int ndev = 0;

	for (int i = 0; i < nlines; i++)
		ndev += lines[i].is_dev;
	printf("# HELP vhx_devices open vhx devices with an owner\n"
	       "# TYPE vhx_devices gauge\nvhx_devices %d\n", ndev);
	for (size_t c = 0; c < NCOUNTERS; c++) {
		snprintf(metric, sizeof(metric), "vhx_vq_%s_total", counters[c]);
		prom_family(metric, "counter", help[c], counters[c]);
	}
	prom_family("vhx_vq_broken", "gauge",
		    "1 if the queue is stopped by a ring error", "broken");
	prom_family("vhx_vq_ring_size", "gauge", "ring entries", "num");
	prom_family("vhx_blk_vq_inflight", "gauge",
		    "vhost-blk requests in the I/O stack", "inflight");
	prom_family("vhx_blk_vq_punted_total", "counter",
		    "vhost-blk requests sent to the blocking workqueue", "punted");
	prom_family("vhx_blk_vq_bounced_total", "counter",
		    "vhost-blk requests copied through bounce pages", "bounced");
	prom_family("vhx_vsock_vq_conns_total", "counter",
		    "vhost-vsock connection requests carried", "conns");
	prom_family("vhx_vsock_vq_rsts_total", "counter",
		    "vhost-vsock connection resets carried", "rsts");
	prom_family("vhx_vsock_vq_credit_requests_total", "counter",
		    "vhost-vsock credit requests (a sender out of credit)",
		    "credit_requests");
	prom_family("vhx_vsock_vq_g2g_total", "counter",
		    "vhost-vsock packets relayed between guests", "g2g");
	prom_family("vhx_vsock_vq_drops_total", "counter",
		    "vhost-vsock packets dropped", "drops");
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
		"usage: vhxctl list | stats [--json] [ID] | prom | watch [-n SECONDS] [ID] | raw\n");
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "list";
	const char *src;

	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help"))
		return usage(0);
	src = getenv("VHXCTL_SOURCE");
	if (src && strcmp(src, "fd") && strcmp(src, "debugfs")) {
		fprintf(stderr, "vhxctl: VHXCTL_SOURCE is fd or debugfs\n");
		return 2;
	}
	if (!strcmp(cmd, "raw") || (src && !strcmp(src, "debugfs"))) {
		if (ensure_debugfs(false))
			return 1;
	} else {
		from_fds = (src && !strcmp(src, "fd")) || ensure_debugfs(true);
	}
	if (!strcmp(cmd, "raw")) {
		if (load())
			return 1;
		execlp("cat", "cat", DEVICES, (char *)NULL);
		return 1;
	}
	if (!strcmp(cmd, "list"))
		return load() ? 1 : cmd_list();
	if (!strcmp(cmd, "stats") && argc > 2 && !strcmp(argv[2], "--json"))
		return load() ? 1 : cmd_json(argc > 3 ? argv[3] : NULL);
	if (!strcmp(cmd, "stats"))
		return load() ? 1 : cmd_stats(argc > 2 ? argv[2] : NULL, 0);
	if (!strcmp(cmd, "prom"))
		return load() ? 1 : cmd_prom();
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
