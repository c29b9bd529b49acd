#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# demo-guest.sh — the guest half of `make demo` (scripts/demo.sh boots the lab
# VM with VHX_MODE=demo; selftests/vm/init runs this in the chroot of the
# host root).  Shows stock QEMU served by vhx:
#
#   1. load vhx (vhx_core + vhx_net: /dev/vhost-net is vhx's)
#   2. tap0 10.77.0.1/24; qemu-system-x86_64 -netdev tap,ifname=tap0,vhost=on
#      -device virtio-net-pci, inner guest 10.77.0.2 (busybox + iperf3)
#   3. the inner guest comes up (its console streams here): restored from
#      the guest scripts/demo.sh booted on the host, virtio_net probing the
#      NIC against vhx; a full boot when there is no saved guest
#   4. proof: the vhost-<qemu pid> worker thread, vhx's device list
#   5. ping inner -> VM; iperf3 both ways; vhx per-queue counters before/after
#   6. summary; PASS/FAIL lines + "summary:" on ttyS1 for run.sh's verdict
#
# Exit 0 only if traffic flowed through vhx: 0 % ping loss, iperf3 results,
# vhx's rx and tx queue counters of the QEMU's device moved.
# Env: VHX_ROOT, VHX_TARGET (vhx; intree works too, without counters),
# DEMO_IPERF_SECS (10).
set -uo pipefail

VHX_ROOT=${VHX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)}
VHX_TARGET=${VHX_TARGET:-vhx}
VHX_KVER=$(uname -r)
export VHX_ROOT VHX_TARGET VHX_KVER TMPDIR=/tmp
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
SECS=${DEMO_IPERF_SECS:-10}
VHXCTL=$VHX_ROOT/tools/vhxctl/vhxctl
T0=$SECONDS

# Result port for run.sh (second serial port).
if [ -c /dev/ttyS1 ] && { exec 7>/dev/ttyS1; } 2>/dev/null; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
else
	exec 7>/dev/null
fi

QI_VERBOSE=1	# stream the inner console
QI_LIVE=1	# show inner command output as it comes
QI_LOGLEVEL=6
QI_PROGRESS=10
# shellcheck source=../selftests/lib/qemu.sh
. "$VHX_ROOT/selftests/lib/qemu.sh"

say() { printf '\n[demo +%ss] %s\n' "$((SECONDS - T0))" "$*"; }
declare -A R=()
fail=0
result() {	# result NAME OK(0/1) DETAIL
	if [ "$2" -eq 0 ]; then R[$1]="PASS"; echo "PASS demo-$1 $3" >&7
	else R[$1]="FAIL"; fail=1; echo "FAIL demo-$1 $3" >&7; fi
}
finish() {
	local n=0 k
	for k in "${!R[@]}"; do [ "${R[$k]}" = PASS ] && n=$((n + 1)); done
	echo "summary: $n passed, $(( ${#R[@]} - n )) failed, 0 skipped" >&7
	exec 7>&-
	qi_cleanup
	if [ "$VHX_TARGET" = vhx ]; then
		rmmod vhx_net vhx_core 2>/dev/null || echo "[demo] note: rmmod vhx_net vhx_core failed"
	fi
}
trap finish EXIT

# ---- 1. vhx ---------------------------------------------------------------
say "loading the vhost-net implementation ($VHX_TARGET) in the lab VM ($(uname -r))"
modprobe tun
if [ "$VHX_TARGET" = intree ]; then
	modprobe vhost_net || { result load 1 "(modprobe vhost_net)"; exit 1; }
else
	for ko in vhx_core vhx_net; do
		for dep in $(modinfo -F depends "$VHX_ROOT/vhost/$ko.ko" | tr ',' ' '); do
			case $dep in vhx_*) ;; *) modprobe "$dep" ;; esac
		done
		echo "+ insmod vhost/$ko.ko"
		insmod "$VHX_ROOT/vhost/$ko.ko" || { result load 1 "(insmod $ko.ko)"; exit 1; }
	done
fi
for _ in $(seq 1 20); do [ -c /dev/vhost-net ] && break; sleep 0.2; done
lsmod | grep -E '^(vhx|vhost|tun)' | sed 's/^/  /'
ls -l /dev/vhost-net | sed 's/^/  /'
if [ "$VHX_TARGET" = vhx ]; then
	echo "  /dev/vhost-net (misc $(cat /sys/class/misc/vhost-net/dev 2>/dev/null)) comes from vhx_net; in-tree: $(grep -o 'module_blacklist=[^ ]*' /proc/cmdline || echo 'not blacklisted')"
	lsmod | grep -q '^vhost_net ' && echo "  warning: in-tree vhost_net is loaded too"
fi
result load 0 ""
mount | grep -q ' /sys/kernel/debug ' || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null

why=$(qi_prereq)
[ -z "$why" ] || { echo "[demo] cannot run: $why"; result prereq 1 "($why)"; exit 1; }

# ---- 2. tap + QEMU ---------------------------------------------------------
say "inner guest initramfs (busybox, virtio_net, iperf3, ethtool)"
qi_build || { result build 1 ""; exit 1; }
say "tap0 with 10.77.0.1/24"
qi_net_tap tap0 || { result tap 1 ""; exit 1; }
echo "  (no carrier until QEMU attaches to it)"

qi_model sq
if [ -n "$(qi_state_file tap0)" ]; then
	how="restored from the guest that make demo booted on the host (seconds under one layer of TCG, minutes under two); virtio_net then binds to the NIC, negotiating with $VHX_TARGET"
else
	how="no saved guest (selftests/vm/inner/mkstate.sh): a full boot, 1-2 minutes since it is emulated twice"
fi
say "starting stock QEMU $("$QI_QEMU" --version | head -n1 | awk '{print $4}') for the inner guest, vhost=on: $how"
if ! qi_up g tap0; then
	result boot 1 "(inner guest did not come up)"
	exit 1
fi
QPID=${QI_PID[g]}
echo "  QEMU pid $QPID"
sed 's/ -/\n      -/g' "${QI_DIR[g]}/cmdline" | sed 's/^/  /'
ip -br addr show tap0 | sed 's/^/  /'
qi_unstream g
result boot 0 "($QI_UP_HOW in ${QI_UP_SECS}s)"

# ---- 4. proof -----------------------------------------------------------------
say "who serves QEMU's virtio-net rings: the vhost worker thread of QEMU pid $QPID"
qi_check_worker g
rc=$?
for w in $(qi_workers "$QPID"); do
	cg=$(cat "/proc/$QPID/cgroup" 2>/dev/null)
	if [ -n "$cg" ] && [ "$(cat "/proc/$w/cgroup" 2>/dev/null)" = "$cg" ]; then
		echo "  worker $w (vhost-$QPID) is in QEMU's cgroup: $(cat "/proc/$w/cgroup")"
	fi
done
echo "  module use: $(lsmod | awk '$1 == "vhx_net" || $1 == "vhost_net" { print $1 " used by " $3 }')"
result worker $rc "(vhost-$QPID)"
if [ -x "$VHXCTL" ]; then
	echo "+ vhxctl list"
	"$VHXCTL" list 2>&1 | sed 's/^/  /'
elif qi_has_stats; then
	echo "+ cat $QI_DEBUGFS"
	sed 's/^/  /' "$QI_DEBUGFS"
fi
S0=$QI_WORK/stats.0
S1=$QI_WORK/stats.1
qi_vq_stats "$QPID" > "$S0" 2>/dev/null

# ---- 5. traffic -----------------------------------------------------------------
say "ping from the inner guest to the VM (10.77.0.1)"
qi_ping g 5
rc=$?
loss=$(grep -o '[0-9]*% packet loss' <<< "$QI_OUT")
result ping $rc "(${loss:-no result})"

say "iperf3: inner guest -> VM, ${SECS}s (server in the VM, client in the inner guest)"
# counters while it runs: what an operator runs (vhxctl watch, rates per
# second); in-tree vhost_net has none to show
DEVID=$(qi_dev_lines "$QPID" 2>/dev/null | sed -n '1s/.* id=\([0-9]*\) .*/\1/p')
WATCH=
if [ "$VHX_TARGET" = vhx ] && [ -x "$VHXCTL" ] && [ -n "$DEVID" ]; then
	echo "+ vhxctl watch -n 4 $DEVID   (live, while iperf3 runs)"
	"$VHXCTL" watch -n 4 "$DEVID" 2>&1 | sed -u 's/^/  vhxctl watch| /' &
	WATCH=$!
fi
qi_iperf g "$SECS" --forceflush
rc=$?
UP=$QI_IPERF_MBPS
say "iperf3: VM -> inner guest (-R), ${SECS}s"
qi_iperf g "$SECS" "-R --forceflush"
rc2=$?
DOWN=$QI_IPERF_MBPS
if [ -n "$WATCH" ]; then
	pkill -INT -f "$VHXCTL watch" 2>/dev/null
	wait "$WATCH" 2>/dev/null
fi
result iperf3 $((rc | rc2)) "(inner->VM ${UP:-?} Mbit/s, VM->inner ${DOWN:-?} Mbit/s)"

# ---- counters ---------------------------------------------------------------------
say "vhx per-queue counters of QEMU $QPID's device(s)"
crc=1
if [ "$VHX_TARGET" != vhx ]; then
	echo "  (in-tree vhost_net keeps no per-queue counters)"
	crc=0
elif qi_vq_stats "$QPID" > "$S1" && [ -s "$S1" ]; then
	[ -x "$VHXCTL" ] && { echo "+ vhxctl stats"; "$VHXCTL" stats 2>&1 | sed 's/^/  /'; }
	echo "  change during ping + iperf3:"
	qi_stats_delta "$S0" "$S1" | sed 's/^/    /'
	read -r RXP RXB < <(awk '$3 == "rx" { p += $4; b += $5 } END { print p + 0, b + 0 }' "$S1")
	read -r TXP TXB < <(awk '$3 == "tx" { p += $4; b += $5 } END { print p + 0, b + 0 }' "$S1")
	read -r DRX DTX < <(qi_stats_delta "$S0" "$S1" | awk '$3 == "rx" { r += $6 } $3 == "tx" { t += $6 } END { print r + 0, t + 0 }')
	[ "$DRX" -gt 0 ] && [ "$DTX" -gt 0 ] && crc=0
else
	echo "  no vhx counters: $QI_DEBUGFS missing"
fi
result counters $crc "(rx +${DRX:-0} tx +${DTX:-0} packets)"

qi_stop g
sleep 1
left=$(qi_workers "$QPID")
[ -z "$left" ] || echo "[demo] warning: worker vhost-$QPID still there after QEMU quit"
result cleanup "$([ -z "$left" ] && echo 0 || echo 1)" ""

# ---- summary ------------------------------------------------------------------
say "summary"
cat <<EOF
  lab VM kernel      $(uname -r), vhost-net implementation: $VHX_TARGET
  QEMU               stock $("$QI_QEMU" --version | head -n1 | awk '{print $4}'), -netdev tap,ifname=tap0,vhost=on -device virtio-net-pci (pid $QPID)
  worker             vhost-$QPID: ${R[worker]:-?}
  inner guest        ${R[boot]:-?} (${QI_UP_HOW:-?} in ${QI_UP_SECS:-?}s)
  ping inner -> VM   ${R[ping]:-?} (${loss:-?})
  iperf3             inner->VM ${UP:-?} Mbit/s, VM->inner ${DOWN:-?} Mbit/s (${SECS}s each, double TCG: function, not speed)
EOF
if [ -s "$S1" ]; then
	echo "  vhx counters       (totals for the run)"
	awk '{ printf "    dev %s %-2s q%s  packets %-8s bytes %-10s kicks %-6s calls %-6s runs %-6s errors %s\n", $1, $3, $2, $4, $5, $6, $7, $8, $10 }' "$S1"
fi
echo "  verdict            $([ $fail -eq 0 ] && echo "PASS: traffic flowed through $VHX_TARGET" || echo "FAIL: $(for k in "${!R[@]}"; do [ "${R[$k]}" = FAIL ] && echo -n "$k "; done)")"
echo "  total              $((SECONDS - T0))s in the lab VM"

# ---- the same on a real host ------------------------------------------------
say "to do the same on a real host (Debian 12, as root; docs/install.md)"
cat <<'EOF'
  apt-get install linux-headers-$(uname -r) dkms
  make dkms-install                          # built now and on every kernel upgrade
  modprobe -r vhost_net; modprobe vhx_net    # /dev/vhost-net is now vhx's

  # stock QEMU, by hand:
  ip tuntap add tap0 mode tap && ip addr add 10.77.0.1/24 dev tap0 && ip link set tap0 up
  qemu-system-x86_64 -accel kvm -m 1G ... \
      -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on \
      -device virtio-net-pci,netdev=n0

  # or libvirt, which opens /dev/vhost-net and passes it to QEMU: in the
  # domain's <devices> (virsh edit), then virsh start; queues='N': multiqueue
  <interface type='network'>
    <source network='default'/>
    <model type='virtio'/>
    <driver name='vhost' queues='2'/>
  </interface>

  vhxctl list                                # the devices and the VM behind each
  vhxctl watch                               # per-queue counters, live
  vhxctl prom > /var/lib/prometheus/node-exporter/vhx.prom   # node_exporter's textfile collector
EOF
exit $fail
