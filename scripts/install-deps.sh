#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# install-deps.sh — install what building vhx and booting its test VM need.
#
# Idempotent: checks for every command/file first and is a fast no-op when
# all are present; otherwise runs one non-interactive apt-get install (root,
# no stdin needed).  Debian 12 (bookworm) is the reference host.
# --bench: also what make bench needs on the host (gnuplot, python3).
set -euo pipefail

# One apt-get run for everything make check needs, host checks included
# (checkpatch.pl from linux-source-6.1, clang's libFuzzer for fuzz-check):
# a second apt-get later would repeat the update and could meet the dpkg
# lock of a background install (.ci/run installs 6.12 while the VM runs).
PKGS=(linux-image-amd64 linux-headers-amd64 qemu-system-x86 busybox-static
      kmod dpdk-dev iperf3 cpio gcc make libc6-dev iproute2 ethtool procps
      pkg-config e2fsprogs fio jq xz-utils zstd util-linux linux-source-6.1
      clang libclang-rt-14-dev xfsprogs btrfs-progs f2fs-tools linux-perf bpftrace trace-cmd
      libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients socat)

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
need_cmd  unshare                                util-linux   # mkstate.sh: a private netns
need_glob /usr/src/linux-source-6.1.tar.xz       linux-source-6.1  # style: checkpatch.pl
need_cmd  clang                                  clang        # fuzz-check
need_glob '/usr/sbin/mkfs.xfs'                   xfsprogs     # blk_fs: XFS backends
need_glob '/usr/sbin/mkfs.btrfs'                 btrfs-progs  # blk_fs: btrfs backends
need_glob '/usr/sbin/mkfs.f2fs'                  f2fs-tools   # blk_fs: f2fs backends
need_cmd  perf                                   linux-perf   # trace_test: perf stat on vhx events
need_cmd  bpftrace                               bpftrace     # trace_test: vhx-latency.bt
need_cmd  trace-cmd                              trace-cmd    # trace_test: record and report
need_cmd  libvirtd                               libvirt-daemon-system  # libvirt_test
need_glob /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so libvirt-daemon-driver-qemu
need_cmd  virsh                                  libvirt-clients
need_cmd  socat                                  socat        # qemu_vsock: VSOCK-LISTEN/-CONNECT, lab VM and inner guest
need_glob '/usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a' libclang-rt-14-dev
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
APT=(apt-get -o DPkg::Lock::Timeout=600)
# A machine whose own kernel cannot load modules (no /proc/modules: the lab
# machines) never boots the Debian kernel installed here -- only the lab VM
# does, from /boot/vmlinuz with an initramfs of its own (mkinitramfs.sh).
# There its initramfs (update-initramfs, ~1 min, twice: the kernel's hook
# and a trigger) and dpkg's fsyncs are pure cost.  A host that runs modules
# keeps both.  VHX_GUEST_KERNEL_ONLY=1/0 forces either way.
guest_only=${VHX_GUEST_KERNEL_ONLY:-$([ -e /proc/modules ] && echo 0 || echo 1)}
if [ "$guest_only" = 1 ]; then
	log "this kernel cannot load modules: the Debian kernel is for the lab VM only (no initramfs, unsafe-io)"
	export INITRD=No
	APT+=(-o Dpkg::Options::=--force-unsafe-io)
fi
log "apt-get update"
"${APT[@]}" update </dev/null
log "apt-get install -y --no-install-recommends ${PKGS[*]}"
"${APT[@]}" install -y --no-install-recommends "${PKGS[@]}" </dev/null
log "done"
