#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkinner.sh — build the initramfs of the *inner* guest (the guest that stock
# QEMU runs inside the lab VM, its virtio-net served by vhx).
#
#   usage: mkinner.sh [KVER]        prints the path of the cpio on stdout
#
# Contents (uncompressed newc cpio, ~9 MB; the inner guest is emulated twice,
# so no decompression at boot):
#   /init, /lib/vhxi.sh       inner/init and inner/vhxi.sh (busybox sh)
#   /bin/busybox              static busybox
#   /modules/*.ko + order     virtio_pci chain, failover, net_failover,
#                             virtio_net of KVER (modprobe --show-depends)
#   /modules/order.blk        virtio_blk, ext4 and its chain (qemu_blk tests;
#                             loaded by load_blk, not at boot by default)
#   /modules/order.vsock      vsock, vmw_vsock_virtio_transport_common,
#                             vmw_vsock_virtio_transport (qemu_vsock; loaded
#                             by load_vsock, or at prep with VHXI_VSOCK=1)
#   iperf3, ethtool, mkfs.ext4  with their ldd libraries + ld-linux-x86-64.so.2
#   /bin/vhxi-xfer            xfer.c, static: TCP and vsock data movers of
#                             vhxi.sh and /lib/vhxi-vsock.sh (no socat in
#                             the guest: its libraries take seconds to load)
# Modules lose their signature (faster insmod).  Next to the cpio, the same
# name with .vmlinux: the kernel of /boot/vmlinuz-KVER uncompressed, booted
# through PVH (selftests/lib/qemu.sh uses it when present).
#
# Cached by content: the name carries a hash of every input, so an unchanged
# image is reused.  Output directory: $VHX_INNER_OUT, else selftests/vm/out
# when writable (host), else $TMPDIR/vhx-inner (the lab VM sees the repo
# read-only; a cpio built on the host beforehand is found there and reused).
# Runs on the host or inside the lab VM (same root filesystem).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
KVER=${1:-}
if [ -z "$KVER" ]; then
	KVER=$("$HERE/../../../scripts/kernels.sh" kver --boot 6.1)
fi
MODS=(virtio_pci failover net_failover virtio_net)
BLK_MODS=(virtio_blk ext4)
BINS=(/bin/busybox /usr/bin/iperf3 /usr/sbin/ethtool /usr/sbin/mkfs.ext4)
VSOCK_MODS=(vmw_vsock_virtio_transport)

log() { echo "mkinner: $*" >&2; }
die() { echo "mkinner: error: $*" >&2; exit 1; }

[ -n "$KVER" ] && [ -d "/lib/modules/$KVER" ] || die "no /lib/modules/${KVER:-6.1.*}"
for b in "${BINS[@]}"; do
	[ -x "$b" ] || die "no $b (make deps: busybox-static iperf3 ethtool e2fsprogs)"
done

# ---- inputs: module files in load order, binaries, libraries ---------------
declare -A seen=()
modfiles=()
for m in "${MODS[@]}"; do
	out=$(modprobe -S "$KVER" --show-depends "$m") || die "modprobe --show-depends $m"
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		[ -n "${seen[$path]:-}" ] && continue
		seen[$path]=1
		modfiles+=("$path")
	done <<< "$out"
done

blkfiles=()
for m in "${BLK_MODS[@]}"; do
	out=$(modprobe -S "$KVER" --show-depends "$m") || die "modprobe --show-depends $m"
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		[ -n "${seen[$path]:-}" ] && continue
		seen[$path]=1
		blkfiles+=("$path")
	done <<< "$out"
done

# vsock: what the virtio_pci chain does not already bring (virtio, virtio_ring)
vsockfiles=()
for m in "${VSOCK_MODS[@]}"; do
	out=$(modprobe -S "$KVER" --show-depends "$m" 2> /dev/null) || { log "no $m in $KVER: no vsock modules"; continue; }
	while read -r verb path _; do
		[ "$verb" = insmod ] || continue
		[ -n "${seen[$path]:-}" ] && continue
		seen[$path]=1
		vsockfiles+=("$path")
	done <<< "$out"
done

libs=()
for b in "${BINS[@]:1}"; do
	while read -r lib; do
		[ -n "${seen[$lib]:-}" ] && continue
		seen[$lib]=1
		libs+=("$lib")
	done <<< "$(ldd "$b" | awk '/=> \// { print $3 } /^\t\/lib64\// { print $1 }')"
done
[ -n "${seen[/lib64/ld-linux-x86-64.so.2]:-}" ] || libs+=(/lib64/ld-linux-x86-64.so.2)

inputs=("$HERE/init" "$HERE/vhxi.sh" "$HERE/xfer.c" "${BASH_SOURCE[0]}" "${BINS[@]}" "${libs[@]}" "${modfiles[@]}"
	"${blkfiles[@]}" "/boot/vmlinuz-$KVER" "${vsockfiles[@]}" "$HERE/vhxi-vsock.sh")
key=$( { echo "$KVER"; printf '%s\n' "${modfiles[@]}" "${blkfiles[@]}" "${vsockfiles[@]}"; sha256sum "${inputs[@]}" | cut -d' ' -f1; } |
	sha256sum | cut -c1-12)

if [ -n "${VHX_INNER_OUT:-}" ]; then
	dirs=("$VHX_INNER_OUT")
else
	dirs=("$HERE/../out" "${TMPDIR:-/tmp}/vhx-inner")
fi
name=inner-$KVER-$key.cpio
for d in "${dirs[@]}"; do
	if [ -s "$d/$name" ]; then
		log "up to date: $d/$name"
		echo "$(cd "$d" && pwd -P)/$name"
		exit 0
	fi
done
outdir=
for d in "${dirs[@]}"; do
	if mkdir -p "$d" 2>/dev/null && [ -w "$d" ] && touch "$d/.w.$$" 2>/dev/null; then
		rm -f "$d/.w.$$"
		outdir=$(cd "$d" && pwd -P)
		break
	fi
done
[ -n "$outdir" ] || die "no writable output directory among: ${dirs[*]}"

# unsign KO: drop the appended signature.  Checking it (SHA-256 + RSA) is
# what makes insmod slow in a twice-emulated guest; unsigned modules load
# (signing is not enforced) and only taint the inner kernel.
unsign() {
	local f=$1 size tail len
	size=$(stat -c %s "$f")
	tail=$(tail -c 28 "$f")
	[ "$tail" = "~Module signature appended~" ] || return 0
	# struct module_signature (12 bytes, sig_len big-endian at offset 8)
	len=$(tail -c 32 "$f" | head -c 4 | od -An -tu1 | awk '{ print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }')
	truncate -s $((size - 28 - 12 - len)) "$f"
}

# extract_vmlinux VMLINUZ OUT: the uncompressed ELF kernel inside a bzImage.
# QEMU boots it through PVH (CONFIG_PVH): no firmware-side decompression,
# which is slow under double emulation.  Fails if it is not an ELF with a
# PVH note (the caller then falls back to the bzImage).
# Debian's 6.1 compresses the kernel with xz, 6.12 and 7.x with zstd: the
# first xz or zstd frame in the file is the kernel (the decompressor ignores
# what follows it).
extract_vmlinux() {
	local in=$1 out=$2 off unz
	off=$(grep -abo $'\xfd7zXZ' "$in" | head -n1 | cut -d: -f1)
	if [ -n "$off" ]; then
		if command -v xz > /dev/null; then unz="xz -dc --single-stream"; else unz="busybox xzcat"; fi
	else
		off=$(grep -abo $'\x28\xb5\x2f\xfd' "$in" | head -n1 | cut -d: -f1)
		[ -n "$off" ] && command -v zstd > /dev/null || return 1
		unz="zstd -dcq"
	fi
	tail -c +$((off + 1)) "$in" | $unz > "$out" 2>/dev/null
	[ "$(head -c 4 "$out" | od -An -c | tr -d ' ')" = "177ELF" ] || return 1
	# XEN_ELFNOTE_PHYS32_ENTRY (18): the PVH entry point
	readelf -n "$out" 2>/dev/null | grep -q 'Unknown note type: (0x00000012)' || return 1
}

# ---- stage -----------------------------------------------------------------
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/vhx-inner-stage.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
mkdir -p "$STAGE"/{bin,sbin,lib,lib64,usr/bin,usr/sbin,modules,proc,sys,dev,tmp,root}
mknod -m 0600 "$STAGE/dev/console" c 5 1 2>/dev/null || true
install -m 0755 "$HERE/init" "$STAGE/init"
install -m 0644 "$HERE/vhxi.sh" "$STAGE/lib/vhxi.sh"
for b in "${BINS[@]}"; do
	install -D -m 0755 "$b" "$STAGE$b"
done
install -m 0644 "$HERE/vhxi-vsock.sh" "$STAGE/lib/vhxi-vsock.sh"
# the bulk-data mover of vhxi.sh, static: no loader work at each start
${CC:-gcc} -O2 -Wall -Wextra -static -o "$STAGE/bin/vhxi-xfer" "$HERE/xfer.c" ||
	die "cannot build vhxi-xfer (gcc, libc6-dev: static libc)"
for l in "${libs[@]}"; do
	# Copy the file behind the name, keep the name ldd printed.
	install -D -m 0755 "$(readlink -f "$l")" "$STAGE$l"
done
# add_module PATH ORDERFILE: decompressed, unsigned, listed in ORDERFILE
add_module() {
	local p=$1 order=$2 base n
	base=$(basename "$p")
	n=${base%%.ko*}.ko
	case $base in
	*.ko)     cp "$p" "$STAGE/modules/$n" ;;
	*.ko.xz)  xz -dc "$p" > "$STAGE/modules/$n" ;;
	*.ko.zst) zstd -qdc "$p" > "$STAGE/modules/$n" ;;
	*.ko.gz)  gzip -dc "$p" > "$STAGE/modules/$n" ;;
	*) die "unknown module format $p" ;;
	esac
	unsign "$STAGE/modules/$n"
	echo "$n" >> "$order"
}
: > "$STAGE/modules/order"
: > "$STAGE/modules/order.blk"
: > "$STAGE/modules/order.vsock"
for p in "${modfiles[@]}"; do add_module "$p" "$STAGE/modules/order"; done
for p in "${blkfiles[@]}"; do add_module "$p" "$STAGE/modules/order.blk"; done
for p in "${vsockfiles[@]}"; do add_module "$p" "$STAGE/modules/order.vsock"; done
log "modules: $(tr '\n' ' ' < "$STAGE/modules/order")"
log "blk modules: $(tr '\n' ' ' < "$STAGE/modules/order.blk")"
log "vsock modules: $(tr '\n' ' ' < "$STAGE/modules/order.vsock")"
# debian's usrmerge: /lib -> usr/lib on the host, but a plain dir here is fine.

tmp=$outdir/.$name.$$
kimg=${name%.cpio}.vmlinux
if extract_vmlinux "/boot/vmlinuz-$KVER" "$tmp.k"; then
	mv -f "$tmp.k" "$outdir/$kimg"
	log "wrote $outdir/$kimg (PVH-bootable, $(du -h "$outdir/$kimg" | cut -f1))"
else
	rm -f "$tmp.k"
	log "no PVH vmlinux from /boot/vmlinuz-$KVER: the inner guest boots the bzImage"
fi
(cd "$STAGE" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) > "$tmp"
mv -f "$tmp" "$outdir/$name"
# Older images of the same kernel are stale now.
find "$outdir" -maxdepth 1 \( -name "inner-$KVER-*.cpio" -o -name "inner-$KVER-*.vmlinux" \) \
	! -name "$name" ! -name "$kimg" -delete 2>/dev/null || true
log "wrote $outdir/$name ($(du -h "$outdir/$name" | cut -f1))"
echo "$outdir/$name"
