#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_migrate_test.sh — live migration of the running inner guest to a
# second stock QEMU (-incoming) in the same lab VM while TCP streams run
# both ways; the streams survive and their checksums match (issue 3, #3:
# VHOST_F_LOG_ALL, SET_LOG_BASE, dirty log of used rings and RX buffers).
# vhx-test-timeout: 900
#
#   bridge vhxbr0 10.77.0.1 ─┬─ vhxtap0 ── QEMU src (restored, running)
#                            └─ vhxtap1 ── QEMU dst (-incoming tcp:127.0.0.1:PORT)
#   1 setup       src restored from the shared snapshot, dst waiting
#   2 migrate     streams running: VM -> guest 16 MiB (the guest checksums
#                 as it receives) and guest -> VM 4 MiB; `migrate` src ->
#                 dst completes; dst runs with its own vhost-<dst pid> worker
#   3 to-guest    VM -> guest stream complete, sha256 equal
#   4 from-guest  guest -> VM stream complete, sha256 equal
#   5 after       dst: ping 0 % loss, 2 MiB VM -> guest with sha256; vhx
#                 counters of dst's device moved; src's worker is gone
#   6 kernel-log
# (2-5 are lib/qemu.sh's qi_migrate_streams, shared with qemu_packed_test.sh)
#
# Knobs: QI_MIG_MB (16).
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"

MB=${QI_MIG_MB:-16}
PORT=4444
N=6
echo "1..$N"
trap qi_cleanup EXIT

qi_prereq_or_skip "$N" migrate
qi_klog_mark
qi_build && qi_net_bridge || { echo "Bail out! setup failed"; exit 1; }
t0=$SECONDS

# 1 setup
rc=1
if qi_sq_snapshot && qi_tap vhxtap0 && qi_tap vhxtap1 &&
   qi_restore src vhxtap0 "$QI_SNAP" && qi_start dst vhxtap1 -incoming "tcp:127.0.0.1:$PORT"; then
	qi_check_worker src && rc=0
fi
qi_result 1 setup $rc
if ! qi_alive src || ! qi_alive dst; then
	for i in $(seq 2 $N); do echo "not ok $i migrate-$i # setup failed"; done
	exit 1
fi
DST=${QI_PID[dst]}

# 2-5 streams across the migration, then the destination alone
qi_migrate_streams src dst 2 "$MB" $PORT

qi_stop dst
sleep 1
w=$(qi_workers "$DST")
[ -z "$w" ] || qi_log "workers left: $w"
qi_klog_check && [ -z "$w" ]
qi_result 6 kernel-log $?
qi_log "timing: total $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
