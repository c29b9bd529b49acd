#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# devname_test.sh — where vhx_net registers, and what happens when the
# in-tree vhost_net already owns /dev/vhost-net.  Guest side, TAP.
#
# --target vhx:    reload vhx_net with devname=vhx-test: /dev/vhx-test on a
#                  dynamic misc minor answers the UAPI, /dev/vhost-net is
#                  gone; bad names are refused; the default comes back.
# --target intree: the in-tree vhost_net holds minor 238, so loading vhx_net
#                  without devname fails with one clear log line, and with
#                  devname= it loads beside it.
set -uo pipefail

ROOT=${VHX_ROOT:?}
KO=$ROOT/vhost
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n $1${2:+ # SKIP $2}"; }
nok() { n=$((n + 1)); echo "not ok $n $1"; fail=1; }
check() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }

is_misc_dev() {	# PATH: a character device of the misc major (10)
	[ -c "$1" ] && [ "$(stat -c %t "$1")" = a ]
}

features_of() {	# PATH: GET_FEATURES through ioctl_test's first test
	VHX_DEV=$1 "$ROOT/selftests/net/ioctl_test" -t get_features_mask 2>&1 |
		grep -q '^ok 1 get_features_mask'
}

wait_dev() {	# PATH: devtmpfs creates nodes asynchronously
	for _ in $(seq 1 50); do [ -e "$1" ] && return 0; sleep 0.1; done
	return 1
}

[ "$(id -u)" -eq 0 ] || { echo "1..1"; echo "ok 1 devname # SKIP needs root"; exit 4; }

case ${VHX_TARGET:-vhx} in
vhx)
	check "unload" rmmod vhx_net
	insmod "$KO/vhx_net.ko" devname=vhx-test
	if wait_dev /dev/vhx-test && is_misc_dev /dev/vhx-test &&
	   [ ! -e /dev/vhost-net ] && features_of /dev/vhx-test; then
		ok "devname_dynamic_minor"
	else
		ls -l /dev/vhx-test /dev/vhost-net 2>&1 | sed 's/^/# /'
		nok "devname_dynamic_minor"
	fi
	rmmod vhx_net
	if insmod "$KO/vhx_net.ko" devname=bad/name 2>/dev/null; then
		rmmod vhx_net
		nok "devname_rejects_bad_name"
	else
		ok "devname_rejects_bad_name"
	fi
	insmod "$KO/vhx_net.ko"
	check "default_minor_238" bash -c 'for i in $(seq 50); do [ -c /dev/vhost-net ] && break; sleep 0.1; done
		[ "$(stat -c %t:%T /dev/vhost-net)" = a:ee ]'
	;;
intree)
	modprobe vhost_net
	check "intree_owns_minor" bash -c '[ "$(stat -c %t:%T /dev/vhost-net)" = a:ee ]'
	deps=$(modinfo -F depends "$KO/vhx_net.ko" | tr ',' ' ')
	for d in $deps; do [ "$d" = vhx_core ] || modprobe "$d"; done
	insmod "$KO/vhx_core.ko" || true
	dmesg -C
	if insmod "$KO/vhx_net.ko" 2>/dev/null; then
		rmmod vhx_net
		nok "refused_while_intree_loaded"
	elif [ "$(dmesg | grep -c 'vhx_net: misc minor 238 (/dev/vhost-net) is taken')" -eq 1 ]; then
		ok "refused_while_intree_loaded"
	else
		dmesg | tail -5 | sed 's/^/# /'
		nok "refused_while_intree_loaded"
	fi
	if insmod "$KO/vhx_net.ko" devname=vhx-test && wait_dev /dev/vhx-test &&
	   features_of /dev/vhx-test && features_of /dev/vhost-net; then
		ok "side_by_side"
	else
		nok "side_by_side"
	fi
	rmmod vhx_net 2>/dev/null
	rmmod vhx_core 2>/dev/null
	;;
*)
	echo "1..1"; echo "ok 1 devname # SKIP unknown target ${VHX_TARGET:-}"
	exit 4
	;;
esac
echo "1..$n"
exit $fail
