#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhx-test-timeout: 1800
# fault_test.sh — fault loops with traffic running (guest side, TAP).
#
# The owner is selftests/net/vhx_traffic (vhxlib: TX ring kept full, frames
# injected towards RX, 4 memory regions, a tap on both queues).
#
#   1 kill_owner   SIGKILL the owner N times mid-traffic (N=10, 100 with
#                  VHX_SOAK=1)
#   2 tap_delete   `ip link del` the owner's tap under traffic (3 times); the
#                  owner survives and exits cleanly
#   3 swap_backend NET_SET_BACKEND -1 / another tap / the tap, both queues,
#                  LOOPS times under traffic; traffic flows afterwards
#   4 eventfds     kick/call/err eventfds replaced and the old ones closed,
#                  call/err unbound and rebound, LOOPS times
#   5 mem_shrink   SET_MEM_TABLE with 1 of 4 regions then the full table,
#                  LOOPS times; failed queues are reset, traffic flows again
#   6 rmmod        rmmod of the net module is refused while a device is
#                  open; rmmod + insmod (modprobe for intree) afterwards
#                  works and the reloaded module passes traffic
#
# After each loop: no "vhost-*" thread left, module refcnt 0 (1 for the core
# module while the net module is loaded: holders/), kmalloc slab
# bytes (sum of active_objs * objsize of kmalloc-* caches in /proc/slabinfo)
# and /proc/vmallocinfo (live areas, bytes) back near the baseline (tolerance
# SLAB_TOL / VMALLOC_TOL bytes, VMALLOC_NTOL areas), no new kernel log splat.
# LOOPS = 20 (200 with VHX_SOAK=1).  Exit 0 pass, 1 fail, 4 skip.
set -uo pipefail

ROOT=${VHX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}
TARGET=${VHX_TARGET:-vhx}
DEV=${VHX_DEV:-/dev/vhost-net}
TRAFFIC=$ROOT/selftests/net/vhx_traffic
WORK=$(mktemp -d "${TMPDIR:-/tmp}/fault.XXXXXX")
if [ -n "${VHX_SOAK:-}" ]; then KILLS=100; LOOPS=200; else KILLS=10; LOOPS=20; fi
KILLS=${FAULT_KILLS:-$KILLS}
LOOPS=${FAULT_LOOPS:-$LOOPS}
FAULT_TIMEOUT=${FAULT_TIMEOUT:-$((LOOPS * 3 + 60))}	# seconds per owner-fault run
SLAB_TOL=${SLAB_TOL:-$((1024 * 1024))}
VMALLOC_TOL=${VMALLOC_TOL:-$((1024 * 1024))}
VMALLOC_NTOL=${VMALLOC_NTOL:-16}
KLOG_RE='BUG:|WARNING:|Oops|Call Trace|hung_task|soft lockup'
PIDS=()

case $TARGET in
intree) NET_MOD=vhost_net; MODS="vhost_net vhost vhost_iotlb"; REF_MODS="vhost_net vhost" ;;
*) NET_MOD=vhx_net; MODS="vhx_net vhx_core"; REF_MODS="vhx_net vhx_core" ;;
esac
# vhx_blk and vhx_vsock also hold vhx_core: unload and reload them with
# the others.
BLK_MOD= VSOCK_MOD=
if [ "$TARGET" != intree ] && grep -q '^vhx_blk ' /proc/modules; then
	BLK_MOD=vhx_blk
	MODS="vhx_blk $MODS"
fi
if [ "$TARGET" != intree ] && grep -q '^vhx_vsock ' /proc/modules; then
	VSOCK_MOD=vhx_vsock
	MODS="vhx_vsock $MODS"
fi

echo "1..6"

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$WORK"
}
trap cleanup EXIT

skip_all() {
	local i
	for i in 1 2 3 4 5 6; do echo "ok $i # SKIP $1"; done
	exit 4
}
[ "$(id -u)" -eq 0 ] || skip_all "needs root"
[ -x "$TRAFFIC" ] || skip_all "no $TRAFFIC (run: make -C selftests)"
[ -c "$DEV" ] || skip_all "$DEV is not a character device"

# ---- measurements ------------------------------------------------------------
slab_bytes() {
	awk '$1 ~ /^(dma-)?kmalloc-/ { s += $2 * $4 } END { printf "%d\n", s }' /proc/slabinfo
}
# Lazily freed areas ("unpurged vm_area": exited threads' stacks waiting for
# the purge) are not live allocations.
vmalloc_live() { grep -v 'unpurged' /proc/vmallocinfo; }
vmalloc_areas() { vmalloc_live | wc -l; }
vmalloc_bytes() { vmalloc_live | awk '{ s += $2 } END { printf "%d\n", s }'; }
vmalloc_callers() { vmalloc_live | awk '{ print $3 }' | sort | uniq -c | sort -k2; }
klog_bad() { dmesg | grep -cE "$KLOG_RE"; }
workers() { grep -l '^vhost-' /proc/[0-9]*/comm 2>/dev/null | wc -l; }

settle() {
	sync
	echo 3 > /proc/sys/vm/drop_caches 2>/dev/null
	sleep 1
}

B_SLAB=0 B_VMA=0 B_VMB=0 B_KLOG=0
baseline() {
	settle
	B_SLAB=$(slab_bytes); B_VMA=$(vmalloc_areas); B_VMB=$(vmalloc_bytes); B_KLOG=$(klog_bad)
	vmalloc_callers > "$WORK/vmalloc.before"
}

# check_after NAME: the post-loop invariants; returns 1 on a violation.
check_after() {
	local name=$1 bad=0 m r h s va vb i
	for i in $(seq 1 100); do	# workers exit asynchronously (10 s)
		[ "$(workers)" -eq 0 ] && break
		sleep 0.1
	done
	if [ "$(workers)" -ne 0 ]; then
		echo "# $name: vhost worker thread(s) left: $(grep -h '^vhost-' /proc/[0-9]*/comm | tr '\n' ' ')"
		bad=1
	fi
	# refcnt = 0 plus one per module linked against this one (holders/):
	# vhx_net pins vhx_core (vhost_net pins vhost) through its symbols.
	for m in $REF_MODS; do
		r=$(cat "/sys/module/$m/refcnt" 2>/dev/null || echo "?")
		h=$(find "/sys/module/$m/holders" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		if [ "$r" != "$h" ]; then
			echo "# $name: /sys/module/$m/refcnt is $r, holders $h"
			bad=1
		fi
	done
	settle
	s=$(slab_bytes); va=$(vmalloc_areas); vb=$(vmalloc_bytes)
	echo "# $name: kmalloc slab $B_SLAB -> $s bytes ($((s - B_SLAB))), vmalloc $B_VMA -> $va areas, $B_VMB -> $vb bytes ($((vb - B_VMB)))"
	if [ $((s - B_SLAB)) -gt "$SLAB_TOL" ]; then
		echo "# $name: kmalloc slab grew by $((s - B_SLAB)) bytes (> $SLAB_TOL)"
		bad=1
	fi
	if [ $((vb - B_VMB)) -gt "$VMALLOC_TOL" ] || [ $((va - B_VMA)) -gt "$VMALLOC_NTOL" ]; then
		echo "# $name: vmalloc grew by $((va - B_VMA)) areas, $((vb - B_VMB)) bytes; callers before/after:"
		vmalloc_callers | diff "$WORK/vmalloc.before" - | grep '^[<>]' | head -n 20 | sed 's/^/#   /'
		bad=1
	fi
	if [ "$(klog_bad)" -ne "$B_KLOG" ]; then
		echo "# $name: new kernel log problems:"
		dmesg | grep -E "$KLOG_RE" | tail -n 20 | sed 's/^/#   /'
		bad=1
	fi
	return $bad
}

# start_traffic OUT ARGS...: owner in the background; waits for "running".
# Sets TPID.  Returns 1 if it never ran.
TPID=
start_traffic() {
	local out=$1 i
	shift
	"$TRAFFIC" "$@" > "$out" 2>&1 &
	TPID=$!
	PIDS+=("$TPID")
	for i in $(seq 1 300); do
		grep -q '^running' "$out" && return 0
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	echo "# vhx_traffic did not start:"
	sed 's/^/#   /' "$out" | tail -n 10
	kill -9 "$TPID" 2>/dev/null
	wait "$TPID" 2>/dev/null
	return 1
}

result() {	# result N NAME RC
	if [ "$3" -eq 0 ]; then echo "ok $1 $2"; else echo "not ok $1 $2"; fail=1; fi
}
fail=0

# Warm-up: first-use allocations (tap/netdev caches, per-cpu slabs) before
# any baseline.
"$TRAFFIC" -t 1 > "$WORK/warmup.out" 2>&1 || { sed 's/^/# warmup: /' "$WORK/warmup.out"; }

# ---- 1: kill the owner --------------------------------------------------------
t_kill() {
	local i bad=0
	baseline
	for i in $(seq 1 "$KILLS"); do
		start_traffic "$WORK/kill.out" || { bad=1; break; }
		sleep 0.$((RANDOM % 5 + 1))
		kill -9 "$TPID"
		wait "$TPID" 2>/dev/null
	done
	echo "# kill_owner: $((i)) of $KILLS owners killed mid-traffic"
	check_after kill_owner || bad=1
	return $bad
}

# ---- 2: delete the tap --------------------------------------------------------
t_tap() {
	local i bad=0 tap rc
	baseline
	for i in 1 2 3; do
		start_traffic "$WORK/tap.out" || { bad=1; break; }
		tap=$(sed -n 's/^tap=\([^ ]*\).*/\1/p' "$WORK/tap.out")
		if ! ip link del "$tap"; then
			echo "# tap_delete: ip link del $tap failed"
			bad=1
		fi
		sleep 1
		if ! kill -0 "$TPID" 2>/dev/null; then
			echo "# tap_delete: the owner died after its tap was deleted"
			bad=1
		fi
		kill -TERM "$TPID" 2>/dev/null
		wait "$TPID"
		rc=$?
		grep -E '^tx ' "$WORK/tap.out" | sed 's/^/# tap_delete: /'
		if [ "$rc" -ne 0 ]; then
			echo "# tap_delete: owner exit status $rc"
			sed 's/^/#   /' "$WORK/tap.out" | tail -n 5
			bad=1
		fi
	done
	check_after tap_delete || bad=1
	return $bad
}

# dump_tasks PID: where the owner's threads and every vhost worker sleep.
dump_tasks() {
	local t
	for t in /proc/"$1"/task/* $(grep -l '^vhost-' /proc/[0-9]*/comm 2>/dev/null | xargs -r -n1 dirname); do
		[ -d "$t" ] || continue
		echo "# task $(basename "$t") $(cat "$t/comm" 2>/dev/null) state $(awk '{ print $3 }' "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
		sed 's/^/#     /' "$t/stack" 2>/dev/null | head -n 12
	done
}

# ---- 3..5: faults injected by the owner -------------------------------------------
t_owner_fault() {	# NAME FAULT
	local name=$1 rc bad=0 i
	baseline
	"$TRAFFIC" -f "$2" -n "$LOOPS" > "$WORK/$2.out" 2>&1 &
	TPID=$!
	PIDS+=("$TPID")
	for i in $(seq 1 $((FAULT_TIMEOUT * 10))); do
		kill -0 "$TPID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$TPID" 2>/dev/null; then
		echo "# $name: owner still running after ${FAULT_TIMEOUT}s: hung?"
		sed 's/^/#   out: /' "$WORK/$2.out" | tail -n 5
		dump_tasks "$TPID"
		kill -9 "$TPID"
		bad=1
	fi
	wait "$TPID"
	rc=$?
	sed 's/^/# '"$name"': /' "$WORK/$2.out" | tail -n 5
	if [ $rc -ne 0 ]; then
		echo "# $name: vhx_traffic exit status $rc"
		bad=1
	fi
	check_after "$name" || bad=1
	return $bad
}

# ---- 6: rmmod while open, reload ------------------------------------------------
load_mods() {
	local ko
	if [ "$TARGET" = intree ]; then
		modprobe vhost_net
	else
		for ko in vhx_core vhx_net $BLK_MOD $VSOCK_MOD; do
			insmod "$ROOT/vhost/$ko.ko" || return 1
		done
	fi
	for _ in $(seq 1 20); do [ -c "$DEV" ] && return 0; sleep 0.1; done
	return 1
}

t_rmmod() {
	local bad=0 out i
	baseline
	for i in 1 2; do
		start_traffic "$WORK/rmmod.out" || return 1
		if out=$(rmmod "$NET_MOD" 2>&1); then
			echo "# rmmod: rmmod $NET_MOD succeeded with a device open!"
			kill -9 "$TPID"; wait "$TPID" 2>/dev/null
			load_mods
			return 1
		fi
		echo "# rmmod: refused while open: $out"
		kill -9 "$TPID"
		wait "$TPID" 2>/dev/null
		check_after "rmmod-$i" || bad=1
		# shellcheck disable=SC2086
		if ! rmmod $MODS; then
			echo "# rmmod: rmmod $MODS failed after the owner died"
			return 1
		fi
		if ! load_mods; then
			echo "# rmmod: reload failed"
			return 1
		fi
		if ! "$TRAFFIC" -t 1 > "$WORK/reload.out" 2>&1; then
			echo "# rmmod: no traffic after the reload:"
			sed 's/^/#   /' "$WORK/reload.out" | tail -n 5
			bad=1
		fi
	done
	check_after rmmod || bad=1
	return $bad
}

t_kill; result 1 kill_owner $?
t_tap; result 2 tap_delete $?
t_owner_fault swap_backend swap; result 3 swap_backend $?
t_owner_fault eventfds eventfd; result 4 eventfds $?
t_owner_fault mem_shrink mem; result 5 mem_shrink $?
t_rmmod; result 6 rmmod $?
exit $fail
