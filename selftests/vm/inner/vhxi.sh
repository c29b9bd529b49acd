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

# load_blk [SECS]: the virtio_pci chain, then virtio_blk and ext4
# (modules/order.blk; a module that does not load, e.g. crc32c-intel on a CPU
# without SSE4.2, is skipped), and wait up to SECS (10) for /dev/vda.
load_blk() {
	local ko i
	while read -r ko; do
		case $ko in failover.ko | net_failover.ko | virtio_net.ko) continue ;; esac
		grep -q "^${ko%.ko} " /proc/modules ||
			insmod "/modules/$ko" || { say "FAIL insmod $ko"; return 1; }
	done < /modules/order
	while read -r ko; do
		grep -q "^${ko%.ko} " /proc/modules ||
			insmod "/modules/$ko" 2>/dev/null || say "note: insmod $ko failed"
	done < /modules/order.blk
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt $((${1:-10} * 10)) ]; do
		sleep 0.1; i=$((i + 1))
	done
	[ -b /dev/vda ] || { say "FAIL no /dev/vda"; return 1; }
}

# blkinfo DEV: what the guest sees of a virtio-blk disk (one line).
blkinfo() {
	local d=${1:-vda} q=/sys/block/${1:-vda}/queue
	echo "dev=$d size=$(cat /sys/block/$d/size) ro=$(cat /sys/block/$d/ro)" \
		"lbs=$(cat $q/logical_block_size) max_segments=$(cat $q/max_segments)" \
		"discard_max=$(cat $q/discard_max_bytes) wz_max=$(cat $q/write_zeroes_max_bytes)" \
		"hwq=$(ls /sys/block/$d/mq 2>/dev/null | wc -l) serial=$(cat /sys/block/$d/serial 2>/dev/null)" \
		"cache=$(cat $q/write_cache 2>/dev/null)"
}

# prep_mods: every module of the image but the two leaf drivers (virtio_net,
# virtio_blk): the state a saved guest is in (selftests/vm/inner/mkstate.sh),
# its devices present but unclaimed, so that after a restore the driver
# probes the device against the backend of the restoring QEMU (load_net,
# load_blk).  VHXI_VSOCK=1 (the vsock model) adds the vsock modules: that
# guest has no vsock device yet (it is hot-plugged after the restore, and
# the driver probes it then).
prep_mods() {
	local ko vs=
	[ "${VHXI_VSOCK:-0}" = 1 ] && vs=/modules/order.vsock
	# shellcheck disable=SC2086
	cat /modules/order /modules/order.blk $vs | while read -r ko; do
		case $ko in virtio_net.ko | virtio_blk.ko) continue ;; esac
		grep -q "^${ko%.ko} " /proc/modules ||
			insmod "/modules/$ko" 2>/dev/null || say "note: insmod $ko failed"
	done
}

# zero_free: fill the free memory with zeros and free it again (through a
# file on /tmp, a tmpfs), so that a migration to a file sends those pages as
# zero pages: a smaller saved state (mkstate.sh), faster to restore.
zero_free() {
	echo 3 > /proc/sys/vm/drop_caches
	cat /dev/zero > /tmp/.zero 2>/dev/null
	rm -f /tmp/.zero
	echo 3 > /proc/sys/vm/drop_caches
}

# unload_net: rmmod virtio_net and what only it used.
unload_net() {
	ip link set eth0 down 2>/dev/null
	rmmod virtio_net && rmmod net_failover && rmmod failover
}

# Bulk data moves with vhxi-xfer (xfer.c: 256 KiB per system call; busybox
# nc's 1 KiB chunks, each a few ms under two layers of TCG, set the pace).

# rxstart PORT FILE: background listener writing FILE, FILE.rc when done.
rxstart() {
	local port=$1 f=$2 i=0
	rm -f "$f" "$f.rc"
	(vhxi-xfer recv "$port" "$f" 2> "$f.err"; echo $? > "$f.rc") > /dev/null 2>&1 &
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
	timeout 300 vhxi-xfer send "$1" "$2" "$3" 2> /dev/null
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
	( (vhxi-xfer recv "$port" - 2> /dev/null; echo $? > "/tmp/$n.nrc") | sha256sum > "/tmp/$n.sum.tmp"
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


# ---- block helpers (qemu_blk tests) -------------------------------------------
# mkblock I: 1 MiB of the deterministic pattern of block I (the lab VM side,
# selftests/lib/blk.sh qb_block, makes the same bytes).
mkblock() { yes "vhx-blk-$1-0123456789abcdef" | head -c 1048576; }

# rawwrite DEV MB FILE: write FILE at MB MiB of DEV, O_DIRECT, then fsync.
rawwrite() { dd if="$3" of="$1" bs=1M seek="$2" oflag=direct conv=fsync,notrunc 2>&1 | grep -v records; }

# rawsum DEV MB COUNT: sha256 of COUNT MiB at MB MiB of DEV, read O_DIRECT.
rawsum() {
	echo "sha256=$(dd if="$1" bs=1M skip="$2" count="$3" iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)"
}

# blkwriter DEV BASE_MB N: pattern blocks 0..N-1 at BASE_MB+i, each written
# O_DIRECT and fsynced, then announced on the console ("VHXI: flushed I"):
# what the console says was flushed must be in the backend even if QEMU or
# the bridge is killed right after.
blkwriter() {
	local dev=$1 base=$2 n=$3 i=0
	while [ $i -lt "$n" ]; do
		mkblock $i > /tmp/blk.cur
		if ! dd if=/tmp/blk.cur of="$dev" bs=1M seek=$((base + i)) oflag=direct \
			conv=fsync,notrunc 2>/dev/null; then
			echo "VHXI: blkwriter failed at $i" > /dev/console
			return 1
		fi
		echo "VHXI: flushed $i" > /dev/console
		i=$((i + 1))
	done
	echo "VHXI: blkwriter done $n" > /dev/console
}

# blkcheck DEV BASE_MB N [SUM...]: "ok I" / "bad I" per pattern block, read
# O_DIRECT.  The expected sha256 of block I is the I-th SUM when given (the
# host computes them one TCG layer up, where it is several times cheaper),
# else computed here from mkblock.
blkcheck() {
	local dev=$1 base=$2 n=$3 i=0 want got
	shift 3
	while [ $i -lt "$n" ]; do
		if [ $# -gt 0 ]; then
			want=$1
			shift
		else
			want=$(mkblock $i | sha256sum | cut -d' ' -f1)
		fi
		got=$(dd if="$dev" bs=1M skip=$((base + i)) count=1 iflag=direct 2>/dev/null | sha256sum | cut -d' ' -f1)
		if [ "$want" = "$got" ]; then echo "ok $i"; else echo "bad $i"; fi
		i=$((i + 1))
	done
}

# vsock helpers (qemu_vsock), in the image when it has socat
if [ -r /lib/vhxi-vsock.sh ]; then . /lib/vhxi-vsock.sh; fi
