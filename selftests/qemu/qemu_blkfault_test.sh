#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_blkfault_test.sh — the bridge or QEMU SIGKILLed in the middle of guest
# I/O on /dev/vhost-blk: nothing leaks, what was flushed is in the backend,
# QEMU reconnects to a restarted bridge, a new QEMU is served.
# vhx-test-timeout: 1200
#
#   lab VM: vhx-blk-bridge ── /dev/vhost-blk (vhx_blk.ko)
#           QEMU A (-chardev socket,reconnect=1), later QEMU B; inner guest
#           writer: 1 MiB pattern blocks, each O_DIRECT + fsync, then
#           "VHXI: flushed I" on its console (selftests/vm/inner/vhxi.sh)
#
#   1 bridge          the bridge starts
#   2 boot            QEMU A boots (vhost-user-blk, 2 queues, reconnect=1)
#   3 kill-bridge     SIGKILL of the bridge during the writer: its vhost-blk
#                     device and workers go away; every block the guest saw
#                     flushed is in the backend file
#   4 reconnect       a new bridge on the same socket: QEMU A reconnects, the
#                     writer finishes, all its blocks read back in the guest
#                     and in the backend file
#   5 kill-qemu       SIGKILL of QEMU A during a second writer: the bridge
#                     survives, its device goes, flushed blocks are in the file
#   6 new-qemu        QEMU B boots on the same bridge and reads back every
#                     block of both writers that was flushed
#   7 leaks           QEMU B quits, bridge SIGTERM: no worker, vhx_blk refcount
#                     0, kmalloc/vmalloc back; rmmod if this test loaded it
#   8 kernel-log      no splat in the lab VM's kernel log
#
# Knobs: QI_VERBOSE=1, VHX_BLK_MOCK=1 (host, see lib/blk.sh), QB_W1/QB_W2
# (blocks of the two writers: 10, 8).
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
# shellcheck source=lib/blk.sh
. "$VHX_ROOT/selftests/lib/blk.sh"
trap qb_cleanup EXIT

N=8
names=(- bridge boot kill-bridge reconnect kill-qemu new-qemu leaks kernel-log)
W1=${QB_W1:-10}		# writer 1: blocks at [0, W1) MiB
W2=${QB_W2:-8}		# writer 2: blocks at [32, 32 + W2) MiB
echo "1..$N"

qb_prereq || qb_skip_all

# flushed ID: the highest "VHXI: flushed I" on the console (-1: none)
flushed() {
	local n
	n=$(tr -d '\r' < "${QI_DIR[$1]}/console.log" 2>/dev/null | sed -n 's/.*VHXI: flushed \([0-9]*\).*/\1/p' | tail -n1)
	echo "${n:--1}"
}
# wait_flushed ID COUNT SECS [SINCE]: until COUNT blocks are flushed
wait_flushed() {
	local id=$1 want=$2 secs=$3 t0=$SECONDS
	while [ $(($(flushed "$id") + 1)) -lt "$want" ]; do
		qi_alive "$id" || return 1
		[ $((SECONDS - t0)) -lt "$secs" ] || return 1
		sleep 0.2
	done
}
# host_check BASE COUNT: blocks 0..COUNT-1 at BASE MiB of the backend match
host_check() {
	local base=$1 n=$2 i bad=0
	for ((i = 0; i < n; i++)); do
		[ "$(qb_backend_sum "$IMG" $((base + i)) 1)" = "$(qb_block_sum $i)" ] || { bad=$((bad + 1)); qb_log "block $i at $((base + i)) MiB: wrong content in the backend"; }
	done
	return $bad
}
# device_gone NAME: the dead or disconnected owner's device is released
device_gone() {
	local name=$1 pid=$2
	[ "$QB_MOCK" = 1 ] && return 0
	for _ in $(seq 1 50); do
		[ "$(qb_devices "$pid")" = 0 ] && [ "$(qb_workers)" -le "${QB_WORKERS0:-0}" ] && return 0
		sleep 0.2
	done
	qb_log "$name: devices of $pid: $(qb_devices "$pid"), vhost workers $(qb_workers) (baseline ${QB_WORKERS0:-0})"
	return 1
}

qb_begin

# 1 bridge
rc=1
qb_bridge_start "$IMG" --queues 2 && rc=0
qi_result 1 bridge $rc
[ $rc -eq 0 ] || qb_skip_rest 2 "no bridge"

# 2 boot
rc=1
qb_qemu_start a ",reconnect=1" && qi_cmd a 30 'blkinfo vda' > /dev/null && rc=0
qb_log "inner: $(head -n1 <<< "$QI_OUT")"
qi_result 2 boot $rc
[ $rc -eq 0 ] || { qb_bridge_tail 30; qi_tail_logs a; qb_skip_rest 3 "inner guest did not boot"; }

# 3 kill-bridge
rc=0
qi_cmd a 10 "(taskset -c 1 sh -c '. /lib/vhxi.sh; blkwriter /dev/vda 0 $W1' > /dev/null 2>&1 &); echo started" > /dev/null
if ! wait_flushed a 3 180; then
	qb_log "the writer did not flush 3 blocks in 180 s (flushed $(($(flushed a) + 1)))"
	rc=1
fi
old=$QB_BRIDGE_PID
qb_bridge_stop KILL
k=$(flushed a)
qb_log "bridge $old SIGKILLed after the guest flushed $((k + 1)) blocks"
device_gone kill-bridge "$old" || rc=1
host_check 0 $((k + 1)) || rc=1
[ $rc -eq 0 ] && qb_log "blocks 0..$k are in the backend file"
qi_result 3 kill-bridge $rc

# 4 reconnect
rc=1
t0=$SECONDS
if qb_bridge_start "$IMG" --queues 2; then
	for _ in $(seq 1 100); do grep -q 'device started' "$QB_BRIDGE_LOG" && break; sleep 0.3; done
	grep -E 'client connected|device started' "$QB_BRIDGE_LOG" | sed 's/^/#   bridge| /'
	if wait_flushed a "$W1" 300; then
		qb_log "QEMU reconnected and the writer finished $W1 blocks $((SECONDS - t0)) s after the restart"
		if qi_cmd a 300 "blkcheck /dev/vda 0 $W1 $(qb_block_sums "$W1")" > /dev/null; then
			ng=$(grep -c '^ok ' <<< "$QI_OUT")
			qb_log "guest reads back $ng/$W1 blocks"
			host_check 0 "$W1" && [ "$ng" = "$W1" ] && rc=0
		fi
	else
		qb_log "writer stuck at $(($(flushed a) + 1))/$W1 blocks after the reconnect"
		qb_bridge_tail 10
		tail -n 5 "${QI_DIR[a]}/qemu.out" | sed 's/^/#   qemu| /'
	fi
fi
qi_result 4 reconnect $rc

# 5 kill-qemu
rc=0
start=$(grep -c 'VHXI: flushed' "${QI_DIR[a]}/console.log")
if qi_alive a; then
	qi_cmd a 10 "(taskset -c 0 sh -c '. /lib/vhxi.sh; blkwriter /dev/vda 32 $W2' > /dev/null 2>&1 &); echo started" > /dev/null
	# count only the second writer's lines
	t0=$SECONDS
	while [ "$(grep -c 'VHXI: flushed' "${QI_DIR[a]}/console.log")" -lt $((start + 3)) ] &&
		[ $((SECONDS - t0)) -lt 180 ]; do sleep 0.2; done
fi
qpid=${QI_PID[a]:-}
qi_stop a KILL
k2=$(($(grep -c 'VHXI: flushed' "${QI_DIR[a]}/console.log") - ${start:-0} - 1))
qb_log "QEMU A ($qpid) SIGKILLed after the second writer flushed $((k2 + 1)) blocks"
for _ in $(seq 1 50); do grep -q 'client disconnected' "$QB_BRIDGE_LOG" && break; sleep 0.2; done
grep -q 'client disconnected' "$QB_BRIDGE_LOG" || { qb_log "the bridge did not see QEMU die"; rc=1; }
qb_bridge_alive || { qb_log "the bridge died with QEMU"; rc=1; }
device_gone kill-qemu "$QB_BRIDGE_PID" || rc=1
[ "$k2" -ge 0 ] || { qb_log "the second writer flushed nothing before the kill"; rc=1; }
host_check 32 $((k2 + 1)) || rc=1
qi_result 5 kill-qemu $rc

# 6 new-qemu
rc=1
if qb_bridge_alive && qb_qemu_start b; then
	if qi_cmd b 300 "blkcheck /dev/vda 0 $W1 $(qb_block_sums "$W1"); blkcheck /dev/vda 32 $((k2 + 1)) $(qb_block_sums $((k2 + 1)))" > /dev/null; then
		ng=$(grep -c '^ok ' <<< "$QI_OUT")
		qb_log "QEMU B reads back $ng/$((W1 + k2 + 1)) flushed blocks"
		[ "$ng" = $((W1 + k2 + 1)) ] && rc=0
	fi
fi
qi_result 6 new-qemu $rc

# 7 leaks
rc=0
qi_stop b
qb_bridge_stop TERM
[ "${QB_BRIDGE_RC:-1}" = 0 ] || { qb_log "bridge exit status ${QB_BRIDGE_RC:-?} after SIGTERM"; rc=1; }
qb_end 7 "$rc"
