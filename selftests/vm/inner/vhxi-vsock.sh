# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash
# vhxi-vsock.sh — vsock helpers of the inner guest (selftests/qemu/
# qemu_vsock_test.sh, libvirt_test.sh).  mkinner.sh installs it as
# /lib/vhxi-vsock.sh; vhxi.sh sources it.  busybox ash; the data moves with
# the static vhxi-xfer (xfer.c: vrecv, vsend, vpull, vecho, vconns, vtry),
# not socat: socat spends seconds loading its libraries in this guest, and
# a fork+exec costs 0.5-1 s under two layers of TCG, so nothing here execs
# in a loop (the echo server forks, vconns loops inside one process).
#
# Every background mover leaves, for a NAME given by the caller:
#   /tmp/NAME.log   its stderr ("listening on", "accepting connection
#                   from", errors)
#   /tmp/NAME.pid   its process id
#   /tmp/NAME.rc    its exit status, once it has ended

# The waits below poll with shell builtins only: busybox's sleep and grep
# are a fork+exec each (0.2-0.4 s warm, more in a freshly restored guest).

# vs_nap: a tenth of a second (read's timeout on a FIFO nobody writes;
# busybox ash's read takes -t with a fraction).
vs_nap() {
	[ -p /tmp/.nap ] || mkfifo /tmp/.nap
	# shellcheck disable=SC3045,SC2034
	read -r -t 0.1 vs_junk <> /tmp/.nap
	return 0
}

# vs_has FILE TEXT: FILE has a line containing TEXT.
vs_has() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l; do
		case $l in *"$2"*) return 0 ;; esac
	done < "$1"
	return 1
}

# vs_loaded MODULE: MODULE is in /proc/modules.
vs_loaded() {
	local l
	while IFS= read -r l; do
		case $l in "$1 "*) return 0 ;; esac
	done < /proc/modules
	return 1
}

# load_vsock: the guest's vsock modules (modules/order.vsock), idempotent
# (a saved guest of the vsock model has them loaded already).
load_vsock() {
	local ko
	[ -s /modules/order.vsock ] || { echo "no vsock modules in the image"; return 1; }
	# the virtio chain first (a guest booted without a NIC has not loaded
	# it); not the NIC's driver
	cat /modules/order /modules/order.vsock | while read -r ko; do
		case $ko in virtio_net.ko | net_failover.ko | failover.ko) continue ;; esac
		vs_loaded "${ko%.ko}" ||
			insmod "/modules/$ko" || { say "FAIL insmod $ko"; return 1; }
	done
}

# vsock_wait SECS: wait until vmw_vsock_virtio_transport has bound a device
# (after the hot-plug); print "vsock virtioN features=BITS" (bit i is
# character i, as in /sys/bus/virtio/devices/*/features).
vsock_wait() {
	local d f i=0 drv=/sys/bus/virtio/drivers/vmw_vsock_virtio_transport
	load_vsock || return 1
	while :; do
		for d in "$drv"/virtio*; do
			[ -e "$d" ] || continue
			read -r f < "$d/features"
			echo "vsock ${d##*/} features=$f"
			return 0
		done
		i=$((i + 1))
		[ $i -gt $((${1:-30} * 10)) ] && { echo "vsock_wait: no device bound after ${1:-30}s"; return 1; }
		vs_nap
	done
}

# vs_listening NAME: wait (10 s) for NAME's listener to listen.
vs_listening() {
	local i=0
	while ! vs_has "/tmp/$1.log" 'listening on'; do
		[ -e "/tmp/$1.rc" ] && { echo "$1: ended: $(tail -n 2 "/tmp/$1.log")"; return 1; }
		i=$((i + 1))
		[ $i -gt 100 ] && { echo "$1: not listening after 10 s"; return 1; }
		vs_nap
	done
	echo "$1 listening"
}

# vs_xbg NAME ARGS...: vhxi-xfer ARGS in the background (NAME.log,
# NAME.rc, NAME.pid).
vs_xbg() {
	local n=$1
	shift
	rm -f "/tmp/$n.log" "/tmp/$n.rc" "/tmp/$n.pid"
	(vhxi-xfer "$@" 2> "/tmp/$n.log" &
	 echo $! > "/tmp/$n.pid"
	 wait $!
	 echo $? > "/tmp/$n.rc") > /dev/null 2>&1 &
}

# vs_recv PORT NAME: accept one connection on PORT, write what arrives to
# /tmp/NAME.bin until the peer closes (background).
vs_recv() {
	rm -f "/tmp/$2.bin"
	vs_xbg "$2" vrecv "$1" "/tmp/$2.bin" && vs_listening "$2"
}

# vs_echo PORT NAME: an echo server on PORT, a child per connection
# (background).
vs_echo() {
	vs_xbg "$2" vecho "$1" && vs_listening "$2"
}

# vs_send CID PORT FILE NAME: connect to CID:PORT, send FILE, close
# (background; vs_wait NAME).
vs_send() {
	vs_xbg "$4" vsend "$1" "$2" "$3"
}

# vs_pull CID PORT NAME: connect to CID:PORT and write what arrives to
# /tmp/NAME.bin (background): a guest-initiated connection that carries
# data to the guest.
vs_pull() {
	rm -f "/tmp/$3.bin"
	vs_xbg "$3" vpull "$1" "$2" "/tmp/$3.bin"
}

# vs_wait NAME SECS: wait for NAME's mover to end; print its status, the
# size and sha256 of /tmp/NAME.bin if there is one, and its last log
# lines; returns its exit status.
vs_wait() {
	local n=$1 i=0 rc
	while [ ! -e "/tmp/$n.rc" ]; do
		i=$((i + 1))
		[ $i -gt $((${2:-60} * 10)) ] && { echo "$n: still running after ${2:-60}s"; return 124; }
		vs_nap
	done
	read -r rc < "/tmp/$n.rc"
	[ -e "/tmp/$n.bin" ] && echo "$n $(sumfile "/tmp/$n.bin")"
	echo "$n rc=$rc"
	grep -E ' [EW] |^vhxi-xfer: ' "/tmp/$n.log" | tail -n 3
	return "$rc"
}

# vs_kill NAME: end the background mover NAME (a listener).
vs_kill() {
	local p
	[ -s "/tmp/$1.pid" ] && read -r p < "/tmp/$1.pid" && kill "$p" 2> /dev/null
	return 0
}

# vs_conns CID PORT N: N connections to CID:PORT one after the other, each
# sends a line and expects it back (an echo server); "conns ok=K of N".
vs_conns() {
	vhxi-xfer vconns "$1" "$2" "$3" 2>&1
}

# vs_try CID PORT SECS: one connection attempt; prints the error and
# "rc=N secs=S" (connect failures are the point of g2g=0).
vs_try() {
	local t0 rc
	t0=$(cut -d' ' -f1 /proc/uptime)
	timeout "$3" vhxi-xfer vtry "$1" "$2" 2> /tmp/try.err
	rc=$?
	tail -n 2 /tmp/try.err
	echo "rc=$rc secs=$(awk -v a="$t0" -v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { printf "%.1f", b - a }')"
	return $rc
}
