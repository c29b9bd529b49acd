#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check.sh — `make check`: install, build, host checks and the whole suite
# in the lab VM, ending with one "N passed, N failed" line and the time
# table.  Arguments are selftests/vm/run.sh's (--kver, --target, --tests).
#
#   install          scripts/install-deps.sh (one apt-get run, or nothing)
#   build            make -j all (modules W=1, selftests, tools)   } side by
#   inner guest      mkinner.sh image + mkstate.sh saved states   } side
#   host checks      scripts/host-check.sh, in the background beside the VM's
#                    nested suites (they leave part of the 2 cores idle:
#                    they wait on their inner guests; scripts/vm-phase.sh);
#                    run.sh --host-wait counts them
#   lab VM           selftests/vm/run.sh: boot, every suite
#   time table       scripts/timing.sh (information only)
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P) || exit 1
cd "$ROOT" || exit 1
OUT=selftests/vm/out
HOST_RESULTS=$OUT/host-results.txt
TIMING=(bash scripts/timing.sh)
JOBS=$(nproc 2>/dev/null || echo 2)

"${TIMING[@]}" reset
"${TIMING[@]}" run install bash scripts/install-deps.sh || exit 2
mkdir -p "$OUT"

# The inner guest's image and states need QEMU and the 6.1 kernel, not the
# build: both at once.  VHX_INNER_KVER picks the inner kernel.
echo "check: the inner guest's image and saved states in the background ($OUT/inner.log)"
# shellcheck disable=SC2016  # expanded by the inner bash
( "${TIMING[@]}" run "inner guest (image, states)" bash -c \
	'bash selftests/vm/inner/mkinner.sh ${VHX_INNER_KVER:-} > /dev/null && bash selftests/vm/inner/mkstate.sh' \
	> "$OUT/inner.log" 2>&1 ) &
inner=$!
"${TIMING[@]}" run build make -j"$JOBS" all || { wait "$inner"; exit 2; }
if ! wait "$inner"; then
	tail -n 30 "$OUT/inner.log"
	echo "check: no inner guest states: the qemu_* tests will boot their guests (slow)"
fi
sed -n 's/^mkstate: \([0-9]* saved, .*\)/check: inner guest states: \1/p' "$OUT/inner.log"

echo "check: host-side checks beside the lab VM's nested suites ($OUT/host-check.log)"
rm -f "$HOST_RESULTS.done"
( bash scripts/vm-phase.sh nested
  "${TIMING[@]}" run "host checks (beside the VM)" bash scripts/host-check.sh "$HOST_RESULTS" \
	> "$OUT/host-check.log" 2>&1 ) &

rc=0
"${TIMING[@]}" run "lab VM" bash selftests/vm/run.sh "$@" --host-results "$HOST_RESULTS" \
	--host-wait 1800 || rc=$?
if grep -q '^FAIL' "$HOST_RESULTS" 2>/dev/null; then
	echo "check: host-side failures ($OUT/host-check.log):"
	grep '^FAIL' "$HOST_RESULTS" | sed 's/^/    /'
	tail -n 40 "$OUT/host-check.log" | sed 's/^/    | /'
fi
wait
# the QEMU versions that were the nested suites' clients
q1=$(qemu-system-x86_64 --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p')
q2=$(selftests/lib/qemu-newer.sh --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p')
q2res=$(grep -c '^PASS qemu_newer:' "$OUT/latest/result.txt" 2>/dev/null)
echo "check: clients: QEMU ${q1:-?} (Debian 12, every nested suite);" \
	"$([ -n "$q2" ] && echo "QEMU $q2 (Debian 13 root): qemu_newer, ${q2res:-0} passed (make check VHX_QEMU2=1 runs it)" ||
		echo "no second QEMU (scripts/kernels.sh install qemu)")"
"${TIMING[@]}" rows-from-console "$OUT/latest/console.log"
"${TIMING[@]}" table
exit $rc
