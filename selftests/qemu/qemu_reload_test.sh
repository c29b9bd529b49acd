#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_reload_test.sh — the inner guest unloads and reloads virtio_net while
# stock QEMU keeps its vhost device; traffic must resume (issue 3, #5:
# device reset -> vhost stop/start, SET_VRING_BASE / GET_VRING_BASE,
# NET_SET_BACKEND -1 and back).
# vhx-test-timeout: 900
#
#   1 restore   a booted single-queue guest (shared snapshot, lib/qemu.sh)
#   2 before    ping + 2 MiB VM -> guest with sha256
#   3..         per cycle: rmmod virtio_net net_failover failover, insmod
#               again, eth0 up, ping 0 % loss, 2 MiB both ways with sha256
#   last        worker unchanged, counters moved (vhx), kernel log clean
#
# Knobs: QI_RELOAD_CYCLES (2).
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
trap qi_cleanup EXIT

CYCLES=${QI_RELOAD_CYCLES:-2}
N=$((CYCLES + 3))
echo "1..$N"
qi_prereq_or_skip "$N" reload
qi_klog_mark
qi_build && qi_net_bridge || { echo "Bail out! setup failed"; exit 1; }
t0=$SECONDS

rc=1
if qi_sq_snapshot && qi_tap vhxtap0 && qi_restore g vhxtap0 "$QI_SNAP"; then
	qi_check_worker g && rc=0
fi
qi_result 1 restore $rc
if ! qi_alive g; then
	for i in $(seq 2 $N); do echo "not ok $i reload-$i # no inner guest"; done
	exit 1
fi
QPID=${QI_PID[g]}
W0=$(qi_workers "$QPID" | tr '\n' ' ')
qi_vq_stats "$QPID" > "$QI_WORK/s0" 2>/dev/null

rc=0
qi_ping g 3 || rc=1
qi_xfer_to_guest g 2 5001 || rc=1
qi_result 2 before-reload $rc

for c in $(seq 1 "$CYCLES"); do
	rc=0
	ct=$SECONDS
	qi_log "cycle $c: unload virtio_net in the inner guest"
	qi_cmd g 120 'unload_net && ! [ -e /sys/class/net/eth0 ] && echo "eth0 gone"' || rc=1
	sleep 1
	[ -n "$(qi_workers "$QPID")" ] || { qi_log "vhost worker gone while QEMU lives"; rc=1; }
	qi_log "cycle $c: load virtio_net again"
	qi_cmd g 180 'load_net && ip addr show eth0 | grep inet' || rc=1
	qi_ping g 3 || rc=1
	qi_xfer_to_guest g 2 $((5010 + c)) || rc=1
	qi_xfer_from_guest g 2 $((5020 + c)) || rc=1
	qi_log "cycle $c took $((SECONDS - ct))s"
	qi_result $((2 + c)) "reload-$c" $rc
done

rc=0
W1=$(qi_workers "$QPID" | tr '\n' ' ')
qi_log "vhost workers of QEMU $QPID: before $W0, after $W1"
[ -n "$W1" ] || rc=1
if [ "${VHX_TARGET:-vhx}" = vhx ]; then
	if qi_vq_stats "$QPID" > "$QI_WORK/s1" && [ -s "$QI_WORK/s1" ]; then
		qi_stats_delta "$QI_WORK/s0" "$QI_WORK/s1" | sed 's/^/#   /'
		read -r drx dtx < <(qi_stats_delta "$QI_WORK/s0" "$QI_WORK/s1" |
			awk '$3 == "rx" { r += $6 } $3 == "tx" { t += $6 } END { print r + 0, t + 0 }')
		{ [ "$drx" -gt 0 ] && [ "$dtx" -gt 0 ]; } || { qi_log "counters did not move"; rc=1; }
	else
		qi_log "no vhx counters ($QI_DEBUGFS)"
		rc=1
	fi
fi
qi_stop g
qi_klog_check || rc=1
qi_result "$N" after-reload $rc
qi_log "timing: total $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
