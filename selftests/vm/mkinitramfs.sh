#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh — build the tiny boot initramfs for the vhx test VM.
#
#   usage: mkinitramfs.sh KVER OUT.cpio
#
# Contents (uncompressed newc cpio, about 3 MB):
#   /init                 selftests/vm/init (busybox sh, PID 1)
#   /bin/busybox          static busybox (applets linked at boot)
#   /modules/*.ko         virtio_pci + 9p chain for KVER, in load order
#   /modules/order        one file name per line, insmod order
#
# Everything else (tests, modules under test, dpdk-testpmd, iperf3, ip, ...)
# comes from the host root filesystem shared read-only over 9p.
set -euo pipefail

KVER=${1:?usage: mkinitramfs.sh KVER OUT.cpio}
OUT=${2:?usage: mkinitramfs.sh KVER OUT.cpio}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
MODS=(virtio_pci 9pnet_virtio 9p)
BUSYBOX=/bin/busybox

log() { echo "host: mkinitramfs: $*"; }

[ -d "/lib/modules/$KVER" ] || { echo "host: mkinitramfs: no /lib/modules/$KVER" >&2; exit 1; }
[ -x "$BUSYBOX" ] || { echo "host: mkinitramfs: no $BUSYBOX (install busybox-static)" >&2; exit 1; }

# Up to date?  Rebuild when the init script, this script, busybox or the
# kernel's module set is newer than the cpio.
if [ -s "$OUT" ]; then
	stale=0
	for f in "$HERE/init" "${BASH_SOURCE[0]}" "$BUSYBOX" "/lib/modules/$KVER/modules.dep"; do
		[ "$f" -nt "$OUT" ] && stale=1
	done
	if [ $stale -eq 0 ]; then
		log "$OUT is up to date"
		exit 0
	fi
fi

STAGE=$(mktemp -d "${TMPDIR:-/tmp}/vhx-initramfs.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,modules,proc,sys,dev,newroot,repo,tmp}

mknod -m 0600 "$STAGE/dev/console" c 5 1
cp "$BUSYBOX" "$STAGE/bin/busybox"
cp "$HERE/init" "$STAGE/init"
chmod 0755 "$STAGE/init" "$STAGE/bin/busybox"

# Module chain, in dependency order, each module once.  `builtin` lines
# (e.g. virtio_pci on 6.12) need nothing.  Compressed modules (.ko.xz/.zst
# on newer kernels) are decompressed: busybox insmod wants plain ELF.
declare -A seen=()
: > "$STAGE/modules/order"
for m in "${MODS[@]}"; do
	# Kernels unpacked without a modules.builtin (7.x: linux-modules-*
	# alone) make modprobe fail for built-in drivers: treat that as built in
	# (the guest's /init says so loudly if the driver is really missing).
	if ! deps=$(modprobe -S "$KVER" --show-depends "$m" 2>/dev/null); then
		if [ -e "/lib/modules/$KVER/modules.builtin" ]; then
			echo "host: mkinitramfs: module $m not found for $KVER" >&2
			exit 1
		fi
		log "$m: not a module and no modules.builtin: assuming built in"
		continue
	fi
	while read -r verb path _; do
		case $verb in
		insmod) ;;
		builtin) log "$path is built in"; continue ;;
		*) continue ;;
		esac
		base=$(basename "$path")
		name=${base%%.ko*}.ko
		[ -n "${seen[$name]:-}" ] && continue
		seen[$name]=1
		case $base in
		*.ko)     cp "$path" "$STAGE/modules/$name" ;;
		*.ko.xz)  xz -dc "$path" > "$STAGE/modules/$name" ;;
		*.ko.zst) zstd -qdc "$path" > "$STAGE/modules/$name" ;;
		*.ko.gz)  gzip -dc "$path" > "$STAGE/modules/$name" ;;
		*) echo "host: mkinitramfs: unknown module format $path" >&2; exit 1 ;;
		esac
		echo "$name" >> "$STAGE/modules/order"
	done <<< "$deps"
done
log "modules: $(tr '\n' ' ' < "$STAGE/modules/order")"

mkdir -p "$(dirname "$OUT")"
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) > "$OUT.tmp.$$"
mv -f "$OUT.tmp.$$" "$OUT"	# atomic: concurrent runs may share OUT
log "wrote $OUT ($(du -h "$OUT" | cut -f1))"
