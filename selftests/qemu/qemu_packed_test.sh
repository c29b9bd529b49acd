#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_packed_test.sh — stock QEMU with packed virtqueues end to end: the
# inner guest's virtio-net negotiates VIRTIO_F_RING_PACKED (packed=on) with
# vhost=on, carries TCP byte-exact, and keeps its streams across a live
# migration to a second packed=on QEMU.
# vhx-test-timeout: 1200
#
#   bridge vhxbr0 10.77.0.1 ─┬─ vhxtap0 ── QEMU src  -device virtio-net-pci,packed=on
#                            └─ vhxtap1 ── QEMU dst  (-incoming tcp:127.0.0.1:PORT)
#
#   1 boot         src is up (model packed restored from its saved state,
#                  virtio_net probing the device against /dev/vhost-net,
#                  or booted); worker vhost-<qemu pid> exists
#   2 negotiated   the inner guest's virtio-net device has bit 34 set in
#                  /sys/bus/virtio/devices/virtioN/features (character 34);
#                  on vhx, QEMU's device has bit 34 and both vqs say
#                  layout=packed in debugfs
#   3 ping         inner -> VM, 0 % loss
#   4 tcp-to-guest 4 MiB VM -> inner, sha256 equal
#   5 tcp-from-guest 4 MiB inner -> VM, sha256 equal
#   6-9            migrate / to-guest / from-guest / after, as in
#                  qemu_migrate_test.sh (lib/qemu.sh qi_migrate_streams),
#                  with packed rings: GET_VRING_BASE/SET_VRING_BASE in the
#                  packed encoding and the descriptor ring dirty-logged
#   10 dst-packed  the destination's vhx device uses packed rings too
#   11 kernel-log
#
# The in-tree vhost_net does not offer bit 34 (QEMU would silently fall
# back to a split ring): everything SKIPs there.  Knobs: QI_MB (4),
# QI_MIG_MB (16).
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
trap qi_cleanup EXIT

MB=${QI_MB:-4}
MIG_MB=${QI_MIG_MB:-16}
PORT=4454
N=11
FEATURES=$VHX_ROOT/selftests/net/vhx_features
echo "1..$N"

qi_prereq_or_skip "$N" packed
"$FEATURES" -b 34 /dev/vhost-net || qi_prereq_or_skip "$N" packed \
	"/dev/vhost-net does not offer VIRTIO_F_RING_PACKED (features $("$FEATURES" /dev/vhost-net))"

# pk_layout OWNER: the vhx devices of OWNER have bit 34 and packed vqs.
pk_layout() {
	local owner=$1 line id feat n ok=0 found=0
	qi_has_stats || { qi_log "no $QI_DEBUGFS"; return 1; }
	while read -r line; do
		found=1
		id=$(sed -n 's/^dev id=\([0-9]*\) .*/\1/p' <<< "$line")
		feat=$(sed -n 's/.* features=\(0x[0-9a-f]*\) .*/\1/p' <<< "$line")
		n=$(grep -c "^vq dev=$id .* layout=packed " "$QI_DEBUGFS")
		qi_log "vhx device $id of $owner: features $feat, $n of 2 vqs layout=packed"
		grep "^vq dev=$id " "$QI_DEBUGFS" | cut -c1-160 | sed 's/^/#   /'
		{ [ $(((feat >> 34) & 1)) -eq 1 ] && [ "$n" -eq 2 ]; } || ok=1
	done < <(qi_dev_lines "$owner")
	[ $found -eq 1 ] || { qi_log "no vhx device owned by $owner"; return 1; }
	return $ok
}

qi_klog_mark
qi_model packed
qi_build && qi_net_bridge && qi_tap vhxtap0 && qi_tap vhxtap1 ||
	{ echo "Bail out! setup failed"; exit 1; }
t0=$SECONDS

# 1 boot
rc=1
if qi_up src vhxtap0; then
	qi_check_worker src && rc=0
fi
qi_result 1 boot $rc
if ! qi_alive src; then
	for i in $(seq 2 $N); do echo "not ok $i packed-$i # inner guest did not boot"; done
	exit 1
fi
boot_s=$((SECONDS - t0))

# 2 negotiated: the guest's view (features string, bit 34 = character 34),
# and vhx's
rc=0
qi_cmd src 30 'for d in /sys/bus/virtio/devices/virtio*; do [ "$(cat $d/device)" = 0x0001 ] && echo "$d features=$(cat $d/features)"; done' > /dev/null || rc=1
feat=$(sed -n 's/.* features=\([01]*\)$/\1/p' <<< "$QI_OUT" | head -n1)
qi_log "inner guest virtio-net features: $feat"
qi_log "  bit 34 (RING_PACKED, character 34): '${feat:34:1}', bit 32 (VERSION_1): '${feat:32:1}'"
[ "${feat:34:1}" = 1 ] || { qi_log "the guest did not negotiate packed rings"; rc=1; }
if [ "${VHX_TARGET:-vhx}" = vhx ]; then
	pk_layout "${QI_PID[src]}" || rc=1
fi
qi_result 2 negotiated $rc

# 3 ping, 4/5 TCP with checksums
qi_ping src 5
qi_result 3 ping $?
qi_xfer_to_guest src "$MB" 5011
qi_result 4 tcp-to-guest $?
qi_xfer_from_guest src "$MB" 5012
qi_result 5 tcp-from-guest $?

# 6-9 live migration with streams running
if qi_start dst vhxtap1 -incoming "tcp:127.0.0.1:$PORT"; then
	DST=${QI_PID[dst]}
	qi_migrate_streams src dst 6 "$MIG_MB" $PORT
else
	for i in 6 7 8 9; do echo "not ok $i packed-$i # no destination QEMU"; done
	QI_FAILS=$((QI_FAILS + 4))
	DST=
fi

# 10 the destination uses packed rings too
rc=1
if [ "${VHX_TARGET:-vhx}" != vhx ]; then
	QI_SKIP_WHY="vhx debugfs only"
	rc=4
elif [ -n "$DST" ] && qi_alive dst; then
	pk_layout "$DST" && rc=0
fi
qi_result 10 dst-packed $rc

qi_stop dst
qi_stop src
sleep 1
w=$(qi_any_workers)
[ -z "$w" ] || qi_log "vhost worker threads left after QEMU quit: $w"
qi_klog_check && [ -z "$w" ]
qi_result 11 kernel-log $?
qi_log "timing: inner guest up (${QI_UP_HOW:-booted}) in ${boot_s}s, total $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
