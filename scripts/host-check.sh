#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# host-check.sh — the host-side parts of `make check`, run before the VM:
#
#   style       scripts/checkpatch.sh (checkpatch.pl --strict over vhost/, uapi/)
#   fuzz-check  replay of the committed libFuzzer corpus plus a short run of
#               each target (selftests/fuzz; installs clang's fuzzer runtime)
#   blk-bridge-mock  the vhost-blk bridge's tests (blk_bridge, qemu_blk,
#               qemu_blkfault) on this host with the userspace mock of
#               /dev/vhost-blk (tools/vhx-blk-bridge/mock-test.sh; ~1 min)
#
# Usage: host-check.sh RESULTS_FILE.  Writes "PASS|FAIL name" lines to
# RESULTS_FILE; selftests/vm/run.sh --host-results counts them with the
# guest's results, so one "N passed, N failed" line covers everything.
# Exit status: 0 if all passed.
set -uo pipefail

out=${1:?usage: host-check.sh RESULTS_FILE}
cd "$(dirname "$0")/.." || exit 1
rm -f "$out.done"
: > "$out"
trap 'touch "$out.done"' EXIT	# complete: run.sh --host-wait stops waiting
bad=0

run() {	# NAME CMD...: run CMD, record its verdict
	local name=$1 rc
	shift
	echo "host-check: === $name"
	"$@"
	rc=$?
	if [ $rc -eq 0 ]; then
		echo "PASS $name" >> "$out"
	else
		echo "FAIL $name (exit $rc)" >> "$out"
		bad=1
	fi
	echo "host-check: === $name exit $rc"
}

run style make -s style
run fuzz-check bash -c 'bash selftests/fuzz/deps.sh && make -s -C selftests/fuzz fuzz-check'
if [ -x tools/vhx-blk-bridge/vhx-blk-bridge ]; then
	run blk-bridge-mock bash tools/vhx-blk-bridge/mock-test.sh
else
	echo "SKIP blk-bridge-mock (no tools/vhx-blk-bridge/vhx-blk-bridge: dpdk-dev?)" >> "$out"
fi
exit $bad
