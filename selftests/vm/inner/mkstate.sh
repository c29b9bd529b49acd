#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkstate.sh — boot the inner guest once per device model on this host and
# save it, for the lab VM's qemu_* tests to restore (lib/qemu_state.sh).
#
#   usage: mkstate.sh [MODEL...]      (default: every model: sq mq packed iommu blk)
#
# One layer of TCG here instead of two in the lab VM: a boot takes seconds
# (~3 s, plus ~2 s to save) instead of minutes.  Each guest is the one the
# tests run: stock QEMU, the inner kernel and initramfs of mkinner.sh, the
# model's machine and devices; its NIC sits on a tap of a private network
# namespace with vhost=off, and its drivers for the NIC and the disk are not
# loaded (VHXI_PREP=1), so nothing of the device is negotiated before the
# lab VM's QEMU restores it with the real backend.
#
# Output: $VHX_INNER_OUT/states, else selftests/vm/out/states; a state's
# name carries a hash of what it depends on, so an up-to-date state is kept
# and a stale one replaced.  Needs root (network namespace, tap).
set -uo pipefail	# no -e: lib/qemu.sh is not written for it

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P) || exit 1
ROOT=$(cd "$HERE/../../.." && pwd -P)

log() { echo "mkstate: $*" >&2; }
die() { echo "mkstate: error: $*" >&2; exit 1; }

# A private network namespace: the taps never appear on this host.
if [ "${VHX_MKSTATE_NS:-}" != 1 ]; then
	[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace and taps)"
	VHX_MKSTATE_NS=1 exec unshare --net -- bash "${BASH_SOURCE[0]}" "$@"
fi
ip link set lo up

OUT=${VHX_INNER_OUT:-$ROOT/selftests/vm/out}/states
mkdir -p "$OUT"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/vhx-mkstate.XXXXXX")
export VHX_ROOT=$ROOT QI_WORK=$WORK
# shellcheck source=../../lib/qemu.sh
. "$ROOT/selftests/lib/qemu.sh"
trap 'qi_cleanup; rm -rf "$WORK"' EXIT

# One host-side boot has no reason to be slow: fail early, boot in the lab VM.
QI_BOOT_TIMEOUT=${QI_BOOT_TIMEOUT:-300}
# shellcheck disable=SC2034  # read by lib/qemu.sh
QI_STALL=60
qi_build > /dev/null || die "no inner image (mkinner.sh)"

models=${*:-$QI_MODELS}
t0=$SECONDS
made=0 kept=0
for m in $models; do
	qi_model "$m" || die "unknown model $m (models: $QI_MODELS)"
	tap=$(qi_model_tap "$m" vhxsnap0)
	name=$(qi_state_name "$tap")
	if [ -s "$OUT/$name" ]; then
		log "$m: up to date ($name)"
		kept=$((kept + 1))
		continue
	fi
	mt=$SECONDS
	QI_PREP=1 QI_VHOST=off qi_start "$m" "$tap" > /dev/null || die "$m: QEMU did not start"
	qi_wait_ready "$m" > "$WORK/$m.wait" || { cat "$WORK/$m.wait" >&2; die "$m: the guest did not boot"; }
	# the NIC or disk is there and no driver has it
	qi_cmd "$m" 60 'lsmod | grep -c -E "^(virtio_net|virtio_blk) " || true' > /dev/null
	[ "$QI_OUT" = 0 ] || die "$m: a leaf driver is loaded in the guest to be saved"
	qi_cmd "$m" 120 zero_free > /dev/null || log "$m: zero_free failed (a larger state)"
	qi_save_state "$m" "$tap" "$OUT" > "$WORK/$m.save" || { cat "$WORK/$m.save" >&2; die "$m: saving failed"; }
	qi_stop "$m"
	log "$m: booted and saved in $((SECONDS - mt))s: $name ($(du -h "$OUT/$name" | cut -f1))"
	made=$((made + 1))
done
log "$made saved, $kept up to date, in $((SECONDS - t0))s: $OUT"
