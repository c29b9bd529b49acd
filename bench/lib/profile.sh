# SPDX-License-Identifier: GPL-2.0
# profile.sh — BENCH_PROFILE=1: where the worker's time goes, printed on the
# console (never in the report: profiled runs are slower).
#
#   prof_start NAME   perf record -a -g -e cpu-clock (a software event: TCG
#                     has no PMU) for the measured window; snapshot of vhx's
#                     per-queue counters (debugfs)
#   prof_stop NAME    stop perf; print the top kernel symbols (self, and
#                     with children) and the counter deltas per packet
# Sourced by bench/guest.sh; no-ops unless BENCH_PROFILE=1, and then only
# in run 0, an extra run before the pairs whose figures are not reported.
# prof_start comes before the warm-up (perf takes seconds to start under
# TCG), prof_stop after the measured window.

PROF_PID=

prof_on() { [ "${BENCH_PROFILE:-0}" = 1 ] && [ "$RUN" = 0 ] && command -v perf > /dev/null; }

prof_counters() {	# the vq lines of vhx's devices
	cat /sys/kernel/debug/vhx/devices 2>/dev/null | grep '^vq ' || true
}

prof_start() {
	prof_on || return 0
	prof_counters > "$WORK/prof.$1.c0"
	# TCG's slow timer interrupts make perf throttle its rate to almost
	# nothing ("interrupt took too long"): no throttling for this run.
	sysctl -qw kernel.perf_cpu_time_max_percent=0 2>/dev/null || true
	sysctl -qw kernel.perf_event_max_sample_rate=10000 2>/dev/null || true
	perf record -q -a -g -e cpu-clock -F 499 -o "$WORK/prof.$1.data" \
		> /dev/null 2>&1 &
	PROF_PID=$!
}

prof_stop() {
	local f=$WORK/prof.$1
	prof_on || return 0
	[ -n "$PROF_PID" ] || return 0
	kill -INT "$PROF_PID" 2>/dev/null || true
	wait "$PROF_PID" 2>/dev/null || true
	PROF_PID=
	prof_counters > "$f.c1"
	echo "guest: bench: profile $1 $VARIANT: $(perf report -i "$f.data" --stdio 2>/dev/null | sed -n 's/^# Samples: *\([^ ]*\).*/\1/p' | head -n1) samples; self, top symbols"
	perf report -q -i "$f.data" --no-children --sort dso,sym --percent-limit 0.7 \
		--stdio -g none 2>/dev/null | grep -v '^$' | head -n 40 |
		sed "s/^/guest: prof: $1 $VARIANT self: /" || true
	echo "guest: bench: profile $1 $VARIANT: with children"
	perf report -q -i "$f.data" --children --sort sym --percent-limit 2 \
		--stdio -g none 2>/dev/null | grep -v '^$' | head -n 40 |
		sed "s/^/guest: prof: $1 $VARIANT children: /" || true
	# Counter deltas of the queues that moved: per packet.
	awk 'function kv(line, a,   i, n, p) { n = split(line, p, " ")
		for (i = 2; i <= n; i++) { split(p[i], q, "="); a[q[1]] = q[2] } }
	     NR == FNR { delete x; kv($0, x); base[x["dev"] "/" x["name"]] = $0; next }
	     { delete y; delete x; kv($0, y); k = y["dev"] "/" y["name"]
	       if (!(k in base)) next
	       kv(base[k], x); p = y["packets"] - x["packets"]; if (p <= 0) next
	       printf "guest: prof: counters %s: dev %s %s packets %d, per 1000 packets: runs %.1f kicks %.1f calls %.1f requeues %.1f\n",
		      v, y["dev"], y["name"], p, 1000 * (y["runs"] - x["runs"]) / p,
		      1000 * (y["kicks"] - x["kicks"]) / p, 1000 * (y["calls"] - x["calls"]) / p,
		      1000 * (y["requeues"] - x["requeues"]) / p }' v="$1 $VARIANT" \
		"$f.c0" "$f.c1" || true
	rm -f "$f.data" "$f.data.old"
}
