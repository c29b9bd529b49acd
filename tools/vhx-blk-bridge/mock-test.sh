#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mock-test.sh — run selftests/{qemu,blk}/*_test.sh on this host, without the
# lab VM and without the kernel module: the bridge gets vhxblk-mock.so
# preloaded (a userspace stand-in for /dev/vhost-blk), QEMU runs the inner
# guest under one level of TCG.  Tests the bridge's vhost-user side (config
# space, feature and ring negotiation, base sync at stop, reconnect, hostile
# clients) in about a minute; the kernel data plane is tested in the VM.
#
#   usage: mock-test.sh [TEST...]      default: blk_bridge qemu_blk qemu_blkfault
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd -P)
KVER=${VHX_KVER:-$("$ROOT/scripts/kernels.sh" kver --boot 6.1)}
tests=("$@")
[ ${#tests[@]} -gt 0 ] || tests=(blk_bridge qemu_blk qemu_blkfault)
export VHX_ROOT=$ROOT VHX_KVER=$KVER VHX_BLK_MOCK=1 QI_BOOT_TIMEOUT=${QI_BOOT_TIMEOUT:-240}
export TMPDIR=${TMPDIR:-/tmp}
rc=0
for t in "${tests[@]}"; do
	f=
	for g in "$ROOT"/selftests/*/"${t%_test.sh}"_test.sh; do [ -f "$g" ] && f=$g; done
	[ -n "$f" ] || { echo "mock-test: no selftests/*/${t%_test.sh}_test.sh" >&2; rc=1; continue; }
	echo "mock-test: === $(basename "$f") (VHX_BLK_MOCK=1, inner kernel $KVER)"
	timeout -k 10 900 bash "$f"
	r=$?
	echo "mock-test: === $(basename "$f") exit $r"
	[ $r -eq 0 ] || rc=1
done
exit $rc
