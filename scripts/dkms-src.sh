#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-src.sh DIR — copy the module sources DKMS builds (Kbuild, dkms.conf,
# vhost/, uapi/; no build products) to DIR/vhx-VERSION and print VERSION.
# VERSION is vhost/version.sh's (git describe, with a fallback); the copy
# keeps it in vhost/VERSION, so the module built there reports the same
# one, and its dkms.conf carries it as PACKAGE_VERSION.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dir=${1:?usage: dkms-src.sh DIR}
ver=$(sh vhost/version.sh)
src=$dir/vhx-$ver
rm -rf "$src"
mkdir -p "$src"
tar -c --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude='*.o.d' --exclude=modules.order \
	--exclude=Module.symvers Kbuild dkms.conf vhost uapi | tar -x -C "$src"
echo "$ver" >"$src/vhost/VERSION"
sed -i "s/^PACKAGE_VERSION=.*/PACKAGE_VERSION=\"$ver\"/" "$src/dkms.conf"
echo "$ver"
