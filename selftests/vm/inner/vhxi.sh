# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# vhxi.sh — helpers of the inner guest (sourced by /init and by every agent
# command).  busybox ash only.

export VHXI_IP=${VHXI_IP:-10.77.0.2/24}
export VHXI_PEER=${VHXI_PEER:-10.77.0.1}
export VHXI_PORT=${VHXI_PORT:-5001}
export VHXI_MB=${VHXI_MB:-4}
export VHXI_SECS=${VHXI_SECS:-5}
export VHXI_COUNT=${VHXI_COUNT:-5}
export VHXI_MODE=${VHXI_MODE:-agent}

say() { echo "VHXI: $*"; }
up() { cut -d' ' -f1 /proc/uptime; }

# load_net: insmod the module chain (idempotent), wait for eth0, configure it.
load_net() {
	local ko i
	while read -r ko; do
		grep -q "^${ko%.ko} " /proc/modules ||
			insmod "/modules/$ko" || { say "FAIL insmod $ko"; return 1; }
	done < /modules/order
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ -e /sys/class/net/eth0 ] || { say "FAIL no eth0"; return 1; }
	ip link set lo up
	ip addr add "$VHXI_IP" dev eth0 2>/dev/null
	ip link set eth0 up
}

# unload_net: rmmod virtio_net and what only it used.
unload_net() {
	ip link set eth0 down 2>/dev/null
	rmmod virtio_net && rmmod net_failover && rmmod failover
}

# rxstart PORT FILE: background listener writing FILE, FILE.rc when done.
# Its stdin is a FIFO held open read-write: busybox nc quits as soon as
# stdin hits EOF *and* the peer half-closes, so stdin must never EOF.
rxstart() {
	local port=$1 f=$2 i=0
	rm -f "$f" "$f.rc"
	[ -p /tmp/never ] || mkfifo /tmp/never
	(nc -l -p "$port" > "$f" 2> "$f.err" <> /tmp/never; echo $? > "$f.rc") \
		> /dev/null 2>&1 &
	while ! netstat -ltn 2>/dev/null | grep -q ":$port "; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "rxstart: not listening"; return 1; }
		sleep 0.1
	done
	echo "listening port=$port"
}

# rxwait FILE SECS: wait for the listener, print size and checksums.
rxwait() {
	local f=$1 secs=${2:-120} i=0
	while [ ! -e "$f.rc" ]; do
		i=$((i + 1)); [ $i -gt $((secs * 10)) ] && { echo "rxwait: timeout"; return 1; }
		sleep 0.1
	done
	sumfile "$f"
	return "$(cat "$f.rc")"
}

sumfile() {
	echo "size=$(wc -c < "$1") sha256=$(sha256sum < "$1" | cut -d' ' -f1)"
}

# tx HOST PORT FILE: send FILE, print its checksum first.
tx() {
	sumfile "$3"
	timeout 300 nc "$1" "$2" < "$3"
}

# mkdata FILE MB: MB MiB of random data.
mkdata() {
	head -c $(($2 * 1048576)) /dev/urandom > "$1" && sumfile "$1"
}

# rxsum PORT NAME: background listener that only checksums the stream
# (no copy in memory); result in /tmp/NAME.sum, exit status in /tmp/NAME.rc.
rxsum() {
	local port=$1 n=$2 i=0
	rm -f "/tmp/$n.sum" "/tmp/$n.rc"
	[ -p /tmp/never ] || mkfifo /tmp/never
	( (nc -l -p "$port" <> /tmp/never; echo $? > "/tmp/$n.nrc") | sha256sum > "/tmp/$n.sum.tmp"
	  mv "/tmp/$n.sum.tmp" "/tmp/$n.sum"; cat "/tmp/$n.nrc" > "/tmp/$n.rc" ) > /dev/null 2>&1 &
	while ! netstat -ltn 2>/dev/null | grep -q ":$port "; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "rxsum: not listening"; return 1; }
		sleep 0.1
	done
	echo "listening port=$port"
}

# sumwait NAME SECS: wait for rxsum NAME, print "sha256=...".
sumwait() {
	local n=$1 secs=${2:-120} i=0
	while [ ! -e "/tmp/$n.rc" ]; do
		i=$((i + 1)); [ $i -gt $((secs * 10)) ] && { echo "sumwait: timeout"; return 1; }
		sleep 0.1
	done
	echo "sha256=$(cut -d' ' -f1 "/tmp/$n.sum") rc=$(cat "/tmp/$n.rc")"
	return "$(cat "/tmp/$n.rc")"
}

# sink PORT: background listener discarding everything.
sink() {
	[ -p /tmp/never ] || mkfifo /tmp/never
	(nc -l -p "$1" > /dev/null <> /tmp/never) > /dev/null 2>&1 &
	sleep 0.3
}

# flood HOST PORT: background endless stream of zeros to HOST:PORT.
flood() {
	(cat /dev/zero | nc "$1" "$2") > /dev/null 2>&1 &
}

# queues: per-queue packet counters of eth0 (ethtool -S).
queues() { ethtool -S eth0 2>/dev/null | grep -E '_packets:|_bytes:'; }

# ---- one-shot modes (VHXI_MODE) ---------------------------------------------------------
run_mode() {
	case $1 in
	ping) ping -c "$VHXI_COUNT" -W 5 "$VHXI_PEER" ;;
	iperf-client) iperf3 -c "$VHXI_PEER" -t "$VHXI_SECS" -f m ;;
	tcp-send) mkdata /tmp/tx "$VHXI_MB" && tx "$VHXI_PEER" "$VHXI_PORT" /tmp/tx ;;
	tcp-recv) rxstart "$VHXI_PORT" /tmp/rx && rxwait /tmp/rx 600 ;;
	*) echo "unknown mode $1"; return 2 ;;
	esac
}

