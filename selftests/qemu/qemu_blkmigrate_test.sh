#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_blkmigrate_test.sh — live migration of a guest doing block I/O on
# /dev/vhost-blk through the bridge: QEMU src (bridge 1) -> QEMU dst
# (-incoming, bridge 2 --no-lock) in the same lab VM, while the guest writes
# fsynced pattern blocks.  Proves the dirty-log path of the bridge
# (SET_LOG_BASE -> VHOST_SET_LOG_BASE, LOG_ALL, ring log flags) and of the
# kernel: the destination guest's rings and buffers are intact.
# vhx-test-timeout: 1200
#
#   lab VM: bridge 1 (socket 1) ── QEMU src ── guest: writer, 12 blocks
#           bridge 2 (socket 2, --no-lock) ── QEMU dst -incoming tcp:127.0.0.1:PORT
#
#   1 setup       both bridges listen, src is up (restored or booted,
#                 disk hot-plugged), dst waits with the disk on its command line
#   2 migrate     writer running: migrate src -> dst completes; bridge 1
#                 turned the kernel's dirty log on (LOG_BASE, LOG_ALL)
#   3 after       the writer finishes on dst, every block reads back in the
#                 guest and is in the backend file; src's device is gone
#   4 leaks       dst quits, both bridges exit 0, nothing left in the kernel
#   5 kernel-log
#
# The userspace mock (VHX_BLK_MOCK=1) keeps no dirty log: SKIP there.
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
# shellcheck source=lib/blk.sh
. "$VHX_ROOT/selftests/lib/blk.sh"

N=5
names=(- setup migrate after leaks kernel-log)
W=${QB_WM:-12}
PORT=4445
B1_PID='' B2_PID=''
cleanup() {
	[ -n "$B1_PID" ] && kill -9 "$B1_PID" 2>/dev/null
	[ -n "$B2_PID" ] && kill -9 "$B2_PID" 2>/dev/null
	qb_cleanup
}
trap cleanup EXIT
echo "1..$N"

[ "$QB_MOCK" = 1 ] && QB_WHY="the userspace mock keeps no dirty log"
if [ "$QB_MOCK" = 1 ] || ! qb_prereq; then
	for i in $(seq 1 $N); do echo "ok $i ${names[$i]} # SKIP $QB_WHY"; done
	exit 4
fi

ip link set lo up	# the lab VM leaves it down; the migration stream uses 127.0.0.1
qb_begin

# 1 setup: bridge 2 first (so QB_* end up describing bridge 1 for src)
rc=1
S2=$QI_WORK/vhx-blk-2.sock
QB_SOCK=$S2
if qb_bridge_start "$IMG" --queues 2 --no-lock; then
	B2_PID=$QB_BRIDGE_PID B2_LOG=$QB_BRIDGE_LOG
	QB_SOCK=$QI_WORK/vhx-blk-1.sock
	if qb_bridge_start "$IMG" --queues 2; then
		B1_PID=$QB_BRIDGE_PID B1_LOG=$QB_BRIDGE_LOG
		if qb_qemu_start src; then
			# the disk src got by hot-plug is on dst's command line
			# shellcheck disable=SC2046  # word-split QEMU args
			QI_PREP=1 qi_start dst - $(QB_SOCK=$S2 qb_disk_args) \
				-incoming "tcp:127.0.0.1:$PORT" && rc=0
		fi
	fi
fi
qi_result 1 setup $rc
[ $rc -eq 0 ] || { qb_bridge_tail 20; qb_skip_rest 2 "setup failed"; }

# 2 migrate during the writer
rc=1
qi_cmd src 10 "(taskset -c 1 sh -c '. /lib/vhxi.sh; blkwriter /dev/vda 0 $W' > /dev/null 2>&1 &); echo started" > /dev/null
t0=$SECONDS
while [ "$(grep -c 'VHXI: flushed' "${QI_DIR[src]}/console.log")" -lt 2 ] && [ $((SECONDS - t0)) -lt 180 ]; do
	sleep 0.2
done
before=$(grep -c 'VHXI: flushed' "${QI_DIR[src]}/console.log")
if qi_migrate src "tcp:127.0.0.1:$PORT" 400; then
	if qi_wait_running dst 60; then
		rc=0
		qb_log "migrated with $before of $W blocks flushed on src"
	fi
fi
grep -E 'dirty log|features changed' "$B1_LOG" | head -n 4 | sed 's/^/#   bridge1| /'
grep -q 'dirty log at' "$B1_LOG" || { qb_log "bridge 1 never gave the kernel a dirty log"; rc=1; }
grep -q 'dirty log on' "$B1_LOG" || { qb_log "bridge 1 never turned LOG_ALL on"; rc=1; }
qi_result 2 migrate $rc

# 3 after: the writer goes on in dst
rc=1
alive=n
if ! qi_alive dst; then
	qb_log "QEMU 'dst' died after the migration"
	tail -n 10 "${QI_DIR[dst]}/qemu.out" 2>/dev/null | sed 's/^/#   dst qemu| /'
	tail -n 10 "$B2_LOG" | sed "s/^/#   bridge2| /"
elif ! qi_ping_agent dst 120; then
	qb_log "the inner guest on dst did not answer its agent for 120 s after the migration"
	qi_mon dst "info status"
	sleep 1
	tail -n 3 "${QI_DIR[dst]}/mon.log" | tr -d '\r' | sed 's/^/#   dst mon| /'
	tail -n 10 "${QI_DIR[dst]}/console.log" | tr -d '\r' | sed 's/^/#   dst| /'
	tail -n 10 "$B2_LOG" | sed "s/^/#   bridge2| /"
else
	alive=y
fi
if [ $alive = y ]; then
	t0=$SECONDS
	while ! grep -q "VHXI: blkwriter done $W" "${QI_DIR[dst]}/console.log" && [ $((SECONDS - t0)) -lt 300 ]; do
		grep -q 'VHXI: blkwriter failed' "${QI_DIR[dst]}/console.log" && break
		sleep 0.5
	done
	if grep -q "VHXI: blkwriter done $W" "${QI_DIR[dst]}/console.log"; then
		qi_cmd dst 300 "blkcheck /dev/vda 0 $W $(qb_block_sums "$W")" > /dev/null
		ng=$(grep -c '^ok ' <<< "$QI_OUT")
		bad=0
		for ((i = 0; i < W; i++)); do
			[ "$(qb_backend_sum "$IMG" "$i" 1)" = "$(qb_block_sum $i)" ] || bad=$((bad + 1))
		done
		qb_log "the writer finished on dst: guest reads back $ng/$W blocks, $bad wrong in the backend file"
		[ "$ng" = "$W" ] && [ $bad -eq 0 ] && rc=0
	else
		qb_log "writer did not finish on dst ($(grep -c 'VHXI: flushed' "${QI_DIR[dst]}/console.log") more blocks flushed there)"
		tail -n 5 "${QI_DIR[dst]}/console.log" | tr -d '\r' | sed 's/^/#   dst| /'
	fi
fi
[ "$(qb_devices "$B1_PID")" = 0 ] || { qb_log "bridge 1 still owns a device after the migration"; rc=1; }
qi_result 3 after $rc

# 4 leaks
rc=0
qi_stop src
qi_stop dst
QB_BRIDGE_PID=$B1_PID; qb_bridge_stop TERM; r1=${QB_BRIDGE_RC:-1}; B1_PID=
QB_BRIDGE_PID=$B2_PID; qb_bridge_stop TERM; r2=${QB_BRIDGE_RC:-1}; B2_PID=
[ "$r1" = 0 ] && [ "$r2" = 0 ] || { qb_log "bridge exit status $r1 / $r2 after SIGTERM"; rc=1; }
qb_end 4 "$rc"
