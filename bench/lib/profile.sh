# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# profile.sh — BENCH_PROFILE=1: where the worker's time goes, printed on the
# console (never in the report: traced runs are slower).
#
#   prof_start NAME   snapshot of vhx's per-queue counters (debugfs); after
#                     the warm-up, ftrace function_graph on the handlers
#                     (vhx_net_handle_{tx,rx}, in-tree handle_{tx,rx}) to a
#                     depth of 3 for BENCH_PROFILE_SECS (2), instrumenting
#                     only the data-path modules (vhx, vhost, tun) and a few
#                     core helpers
#   prof_stop NAME    time per handler run and per packet, and the share of
#                     each callee (depth 2 and 3, inclusive); counter
#                     deltas per 1000 packets (runs, kicks, calls, requeues)
# perf is no use here: its cpu-clock samples arrive at a few per second
# under TCG.  Sourced by bench/guest.sh; no-ops unless BENCH_PROFILE=1, and
# then only in run 0, an extra run before the pairs whose figures are not
# reported.

TRACING=/sys/kernel/tracing
PROF_SECS=${BENCH_PROFILE_SECS:-2}

prof_on() { [ "${BENCH_PROFILE:-0}" = 1 ] && [ "$RUN" = 0 ] && [ -w "$TRACING/current_tracer" ]; }

prof_counters() {	# the vq lines of vhx's devices
	cat /sys/kernel/debug/vhx/devices /sys/kernel/debug/vhxb/devices 2>/dev/null |
		grep '^vq ' || true
}

prof_start() {
	prof_on || return 0
	prof_counters > "$WORK/prof.$1.c0"
	echo 0 > "$TRACING/tracing_on"
	echo nop > "$TRACING/current_tracer"
	echo 8192 > "$TRACING/buffer_size_kb"
	echo 3 > "$TRACING/max_graph_depth"
	# Whichever of these exist (vhx's, or the in-tree module's).
	: > "$TRACING/set_graph_function"
	local f
	for f in vhx_net_handle_tx vhx_net_handle_rx handle_tx handle_rx; do
		echo "$f" >> "$TRACING/set_graph_function" 2>/dev/null || true
	done
	# Instrument only the modules on the data path and a few core helpers:
	# function_graph on every kernel function stalls both TCG vCPUs into
	# soft lockups.  Time in anything else counts as its caller's own.
	: > "$TRACING/set_ftrace_filter"
	for f in :mod:vhx_net :mod:vhx_core :mod:vhxb_net :mod:vhxb_core \
		 :mod:vhost_net :mod:vhost :mod:tun _copy_from_iter _copy_to_iter \
		 copy_page_from_iter page_frag_alloc_align skb_copy_datagram_iter \
		 netif_receive_skb_list_internal __napi_poll consume_skb \
		 mutex_lock mutex_unlock eventfd_signal __wake_up; do
		echo "$f" >> "$TRACING/set_ftrace_filter" 2>/dev/null || true
	done
	echo function_graph > "$TRACING/current_tracer"
	echo > "$TRACING/trace"
	( sleep "$WARM"; echo 1 > "$TRACING/tracing_on"; sleep "$PROF_SECS"
	  echo 0 > "$TRACING/tracing_on" ) &
	PROF_PID=$!
}

# Sum function_graph durations by call path (handler, callee, callee's
# callee): "depth path calls total_us handler" lines, by handler, depth and
# time.
prof_graph() {
	awk '
	function dur(s,   m) {	# "3.456 us" with optional +!#*@$ markers
		if (match(s, /[0-9]+\.[0-9]+ us/)) return substr(s, RSTART, RLENGTH - 3) + 0
		return -1
	}
	/^#/ || !/\|/ { next }
	{
		split($0, part, "|"); left = part[1]; right = part[2]
		for (i = 3; i in part; i++) right = right "|" part[i]
		cpu = left; sub(/\).*/, "", cpu); gsub(/ /, "", cpu)
		d = dur(left)
		match(right, /^ */); depth = int((RLENGTH - 1) / 2) + 1
		body = substr(right, RLENGTH + 1)
		if (body ~ /^}/) {
			n = sp[cpu]; if (n < 1) next
			key = path[cpu, n]; sp[cpu] = n - 1
			if (d >= 0) { t[key] += d; c[key]++ }
			next
		}
		name = body; sub(/\(.*/, "", name); sub(/ \[.*/, "", name)
		n = sp[cpu] + 0
		while (n >= depth) n--	# resync on lost lines
		key = (n > 0 ? path[cpu, n] ">" : "") name
		if (body ~ /\{ *$/) { sp[cpu] = n + 1; path[cpu, n + 1] = key; next }
		sp[cpu] = n
		if (d >= 0) { t[key] += d; c[key]++ }
	}
	END { for (k in t) { nd = split(k, q, ">"); printf "%d %s %d %.1f %s\n", nd, k, c[k], t[k], q[1] } }' \
		"$1" | sort -k5,5 -k1,1n -k4,4nr
}

prof_stop() {
	local f=$WORK/prof.$1
	prof_on || return 0
	wait "$PROF_PID" 2>/dev/null || true
	cp "$TRACING/trace" "$f.trace"
	echo nop > "$TRACING/current_tracer"
	: > "$TRACING/set_ftrace_filter"
	prof_counters > "$f.c1"
	prof_graph "$f.trace" > "$f.graph"
	# Packets in the traced window are not known exactly: per handler run.
	awk -v w="$1 $VARIANT" '
		$1 == 1 { top[$2] = $4; calls[$2] = $3
			  printf "guest: prof: %s: %s: %d runs, %.1f us per run\n", w, $2, $3, $4 / $3 }
		$1 >= 2 { split($2, q, ">"); tt = top[q[1]]; if (tt <= 0 || $4 / tt < 0.01) next
			  printf "guest: prof: %s:   %s%s: %.1f%% (%d calls, %.2f us each)\n", w,
				 ($1 == 3 ? "  " : ""), substr($2, index($2, ">") + 1),
				 100 * $4 / tt, $3, $4 / $3 }' "$f.graph" | head -n 40 || true
	# Counter deltas of the queues that moved: per packet.
	awk 'function kv(line, a,   i, n, p) { n = split(line, p, " ")
		for (i = 2; i <= n; i++) { split(p[i], q, "="); a[q[1]] = q[2] } }
	     NR == FNR { delete x; kv($0, x); base[x["dev"] "/" x["name"] "/" x["worker"]] = $0; next }
	     { delete y; delete x; kv($0, y); k = y["dev"] "/" y["name"] "/" y["worker"]
	       if (!(k in base)) next
	       kv(base[k], x); p = y["packets"] - x["packets"]; if (p <= 0) next
	       printf "guest: prof: %s: counters %s: %d packets, per 1000 packets: runs %.1f kicks %.1f calls %.1f requeues %.1f\n",
		      v, y["name"], p, 1000 * (y["runs"] - x["runs"]) / p,
		      1000 * (y["kicks"] - x["kicks"]) / p, 1000 * (y["calls"] - x["calls"]) / p,
		      1000 * (y["requeues"] - x["requeues"]) / p }' v="$1 $VARIANT" \
		"$f.c0" "$f.c1" || true
	rm -f "$f.trace"
}
