#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# demo.sh — `make demo`: stock QEMU with -netdev tap,vhost=on served by vhx.
#
#   host: build the inner guest image (selftests/vm/inner/mkinner.sh), then
#         boot the lab VM (selftests/vm/run.sh --mode demo --target vhx)
#   lab VM (Debian 6.1 kernel under TCG): scripts/demo-guest.sh loads vhx,
#         creates tap0, runs QEMU 7.2 for an inner guest with vhost=on,
#         streams its boot, pings, runs iperf3 both ways, shows the
#         vhost-<qemu pid> worker and vhx's per-queue counters, summarises.
#
# usage: scripts/demo.sh [--kver KVER] [--target vhx|intree]
# Exit status 0 only if traffic really flowed through vhx.  Logs:
# selftests/vm/out/latest/console.log.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/.." && pwd -P)
KVER=
TARGET=${VHX_TARGET:-vhx}
while [ $# -gt 0 ]; do
	case $1 in
	--kver) KVER=${2:?}; shift 2 ;;
	--target) TARGET=${2:?}; shift 2 ;;
	-h | --help) sed -n '3,/^set /p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "demo: unknown option $1" >&2; exit 2 ;;
	esac
done
if [ -z "$KVER" ]; then
	KVER=$("$ROOT/scripts/kernels.sh" kver 6.1)
fi
[ -n "$KVER" ] || { echo "demo: no /lib/modules/6.1.* (run: make deps)" >&2; exit 2; }
if [ "$TARGET" = vhx ]; then
	for ko in vhx_core vhx_net; do
		[ -f "$ROOT/vhost/$ko.ko" ] || { echo "demo: vhost/$ko.ko missing (run: make)" >&2; exit 2; }
	done
fi

echo "[demo] stock QEMU + vhost=on served by $TARGET, nested: host -> lab VM ($KVER, TCG) -> inner guest"
echo "[demo] building the inner guest image on the host (reused by the lab VM)"
bash "$ROOT/selftests/vm/inner/mkinner.sh" > /dev/null
echo "[demo] booting the inner guest once here (one layer of TCG: seconds) and saving it for the lab VM"
bash "$ROOT/selftests/vm/inner/mkstate.sh" sq
echo "[demo] booting the lab VM; the inner guest's console is prefixed 'inner|'"
exec bash "$ROOT/selftests/vm/run.sh" --kver "$KVER" --target "$TARGET" --mode demo \
	--timeout "${VHX_DEMO_TIMEOUT:-1500}"
