#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# qemu-newer — Debian 13's qemu-system-x86_64 (QEMU 10), run from the
# Debian 13 build root of scripts/kernels.sh (`kernels.sh install qemu`)
# with that root's own loader, libraries, firmware and modules, on the
# files of the system it runs on (no chroot: the lab VM's /dev, /tmp and
# repository paths are what it sees).  The nested tests' second client:
# QI_QEMU=selftests/lib/qemu-newer.sh (selftests/qemu/qemu_newer_test.sh).
ROOT=${VHX_BUILDROOT:-/var/cache/vhx/trixie-root}
BIN=$ROOT/usr/bin/qemu-system-x86_64
[ -x "$BIN" ] || { echo "qemu-newer: no $BIN (scripts/kernels.sh install qemu)" >&2; exit 127; }
LIBS=$ROOT/usr/lib/x86_64-linux-gnu:$ROOT/lib/x86_64-linux-gnu
export QEMU_MODULE_DIR=$ROOT/usr/lib/x86_64-linux-gnu/qemu
exec "$ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$LIBS" --argv0 qemu-system-x86_64 \
	"$BIN" -L "$ROOT/usr/share/qemu" "$@"
