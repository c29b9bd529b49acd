#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# testpmd_test.sh — real-client test: DPDK testpmd over virtio-user with the
# vhost-kernel backend on $VHX_DEV (default /dev/vhost-net).  Guest side, TAP.
#
#   dpdk-testpmd (virtio-user PMD, virtio ring in testpmd memory)
#        |  ioctls + eventfds on $VHX_DEV
#        v
#   vhost-net worker (vhx or in-tree) <--> tap "vhxtap0" (created by DPDK)
#                                            ^  kernel side
#   1 txonly: testpmd TX-packets == tap rx_packets delta (no loss)
#   2 rxonly: pktgen sends N frames on vhxtap0 (64..1500 B);
#             testpmd RX-packets == tap tx_packets delta >= N
#   3 txonly-packed, 4 rxonly-packed: the same with a packed virtqueue
#             (virtio-user packed_vq=1): the device must offer bit 34 (else
#             SKIP, as with the in-tree module), and on vhx its debugfs
#             lines must say the rings are packed (layout=packed)
#   vhx's own per-queue counters must equal testpmd's figures in each.
#
# Runs as root inside the test VM (selftests/vm/run.sh); exit 0 pass,
# 1 fail, 4 skip.  Knobs: VHX_DEV, TESTPMD (binary), TXONLY_SECS (10),
# RXONLY_FRAMES (20000), TESTPMD_MODES ("split packed").
set -uo pipefail

DEV=${VHX_DEV:-/dev/vhost-net}
TESTPMD=${TESTPMD:-$(command -v dpdk-testpmd || true)}
IFACE=vhxtap0
TXONLY_SECS=${TXONLY_SECS:-10}
RXONLY_FRAMES=${RXONLY_FRAMES:-20000}
MODES=${TESTPMD_MODES:-split packed}
FEATURES=${VHX_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/selftests/net/vhx_features
WORK=$(mktemp -d "${TMPDIR:-/tmp}/testpmd.XXXXXX")
LOG=
FIFO=
TP_PID=
PKTGEN_DEV=

echo "1..4"
trap '' PIPE	# a dead testpmd must fail a write, not kill this script

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	if [ -n "$PKTGEN_DEV" ]; then
		echo "stop" > /proc/net/pktgen/pgctrl 2>/dev/null
		echo "rem_device_all" > /proc/net/pktgen/kpktgend_0 2>/dev/null
	fi
	if [ -n "$TP_PID" ] && kill -0 "$TP_PID" 2>/dev/null; then
		kill "$TP_PID" 2>/dev/null
		sleep 1
		kill -9 "$TP_PID" 2>/dev/null
	fi
	exec 3>&- 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

skip_all() {
	echo "ok 1 txonly # SKIP $1"
	echo "ok 2 rxonly # SKIP $1"
	echo "ok 3 txonly-packed # SKIP $1"
	echo "ok 4 rxonly-packed # SKIP $1"
	exit 4
}

{ [ -n "$TESTPMD" ] && [ -x "$TESTPMD" ]; } || skip_all "dpdk-testpmd not found (apt-get install dpdk-dev)"
[ -c "$DEV" ] || skip_all "$DEV is not a character device"
[ "$(id -u)" -eq 0 ] || skip_all "needs root"

stat_of() { cat "/sys/class/net/$IFACE/statistics/$1" 2>/dev/null || echo 0; }
now() { date +%s.%N; }

# testpmd is gone: say how it died (the kernel logs the faulting library).
tp_died() {
	local rc=0
	wait "$TP_PID" 2>/dev/null || rc=$?
	echo "# testpmd died (exit status $rc) after '$1'; log tail:"
	show_log_tail 30
	dmesg | grep -E 'segfault|trap|dpdk|testpmd' | tail -5 | sed 's/^/# dmesg: /'
	TP_PID=
}

# tp_cmd CMD [WAIT]: send CMD on testpmd's stdin, wait for the next prompt.
tp_cmd() {
	local n
	[ -n "$TP_PID" ] || return 1
	n=$(grep -c 'testpmd>' "$LOG")
	echo "# testpmd> $1"
	if ! echo "$1" >&3; then
		tp_died "$1"
		return 1
	fi
	for _ in $(seq 1 $((${2:-30} * 5))); do
		[ "$(grep -c 'testpmd>' "$LOG")" -gt "$n" ] && return 0
		if ! kill -0 "$TP_PID" 2>/dev/null; then
			tp_died "$1"
			return 1
		fi
		sleep 0.2
	done
	echo "# no testpmd prompt after '$1'"
	return 1
}

# port_stat FIELD: FIELD (RX-packets, TX-packets, RX-missed, ...) from the
# last "NIC statistics for port 0" block.
port_stat() {
	awk -v f="$1:" '
		/NIC statistics for port 0/ { inblk = 1; v = "" }
		inblk { for (i = 1; i < NF; i++) if ($i == f) v = $(i + 1) }
		inblk && /^ *#+ *$/ { inblk = 0 }
		END { print (v == "" ? -1 : v) }' "$LOG"
}

# vhx_count NAME FIELD: FIELD of the vq named NAME (rx|tx) of the vhx device
# whose backend is $IFACE, from vhx's debugfs counters; -1 when not vhx.
vhx_count() {
	local f=/sys/kernel/debug/vhx/devices
	[ "${VHX_TARGET:-vhx}" = vhx ] || { echo -1; return; }
	[ -r "$f" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	awk -v n="$1" -v k="$2" -v b="$IFACE" '
		$1 == "vq" {
			delete kv
			for (i = 2; i <= NF; i++) { split($i, p, "="); kv[p[1]] = p[2] }
			if (kv["name"] == n && kv["backend"] == b) v = kv[k]
		}
		END { print (v == "" ? -1 : v) }' "$f" 2>/dev/null || echo -1
}

show_log_tail() { tail -n "${1:-30}" "$LOG" | awk '{ print "#   | " $0 }'; }

# ---- start testpmd ----------------------------------------------------------
# start_testpmd MODE: testpmd on $DEV, split or packed virtqueues.
start_testpmd() {
	local mode=$1 extra=
	[ "$mode" = packed ] && extra=,packed_vq=1
	LOG=$WORK/testpmd-$mode.log
	FIFO=$WORK/stdin-$mode
	mkfifo "$FIFO"
	echo "# starting $TESTPMD on $DEV ($mode virtqueues)"
	# stdbuf: testpmd printf()s into a file are block-buffered, but its prompt
	# is written directly; unbuffer so output precedes the next prompt.
	stdbuf -o0 -e0 "$TESTPMD" -l 0-1 --no-huge -m 1024 --no-pci --file-prefix=vhx-$mode \
		--vdev="net_virtio_user0,path=$DEV,queues=1,queue_size=1024,iface=$IFACE$extra" \
		-- -i --total-num-mbufs=16384 --txd=1024 --rxd=1024 < "$FIFO" > "$LOG" 2>&1 &
	TP_PID=$!
	exec 3> "$FIFO"

	for _ in $(seq 1 600); do	# up to 120 s (TCG, 9p-loaded PMDs)
		grep -q 'testpmd>' "$LOG" && break
		kill -0 "$TP_PID" 2>/dev/null || break
		sleep 0.2
	done
	if ! grep -q 'testpmd>' "$LOG"; then
		echo "# testpmd did not start:"
		show_log_tail 40
		return 1
	fi
	echo "# testpmd up after ${SECONDS}s"
	[ -d "/sys/class/net/$IFACE" ] || echo "# warning: no $IFACE after start"

	# Quiet kernel side: no IPv6 autoconf/ND noise on the tap.
	sysctl -qw "net.ipv6.conf.$IFACE.disable_ipv6=1" 2>/dev/null
	ip link set "$IFACE" txqueuelen $((RXONLY_FRAMES + 4096)) up
	sleep 1
}

# quit_testpmd: quit and reap testpmd.
quit_testpmd() {
	[ -n "$TP_PID" ] || return 0
	echo "# testpmd> quit"
	echo "quit" >&3
	for _ in $(seq 1 150); do
		kill -0 "$TP_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$TP_PID" 2>/dev/null; then
		echo "# testpmd did not quit"
		kill -9 "$TP_PID" 2>/dev/null
	else
		wait "$TP_PID"
		echo "# testpmd exited with $?"
	fi
	TP_PID=
	exec 3>&-
}

# vhx_layout: proof that the rings of $IFACE's vhx device are packed: the
# device's features have bit 34, and both vqs say layout=packed.
vhx_layout() {
	local f=/sys/kernel/debug/vhx/devices dev feat n
	[ -r "$f" ] || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	dev=$(awk -v b="$IFACE" '$1 == "vq" && $0 ~ " backend=" b " " {
		sub("dev=", "", $2); print $2; exit }' "$f")
	[ -n "$dev" ] || { echo "# no vhx device with backend $IFACE"; return 1; }
	feat=$(awk -v d="id=$dev" '$1 == "dev" && $2 == d {
		for (i = 3; i <= NF; i++) if ($i ~ /^features=/) { sub("features=", "", $i); print $i } }' "$f")
	n=$(grep -c "^vq dev=$dev .* layout=packed " "$f")
	echo "# vhx device $dev: features $feat, $n of 2 vqs with layout=packed"
	grep -E "^vq dev=$dev " "$f" | cut -c1-150 | sed 's/^/#   /'
	[ $(( (feat >> 34) & 1 )) -eq 1 ] && [ "$n" -eq 2 ]
}

fail=0

# ---- 1: txonly --------------------------------------------------------------
test_txonly() {
	local rx0 rxd0 rx1 rxd1 tx t0 t1 secs pps drx drxd vx0 vx1
	tp_cmd "set fwd txonly" || return 1
	tp_cmd "clear port stats all" || return 1
	rx0=$(stat_of rx_packets); rxd0=$(stat_of rx_dropped)
	vx0=$(vhx_count tx packets)
	t0=$(now)
	tp_cmd "start" || return 1
	sleep "$TXONLY_SECS"
	tp_cmd "stop" 60 || return 1
	t1=$(now)
	sleep 2		# let the vhost worker drain the TX ring
	tp_cmd "show port stats all" || return 1
	rx1=$(stat_of rx_packets); rxd1=$(stat_of rx_dropped)
	tx=$(port_stat TX-packets)
	drx=$((rx1 - rx0)); drxd=$((rxd1 - rxd0))
	secs=$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")
	pps=$(awk "BEGIN { printf \"%d\", $tx / ($t1 - $t0) }")
	echo "# txonly: testpmd TX-packets $tx in ${secs}s (~$pps pps)"
	echo "# txonly: $IFACE rx_packets +$drx, rx_dropped +$drxd"
	if [ "$tx" -le 0 ]; then
		echo "# txonly: testpmd sent nothing"
		show_log_tail 30
		return 1
	fi
	if [ "$drx" -ne "$tx" ]; then
		echo "# txonly: tap received $drx of $tx packets (lost $((tx - drx)), dropped $drxd)"
		return 1
	fi
	vx1=$(vhx_count tx packets)
	if [ "${VHX_TARGET:-vhx}" = vhx ] && { [ "$vx0" -lt 0 ] || [ "$vx1" -lt 0 ]; }; then
		echo "# txonly: no vhx counters for $IFACE in /sys/kernel/debug/vhx/devices"
		return 1
	fi
	if [ "$vx0" -ge 0 ] && [ "$vx1" -ge 0 ]; then
		echo "# txonly: vhx tx queue counted +$((vx1 - vx0)) packets"
		if [ $((vx1 - vx0)) -ne "$tx" ]; then
			echo "# txonly: vhx counters disagree with testpmd ($tx)"
			return 1
		fi
	fi
	return 0
}

# ---- 2: rxonly --------------------------------------------------------------
pg() {	# pg FILE CMD: write a pktgen command, check its result
	echo "$2" > "/proc/net/pktgen/$1" || return 1
	if ! grep -q '^Result: OK' "/proc/net/pktgen/$1" 2>/dev/null; then
		echo "# pktgen $1: '$2': $(grep '^Result' "/proc/net/pktgen/$1")"
		return 1
	fi
}

test_rxonly() {
	local tx0 txd0 tx1 txd1 dtx dtxd rx sent mac t0 t1 last=-1 stable=0
	local vr0 vr1
	if ! modprobe pktgen 2>/dev/null || [ ! -e /proc/net/pktgen/pgctrl ]; then
		echo "# rxonly: no pktgen module"
		return 4
	fi
	tp_cmd "set fwd rxonly" || return 1
	tp_cmd "clear port stats all" || return 1
	tp_cmd "start" || return 1

	mac=$(cat "/sys/class/net/$IFACE/address")
	PKTGEN_DEV=$IFACE
	pg kpktgend_0 "rem_device_all" || return 1
	pg kpktgend_0 "add_device $IFACE" || return 1
	pg "$IFACE" "count $RXONLY_FRAMES" || return 1
	pg "$IFACE" "clone_skb 0" || return 1
	pg "$IFACE" "delay 0" || return 1
	pg "$IFACE" "min_pkt_size 64" || return 1
	pg "$IFACE" "max_pkt_size 1500" || return 1
	pg "$IFACE" "dst 198.18.0.2" || return 1
	pg "$IFACE" "src_min 198.18.0.1" || return 1
	pg "$IFACE" "src_max 198.18.0.1" || return 1
	pg "$IFACE" "dst_mac 02:00:00:00:00:02" || return 1
	pg "$IFACE" "src_mac $mac" || return 1

	tx0=$(stat_of tx_packets); txd0=$(stat_of tx_dropped)
	vr0=$(vhx_count rx packets)
	t0=$(now)
	echo "# pktgen: $RXONLY_FRAMES frames of 64..1500 bytes into $IFACE"
	echo "start" > /proc/net/pktgen/pgctrl	# returns when all are sent
	sent=$(sed -n 's/.*sofar: \([0-9]*\).*/\1/p' "/proc/net/pktgen/$IFACE")
	grep -E '^Result:' "/proc/net/pktgen/$IFACE" | sed 's/^/# pktgen: /'

	# Wait until the tap's queue is drained into testpmd (max 120 s).
	for _ in $(seq 1 240); do
		dtx=$(($(stat_of tx_packets) - tx0))
		dtxd=$(($(stat_of tx_dropped) - txd0))
		[ $((dtx + dtxd)) -ge "$RXONLY_FRAMES" ] && break
		if [ "$dtx" -eq "$last" ]; then
			stable=$((stable + 1))
			[ $stable -ge 10 ] && break
		else
			stable=0
		fi
		last=$dtx
		sleep 0.5
	done
	t1=$(now)
	sleep 1
	tp_cmd "stop" 60 || return 1
	tp_cmd "show port stats all" || return 1
	tx1=$(stat_of tx_packets); txd1=$(stat_of tx_dropped)
	dtx=$((tx1 - tx0)); dtxd=$((txd1 - txd0))
	rx=$(port_stat RX-packets)
	echo "# rxonly: pktgen sent ${sent:-?}, $IFACE tx_packets +$dtx tx_dropped +$dtxd, testpmd RX-packets $rx"
	echo "# rxonly: $dtx frames through vhost in $(awk "BEGIN { printf \"%.2fs (~%d pps)\", $t1 - $t0, $dtx / ($t1 - $t0) }") (includes drain polling)"
	if [ "$dtx" -lt "$RXONLY_FRAMES" ]; then
		echo "# rxonly: tap delivered only $dtx of $RXONLY_FRAMES frames"
		return 1
	fi
	if [ "$rx" -ne "$dtx" ]; then
		echo "# rxonly: testpmd received $rx, tap delivered $dtx"
		return 1
	fi
	vr1=$(vhx_count rx packets)
	if [ "${VHX_TARGET:-vhx}" = vhx ] && { [ "$vr0" -lt 0 ] || [ "$vr1" -lt 0 ]; }; then
		echo "# rxonly: no vhx counters for $IFACE in /sys/kernel/debug/vhx/devices"
		return 1
	fi
	if [ "$vr0" -ge 0 ] && [ "$vr1" -ge 0 ]; then
		echo "# rxonly: vhx rx queue counted +$((vr1 - vr0)) packets"
		if [ $((vr1 - vr0)) -ne "$rx" ]; then
			echo "# rxonly: vhx counters disagree with testpmd ($rx)"
			return 1
		fi
	fi
	return 0
}

# run_mode MODE N: tests N (txonly) and N+1 (rxonly) with MODE virtqueues.
run_mode() {
	local mode=$1 n=$2 sfx= rc
	[ "$mode" = packed ] && sfx=-packed
	if [ "$mode" = packed ] && ! "$FEATURES" -b 34 "$DEV"; then
		why="$DEV does not offer VIRTIO_F_RING_PACKED (features $("$FEATURES" "$DEV"))"
		echo "ok $n txonly$sfx # SKIP $why"
		echo "ok $((n + 1)) rxonly$sfx # SKIP $why"
		return
	fi
	if ! start_testpmd "$mode"; then
		echo "not ok $n txonly$sfx"
		echo "not ok $((n + 1)) rxonly$sfx"
		fail=1
		quit_testpmd
		return
	fi
	rc=0
	if [ "$mode" = packed ] && [ "${VHX_TARGET:-vhx}" = vhx ]; then
		vhx_layout || { echo "# packed virtqueues not in use"; rc=1; }
	fi

	[ $rc -eq 0 ] && { test_txonly; rc=$?; }
	case $rc in
	0) echo "ok $n txonly$sfx" ;;
	*) echo "not ok $n txonly$sfx"; fail=1 ;;
	esac

	test_rxonly
	case $? in
	0) echo "ok $((n + 1)) rxonly$sfx" ;;
	4) echo "ok $((n + 1)) rxonly$sfx # SKIP no pktgen" ;;
	*) echo "not ok $((n + 1)) rxonly$sfx"; fail=1 ;;
	esac

	if [ -n "$TP_PID" ] && [ $fail -ne 0 ]; then
		echo "# testpmd log tail:"
		show_log_tail 40
	fi
	quit_testpmd
}

n=1
for mode in split packed; do
	if grep -qw "$mode" <<< "$MODES"; then
		run_mode "$mode" $n
	else
		sfx=${mode/split/}
		echo "ok $n txonly${sfx:+-$sfx} # SKIP not in TESTPMD_MODES"
		echo "ok $((n + 1)) rxonly${sfx:+-$sfx} # SKIP not in TESTPMD_MODES"
	fi
	n=$((n + 2))
done
exit $fail
