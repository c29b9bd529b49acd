#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# checkpatch.sh — run the kernel's checkpatch.pl (--strict) over vhx's
# kernel sources (vhost/, uapi/, the test modules in selftests/kmod/).
# checkpatch.pl comes from KDIR/scripts when the tree has it; Debian's
# headers packages do not ship it, so it is otherwise taken
# from Debian's linux-source-6.1 package (installed on demand) and cached.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
KDIR=${KDIR:-}
CACHE=${VHX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vhx}/checkpatch
log() { echo "[+] style: $*"; }

find_checkpatch() {
	if [ -n "$KDIR" ] && [ -x "$KDIR/scripts/checkpatch.pl" ]; then
		echo "$KDIR/scripts/checkpatch.pl"
		return
	fi
	if [ -f "$CACHE/scripts/checkpatch.pl" ]; then
		echo "$CACHE/scripts/checkpatch.pl"
		return
	fi
	local tarball
	tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
	if [ -z "$tarball" ]; then
		log "installing linux-source-6.1 for scripts/checkpatch.pl" >&2
		[ "$(id -u)" -eq 0 ] || { echo "style: need root to install linux-source-6.1" >&2; exit 1; }
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >&2 < /dev/null
		apt-get install -y -q --no-install-recommends linux-source-6.1 >&2 < /dev/null
		tarball=/usr/src/linux-source-6.1.tar.xz
	fi
	log "extracting checkpatch.pl from $tarball" >&2
	mkdir -p "$CACHE"
	tar -xJf "$tarball" -C "$CACHE" --strip-components=1 \
		linux-source-6.1/scripts/checkpatch.pl \
		linux-source-6.1/scripts/spelling.txt \
		linux-source-6.1/scripts/const_structs.checkpatch
	echo "$CACHE/scripts/checkpatch.pl"
}

cp=$(find_checkpatch)
mapfile -t files < <(git ls-files 'vhost/*.c' 'vhost/*.h' 'uapi/*.h' 'selftests/kmod/*.c' 2>/dev/null ||
		     ls vhost/*.[ch] uapi/linux/*.h selftests/kmod/*.c 2>/dev/null)
log "checkpatch --strict on ${#files[@]} files"
out=$(perl "$cp" --no-tree --strict --terse --show-types -f "${files[@]}" 2>&1 |
      grep -v '^total:' || true)
if [ -n "$out" ]; then
	echo "$out"
	log "FAILED: checkpatch found problems"
	exit 1
fi
log "clean"
