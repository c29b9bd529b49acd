#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_blk_test.sh — stock QEMU 7.2's vhost-user-blk-pci through
# tools/vhx-blk-bridge onto /dev/vhost-blk: a filesystem and raw I/O end to
# end, both queues, clean stop.
# vhx-test-timeout: 900
#
#   lab VM: vhx-blk-bridge --backend /tmp/.../disk.img (64 MiB, tmpfs)
#             └── /dev/vhost-blk (vhx_blk.ko), one kernel worker per queue
#           qemu-system-x86_64 -smp 2 -object memory-backend-memfd,share=on
#             -device vhost-user-blk-pci,num-queues=2  (inner guest: busybox,
#             virtio_blk, ext4, mkfs.ext4; selftests/vm/inner)
#
#   disk layout: [0, 40 MiB) ext4 | [48, 52) raw O_DIRECT from the guest |
#                [52, 56) raw from the host | [56, 60) discard
#
#   1 bridge         the bridge starts on the kernel device (GET_INFO, features)
#   2 boot           inner guest boots; /dev/vda: capacity, 2 hardware queues, serial
#   3 fs-write       mkfs.ext4, 8 files written from both vCPUs, sha256 taken, sync
#   4 fs-readback    drop caches, remount: every sha256 equal
#   5 raw-guest      4 MiB pattern O_DIRECT + fsync from vCPU 0 and vCPU 1: the
#                    backend file holds it (checked in the lab VM)
#   6 raw-host       4 MiB written into the backend file by the lab VM: the
#                    guest reads it back O_DIRECT on both vCPUs
#   7 discard        fstrim on the fs, umount, blkdiscard of [56, 60) MiB: zeros
#                    there in the backend file and in the guest
#   8 counters       the kernel's per-queue counters moved on queue 0 and 1, a
#                    kernel worker per queue; the bridge used (almost) no CPU
#                    while the guest did I/O
#   9 stop           QEMU quits: the kernel device is released, the bridge keeps
#                    listening; e2fsck -fn of the backend file is clean
#  10 leaks          bridge SIGTERM: exit 0; no worker thread, vhx_blk refcount
#                    0, kmalloc/vmalloc back; rmmod if this test loaded it
#  11 kernel-log     no splat in the lab VM's kernel log
#
# Knobs: QI_VERBOSE=1 streams the inner console; VHX_BLK_MOCK=1 (host, see
# lib/blk.sh); QB_BRIDGE_ARGS (extra bridge arguments).
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
# shellcheck source=lib/blk.sh
. "$VHX_ROOT/selftests/lib/blk.sh"
trap qb_cleanup EXIT

N=11
echo "1..$N"
names=(- bridge boot fs-write fs-readback raw-guest raw-host discard counters stop leaks kernel-log)

qb_prereq || qb_skip_all

qb_begin

# 1 bridge
rc=1
# shellcheck disable=SC2086
if qb_bridge_start "$IMG" --queues 2 --serial vhx-e2e-serial ${QB_BRIDGE_ARGS:-}; then
	grep -E 'kernel .*features|offering' "$QB_BRIDGE_LOG" | sed 's/^/#   bridge| /'
	rc=0
fi
qi_result 1 bridge $rc
[ $rc -eq 0 ] || qb_skip_rest 2 "no bridge"

# 2 boot
rc=1
t0=$SECONDS
if qb_qemu_start g; then
	qi_cmd g 30 'echo "$(blkinfo vda) cpu_lists=$(cat /sys/block/vda/mq/*/cpu_list | tr "\n" "/")"' > /dev/null
	info=$(head -n1 <<< "$QI_OUT")
	qb_log "inner: $info"
	size=$(sed -n 's/.* size=\([0-9]*\).*/\1/p' <<< "$info")
	hwq=$(sed -n 's/.* hwq=\([0-9]*\).*/\1/p' <<< "$info")
	serial=$(sed -n 's/.* serial=\([^ ]*\).*/\1/p' <<< "$info")
	rc=0
	[ "$size" = $((QB_IMG_MB * 2048)) ] || { qb_log "capacity $size sectors, want $((QB_IMG_MB * 2048))"; rc=1; }
	[ "$hwq" = 2 ] || { qb_log "$hwq hardware queues, want 2"; rc=1; }
	[ "$serial" = vhx-e2e-serial ] || qb_log "note: serial '$serial' (GET_ID), bridge set vhx-e2e-serial"
	qb_log "boot took $((SECONDS - t0)) s"
fi
qi_result 2 boot $rc
if ! qi_alive g || [ -z "${info:-}" ]; then
	qb_bridge_tail 30
	qi_tail_logs g
	qb_skip_rest 3 "inner guest did not boot"
fi
grep 'device started' "$QB_BRIDGE_LOG" | tail -n1 | sed 's/^/#   bridge| /'

stats0=$(qb_stats)
cpu0=$(qb_bridge_cpu)
io_t0=$SECONDS

# 3 fs-write: 8 files of 1 MiB, alternately from vCPU 0 and vCPU 1
rc=1
if qi_cmd g 300 'mkfs.ext4 -q -F -b 4096 -E nodiscard /dev/vda 10240 && mkdir -p /mnt &&
		mount -t ext4 /dev/vda /mnt && i=0 && while [ $i -lt 8 ]; do
		taskset -c $((i % 2)) sh -c "head -c 1048576 /dev/urandom > /mnt/f$i" || exit 1;
		i=$((i + 1)); done && sync && sha256sum /mnt/f* && df -k /mnt | tail -n1' > /dev/null; then
	sums1=$(grep '/mnt/f' <<< "$QI_OUT" | sort)
	[ "$(grep -c '/mnt/f' <<< "$sums1")" = 8 ] && rc=0
	qb_log "8 files written, $(tail -n1 <<< "$QI_OUT" | awk '{print $3 " KiB used of " $2}')"
else
	sed 's/^/#   inner| /' <<< "$QI_OUT" | tail -n 10
fi
qi_result 3 fs-write $rc

# 4 fs-readback: through the page cache gone, and through a remount
rc=1
if qi_cmd g 300 'echo 3 > /proc/sys/vm/drop_caches && sha256sum /mnt/f* && umount /mnt &&
		mount -t ext4 /dev/vda /mnt && sha256sum /mnt/f*' > /dev/null; then
	a=$(grep '/mnt/f' <<< "$QI_OUT" | head -n 8 | sort)
	b=$(grep '/mnt/f' <<< "$QI_OUT" | tail -n 8 | sort)
	if [ -n "${sums1:-}" ] && [ "$a" = "$sums1" ] && [ "$b" = "$sums1" ]; then
		rc=0
		qb_log "8/8 checksums equal after drop_caches and after remount"
	else
		qb_log "CHECKSUM MISMATCH: written / after drop_caches / after remount:"
		diff <(echo "$sums1") <(echo "$a") | sed 's/^/#   /'
		diff <(echo "$sums1") <(echo "$b") | sed 's/^/#   /'
	fi
fi
qi_result 4 fs-readback $rc

# 5 raw-guest: 2 MiB at 48 MiB from vCPU 0, 2 MiB at 50 MiB from vCPU 1
rc=1
want=$( (qb_block 0; qb_block 1; qb_block 2; qb_block 3) | sha256sum | cut -d' ' -f1)
if qi_cmd g 120 '(mkblock 0; mkblock 1) > /tmp/p01 && (mkblock 2; mkblock 3) > /tmp/p23 &&
		taskset -c 0 dd if=/tmp/p01 of=/dev/vda bs=1M seek=48 oflag=direct conv=fsync,notrunc 2>/dev/null &&
		taskset -c 1 dd if=/tmp/p23 of=/dev/vda bs=1M seek=50 oflag=direct conv=fsync,notrunc 2>/dev/null &&
		rm /tmp/p01 /tmp/p23 && echo written' > /dev/null; then
	got=$(qb_backend_sum "$IMG" 48 4)
	qb_log "guest O_DIRECT 4 MiB at 48 MiB: expected ${want:0:16}..., backend file ${got:0:16}..."
	[ "$want" = "$got" ] && rc=0
fi
qi_result 5 raw-guest $rc

# 6 raw-host: the lab VM writes 4 MiB at 52 MiB, the guest reads it O_DIRECT
rc=1
(qb_block 10; qb_block 11; qb_block 12; qb_block 13) |
	dd of="$IMG" bs=1M seek=52 conv=notrunc status=none
want=$(qb_backend_sum "$IMG" 52 4)
if qi_cmd g 120 'taskset -c 1 sh -c ". /lib/vhxi.sh; rawsum /dev/vda 52 4";
		taskset -c 0 sh -c ". /lib/vhxi.sh; rawsum /dev/vda 52 4"' > /dev/null; then
	n=$(grep -c "sha256=$want" <<< "$QI_OUT")
	qb_log "host wrote 4 MiB at 52 MiB (${want:0:16}...); guest O_DIRECT reads on vCPU 1 and 0 match: $n/2"
	[ "$n" = 2 ] && rc=0
fi
qi_result 6 raw-host $rc

# 7 discard: fstrim the fs (after deleting a file), blkdiscard [56, 60) MiB
rc=1
(qb_block 20; qb_block 21; qb_block 22; qb_block 23) |
	dd of="$IMG" bs=1M seek=56 conv=notrunc status=none
if qi_cmd g 120 'cat /sys/block/vda/queue/discard_max_bytes; rm -f /mnt/f7; sync;
		fstrim -v /mnt; umount /mnt;
		blkdiscard -o $((56 << 20)) -l $((4 << 20)) /dev/vda && echo discarded;
		rawsum /dev/vda 56 4' > /dev/null; then
	dmax=$(head -n1 <<< "$QI_OUT")
	zeros=$(head -c $((4 << 20)) /dev/zero | sha256sum | cut -d' ' -f1)
	got=$(qb_backend_sum "$IMG" 56 4)
	gsum=$(sed -n 's/^sha256=//p' <<< "$QI_OUT")
	qb_log "discard_max_bytes $dmax; $(grep -i trimmed <<< "$QI_OUT" || echo 'fstrim: no output')"
	if [ "${dmax:-0}" = 0 ]; then
		qb_log "the device offers no DISCARD (the kernel's GET_INFO says so)"
		rc=4
		QI_SKIP_WHY="no discard support on this backend"
	elif grep -q discarded <<< "$QI_OUT" && [ "$got" = "$zeros" ] && [ "$gsum" = "$zeros" ]; then
		qb_log "blkdiscard of 4 MiB at 56 MiB: zeros in the backend file and in the guest"
		rc=0
	else
		qb_log "after blkdiscard: backend ${got:0:16}..., guest ${gsum:0:16}..., zeros ${zeros:0:16}..."
		sed 's/^/#   inner| /' <<< "$QI_OUT"
	fi
fi
qi_result 7 discard $rc

# 8 counters: both queues carried requests; the bridge slept meanwhile
rc=0
cpu1=$(qb_bridge_cpu)
io_s=$((SECONDS - io_t0))
if [ "$QB_MOCK" = 1 ]; then
	qb_log "mock run: counters are read after the device closes (test 9)"
else
	stats1=$(qb_stats)
	qb_log "vhost-blk queues of bridge $QB_BRIDGE_PID (idx packets): before [$(tr '\n' ' ' <<< "$stats0")], after [$(tr '\n' ' ' <<< "$stats1")]"
	for q in 0 1; do
		b=$(awk -v q=$q '$1 == q { print $2 }' <<< "$stats0")
		a=$(awk -v q=$q '$1 == q { print $2 }' <<< "$stats1")
		if [ -z "$a" ] || [ "${a:-0}" -le "${b:-0}" ]; then
			qb_log "queue $q: packets did not move (${b:-none} -> ${a:-none})"
			rc=1
		fi
	done
	qi_has_stats && grep -E "^(dev|vq) " "$QI_DEBUGFS" | grep -E "owner=$QB_BRIDGE_PID|kind=blk|^vq" |
		head -n 4 | sed 's/^/#   vhx| /'
	# one kernel worker per queue: the bridge's device has (at least) two
	w=$(qb_workers)
	qb_log "kernel worker threads now: $w ($(ps -e -L -o comm= | grep '^vhost-[0-9]' | sort | uniq -c | tr -s ' ' | tr '\n' ';'))"
	if [ "$w" -lt $((${QB_WORKERS0:-0} + 2)) ]; then
		qb_log "expected a worker per queue (2) beyond the baseline ${QB_WORKERS0:-0}"
		rc=1
	fi
fi
qb_log "bridge CPU during $io_s s of guest I/O: $(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { printf "%.2f", b - a }') s"
if awk -v a="$cpu0" -v b="$cpu1" -v t="$io_s" 'BEGIN { exit !(b - a > 0.05 * t + 0.5) }'; then
	qb_log "the bridge was busy during I/O: it should only see control messages"
	rc=1
fi
qi_result 8 counters $rc

# 9 stop: QEMU quits, the kernel device goes, the bridge stays
rc=0
qi_cmd g 60 'umount /mnt; sync; echo unmounted' > /dev/null
qi_stop g
for _ in $(seq 1 50); do grep -q 'client disconnected' "$QB_BRIDGE_LOG" && break; sleep 0.2; done
grep -E 'device stopped|client disconnected' "$QB_BRIDGE_LOG" | tail -n 2 | sed 's/^/#   bridge| /'
grep -q 'client disconnected' "$QB_BRIDGE_LOG" || { qb_log "bridge did not see the client go"; rc=1; }
qb_bridge_alive || { qb_log "the bridge died with its client"; rc=1; }
nd=$(qb_devices)
[ "$nd" = 0 ] || { qb_log "bridge still owns $nd vhost-blk devices"; rc=1; }
if [ "$QB_MOCK" = 1 ]; then
	st=$(qb_stats)
	qb_log "mock per-queue requests (idx packets): $(tr '\n' ' ' <<< "$st")"
	for q in 0 1; do
		[ "$(awk -v q=$q '$1 == q { print $2 }' <<< "$st")" -gt 0 ] 2>/dev/null ||
			{ qb_log "queue $q carried nothing"; rc=1; }
	done
fi
if command -v e2fsck > /dev/null; then
	if e2fsck -fn "$IMG" > "$QI_WORK/fsck.out" 2>&1; then
		qb_log "e2fsck -fn of the backend file: clean ($(tail -n1 "$QI_WORK/fsck.out"))"
	else
		qb_log "e2fsck -fn of the backend file found problems:"
		tail -n 15 "$QI_WORK/fsck.out" | sed 's/^/#   /'
		rc=1
	fi
fi
qi_result 9 stop $rc

# 10 leaks
rc=0
qb_bridge_stop TERM
[ "${QB_BRIDGE_RC:-1}" = 0 ] || { qb_log "bridge exit status ${QB_BRIDGE_RC:-?} after SIGTERM"; rc=1; }
qb_bridge_tail 3
qb_end 10 "$rc"
