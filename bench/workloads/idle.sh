# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# idle.sh — what N owned, set-up, idle devices cost (no traffic).
#
#   bench/progs/idle_devs -n N PATH: N taps, then N devices owned with
#   memory table, both rings (NUM/BASE/ADDR/KICK/CALL) and a tap backend.
#   Sampled after the taps exist and again with the devices set up:
#     slab     /proc/meminfo SUnreclaim delta (kB): kernel objects
#              (caches dropped before each sample, so reclaimable
#              dentries and inodes do not count)
#     vmalloc  /proc/meminfo VmallocUsed delta (kB)
#     threads  tasks in the system, delta (one worker per device expected)
#   SUnreclaim includes kmalloc_large() pages, so the large per-vq arrays
#   count.  MemFree was tried and dropped: deferred frees of the previous
#   run and per-CPU page lists move it by megabytes.

IDLE_N=${BENCH_IDLE_DEVS:-64}

idle_workloads() { echo "idle-$IDLE_N"; }
idle_variants() { net_variants; }
idle_check() {
	[ -x "$VHX_ROOT/bench/progs/idle_devs" ] || { echo "bench/progs/idle_devs not built (make tools)"; return 1; }
}

meminfo() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }
nthreads() { ls -d /proc/[0-9]*/task/[0-9]* 2>/dev/null | wc -l; }

idle_sample() {	# idle_sample PREFIX FIRST: PREFIX_slab, _vmalloc, _thr
	sync
	echo 3 > /proc/sys/vm/drop_caches
	sleep 2
	[ "$2" = 1 ] && cp /proc/slabinfo "$WORK/slabinfo.$1"
	eval "$1_slab=$(meminfo SUnreclaim) $1_vmalloc=$(meminfo VmallocUsed)"
	eval "$1_thr=$(nthreads)"
}

# The slab caches that grew most, on the console (first run of a variant).
idle_slab_diff() {
	awk 'NR == FNR { if ($1 !~ /^#/) a[$1] = $3 * $4; next }
	     $1 !~ /^#/ { d = $3 * $4 - a[$1]; if (d > 0) printf "%d %s\n", d / 1024, $1 }' \
		"$WORK/slabinfo.a" "$WORK/slabinfo.b" | sort -rn | head -n 8 |
		awk -v v="$VARIANT" '{ printf "guest: bench:   %s slab +%d kB %s\n", v, $1, $2 }' || true
}

idle_setup() { :; }
idle_teardown() { :; }
idle_measure() { idle_one "$2"; }

idle_one() {	# idle_one VARIANT
	local w="idle-$IDLE_N" in=$WORK/idle.in out=$WORK/idle.out pid ok=0 first=0
	[ "$RUN" = 1 ] && first=1
	local a_slab a_vmalloc a_thr b_slab b_vmalloc b_thr
	rm -f "$in"
	mkfifo "$in"
	"$VHX_ROOT/bench/progs/idle_devs" -n "$IDLE_N" "$(dev_of "$1")" < "$in" > "$out" 2>&1 &
	pid=$!
	exec 4> "$in"
	for _ in $(seq 1 600); do
		grep -q '^taps' "$out" && { ok=1; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ $ok = 1 ]; then
		idle_sample a "$first"
		echo >&4
		ok=0
		for _ in $(seq 1 600); do
			grep -q '^ready' "$out" && { ok=1; break; }
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
	fi
	if [ $ok = 1 ]; then
		idle_sample b "$first"
		[ "$first" = 1 ] && idle_slab_diff
		result "$w" slab kB lo $((b_slab - a_slab))
		result "$w" vmalloc kB lo $((b_vmalloc - a_vmalloc))
		result "$w" slab+vmalloc kB lo $((b_slab - a_slab + b_vmalloc - a_vmalloc))
		result "$w" threads count lo $((b_thr - a_thr))
	else
		failed "$w" "idle_devs: $(tail -n1 "$out")"
	fi
	exec 4>&-
	wait "$pid" 2>/dev/null || true
	sleep 2		# workers, taps and RCU-deferred frees go away
}
