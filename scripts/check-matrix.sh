#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# check-matrix.sh — build vhx and run the whole suite under QEMU on each
# kernel of the matrix (6.1, 6.12, 7.x), one after the other (`make
# check-matrix`, after `make deps kernels tools style`).
#
#   for KVER in 6.1 6.12 7.x (scripts/kernels.sh kver SERIES):
#     make modules KVER=...            (7.x: in the Debian 13 build root)
#     selftests/vm/run.sh --kver KVER  (boots /boot/vmlinuz-KVER, TCG)
#     scripts/dkms-check.sh KVER         (dkms add + build in a scratch tree)
#   then rebuild for the default kernel, so vhost/*.ko match `make check`.
#
# Prints one line per kernel, "KVER: N passed, N failed, N skipped; dkms
# build ok", and
# exits non-zero if any kernel is missing, fails to build or fails a test.
# env: VHX_MATRIX="6.1 6.12 7" (series), VHX_TESTS / VHX_TARGET as for run.sh,
# VHX_VM_TIMEOUT (7200 s per kernel).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Each kernel is picked here: no KVER/KDIR from a calling make.
unset MAKEFLAGS MFLAGS MAKELEVEL KVER KDIR
SERIES=${VHX_MATRIX:-6.1 6.12 7}
log() { echo "[+] matrix: $*"; }

# The whole VM's time limit: the full suite on 6.12 and 7.3 took over 70
# min with a second TCG VM on the host (the inner guest boots slower there).
args=(--timeout "${VHX_VM_TIMEOUT:-7200}")
[ -n "${VHX_TARGET:-}" ] && args+=(--target "$VHX_TARGET")
[ -n "${VHX_TESTS:-}" ] && args+=(--tests "$VHX_TESTS")

lines=()
rc=0
for s in $SERIES; do
	kver=$(bash scripts/kernels.sh kver "$s" || true)
	if [ -z "$kver" ]; then
		lines+=("$s: not installed (run: make kernels)")
		rc=1
		continue
	fi
	log "== $kver: make modules"
	t0=$SECONDS
	if ! make --no-print-directory modules KVER="$kver"; then
		lines+=("$kver: build failed")
		rc=1
		continue
	fi
	# The nested QEMU tests' inner image, built on the host as make check
	# does (in the VM it would be rebuilt under /tmp on every boot).  Its
	# kernel is the client's: 6.1 on every row (selftests/lib/qemu.sh).
	bash selftests/vm/inner/mkinner.sh "${VHX_INNER_KVER:-}" > /dev/null || rc=1
	log "== $kver: run.sh"
	out=$(mktemp)
	# the second QEMU (Debian 13's, selftests/qemu/qemu_newer_test.sh) on
	# the first row only: it tests the client, not the kernel
	q2=0
	[ "$kver" = "$(bash scripts/kernels.sh kver 6.1)" ] && q2=1
	VHX_QEMU2=$q2 bash selftests/vm/run.sh --kver "$kver" "${args[@]}" 2>&1 | tee "$out" || rc=1
	counts=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$out" | tail -n1)
	rm -f "$out"
	[ -n "$counts" ] || { counts="no result"; rc=1; }
	if bash scripts/dkms-check.sh "$kver"; then
		counts+="; dkms build ok"
	else
		counts+="; dkms build FAILED"
		rc=1
	fi
	lines+=("$kver: $counts")
	log "== $kver: $counts after $((SECONDS - t0))s"
done

# Leave modules built for the default kernel behind.
make --no-print-directory -s modules >/dev/null 2>&1 || log "warning: rebuild for the default kernel failed"

echo
log "results:"
printf '%s\n' "${lines[@]}"
exit $rc
