#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vsock_load_test.sh — where vhx_vsock registers, its parameters, and what
# happens when the in-tree vhost_vsock is loaded.  Guest side, TAP.
#
# --target vhx:    /dev/vhost-vsock is misc 10:241 and answers
#                  VHOST_GET_FEATURES with bit 34 (packed) and bit 1
#                  (SEQPACKET); devname=vhx-vsock-test gives a dynamic minor
#                  and no /dev/vhost-vsock; bad names are refused; g2g
#                  (runtime, default N) and netns (load time, default N);
#                  with the in-tree vhost_vsock loaded, vhx_vsock does not
#                  load and says why in exactly one log line (only one
#                  host-to-guest transport can exist), and loads once it
#                  is gone.
# --target intree: the in-tree module holds minor 241 and the transport;
#                  loading vhx_vsock fails with the same one line.
set -uo pipefail

ROOT=${VHX_ROOT:?}
KO=$ROOT/vhost/vhx_vsock.ko
P=/sys/module/vhx_vsock/parameters
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n $1${2:+ # SKIP $2}"; }
nok() { n=$((n + 1)); echo "not ok $n $1"; fail=1; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }

wait_dev() {	# PATH: devtmpfs creates nodes asynchronously
	for _ in $(seq 1 50); do [ -e "$1" ] && return 0; sleep 0.1; done
	return 1
}

is_minor() {	# PATH MINOR(hex): a misc (major 10) character device
	[ -c "$1" ] && [ "$(stat -c %t:%T "$1")" = "a:$2" ]
}

# The vsock features a device offers: bits 1 and 34 (vhx) / 1 (both).
offers() {	# PATH BIT
	"$ROOT/selftests/net/vhx_features" -b "$2" "$1"
}

# Exactly one log line saying the transport is taken, since the mark.
one_taken_line() {
	[ "$(dmesg | grep -c 'vhx_vsock: the host-to-guest vsock transport is taken')" -eq 1 ]
}

load_vhx() {	# [PARAM=VALUE...]
	local d
	for d in $(modinfo -F depends "$KO" | tr ',' ' '); do
		[ "$d" = vhx_core ] || modprobe "$d"
	done
	insmod "$KO" "$@"
}

[ "$(id -u)" -eq 0 ] || { echo "1..1"; echo "ok 1 vsock_load # SKIP needs root"; exit 4; }
if [ ! -f "$KO" ]; then
	echo "1..1"; echo "ok 1 vsock_load # SKIP vhx_vsock.ko not built (no sk_buff vsock API in this kernel)"
	exit 4
fi

case ${VHX_TARGET:-vhx} in
vhx)
	echo "1..8"
	check default_minor_241 bash -c "$(declare -f wait_dev is_minor); wait_dev /dev/vhost-vsock && is_minor /dev/vhost-vsock f1"
	if offers /dev/vhost-vsock 34 && offers /dev/vhost-vsock 1; then
		ok offers_packed_and_seqpacket
	else
		echo "# features: $("$ROOT/selftests/net/vhx_features" /dev/vhost-vsock)"
		nok offers_packed_and_seqpacket
	fi
	if [ "$(cat $P/g2g)" = N ] && [ "$(cat $P/netns)" = N ] &&
	   [ "$(stat -c %a $P/g2g)" = 644 ] && [ "$(stat -c %a $P/netns)" = 444 ]; then
		ok params_default_off
	else
		echo "# g2g=$(cat $P/g2g) ($(stat -c %a $P/g2g)) netns=$(cat $P/netns) ($(stat -c %a $P/netns))"
		nok params_default_off
	fi
	if echo 1 > $P/g2g && [ "$(cat $P/g2g)" = Y ] && echo 0 > $P/g2g &&
	   [ "$(cat $P/g2g)" = N ]; then
		ok g2g_runtime_switch
	else
		nok g2g_runtime_switch
	fi

	rmmod vhx_vsock
	load_vhx devname=vhx-vsock-test
	if wait_dev /dev/vhx-vsock-test && [ "$(stat -c %t /dev/vhx-vsock-test)" = a ] &&
	   [ ! -e /dev/vhost-vsock ] && offers /dev/vhx-vsock-test 1; then
		ok devname_dynamic_minor
	else
		ls -l /dev/vhx-vsock-test /dev/vhost-vsock 2>&1 | sed 's/^/# /'
		nok devname_dynamic_minor
	fi
	rmmod vhx_vsock
	if load_vhx devname=bad/name 2>/dev/null; then
		rmmod vhx_vsock
		nok devname_rejects_bad_name
	else
		ok devname_rejects_bad_name
	fi

	# Only one host-to-guest transport: the in-tree module first (the
	# runner blacklists the in-tree vhost for --target vhx: then this
	# runs with --target intree only).
	if modprobe vhost_vsock 2>/dev/null; then
		dmesg -C
		if load_vhx 2>/dev/null; then
			rmmod vhx_vsock
			nok refused_while_intree_loaded
		elif one_taken_line; then
			ok refused_while_intree_loaded
		else
			dmesg | tail -5 | sed 's/^/# /'
			nok refused_while_intree_loaded
		fi
		modprobe -r vhost_vsock
	else
		ok refused_while_intree_loaded "in-tree vhost_vsock not loadable in this boot (runs with --target intree)"
	fi
	load_vhx
	check reloads_on_minor_241 bash -c "$(declare -f wait_dev is_minor); wait_dev /dev/vhost-vsock && is_minor /dev/vhost-vsock f1"
	;;
intree)
	echo "1..2"
	check intree_owns_minor_241 is_minor /dev/vhost-vsock f1
	core=0
	grep -q '^vhx_core ' /proc/modules || { insmod "$ROOT/vhost/vhx_core.ko" && core=1; }
	dmesg -C
	if load_vhx 2>/dev/null; then
		rmmod vhx_vsock
		nok refused_while_intree_loaded
	elif one_taken_line; then
		ok refused_while_intree_loaded
	else
		dmesg | tail -5 | sed 's/^/# /'
		nok refused_while_intree_loaded
	fi
	[ $core = 1 ] && rmmod vhx_core
	;;
*)
	echo "1..1"; echo "ok 1 vsock_load # SKIP unknown target ${VHX_TARGET:-}"
	exit 4
	;;
esac
exit $fail
