#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vm-phase.sh — wait for a phase of the running lab VM (selftests/vm/run.sh,
# whose console is selftests/vm/out/current/console.log while it runs).
#
#   vm-phase.sh nested     until the VM runs its first nested QEMU suite
#                          (qemu_*, testpmd), or it has ended
#
# Host-side work that can share the cores with the VM (scripts/check.sh's host
# checks, .ci/run's 6.12 install) waits for the nested suites: those wait on
# their inner guests and leave CPU to spare, and their waits follow progress.
# The C tests before them include timing assertions (busy polling: a worker
# that must keep its CPU for 50 ms) that a loaded host breaks.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P) || exit 1
OUT=${VHX_VM_OUT:-$ROOT/selftests/vm/out}
[ "${1:-}" = nested ] || { sed -n '3,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }

# the VM starts within a few seconds of our caller; give it 10 minutes
for _ in $(seq 1 600); do [ -e "$OUT/current" ] && break; sleep 1; done
while [ -e "$OUT/current" ]; do
	grep -aqE '^guest: === (qemu_|testpmd)|^guest: summary:' "$OUT/current/console.log" 2>/dev/null && exit 0
	sleep 2
done
exit 0
