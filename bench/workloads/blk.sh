# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034  # TP_WHY is read by bench/guest.sh
# blk.sh — block rows: vhx's /dev/vhost-blk, driven by bench/vhx-blk-bench
# (which plays the guest: its own memory, split rings, eventfds), against
# fio ioengine=io_uring (bench/vhx-blk-bench/vhx-blk-fio.sh) on the same backend, 4 KiB:
#
#   brd    /dev/ram0 (modprobe brd rd_nr=1 rd_size=1048576), O_DIRECT
#   tmpfs  a file under the guest's /tmp (tmpfs has no O_DIRECT: buffered)
#
#   blk-B-randread-qd1, blk-B-randread-qd32, blk-B-randwrite-qd32 for each
#   backend B; IOPS, p50 and p99 completion latency (the bench: post to
#   reap; fio: total latency, submission to completion).
#
# Variants (io_uring last: the baseline of the ratios):
#   vhx       vhx-blk-bench sleeping on the call eventfd, worker not polling
#   vhx-poll  QD1 only: --busy-poll 50 (the kernel worker spins 50 us on an
#             empty ring, QEMU's poll-us) and --poll (the bench spins on
#             the used ring instead of sleeping).  io_uring on brd completes
#             inline in the submitting thread, with no wake-up at all; a
#             kick/worker/call round trip has two.  Polling on both sides of
#             the ring is the like-for-like comparison at QD1.
#   io_uring  fio, one job, iodepth QD
# Both tools use the first BLK_SIZE (256 MiB) of the backend, written
# before the first run, so reads hit allocated pages.

BLK_BENCH=$VHX_ROOT/bench/vhx-blk-bench/vhx-blk-bench
BLK_FIO=$VHX_ROOT/bench/vhx-blk-bench/vhx-blk-fio.sh
BLK_DEV=/dev/vhost-blk
BLK_SIZE=${BENCH_BLK_SIZE:-256}	# MiB
BLK_BUSY_US=${BENCH_BLK_BUSY_US:-50}
BLK_BRD=/dev/ram0
BLK_TMPFS=$WORK/blk.img
BLK_MODES=("randread 1" "randread 32" "randwrite 32")

blk_backends() {
	[ -b "$BLK_BRD" ] && echo brd
	echo tmpfs
}

blk_workloads() {
	local b m rw qd
	for b in $(blk_backends); do
		for m in "${BLK_MODES[@]}"; do
			read -r rw qd <<< "$m"
			echo "blk-$b-$rw-qd$qd"
		done
	done
}
blk_variants() { echo "vhx vhx-poll io_uring"; }

blk_check() {
	[ -c "$BLK_DEV" ] || { echo "no $BLK_DEV (vhx_blk.ko not loaded)"; return 1; }
	[ -x "$BLK_BENCH" ] || { echo "no bench/vhx-blk-bench (make tools)"; return 1; }
	command -v fio > /dev/null || { echo "no fio (apt-get install fio)"; return 1; }
	command -v jq > /dev/null || { echo "no jq (apt-get install jq)"; return 1; }
	# brd is optional: without it only the tmpfs rows run (and say so).
	if [ ! -b "$BLK_BRD" ] && ! modprobe brd rd_nr=1 rd_size=1048576 2>/dev/null; then
		local m rw qd
		for m in "${BLK_MODES[@]}"; do
			read -r rw qd <<< "$m"
			emit "N blk-brd-$rw-qd$qd no brd module (modprobe brd failed)"
		done
	fi
	for _ in $(seq 1 20); do [ -b "$BLK_BRD" ] && break; sleep 0.1; done
	return 0
}

blk_setup() {	# the backends, once (the first variant)
	[ "$1" = vhx ] || return 0
	if [ -b "$BLK_BRD" ]; then
		dd if=/dev/zero of="$BLK_BRD" bs=1M count="$BLK_SIZE" oflag=direct \
			status=none || { TP_WHY="cannot write $BLK_BRD"; return 1; }
	fi
	dd if=/dev/zero of="$BLK_TMPFS" bs=1M count="$BLK_SIZE" status=none ||
		{ TP_WHY="cannot write $BLK_TMPFS"; return 1; }
}

blk_teardown() {	# after the last variant
	[ "$1" = io_uring ] || return 0
	rm -f "$BLK_TMPFS"
	if [ -b "$BLK_BRD" ]; then rmmod brd 2>/dev/null || true; fi
}

# blk_measure WORKLOAD VARIANT: one run; "result" lines or "failed".
blk_measure() {
	local w=$1 v=$2 b rw qd file args=() line err
	[[ $w =~ ^blk-([a-z]+)-([a-z]+)-qd([0-9]+)$ ]] || { failed "$w" "unknown workload"; return; }
	b=${BASH_REMATCH[1]} rw=${BASH_REMATCH[2]} qd=${BASH_REMATCH[3]}
	# Polling is the QD1 comparison; at QD32 the worker is never idle.
	[ "$v" = vhx-poll ] && [ "$qd" != 1 ] && return 0
	case $b in
	brd) file=$BLK_BRD args=(-d) ;;
	*) file=$BLK_TMPFS ;;
	esac
	args+=(-f "$file" -w "$rw" -b 4k -q "$qd" -j 1 -t "$SECS" -r "$WARM"
	       -s "${BLK_SIZE}M" --quiet)
	case $v in
	vhx) line=$(timeout $((SECS + WARM + 60)) "$BLK_BENCH" "${args[@]}" 2>&1) ;;
	vhx-poll) line=$(timeout $((SECS + WARM + 60)) "$BLK_BENCH" "${args[@]}" \
			--poll --busy-poll "$BLK_BUSY_US" 2>&1) ;;
	io_uring) line=$(timeout $((SECS + WARM + 60)) bash "$BLK_FIO" "${args[@]}" 2>&1) ;;
	esac
	err=$(grep -v '^result ' <<< "$line" | tail -n1 || true)
	line=$(grep '^result ' <<< "$line" | tail -n1 || true)
	local iops p50 p99 errors
	iops=$(blk_kv iops "$line") p50=$(blk_kv lat_p50_us "$line")
	p99=$(blk_kv lat_p99_us "$line") errors=$(blk_kv errors "$line")
	if [ -z "$iops" ] || [ -z "$p50" ] || [ -z "$p99" ]; then
		failed "$w" "no result line: ${err:-empty output}"
	elif [ "${errors:-0}" != 0 ]; then
		failed "$w" "$errors I/O errors"
	else
		result "$w" iops IOPS hi "$iops"
		result "$w" p50 us lo "$p50"
		result "$w" p99 us lo "$p99"
	fi
}

blk_kv() {	# blk_kv KEY LINE: the value of KEY=... in a result line
	tr ' ' '\n' <<< "$2" | sed -n "s/^$1=//p" | head -n1
}
