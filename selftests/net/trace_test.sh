#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# trace_test.sh — vhx's tracepoints (system "vhx") as tracefs shows them.
# Guest side, TAP.  Everything runs in a tracefs instance of its own.
#
#  - all eight events exist;
#  - with vhx_handle, vhx_call, vhx_kick and vhx_used on for a device's
#    whole life (vhx_traffic, stopped with SIGSTOP once traffic has moved
#    and the counters are still): per queue, one vhx_handle per counted
#    run, their packets and bytes summing to the packets and bytes
#    counters, one vhx_call per counted call, at least one vhx_kick per
#    counted kick-started run; nothing lost (no overrun);
#  - vhx_vq_error carries the failed check (hostile_test's descriptor loop);
#  - vhx_blk_submit and vhx_blk_complete pair up for blk_test's
#    read_after_write, every completion with status 0;
#  - vhx_iotlb_miss fires for iotlb_test's miss/update/invalidate case;
#  - tools/vhxctl/vhx-latency.sh turns the captured trace into a
#    kick-to-used histogram for the TX queue;
#  - perf counts vhx:vhx_handle and vhx:vhx_call over a short run, and
#    perf trace prints them, fields and all;
#  - trace-cmd records the vhx system and reports its events;
#  - bpftrace runs tools/vhxctl/vhx-latency.bt over a short run: a
#    kick-to-used histogram and a packets-per-run histogram with samples.
# Exit 0 pass, 1 fail, 4 skip.
set -uo pipefail

ROOT=${VHX_ROOT:?}
TRAFFIC=$ROOT/selftests/net/vhx_traffic
DEVICES=/sys/kernel/debug/vhx/devices
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n $1${2:+ # SKIP $2}"; }
nok() { n=$((n + 1)); echo "not ok $n $1"; fail=1; }
skip_all() { echo "1..1"; echo "ok 1 trace # SKIP $1"; exit 4; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
[ "${VHX_TARGET:-vhx}" = vhx ] || skip_all "the vhx events are vhx's (target ${VHX_TARGET})"
T=/sys/kernel/tracing
[ -d $T/events ] || mount -t tracefs nodev $T 2>/dev/null
[ -d $T/events ] || skip_all "no tracefs"
[ -d $T/events/vhx ] || { echo "1..1"; echo "not ok 1 events # no $T/events/vhx"; exit 1; }
[ -r "$DEVICES" ] || skip_all "no $DEVICES"

WORK=$(mktemp -d /tmp/vhxtrace.XXXXXX)
I=$T/instances/vhx-test.$$
TPID=
cleanup() {
	[ -n "$TPID" ] && { kill -CONT "$TPID"; kill -TERM "$TPID"; wait "$TPID"; } 2>/dev/null
	[ -d "$I" ] && { echo 0 > "$I/tracing_on"; rmdir "$I"; } 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# on EVENT...: a fresh instance with only those events on
on() {
	[ -d "$I" ] && { echo 0 > "$I/tracing_on"; rmdir "$I"; }
	mkdir "$I" && echo 16384 > "$I/buffer_size_kb" || return 1
	for e in "$@"; do echo 1 > "$I/events/vhx/$e/enable" || return 1; done
}
off() { echo 0 > "$I/tracing_on"; cat "$I/trace" > "$1"; }
overruns() { awk '/^overrun:/ { s += $2 } END { print s + 0 }' "$I"/per_cpu/cpu*/stats; }

echo "1..10"
missing=
for e in vhx_kick vhx_handle vhx_used vhx_call vhx_vq_error vhx_iotlb_miss \
	 vhx_blk_submit vhx_blk_complete; do
	[ -f $T/events/vhx/$e/format ] || missing="$missing $e"
done
if [ -z "$missing" ]; then ok "eight_events"; else echo "# missing:$missing"; nok "eight_events"; fi

# ---- 2: net runs, calls and kicks against the counters ----
on vhx_handle vhx_call vhx_kick vhx_used
"$TRAFFIC" -t 120 > "$WORK/traffic.out" 2>&1 &
TPID=$!
for _ in $(seq 1 300); do
	grep -q '^running' "$WORK/traffic.out" && break
	kill -0 "$TPID" 2>/dev/null || break
	sleep 0.1
done
sleep 1
kill -STOP "$TPID"
for _ in $(seq 1 20); do
	sleep 0.5; cat "$DEVICES" > "$WORK/a"; sleep 0.5; cat "$DEVICES" > "$WORK/b"
	cmp -s "$WORK/a" "$WORK/b" && break
done
off "$WORK/net.trace"
lost=$(overruns)
dev=$(awk -v p="$TPID" '$1 == "dev" { for (i = 2; i <= NF; i++) if ($i == "owner=" p) {
	sub("id=", "", $2); print $2 } }' "$WORK/b")
kill -CONT "$TPID"; kill -TERM "$TPID"; wait "$TPID" 2>/dev/null; TPID=
echo "# device ${dev:-none}, $(wc -l < "$WORK/net.trace") trace lines, $lost overruns"
good=1
for vq in 0 1; do
	want=$(awk -v d="$dev" -v q="$vq" '$1 == "vq" && $2 == "dev=" d && $3 == "idx=" q {
		for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		print v["runs"], v["packets"], v["bytes"], v["calls"], v["kicks"] - v["requeues"] }' "$WORK/b")
	got=$(awk -v d="$dev" -v q="$vq" '
		function f(k,   x) { x = $0; sub(".* " k "=", "", x); sub(/ .*/, "", x); return x }
		$0 ~ (" dev=" d " vq=" q "( |$)") {
			if (/ vhx_handle: /) { r++; p += f("packets"); b += f("bytes") }
			else if (/ vhx_call: /) c++
			else if (/ vhx_kick: /) k++
		}
		END { print r + 0, p + 0, b + 0, c + 0, k + 0 }' "$WORK/net.trace")
	echo "# vq $vq: counters runs packets bytes calls kicks-requeues = $want; trace: $got"
	read -r wr wp wb wc wk <<< "$want"
	read -r gr gp gb gc gk <<< "$got"
	[ -n "$want" ] && [ "${wp:-0}" -gt 0 ] && [ "$gr" = "$wr" ] && [ "$gp" = "$wp" ] &&
		[ "$gb" = "$wb" ] && [ "$gc" = "$wc" ] && [ "$gk" -ge "$wk" ] || good=0
done
if [ "$lost" != 0 ]; then
	ok "net_events_equal_counters" "the trace buffer overran ($lost events lost)"
elif [ $good = 1 ]; then
	ok "net_events_equal_counters"
else
	nok "net_events_equal_counters"
fi

# ---- 3: the latency histogram from the same trace ----
bash "$ROOT/tools/vhxctl/vhx-latency.sh" -q "$dev:1" "$WORK/net.trace" > "$WORK/lat" 2>&1
sed 's/^/# /' "$WORK/lat" | head -n 14
if grep -qE "^dev:vq $dev:1: [1-9][0-9]* samples" "$WORK/lat" && grep -q ' us .*|@' "$WORK/lat"; then
	ok "latency_histogram"
else
	nok "latency_histogram"
fi

# ---- 4: a vq error names its check ----
on vhx_vq_error
"$ROOT/selftests/net/hostile_test" -r hostile:desc_loop:run > "$WORK/hostile.out" 2>&1
off "$WORK/err.trace"
grep ' vhx_vq_error: ' "$WORK/err.trace" | head -n 2 | sed 's/^ */# /'
if grep -q ' vhx_vq_error: dev=[0-9]* vq=[0-9]* why="loop in chain' "$WORK/err.trace"; then
	ok "vq_error_reason"
else
	tail -n 5 "$WORK/hostile.out" | sed 's/^/# hostile: /'
	nok "vq_error_reason"
fi

# ---- 5: blk requests submitted and completed ----
if [ -x "$ROOT/selftests/blk/blk_test" ] && [ -c /dev/vhost-blk ]; then
	on vhx_blk_submit vhx_blk_complete
	"$ROOT/selftests/blk/blk_test" -r blk:file:read_after_write > "$WORK/blk.out" 2>&1
	off "$WORK/blk.trace"
	read -r s c bad <<< "$(awk '/ vhx_blk_submit: / { s++ }
		/ vhx_blk_complete: / { c++; if ($0 !~ / status=0 /) b++ }
		END { print s + 0, c + 0, b + 0 }' "$WORK/blk.trace")"
	grep -m 2 ' vhx_blk_' "$WORK/blk.trace" | sed 's/^ */# /'
	echo "# blk: $s submitted, $c completed, $bad not OK"
	if [ "$s" -gt 0 ] && [ "$s" = "$c" ] && [ "$bad" = 0 ]; then
		ok "blk_submit_complete"
	else
		nok "blk_submit_complete"
	fi
else
	ok "blk_submit_complete" "no blk_test or /dev/vhost-blk"
fi

# ---- 6: IOTLB misses ----
on vhx_iotlb_miss
"$ROOT/selftests/net/iotlb_test" -r iotlb:split:miss_update_invalidate > "$WORK/iotlb.out" 2>&1
off "$WORK/iotlb.trace"
grep -m 1 ' vhx_iotlb_miss: ' "$WORK/iotlb.trace" | sed 's/^ */# /'
if grep -q ' vhx_iotlb_miss: dev=[0-9]* vq=[0-9]* iova=0x' "$WORK/iotlb.trace"; then
	ok "iotlb_miss"
else
	tail -n 5 "$WORK/iotlb.out" | sed 's/^/# iotlb: /'
	nok "iotlb_miss"
fi

# ---- 7: perf sees them ----
if command -v perf >/dev/null && perf --version >/dev/null 2>&1; then
	perf stat -x, -e vhx:vhx_handle,vhx:vhx_call -a -- "$TRAFFIC" -t 2 \
		> "$WORK/perf.out" 2> "$WORK/perf.csv"
	grep 'vhx:' "$WORK/perf.csv" | sed 's/^/# perf stat: /'
	if awk -F, '$3 ~ /^vhx:vhx_(handle|call)$/ && $1 + 0 > 0 { n++ } END { exit n != 2 }' "$WORK/perf.csv"; then
		ok "perf_stat"
	else
		tail -n 5 "$WORK/perf.csv" | sed 's/^/# /'
		nok "perf_stat"
	fi
else
	ok "perf_stat" "no perf for this kernel (linux-perf)"
fi

# ---- 8: bpftrace, with the shipped script ----
if command -v bpftrace >/dev/null; then
	timeout 240 bpftrace "$ROOT/tools/vhxctl/vhx-latency.bt" -c "$TRAFFIC -t 2" \
		> "$WORK/bt.out" 2> "$WORK/bt.err"
	rc=$?
	# every histogram row with a count: "[lo, hi)  N |@@@|"
	read -r lat runs <<< "$(awk '/^@/ { m = $1 }
		/^\[/ && /\|/ { c = $0; sub(/^[^)\]]*[)\]] */, "", c); c += 0
			if (m ~ /^@kick_to_used_us\[/) l += c; else if (m ~ /^@packets_per_run\[/) r += c }
		END { print l + 0, r + 0 }' "$WORK/bt.out")"
	# the TX queue's (vq 1) histograms, as the user sees them
	awk '/^@/ { show = ($0 ~ /, 1\]: *$/) } show && NF' "$WORK/bt.out" | sed 's/^/# bpftrace: /'
	echo "# bpftrace: exit $rc, $lat kick-to-used samples, $runs handler runs"
	if [ "$rc" = 0 ] && [ "$lat" -gt 0 ] && [ "$runs" -gt 0 ]; then
		ok "bpftrace_latency"
	else
		tail -n 5 "$WORK/bt.err" | sed 's/^/# bpftrace: /'
		nok "bpftrace_latency"
	fi
else
	ok "bpftrace_latency" "no bpftrace (Debian's bpftrace)"
fi

# ---- 9: perf trace prints them (to -o: its default output is stderr) ----
if command -v perf >/dev/null && perf --version >/dev/null 2>&1; then
	perf trace -o "$WORK/ptrace.out" -e vhx:vhx_handle,vhx:vhx_call -a -- "$TRAFFIC" -t 2 \
		> /dev/null 2> "$WORK/ptrace.err"
	rc=$?
	read -r h c <<< "$(awk '/vhx:vhx_handle/ && /packets/ { h++ } /vhx:vhx_call/ { c++ }
		END { print h + 0, c + 0 }' "$WORK/ptrace.out")"
	# perf trace leaves out fields that are 0: a run with packets has them
	grep -m 1 'vhx:vhx_handle.*packets' "$WORK/ptrace.out" | cut -c1-150 | sed 's/^ */# perf trace: /'
	grep -m 1 'vhx:vhx_call' "$WORK/ptrace.out" | cut -c1-150 | sed 's/^ */# perf trace: /'
	echo "# perf trace: exit $rc, $h vhx_handle (with packets) and $c vhx_call lines"
	if [ "$rc" = 0 ] && [ "$h" -gt 0 ] && [ "$c" -gt 0 ]; then
		ok "perf_trace"
	else
		tail -n 5 "$WORK/ptrace.err" | sed 's/^/# perf trace: /'
		nok "perf_trace"
	fi
else
	ok "perf_trace" "no perf for this kernel (linux-perf)"
fi

# ---- 10: trace-cmd record and report ----
if command -v trace-cmd >/dev/null; then
	(cd "$WORK" && trace-cmd record -q -o "$WORK/tc.dat" -e vhx "$TRAFFIC" -t 2) \
		> "$WORK/tc.rec" 2>&1
	rc=$?
	trace-cmd report -i "$WORK/tc.dat" > "$WORK/tc.out" 2> "$WORK/tc.err" || rc=$?
	read -r h c k <<< "$(awk '/ vhx_handle: .*packets=[1-9]/ { h++ } / vhx_call: / { c++ }
		/ vhx_kick: / { k++ } END { print h + 0, c + 0, k + 0 }' "$WORK/tc.out")"
	grep -m 1 ' vhx_handle: .*packets=[1-9]' "$WORK/tc.out" | sed 's/^ */# trace-cmd: /'
	echo "# trace-cmd: exit $rc, $h vhx_handle, $c vhx_call, $k vhx_kick events reported (handle: runs with packets)"
	if [ "$rc" = 0 ] && [ "$h" -gt 0 ] && [ "$c" -gt 0 ] && [ "$k" -gt 0 ]; then
		ok "trace_cmd"
	else
		tail -n 5 "$WORK/tc.rec" "$WORK/tc.err" | sed 's/^/# trace-cmd: /'
		nok "trace_cmd"
	fi
else
	ok "trace_cmd" "no trace-cmd (Debian's trace-cmd)"
fi
exit $fail
