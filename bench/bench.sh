#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh — make bench: vhx against the in-tree vhost_net, side by side.
#
#   host                                   lab VM (Debian 6.1, TCG, 1 boot)
#   ----                                   --------------------------------
#   selftests/vm/run.sh --mode bench --->  bench/guest.sh: vhost_net on
#     (through $VMSLOT when set)             /dev/vhost-net, vhx on /dev/vhx-net;
#                                            bench/workloads/*.sh, A B A B
#   out/run-*/result.txt  <---- ttyS1 ---  "R|N|E|FAIL ..." lines
#   bench/report.py ------------------->   bench/results/DATE-KERNEL.md + *.png
#
# Knobs (environment, or make variables of the same name):
#   BENCH_PAIRS (3)  runs of each variant, alternating A B A B
#   BENCH_SECS (10)  measured seconds per run (BENCH_WARM=2 before each)
#   BENCH_GROUPS     idle,pmd,iperf,packed,blk,vsock (all, in this order)
#   BENCH_COST (1)   the cost figure, guest instructions per packet
#                    (bench/lib/cost.sh); 0: rates only
#   BENCH_AA (0)     1: also vhx-2, vhx measured again (A vs A)
#   BENCH_TX_SIZES   64,256,1500: the pmd group's TX frame sizes ("none": rx-64 only)
#   BENCH_IPROF (0)  1: and where the instructions go, by function, on the
#                    console (BENCH_IPROF_TOP=25 lines per run)
#   BENCH_OUT        report path (default bench/results/DATE-KERNEL.md)
#   KVER             guest kernel (default: newest installed 6.1)
#   BENCH_KO         directory with another vhx_core.ko/vhx_net.ko to measure
#                    (must be visible in the VM: not under /tmp)
#   BENCH_VS         a git revision: also measure vhx as of REV, loaded beside
#                    (bench/mkbase.sh), as variant "vhx-base": before/after
#                    rows from one boot
#   VMSLOT           prefix for the VM command (e.g. "nice -n 10", or a
#                    wrapper that waits for a free slot on a shared host)
# Exit status: 0 if every workload that could run was measured; 1 if any
# run could not be measured (testpmd died, ...) or the VM failed.  Speed is
# never judged.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
ROOT=$(cd "$HERE/.." && pwd -P)
PAIRS=${BENCH_PAIRS:-3}
SECS=${BENCH_SECS:-10}
WARM=${BENCH_WARM:-2}
GROUPS_SEL=${BENCH_GROUPS:-idle,pmd,iperf,packed,blk,vsock}
KVER=${KVER:-$("$ROOT/scripts/kernels.sh" kver 6.1)}
OUTDIR=$HERE/out
log() { echo "[+] host: bench: $*"; }
die() { echo "host: bench: error: $*" >&2; exit 2; }

[ -n "$KVER" ] || die "no /lib/modules/6.1.* (run: make deps)"
for f in vhost/vhx_core.ko vhost/vhx_net.ko bench/progs/idle_devs bench/progs/dev_features \
	 bench/progs/icount_mark bench/icount/vhx-icount.so; do
	[ -e "$ROOT/$f" ] || die "$f missing (run: make modules tools)"
done
command -v gnuplot > /dev/null || die "no gnuplot (run: scripts/install-deps.sh --bench)"

# The run time, told before it starts: about SECS + WARM + 3 s per
# measurement (6 per variant and pair, plus ~15 s for idle), and ~1.5 min
# of testpmd and namespace set-up per variant.
nvar=$([ -n "${BENCH_VS:-}" ] && echo 3 || echo 2)
est=$(( (PAIRS * nvar * (6 * (SECS + WARM + 3) + 15) + 90 * nvar) / 60 + 1 ))
log "kernel $KVER, $PAIRS pairs x ${SECS}s (+${WARM}s warm-up), groups $GROUPS_SEL"
log "expect roughly $est minutes (more on a busy host); progress follows"

# Other QEMU VMs on the host (not this run's) and their vCPUs: what loads
# the host besides us.  Counts only, no paths.
other_vms() {
	ps -eo args= | awk -v out="$OUTDIR/" '$1 ~ /qemu-system-x86_64$/ {
		ours = 0; smp = 1
		for (i = 1; i < NF; i++) {
			if ($i == "-initrd" && index($(i + 1), out) == 1)
				ours = 1
			if ($i == "-smp") {
				smp = $(i + 1); sub(/^cpus=/, "", smp); sub(/[^0-9].*/, "", smp)
			}
		}
		if (!ours) { n++; cpus += smp }
	} END { if (n) printf "%d (%d vCPUs)\n", n, cpus; else print "none" }'
}

mkdir -p "$OUTDIR"
HOSTENV=$(mktemp "$OUTDIR/hostenv.XXXXXX")
trap 'rm -f "$HOSTENV"' EXIT
{
	echo "date $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "host_cpu $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) x $(nproc)"
	echo "qemu $(qemu-system-x86_64 --version | head -n1)"
	echo "accel ${VHX_ACCEL:-tcg}"
	echo "git $(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "load_start $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$HOSTENV"

t0=$(date +%s)
extra="BENCH_PAIRS=$PAIRS BENCH_SECS=$SECS BENCH_WARM=$WARM BENCH_GROUPS=$GROUPS_SEL"
[ -n "${BENCH_TX_SIZES:-}" ] && extra+=" BENCH_TX_SIZES=${BENCH_TX_SIZES// /,}"
[ -n "${BENCH_IDLE_DEVS:-}" ] && extra+=" BENCH_IDLE_DEVS=$BENCH_IDLE_DEVS"
[ -n "${BENCH_PROFILE:-}" ] && extra+=" BENCH_PROFILE=$BENCH_PROFILE"
[ -n "${BENCH_TRACE:-}" ] && extra+=" BENCH_TRACE=$BENCH_TRACE"
[ -n "${BENCH_KO:-}" ] && extra+=" BENCH_KO=$BENCH_KO"
if [ -n "${BENCH_VS:-}" ]; then
	vs_ko=$(bash "$HERE/mkbase.sh" "$BENCH_VS" "$OUTDIR/base" "${KDIR:-/lib/modules/$KVER/build}")
	extra+=" BENCH_VS_KO=$vs_ko"
	log "vhx-base: vhx at $BENCH_VS ($vs_ko)"
fi
# The cost figure (bench/lib/cost.sh): QEMU counts the guest's instructions
# per vCPU (bench/icount/vhx-icount.so) into a file the guest reads through
# a second 9p export, without a cache.  BENCH_COST=0 leaves it out.
qemu_args=${VHX_VM_QEMU_ARGS:-}
if [ "${BENCH_COST:-1}" = 1 ]; then
	icdir=$(mktemp -d "$OUTDIR/icount.XXXXXX")
	chmod 755 "$icdir"
	prof=
	[ "${BENCH_IPROF:-0}" = 1 ] && prof=",prof=$icdir/profile" &&
		extra+=" BENCH_IPROF=1 BENCH_IPROF_TOP=${BENCH_IPROF_TOP:-25}"
	qemu_args+=" -plugin $HERE/icount/vhx-icount.so,out=$icdir/counts$prof"
	qemu_args+=" -virtfs local,path=$icdir,mount_tag=vhxicount,security_model=none,readonly=on"
	extra+=" BENCH_COST=1"
	log "cost: guest instructions per packet counted by QEMU ($icdir/counts)"
fi
[ -n "${BENCH_AA:-}" ] && extra+=" BENCH_AA=$BENCH_AA"
log "other VMs at start: $(other_vms)"
echo "other_vms_start $(other_vms)" >> "$HOSTENV"
set +e
# shellcheck disable=SC2086  # VMSLOT is a command prefix
# 8 GiB: every variant keeps a testpmd (1 GiB of --no-huge memory) up so
# that runs alternate; with BENCH_VS the packed group has four, and in 4 GiB
# the OOM killer took them (seen).
VHX_VM_MEM=${VHX_VM_MEM:-8G} VHX_VM_QEMU_ARGS=$qemu_args \
VHX_VM_OUT=$OUTDIR VHX_CMDLINE_EXTRA="$extra ${VHX_CMDLINE_EXTRA:-}" \
	${VMSLOT:-} bash "$ROOT/selftests/vm/run.sh" --mode bench --kver "$KVER" \
	--timeout "${BENCH_TIMEOUT:-5400}"
vmrc=$?
set -e
t1=$(date +%s)
RESULT=$OUTDIR/latest/result.txt
[ -s "$RESULT" ] || die "no results from the VM (see $OUTDIR/latest/console.log)"
{
	echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "other_vms at start: $(sed -n 's/^other_vms_start //p' "$HOSTENV"); at end: $(other_vms)"
	echo "wall $(( (t1 - t0) / 60 )) min $(( (t1 - t0) % 60 )) s"
	echo "kver $KVER"
} >> "$HOSTENV"

if [ -n "${BENCH_OUT:-}" ]; then
	OUT=$BENCH_OUT
else
	mkdir -p "$HERE/results"
	OUT=$HERE/results/$(date -u +%Y-%m-%d-%H%M)-$KVER.md
fi
cp "$RESULT" "${OUT%.md}.raw.txt"
/usr/bin/python3 "$HERE/report.py" "$RESULT" "$HOSTENV" "$OUT"
log "report: $OUT"
sed -n '/^## Summary/,/^↑/p' "$OUT"
if grep -q '^FAIL bench:' "$RESULT"; then
	log "FAIL: some runs could not be measured:"
	grep '^FAIL bench:' "$RESULT" | sed 's/^/    /'
	exit 1
fi
[ "$vmrc" -eq 0 ] || { log "FAIL: the VM run failed (exit $vmrc), see $OUTDIR/latest/console.log"; exit 1; }
log "done"
