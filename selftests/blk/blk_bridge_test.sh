#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# blk_bridge_test.sh — tools/vhx-blk-bridge against a rude vhost-user client
# (tools/vhx-blk-bridge/vu-probe) instead of QEMU: negotiation and config
# space, 19 malformed or unsupported messages (each answered with an error
# reply or a closed connection; the bridge keeps serving), then one queue set
# up by hand on memfd RAM doing IN, OUT, FLUSH, GET_ID, an out-of-range read
# and a descriptor outside guest memory, through /dev/vhost-blk.
# vhx-test-timeout: 300
#
#   lab VM: vhx-blk-bridge --backend /tmp/.../probe.img --queues 2
#             └── /dev/vhost-blk (vhx_blk.ko)
#           vu-probe SOCKET probe.img 2 SERIAL   (TAP, passed through)
#   then: bridge SIGTERM exits 0, no worker/device/memory left behind
#
# VHX_BLK_MOCK=1 runs it on the host against the userspace mock.
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
# shellcheck source=lib/blk.sh
. "$VHX_ROOT/selftests/lib/blk.sh"
trap qb_cleanup EXIT

PROBE=$VHX_ROOT/tools/vhx-blk-bridge/vu-probe
if ! qb_prereq || [ ! -x "$PROBE" ]; then
	echo "1..1"
	echo "ok 1 blk-bridge # SKIP ${QB_WHY:-no $PROBE (make tools)}"
	exit 4
fi
qb_leak_mark
qi_klog_mark
IMG=$QI_WORK/probe.img
qb_image "$IMG" 64
dd if=/dev/urandom of="$IMG" bs=1M count=1 conv=notrunc status=none
if ! qb_bridge_start "$IMG" --queues 2 --serial vu-probe-serial; then
	echo "1..1"
	echo "not ok 1 bridge-start"
	exit 1
fi
timeout 120 "$PROBE" "$QB_SOCK" "$IMG" 2 vu-probe-serial > "$QI_WORK/probe.out" 2>&1
prc=$?
grep -v '^1\.\.' "$QI_WORK/probe.out"
n=$(grep -cE '^(not )?ok ' "$QI_WORK/probe.out")
[ "$prc" -eq 0 ] || { echo "# vu-probe exit $prc"; qb_bridge_tail 20; }

rc=0
qb_bridge_alive || { echo "# the bridge died"; rc=1; }
qb_bridge_stop TERM
[ "${QB_BRIDGE_RC:-1}" = 0 ] || { echo "# bridge exit status ${QB_BRIDGE_RC:-?} after SIGTERM"; rc=1; }
qb_leak_check leaks || rc=1
qb_unload || rc=1
qi_result $((n + 1)) bridge-exit-and-leaks $rc
rc=0
qi_klog_check || rc=1
qi_result $((n + 2)) kernel-log $rc
echo "1..$((n + 2))"
[ "$prc" -eq 0 ] && [ "$QI_FAILS" -eq 0 ]
