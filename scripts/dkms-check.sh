#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-check.sh — prove that `dkms build` of this tree works for a kernel,
# without installing anything into /usr/src or /var/lib/dkms:
#
#   tree (Kbuild dkms.conf vhost/ uapi/) --scripts/dkms-src.sh, as for
#     scripts/dkms-install.sh--> selftests/vm/out/dkms/KVER/src/vhx-VERSION
#   dkms add + build vhx/VERSION -k KVER --dkmstree .../tree --sourcetree .../src
#   --> the three modules (vhx_core vhx_net vhx_blk) built for KVER
#
# Where KVER's build tree is (the host, or the Debian 13 build root for 7.x:
# scripts/kernels.sh run), dkms is installed first if missing.
#
#   usage: dkms-check.sh KVER
# Prints "dkms: KVER: built vhx_core vhx_net vhx_blk" and exits 0, or fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
log() { echo "[+] dkms: $*"; }
die() { echo "dkms: error: $*" >&2; exit 1; }

kver=${1:?usage: dkms-check.sh KVER}
inner=${2:-}
if [ "$inner" != --inner ]; then
	exec bash scripts/kernels.sh run "$kver" bash scripts/dkms-check.sh "$kver" --inner
fi

if ! command -v dkms >/dev/null; then
	[ "$(id -u)" -eq 0 ] || die "dkms is not installed and we are not root"
	log "apt-get install dkms"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null </dev/null
	apt-get install -y -q --no-install-recommends dkms >/dev/null </dev/null
fi

work=$(pwd -P)/selftests/vm/out/dkms/$kver
rm -rf "$work"
mkdir -p "$work/src" "$work/tree"
version=$(bash scripts/dkms-src.sh "$work/src")

log "$kver: dkms add + build vhx/$version (tree $work)"
opts=(--dkmstree "$work/tree" --sourcetree "$work/src")
dkms add vhx/"$version" "${opts[@]}" >"$work/add.log" 2>&1 ||
	{ cat "$work/add.log"; die "dkms add failed"; }
if ! dkms build vhx/"$version" -k "$kver" "${opts[@]}" >"$work/build.log" 2>&1; then
	cat "$work/build.log"
	find "$work/tree" -name make.log -exec tail -n 40 {} \;
	die "$kver: dkms build failed"
fi
built=()
for m in vhx_core vhx_net vhx_blk; do
	f=$(find "$work/tree/vhx/$version/$kver" -name "$m.ko*" | head -n1)
	[ -n "$f" ] || die "$kver: dkms build did not produce $m.ko"
	built+=("$m")
done
echo "dkms: $kver: built ${built[*]}"
