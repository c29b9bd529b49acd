#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_death_test.sh — owner death: `kill -9` of stock QEMU while vhost is
# busy, repeated; the vhost-net implementation must release everything
# (issue 3, #6).
# vhx-test-timeout: 1200
#
# Each round starts QEMU (-netdev tap,vhost=on), kills it with SIGKILL and
# then requires, within 15 s: the QEMU process gone, no vhost-<pid> worker
# thread, the module use count back to its idle value, no vhx device of that
# owner in debugfs, and no splat in the kernel log.
#
#   round 1      kill as soon as the worker exists (SET_OWNER done, no rings)
#   round 2      kill mid-boot of the inner guest (~20 s in)
#   rounds 3-4   kill while QEMU is loading a saved guest (incoming
#                migration), 1.5 s and 6 s in
#   rounds 5-N   restore a booted guest from the shared snapshot (see
#                lib/qemu.sh), run TCP streams both ways (VM -> guest and
#                guest -> VM), kill after 2-4 s of traffic
#   last         rmmod of the module(s) succeeds; load them again
#
# Knobs: QI_DEATH_ROUNDS (10, at least 5).  A traffic round costs ~35 s
# (restoring the guest under TCG), the others a few seconds.
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"

ROUNDS=${QI_DEATH_ROUNDS:-10}
[ "$ROUNDS" -ge 5 ] || ROUNDS=5
N=$((ROUNDS + 1))
echo "1..$N"

VM_PIDS=()
cleanup() {
	local p
	for p in "${VM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	qi_cleanup
}
trap cleanup EXIT

qi_prereq_or_skip "$N" death

case ${VHX_TARGET:-vhx} in
intree) MODS=(vhost_net vhost) ;;
*) MODS=(vhx_net vhx_core) ;;
esac
# vhx_blk also holds vhx_core: unload and reload it with the others.
BLK_LOADED=0
if [ "${VHX_TARGET:-vhx}" != intree ] && grep -q '^vhx_blk ' /proc/modules; then
	BLK_LOADED=1
	MODS=(vhx_blk "${MODS[@]}")
fi
# So does vhx_vsock.
VSOCK_LOADED=0
if [ "${VHX_TARGET:-vhx}" != intree ] && grep -q '^vhx_vsock ' /proc/modules; then
	VSOCK_LOADED=1
	MODS=(vhx_vsock "${MODS[@]}")
fi

refcnts() {
	local m
	for m in "${MODS[@]}"; do
		echo -n "$m=$(cat "/sys/module/$m/refcnt" 2>/dev/null || echo '?') "
	done
}

qi_klog_mark
qi_build && qi_net_bridge && qi_tap vhxtap0 || { echo "Bail out! setup failed"; exit 1; }
base_ref=$(refcnts)
qi_log "idle module use counts: $base_ref"

# verify_release PID: everything of that QEMU is gone.
verify_release() {
	local pid=$1 i w ref rc=0 t0=$SECONDS
	for i in $(seq 1 150); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		qi_log "QEMU $pid still exists 15 s after SIGKILL: $(ps -o stat=,wchan= -p "$pid")"
		cat "/proc/$pid/stack" 2>/dev/null | sed 's/^/#   stack| /'
		for t in /proc/"$pid"/task/*; do
			echo "#   task $(basename "$t") $(cat "$t/comm") $(cat "$t/wchan" 2>/dev/null)"
		done
		return 1
	fi
	wait "$pid" 2>/dev/null
	for i in $(seq 1 150); do
		w=$(qi_workers "$pid")
		ref=$(refcnts)
		[ -z "$w" ] && [ "$ref" = "$base_ref" ] && break
		sleep 0.1
	done
	if [ -n "$w" ]; then
		qi_log "worker vhost-$pid still there: $w"
		for i in $w; do cat "/proc/$i/stack" 2>/dev/null | sed 's/^/#   stack| /'; done
		rc=1
	fi
	if [ "$ref" != "$base_ref" ]; then
		qi_log "module use counts $ref, idle was $base_ref"
		rc=1
	fi
	if qi_has_stats && qi_dev_lines "$pid" > /dev/null; then
		qi_log "vhx still lists a device of owner $pid:"
		qi_dev_lines "$pid" | sed 's/^/#   /'
		rc=1
	fi
	qi_klog_check || rc=1
	[ $rc -eq 0 ] && qi_log "released in $((SECONDS - t0))s: no vhost-$pid, use counts $ref"
	return $rc
}

tap_bytes() {
	echo $(($(cat /sys/class/net/vhxtap0/statistics/rx_bytes) + $(cat /sys/class/net/vhxtap0/statistics/tx_bytes)))
}

# kill_now ID: SIGKILL and drop our bookkeeping (the pipes die with it).
kill_now() {
	local id=$1 pid=${QI_PID[$1]}
	kill -9 "$pid"
	KILLED=$pid
	QI_PID[$id]=
	local fd=${QI_AGFD[$id]} mfd=${QI_MONFD[$id]}
	exec {fd}>&- {mfd}>&-
}

round_start() {	# kill as soon as the worker exists
	local i
	qi_start r vhxtap0 || return 1
	for i in $(seq 1 300); do
		[ -n "$(qi_workers "${QI_PID[r]}")" ] && break
		qi_alive r || break
		sleep 0.1
	done
	if [ -z "$(qi_workers "${QI_PID[r]}")" ]; then
		qi_log "no vhost-${QI_PID[r]} worker after 30 s"
		qi_tail_logs r
		kill_now r
		return 1
	fi
	qi_log "worker up after ~$((i / 10))s; SIGKILL"
	kill_now r
}

round_boot() {	# kill mid-boot
	qi_start r vhxtap0 || return 1
	sleep 20
	qi_alive r || { qi_log "QEMU died on its own"; qi_tail_logs r; return 1; }
	qi_log "SIGKILL 20 s into the inner boot ($(qi_last_console r))"
	kill_now r
}

round_loading() {	# kill while the saved guest is being loaded
	qi_start r vhxtap0 -incoming "exec:cat $QI_SNAP" || return 1
	sleep "$1"
	qi_alive r || { qi_log "QEMU died on its own"; qi_tail_logs r; return 1; }
	qi_log "SIGKILL ${1}s into loading the snapshot"
	kill_now r
}

round_traffic() {	# kill during TCP streams both ways
	local secs=$1 b0 b1 p
	qi_restore r vhxtap0 "$QI_SNAP" || { [ -n "${QI_PID[r]}" ] && kill_now r; return 1; }
	[ -p "$QI_WORK/never" ] || mkfifo "$QI_WORK/never"
	busybox nc -l -p 5004 > /dev/null 2>&1 <> "$QI_WORK/never" &
	VM_PIDS+=($!)
	qi_cmd r 60 "sink 5003; flood $QI_HOST_IP 5004" > /dev/null
	bash -c "exec cat /dev/zero > /dev/tcp/$QI_GUEST_IP/5003" 2>/dev/null &
	VM_PIDS+=($!)
	# Streams start slowly in a twice-emulated guest: wait until they
	# move (512 KiB, at most 30 s), then let them run $secs more.
	b0=$(tap_bytes)
	for _ in $(seq 1 60); do
		[ $(($(tap_bytes) - b0)) -ge 524288 ] && break
		sleep 0.5
	done
	b1=$(tap_bytes)
	sleep "$secs"
	b2=$(tap_bytes)
	qi_log "traffic: $(((b1 - b0) / 1024)) KiB to get going, then $(((b2 - b1) / 1024)) KiB in ${secs}s through vhxtap0; SIGKILL"
	kill_now r
	for p in "${VM_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	VM_PIDS=()
	[ $((b1 - b0)) -ge 524288 ] || { qi_log "streams did not get going within 30 s"; return 1; }
}

t0=$SECONDS
for r in $(seq 1 "$ROUNDS"); do
	rt=$SECONDS
	KILLED=
	case $r in
	1) kind=start; round_start; rc=$? ;;
	2) kind=boot; round_boot; rc=$? ;;
	*)
		if [ -z "$QI_SNAP" ] && ! qi_sq_snapshot; then
			QI_SNAP=
			qi_log "cannot make a snapshot of a booted guest"
			rc=1
		elif [ "$r" -eq 3 ]; then
			kind=loading; round_loading 1.5; rc=$?
		elif [ "$r" -eq 4 ]; then
			kind=loading; round_loading 6; rc=$?
		else
			kind=traffic; round_traffic $((2 + r % 3)); rc=$?
		fi
		;;
	esac
	if [ -n "$KILLED" ]; then
		verify_release "$KILLED" || rc=1
	fi
	qi_log "round $r ($kind) took $((SECONDS - rt))s"
	qi_result "$r" "kill-$kind-$r" $rc
done

# last: the module unloads and loads again
rc=0
qi_net_cleanup
sleep 0.5
qi_log "rmmod ${MODS[*]} (use counts $(refcnts))"
if rmmod "${MODS[@]}"; then
	case ${VHX_TARGET:-vhx} in
	intree) modprobe vhost_net || rc=1 ;;
	*)
		insmod "$VHX_ROOT/vhost/vhx_core.ko" && insmod "$VHX_ROOT/vhost/vhx_net.ko" || rc=1
		if [ $BLK_LOADED = 1 ]; then
			insmod "$VHX_ROOT/vhost/vhx_blk.ko" || rc=1
		fi
		if [ $VSOCK_LOADED = 1 ]; then
			insmod "$VHX_ROOT/vhost/vhx_vsock.ko" || rc=1
		fi
		;;
	esac
	for i in $(seq 1 20); do [ -c /dev/vhost-net ] && break; sleep 0.2; done
	[ -c /dev/vhost-net ] || { qi_log "/dev/vhost-net missing after reload"; rc=1; }
else
	qi_log "rmmod failed; lsmod:"
	lsmod | grep -E '^(vhx|vhost)' | sed 's/^/#   /'
	rc=1
fi
qi_klog_check || rc=1
qi_result "$N" rmmod $rc
qi_log "timing: $ROUNDS rounds in $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
