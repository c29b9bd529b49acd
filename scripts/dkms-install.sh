#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-install.sh — register vhx with DKMS and build/install it for every
# kernel that has its headers installed (`make dkms-install`, root).
# DKMS then rebuilds it on each kernel upgrade (AUTOINSTALL in dkms.conf).
#
#   repo (Kbuild, dkms.conf, vhost/, uapi/) --scripts/dkms-src.sh--> /usr/src/vhx-VERSION
#   (VERSION: vhost/version.sh, from git describe)
#   dkms add vhx/VERSION; dkms install vhx/VERSION -k KVER   (each KVER)
#
# env: VHX_DKMS_KERNELS="KVER ..." (default: every /lib/modules/*/build),
#      VHX_DKMS_ACTION=build (only build, no install; e.g. for a test).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { echo "[+] dkms: $*"; }
die() { echo "dkms: error: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root"
command -v dkms >/dev/null || die "no dkms (apt-get install dkms)"
action=${VHX_DKMS_ACTION:-install}

ver=$(sh vhost/version.sh)
if [ -n "$(dkms status "vhx/$ver" 2>/dev/null)" ]; then
	log "dkms remove vhx/$ver --all (replacing)"
	dkms remove "vhx/$ver" --all
fi
log "copying sources to /usr/src/vhx-$ver"
bash scripts/dkms-src.sh /usr/src >/dev/null
dkms add "vhx/$ver"

kernels=${VHX_DKMS_KERNELS:-}
if [ -z "$kernels" ]; then
	for d in /lib/modules/*/build; do
		[ -f "$d/Makefile" ] && kernels+=" $(basename "$(dirname "$d")")"
	done
fi
[ -n "$kernels" ] || die "no kernel headers installed (/lib/modules/*/build)"
rc=0
for k in $kernels; do
	log "dkms $action vhx/$ver -k $k"
	dkms "$action" "vhx/$ver" -k "$k" || { log "FAILED for $k"; rc=1; }
done
dkms status vhx
exit $rc
