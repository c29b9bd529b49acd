#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# install-deps.sh — install what building vhx and booting its test VM need.
#
# Idempotent: checks for every command/file first and is a fast no-op when
# all are present; otherwise runs one non-interactive apt-get install (root,
# no stdin needed).  Debian 12 (bookworm) is the reference host.
# --bench: also what make bench needs on the host (gnuplot, python3).
set -euo pipefail

PKGS=(linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static
      kmod dpdk-dev iperf3 cpio gcc make libc6-dev iproute2 ethtool procps
      pkg-config e2fsprogs fio jq xz-utils zstd)

BENCH=0
[ "${1:-}" = --bench ] && BENCH=1
[ $BENCH = 1 ] && PKGS+=(gnuplot-nox python3)

log() { echo "[+] deps: $*"; }

# "what to look for" -> "package that provides it"
missing=()
need_cmd() { command -v "$1" >/dev/null 2>&1 || missing+=("$2 (command $1)"); }
need_glob() {
	local f
	for f in $1; do [ -e "$f" ] && return 0; done
	missing+=("$2 ($1)")
}

need_glob '/boot/vmlinuz-6.1.*-amd64'            linux-image-amd64
need_glob '/lib/modules/6.1.*-amd64/build/Makefile' linux-headers-amd64
need_cmd  qemu-system-x86_64                     qemu-system-x86
need_glob '/bin/busybox'                          busybox-static
need_cmd  modprobe                               kmod
need_cmd  dpdk-testpmd                           dpdk-dev
need_glob '/usr/include/dpdk/rte_ethdev.h'       dpdk-dev
need_cmd  iperf3                                 iperf3
need_cmd  cpio                                   cpio
need_cmd  gcc                                    gcc
need_cmd  make                                   make
need_glob '/usr/include/stdio.h'                 libc6-dev
need_cmd  ip                                     iproute2
need_cmd  ethtool                                ethtool
need_cmd  sysctl                                 procps
need_cmd  timeout                                coreutils
need_cmd  pkg-config                             pkg-config   # the bridge: libdpdk flags
need_glob '/usr/include/dpdk/rte_vhost.h'        dpdk-dev     # the bridge: librte_vhost
need_glob '/usr/sbin/mkfs.ext4'                  e2fsprogs    # inner guest of qemu_blk, e2fsck
need_cmd  fio                                    fio          # vhx-blk-fio.sh (vs the bench)
need_cmd  jq                                     jq           # vhx-blk-fio.sh parses fio's JSON
if [ $BENCH = 1 ]; then
	need_cmd  gnuplot                        gnuplot-nox
	need_glob /usr/bin/python3               python3
fi

# busybox must be the static build: it runs as /init before any libc exists
# (the dynamic "busybox" package also provides /bin/busybox).
if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
	missing+=("busybox-static (package)")
fi

if [ ${#missing[@]} -eq 0 ]; then
	log "all present, nothing to do"
	exit 0
fi

log "missing:"
printf '    %s\n' "${missing[@]}"

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: must run as root to install: ${PKGS[*]}" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
log "apt-get update"
apt-get update </dev/null
log "apt-get install -y --no-install-recommends ${PKGS[*]}"
apt-get install -y --no-install-recommends "${PKGS[@]}" </dev/null
log "done"
