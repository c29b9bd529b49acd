#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kernels.sh — install the test kernels of the matrix on Debian 12, and tell
# where each one is built.  Root, non-interactive, idempotent.
#
#   kernels.sh install [6.12] [7] [qemu]   (default: all three; qemu:
#                                   Debian 13's QEMU in the build root)
#   kernels.sh list                 one line per matrix kernel: "KVER KIND"
#   kernels.sh kver 6.1|6.12|7      newest installed KVER of that series
#   kernels.sh kver --boot SERIES   the same, but only a bootable image and
#                                   its modules are needed (no headers)
#   kernels.sh run KVER CMD...      run CMD where KVER's headers are (host,
#                                   or chroot of the Debian 13 build root with
#                                   the repository bind-mounted at its path)
#
#  apt entry of this machine (Debian mirror M, suite bookworm)
#    |-- + suite bookworm-backports --> linux-image/headers-6.12.*+deb12-amd64
#    |                                  (picked by version, gcc-12: host build)
#    `-- debootstrap trixie from M ---> $VHX_BUILDROOT (cached)
#          + trixie-backports ------------> gcc-14, linux-headers-7.*+deb13-amd64
#          apt-get download linux-binary/linux-modules-7.* -> dpkg -x into /,
#          /boot/vmlinuz-KVER, depmod KVER (boots under QEMU from the host)
#
# The mirror is read from the machine's own apt configuration; no host name
# is written into the repository.  The metapackages (linux-image-amd64,
# linux-headers-amd64) are never touched, so 6.1 stays the default.
set -euo pipefail

BUILDROOT=${VHX_BUILDROOT:-/var/cache/vhx/trixie-root}
BPO_LIST=/etc/apt/sources.list.d/vhx-bookworm-backports.sources
export DEBIAN_FRONTEND=noninteractive
# The matrix kernels boot only in the lab VM, from /boot/vmlinuz with the
# VM's own initramfs: on a machine that cannot load modules (no
# /proc/modules) their Debian initramfs is never used (see install-deps.sh).
if [ "${VHX_GUEST_KERNEL_ONLY:-$([ -e /proc/modules ] && echo 0 || echo 1)}" = 1 ]; then
	export INITRD=No
fi

log() { echo "[+] kernels: $*" >&2; }
die() { echo "kernels: error: $*" >&2; exit 1; }

usage() { sed -n '3,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

# The URI of the machine's Debian entry for suite $1 (deb822 .sources files
# first, then one-line .list files), with its Signed-By if any.
debian_uri() {
	local suite=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$suite" '
			function flush() {
				if (ty ~ /(^| )deb( |$)/ && su ~ ("(^| )" s "( |$)") && co ~ /(^| )main( |$)/ && uri != "") {
					split(uri, u, " "); print u[1] "\t" sb; found = 1; exit
				}
				ty = su = co = uri = sb = ""
			}
			/^[ \t]*#/ { next }
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); ty = $0 }
			/^URIs:/ { sub(/^URIs:[ \t]*/, ""); uri = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); su = $0 }
			/^Components:/ { sub(/^Components:[ \t]*/, ""); co = $0 }
			/^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); sb = $0 }
			END { if (!found) flush() }' "$f" | head -n1 | grep . && return 0
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# deb [opts] URI SUITE COMPONENTS...
		awk -v s="$suite" '$1 == "deb" {
			i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			if ($(i + 1) == s) { print $i "\t"; exit }
		}' "$f" | head -n1 | grep . && return 0
	done
	return 1
}

# Newest package NAME matching the extended regex $1 in apt's lists
# (apt-cache, so $2 may name a chroot to run it in).
newest_pkg() {
	local re=$1 root=${2:-}
	if [ -n "$root" ]; then
		chroot "$root" apt-cache pkgnames
	else
		apt-cache pkgnames
	fi | grep -E "^$re\$" | sort -V | tail -n1
}

# ---- 6.12 from bookworm-backports ----------------------------------------
install_612() {
	local line uri sb img hdr kver
	need_root
	line=$(debian_uri bookworm) || die "no Debian 'bookworm' apt entry found to derive backports from"
	uri=${line%%$'\t'*}
	sb=${line#*$'\t'}
	[ -n "$sb" ] || sb=/usr/share/keyrings/debian-archive-keyring.gpg
	if [ ! -f "$BPO_LIST" ]; then
		log "adding bookworm-backports from the machine's Debian entry ($BPO_LIST)"
		printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: %s\n' \
			"$uri" "$sb" > "$BPO_LIST"
		apt-get -o DPkg::Lock::Timeout=600 update -q >&2
	elif [ -z "$(newest_pkg 'linux-image-6\.12\.[0-9]+\+deb12-amd64')" ]; then
		apt-get -o DPkg::Lock::Timeout=600 update -q >&2
	fi
	img=$(newest_pkg 'linux-image-6\.12\.[0-9]+\+deb12-amd64')
	[ -n "$img" ] || die "no linux-image-6.12.*+deb12-amd64 in bookworm-backports"
	kver=${img#linux-image-}
	hdr=linux-headers-$kver
	if [ -f "/boot/vmlinuz-$kver" ] && [ -f "/lib/modules/$kver/build/Makefile" ]; then
		log "$kver already installed"
	else
		log "apt-get install $img $hdr (by version, not the metapackage)"
		# No -t: only the named packages (and what they need) come from
		# backports; linux-image-amd64/linux-headers-amd64 stay on 6.1.
		apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "$img" "$hdr" >&2
	fi
	check_default
	echo "$kver"
}

# 6.1 must stay the default: its image, headers and the metapackages.
check_default() {
	local m v
	for m in linux-image-amd64 linux-headers-amd64; do
		v=$(dpkg-query -W -f='${Version}' "$m" 2>/dev/null || true)
		case $v in
		'' | 6.1.*) ;;
		*) log "warning: $m is now $v (not 6.1); the Makefile still picks /lib/modules/6.1.* by glob" ;;
		esac
	done
	compgen -G '/lib/modules/6.1.*/build/Makefile' >/dev/null ||
		log "warning: no 6.1 headers left; run: make deps"
}

# ---- 7.x in a Debian 13 build root ---------------------------------------
in_root() { chroot "$BUILDROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 "$@"; }

# ensure_root: the Debian 13 root, with trixie and trixie-backports.
ensure_root() {
	local line uri
	need_root
	line=$(debian_uri bookworm) || die "no Debian 'bookworm' apt entry found (for the mirror)"
	uri=${line%%$'\t'*}
	if [ ! -x "$BUILDROOT/usr/bin/apt-get" ]; then
		command -v debootstrap >/dev/null || apt-get install -y -q --no-install-recommends debootstrap >&2
		log "debootstrap trixie into $BUILDROOT"
		rm -rf "$BUILDROOT.tmp"
		mkdir -p "$(dirname "$BUILDROOT")"
		debootstrap --variant=minbase trixie "$BUILDROOT.tmp" "$uri" >&2
		mv "$BUILDROOT.tmp" "$BUILDROOT"
	fi
	if [ ! -f "$BUILDROOT/etc/apt/sources.list.d/vhx.sources" ]; then
		rm -f "$BUILDROOT/etc/apt/sources.list"
		printf 'Types: deb\nURIs: %s\nSuites: trixie trixie-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
			"$uri" > "$BUILDROOT/etc/apt/sources.list.d/vhx.sources"
		in_root apt-get update -q >&2
	fi
}

install_7() {
	local hdr kver pkgs tmp
	ensure_root
	if [ -z "$(newest_pkg 'linux-headers-7\.[0-9.]+\+deb13-amd64' "$BUILDROOT")" ]; then
		in_root apt-get update -q >&2
	fi
	hdr=$(newest_pkg 'linux-headers-7\.[0-9.]+\+deb13-amd64' "$BUILDROOT")
	[ -n "$hdr" ] || die "no linux-headers-7.*+deb13-amd64 in trixie-backports"
	kver=${hdr#linux-headers-}
	if [ ! -f "$BUILDROOT/usr/src/linux-headers-$kver/Makefile" ]; then
		log "build root: apt-get install $hdr make gcc (trixie-backports)"
		in_root apt-get install -y -q --no-install-recommends -t trixie-backports \
			"$hdr" make gcc libc6-dev kmod >&2
	fi
	if [ ! -f "/boot/vmlinuz-$kver" ] || [ ! -f "/lib/modules/$kver/modules.dep" ]; then
		log "image: apt-get download linux-binary-$kver linux-modules-$kver; dpkg -x into /"
		tmp=$(mktemp -d "$BUILDROOT/tmp/vhx-kernel.XXXXXX")
		pkgs=(linux-binary-"$kver" linux-modules-"$kver")
		in_root sh -c "cd '${tmp#"$BUILDROOT"}' && apt-get download -q ${pkgs[*]}" >&2
		for deb in "$tmp"/*.deb; do
			dpkg -x "$deb" /
		done
		rm -rf "$tmp"
		[ -f "/lib/modules/$kver/vmlinuz" ] || die "no /lib/modules/$kver/vmlinuz after dpkg -x"
		cp "/lib/modules/$kver/vmlinuz" "/boot/vmlinuz-$kver"
		# The modules package has no modules.builtin; the headers package
		# in the build root has, so modprobe can say "builtin".
		for f in modules.builtin modules.builtin.modinfo modules.order; do
			[ -f "$BUILDROOT/lib/modules/$kver/$f" ] &&
				cp "$BUILDROOT/lib/modules/$kver/$f" "/lib/modules/$kver/$f"
		done
		depmod "$kver"
	else
		log "$kver already installed"
	fi
	echo "$kver"
}

# ---- a second QEMU: Debian 13's, run from the build root ------------------
# install_qemu: qemu-system-x86 of trixie in the build root; the nested
# tests run it through selftests/lib/qemu-newer.sh (its own loader and
# libraries, the lab VM's files).
install_qemu() {
	ensure_root
	if [ ! -x "$BUILDROOT/usr/bin/qemu-system-x86_64" ]; then
		log "build root: apt-get install qemu-system-x86 (trixie)"
		in_root apt-get install -y -q --no-install-recommends qemu-system-x86 >&2 ||
			{ in_root apt-get update -q >&2 &&
			  in_root apt-get install -y -q --no-install-recommends qemu-system-x86 >&2; }
	fi
	"$BUILDROOT/lib64/ld-linux-x86-64.so.2" --library-path \
		"$BUILDROOT/usr/lib/x86_64-linux-gnu:$BUILDROOT/lib/x86_64-linux-gnu" \
		"$BUILDROOT/usr/bin/qemu-system-x86_64" --version | head -n1
}

# ---- queries ---------------------------------------------------------------
# newest installed KVER of a series (6.1, 6.12, 7): has /boot/vmlinuz and
# modules, and headers on the host or in the build root.  With --boot first,
# headers are not asked for (a guest kernel that nothing is built against).
# Prints nothing, status 0, when there is none.
kver_of() {
	local boot=0 series re k
	[ "${1:-}" = --boot ] && { boot=1; shift; }
	series=${1:?kver [--boot] 6.1|6.12|7}
	case $series in
	6.1) re='^6\.1\.[0-9]+-[0-9]+-amd64$' ;;
	6.12) re='^6\.12\.[0-9]+\+deb12-amd64$' ;;
	7 | 7.x) re='^7\.[0-9.]+\+deb13-amd64$' ;;
	*) die "unknown series $series (6.1, 6.12, 7)" ;;
	esac
	{ find /lib/modules -mindepth 1 -maxdepth 1 -printf '%f\n' | grep -E "$re" || true; } | sort -V -r |
	while read -r k; do
		[ -f "/boot/vmlinuz-$k" ] || continue
		[ -f "/lib/modules/$k/modules.dep" ] || continue
		[ $boot -eq 1 ] || [ -f "/lib/modules/$k/build/Makefile" ] ||
			[ -f "$BUILDROOT/usr/src/linux-headers-$k/Makefile" ] || continue
		echo "$k"
		break
	done
}

# run KVER CMD...: run CMD where KVER's build tree is.  On the host if it has
# /lib/modules/KVER/build, else in the build root, with the current
# directory's repository bind-mounted at the same path (one user at a time).
run_for() {
	local kver=$1 repo rc=0
	shift
	if [ -f "/lib/modules/$kver/build/Makefile" ]; then
		"$@"
		return
	fi
	[ -f "$BUILDROOT/usr/src/linux-headers-$kver/Makefile" ] ||
		die "no build tree for $kver on the host or in $BUILDROOT (run: scripts/kernels.sh install)"
	need_root
	repo=$(git rev-parse --show-toplevel 2>/dev/null || pwd -P)
	exec 9> "$BUILDROOT.lock"
	flock 9
	mkdir -p "$BUILDROOT$repo"
	mount --bind "$repo" "$BUILDROOT$repo"
	mountpoint -q "$BUILDROOT/proc" || mount -t proc proc "$BUILDROOT/proc"
	log "build root ($BUILDROOT): $*"
	# make's flags (-s, -k) but not its jobserver descriptors
	local mf='' w
	for w in ${MAKEFLAGS:-}; do
		case $w in --jobserver-*) ;; *) mf+=" $w" ;; esac
	done
	# shellcheck disable=SC2016  # expanded by the inner sh
	in_root MAKEFLAGS="$mf" sh -c 'cd "$1" && shift && exec "$@"' sh "$(pwd -P)" "$@" || rc=$?
	# A process of the command may still be leaving: then detach lazily.
	umount "$BUILDROOT$repo" 2>/dev/null || umount -l "$BUILDROOT$repo"
	umount "$BUILDROOT/proc" 2>/dev/null || umount -l "$BUILDROOT/proc" 2>/dev/null || true
	return $rc
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case $cmd in
install)
	[ $# -gt 0 ] || set -- 6.12 7 qemu
	for s in "$@"; do
		case $s in
		6.12) install_612 ;;
		7 | 7.x) install_7 ;;
		qemu) install_qemu ;;
		*) die "install: unknown series $s (6.12, 7, qemu)" ;;
		esac
	done
	;;
list)
	for s in 6.1 6.12 7; do
		k=$(kver_of "$s")
		[ -n "$k" ] && echo "$k $s"
	done
	;;
kver) kver_of "$@" ;;
run) run_for "${1:?run KVER CMD...}" "${@:2}" ;;
-h | --help | '') usage ;;
*) usage >&2; exit 2 ;;
esac
