#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qemu_newer_test.sh — a current QEMU as a second client (issue 21, item 2):
# the nested tests that matter most again, with Debian 13's QEMU 10 from
# the build root of scripts/kernels.sh (selftests/lib/qemu-newer.sh) in place
# of Debian 12's 7.2.
# vhx-test-timeout: 3600
#
#   1 basic    qemu_basic_test.sh     (boot, TCP both ways, iperf3, counters)
#   2 mq       qemu_mq_test.sh        (2 queue pairs)
#   3 packed   qemu_packed_test.sh    (packed=on, then a live migration)
#   4 migrate  qemu_migrate_test.sh   (live migration under streams)
#   5 blk      qemu_blk_test.sh       (vhost-user-blk through the bridge)
# Each result is the test's own verdict; its TAP lines are kept, indented
# (a subtest).  No saved state matches QEMU 10 (a state's name carries the
# QEMU binary), so each boots its inner guest: about 10 minutes, which is
# why `make check` skips it unless VHX_QEMU2=1 (make check-matrix sets it).
# SKIP without the build root's QEMU.
set -uo pipefail

ROOT=${VHX_ROOT:?}
NEWER=$ROOT/selftests/lib/qemu-newer.sh
TESTS="basic mq packed migrate blk"
N=5
echo "1..$N"
skip_all() {
	local i=0 t
	for t in $TESTS; do i=$((i + 1)); echo "ok $i $t # SKIP $1"; done
	exit 4
}
ver=$("$NEWER" --version 2>/dev/null | head -n1) ||
	skip_all "no Debian 13 QEMU (scripts/kernels.sh install qemu; make check-matrix installs it)"
[ "${VHX_QEMU2:-0}" = 1 ] ||
	skip_all "$ver is installed; it runs with VHX_QEMU2=1 (make check-matrix): ~10 min past make check's budget"
echo "# second client: $ver (first: $(qemu-system-x86_64 --version | head -n1))"

# its own cache: the snapshot qemu_basic saves is QEMU 10's
export QI_QEMU=$NEWER QI_CACHE=${TMPDIR:-/tmp}/vhx-qemu-cache-newer
fail=0 i=0
for t in $TESTS; do
	i=$((i + 1))
	t0=$SECONDS
	bash "$ROOT/selftests/qemu/qemu_${t}_test.sh" > "$QI_CACHE.$t.out" 2>&1
	rc=$?
	sed 's/^/    /' "$QI_CACHE.$t.out"
	case $rc in
	0) echo "ok $i $t" ;;
	4) echo "ok $i $t # SKIP $(grep -m1 -o '# SKIP .*' "$QI_CACHE.$t.out" | cut -c8-)" ;;
	*) echo "not ok $i $t"; fail=1 ;;
	esac
	echo "# time: $i $t $((SECONDS - t0))s"
done
exit $fail
