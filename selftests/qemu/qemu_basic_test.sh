#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_basic_test.sh — stock QEMU, single queue, end to end (issue 3, #1).
# vhx-test-timeout: 900
#
#   lab VM: bridge vhxbr0 10.77.0.1 ── tap vhxtap0 ── qemu-system-x86_64
#           -netdev tap,vhost=on -device virtio-net-pci  (inner guest
#           10.77.0.2, busybox + iperf3, selftests/vm/inner)
#
#   1 boot            inner guest boots; worker vhost-<qemu pid> exists
#   2 ping            inner -> VM, 0 % loss
#   3 tcp-to-guest    4 MiB VM -> inner, sha256 equal on both sides
#   4 tcp-from-guest  4 MiB inner -> VM, sha256 equal on both sides
#   5 iperf3          5 s each way (inner client, -R), figures printed
#   6 counters        vhx per-queue counters moved (rx bytes >= sent to the
#                     guest, tx bytes >= received from it); SKIP on intree
#   7 save-state      migrate the idle guest to a file (LOG_ALL path) for
#                     the other qemu_* tests to restore instead of booting
#   8 kernel-log      no splat in the lab VM's kernel log
#
# Knobs: QI_MB (4), QI_IPERF_SECS (5), QI_VERBOSE=1 streams the inner console.
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
trap qi_cleanup EXIT

MB=${QI_MB:-4}
SECS=${QI_IPERF_SECS:-5}
N=8
echo "1..$N"

qi_prereq_or_skip "$N" basic

qi_klog_mark
qi_model sq
qi_build && qi_net_bridge && qi_tap vhxtap0 || { echo "Bail out! setup failed"; exit 1; }

t0=$SECONDS
# 1 boot: a real boot of the inner guest with its vhost NIC (the other
# qemu_* tests restore saved guests, see lib/qemu_state.sh)
rc=1
if qi_start g vhxtap0 && qi_wait_ready g; then
	qi_check_worker g && rc=0
fi
qi_result 1 boot $rc
boot_s=$((SECONDS - t0))
if [ $rc -ne 0 ] && ! qi_alive g; then
	for i in $(seq 2 $N); do echo "not ok $i basic-$i # inner guest did not boot"; done
	exit 1
fi

stats_before=$QI_WORK/stats.0
stats_after=$QI_WORK/stats.1
qi_vq_stats "${QI_PID[g]}" > "$stats_before" 2>/dev/null

# 2 ping
qi_ping g 5
qi_result 2 ping $?

# 3/4 TCP with checksums
qi_xfer_to_guest g "$MB" 5001
qi_result 3 tcp-to-guest $?
qi_xfer_from_guest g "$MB" 5002
qi_result 4 tcp-from-guest $?

# 5 iperf3
rc=0
qi_log "iperf3: inner guest -> VM, ${SECS}s"
qi_iperf g "$SECS" || rc=1
up=$QI_IPERF_MBPS
qi_log "iperf3: VM -> inner guest (-R), ${SECS}s"
qi_iperf g "$SECS" -R || rc=1
down=$QI_IPERF_MBPS
qi_log "iperf3 through ${VHX_TARGET:-vhx}: inner->VM ${up:-?} Mbit/s, VM->inner ${down:-?} Mbit/s"
qi_result 5 iperf3 $rc

# 6 counters
if [ "${VHX_TARGET:-vhx}" != vhx ]; then
	QI_SKIP_WHY="in-tree vhost_net keeps no per-queue counters"
	qi_result 6 counters 4
elif ! qi_vq_stats "${QI_PID[g]}" > "$stats_after"; then
	qi_log "no $QI_DEBUGFS"
	qi_result 6 counters 1
else
	qi_stats_delta "$stats_before" "$stats_after" | sed 's/^/#   /'
	rc=0
	read -r rxp rxb < <(awk '$3 == "rx" { p += $4; b += $5 } END { print p + 0, b + 0 }' "$stats_after")
	read -r txp txb < <(awk '$3 == "tx" { p += $4; b += $5 } END { print p + 0, b + 0 }' "$stats_after")
	qi_log "vhx rx (VM -> guest): $rxp packets, $rxb bytes; tx (guest -> VM): $txp packets, $txb bytes"
	min=$((MB * 1048576))
	[ "$rxb" -ge "$min" ] || { qi_log "rx bytes $rxb < $min sent to the guest"; rc=1; }
	[ "$txb" -ge "$min" ] || { qi_log "tx bytes $txb < $min received from the guest"; rc=1; }
	qi_result 6 counters $rc
fi

# 7 save the idle guest for the other tests
qi_sq_snapshot_path > /dev/null
snap=$(qi_sq_snapshot_path)
if [ -f "$snap.ok" ]; then
	QI_SKIP_WHY="snapshot already saved by an earlier test"
	qi_result 7 save-state 4
else
	qi_snapshot g "$snap"
	qi_result 7 save-state $?
fi
qi_stop g

# 8 kernel log
sleep 1
w=$(qi_any_workers)
[ -z "$w" ] || qi_log "vhost worker threads left after QEMU quit: $w"
qi_klog_check && [ -z "$w" ]
qi_result 8 kernel-log $?

qi_log "timing: inner boot ${boot_s}s, total $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
