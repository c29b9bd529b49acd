#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest.sh — make bench, guest side: vhx against the in-tree vhost_net in
# one boot of the lab VM (selftests/vm/run.sh --mode bench starts it).
#
#   in-tree vhost_net  -> /dev/vhost-net  (variant "intree")
#   vhx_core + vhx_net devname=vhx-net -> /dev/vhx-net (variants "vhx",
#                                          "vhx-packed")
#   vhx_blk                            -> /dev/vhost-blk (block rows: "vhx",
#                                          "vhx-poll" vs fio "io_uring")
#   vhx_vsock or in-tree vhost_vsock   -> /dev/vhost-vsock, one at a time:
#                                          the vsock group loads and swaps
#                                          them itself (bench/workloads/vsock.sh)
#   for each group (bench/workloads/GROUP.sh):
#     GROUP_check            why it cannot run -> "N" lines ("not run: ...")
#     GROUP_setup V          for each variant V of GROUP_variants (testpmd up)
#     for run in 1..PAIRS: for workload in GROUP_workloads:
#       for V in GROUP_variants: GROUP_measure WORKLOAD V   (A B A B ...)
#                            -> result / failed
#     GROUP_teardown V
#   A and B of one workload are measured back to back, a few seconds
#   apart, so that load from other VMs on the host hits both alike.
#
# Result port (/dev/ttyS1, read by bench/report.py on the host):
#   E KEY VALUE...                                   environment
#   R WORKLOAD METRIC UNIT hi|lo VARIANT RUN VALUE   one measurement
#   N WORKLOAD REASON...                             not run
#   FAIL bench:WORKLOAD:VARIANT:RUN REASON...        could not measure
#   PASS bench:GROUP, summary: N passed, N failed, N skipped
# Nothing here judges speed: only a workload that could not run fails.
#
# Environment (kernel command line): VHX_ROOT, BENCH_PAIRS (3), BENCH_SECS
# (10), BENCH_WARM (2), BENCH_GROUPS (idle,pmd,iperf,packed,blk,vsock),
# BENCH_TX_SIZES (64,256,1500), BENCH_IDLE_DEVS (64), BENCH_PROFILE (0),
# BENCH_TRACE (0; 1: tracepoint cost, see trace_for), BENCH_AA (0; 1: the
# variant vhx-2, A vs A), BENCH_COST (0; 1: instructions per packet, see
# bench/lib/cost.sh),
# BENCH_KO (directory of vhx_core.ko and vhx_net.ko; default $VHX_ROOT/vhost:
# another build can be measured without touching the tree), BENCH_VS_KO
# (directory of vhxb_core.ko and vhxb_net.ko from bench/mkbase.sh: another
# revision of vhx loaded beside, as variant "vhx-base" on /dev/vhx-base).
set -euo pipefail

VHX_ROOT=${VHX_ROOT:?}
PAIRS=${BENCH_PAIRS:-3}
SECS=${BENCH_SECS:-10}
WARM=${BENCH_WARM:-2}
GROUPS_SEL=${BENCH_GROUPS:-idle,pmd,iperf,packed,blk,vsock}
BENCH_TX_SIZES=${BENCH_TX_SIZES:-64,256,1500}
BENCH_TX_SIZES=${BENCH_TX_SIZES//,/ }
[ "$BENCH_TX_SIZES" = none ] && BENCH_TX_SIZES=	# rx-64 alone
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
KO=${BENCH_KO:-$VHX_ROOT/vhost}
VS_KO=${BENCH_VS_KO:-}
FIRST_RUN=1
[ "${BENCH_PROFILE:-0}" = 1 ] && FIRST_RUN=0
WORK=$(mktemp -d /tmp/vhx-bench.XXXXXX)
TC_DROP=0
npass=0 nfail=0 nskip=0
GROUP='' VARIANT='' RUN=''

log() { echo "guest: bench: [${SECONDS}s] $*"; }

if [ -c /dev/ttyS1 ] && { exec 7> /dev/ttyS1; } 2>/dev/null; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null || true
else
	exec 7> "$WORK/results.txt"
fi
emit() { echo "$*" >&7; }

# rate COUNT T0 T1: COUNT per second between two `date +%s.%N` stamps.
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%d\n", n / (b - a) }'; }

dev_of() {
	case $1 in
	intree) echo /dev/vhost-net ;;
	vhx-base*) echo /dev/vhx-base ;;
	*) echo /dev/vhx-net ;;
	esac
}

# The variants of the net groups: vhx, vhx at another revision when loaded
# (BENCH_VS), and the in-tree module last (the baseline of the ratios).
net_variants() { echo "vhx${VS_KO:+ vhx-base} intree"; }

# BENCH_TRACE=1: what vhx's tracepoints cost when on (issue 21).  The pmd
# group gets two more variants on vhx's device: "vhx-trace", measured with
# every vhx:* event enabled and recorded (a tracefs instance of its own, its
# ring buffer overwritten, no reader: as `trace-cmd start -e vhx` leaves
# it), and "vhx-2", measured exactly like "vhx".  vhx-trace / vhx is the
# cost; vhx-2 / vhx is the instrument's own spread (A vs A) beside it.
TRACE_VARIANTS=
[ "${BENCH_TRACE:-0}" = 1 ] && TRACE_VARIANTS=" vhx-trace vhx-2"
# BENCH_AA=1: only "vhx-2", the instrument's own spread (vhx-2 / vhx)
[ "${BENCH_AA:-0}" = 1 ] && [ -z "$TRACE_VARIANTS" ] && TRACE_VARIANTS=" vhx-2"
TRACE_I=/sys/kernel/tracing/instances/vhxbench
# trace_for VARIANT: the vhx events on for vhx-trace, off for any other
trace_for() {
	[ -n "$TRACE_VARIANTS" ] || return 0
	if [ ! -d $TRACE_I ]; then
		[ -d /sys/kernel/tracing/events ] || mount -t tracefs nodev /sys/kernel/tracing
		mkdir $TRACE_I
		echo 0 > $TRACE_I/tracing_on	# a new instance starts on
	fi
	if [ "$1" = vhx-trace ]; then
		echo 0 > $TRACE_I/tracing_on
		echo > $TRACE_I/trace
		echo 1 > $TRACE_I/events/vhx/enable
		echo 1 > $TRACE_I/tracing_on
	elif [ "$(cat $TRACE_I/tracing_on)" = 1 ]; then
		echo 0 > $TRACE_I/events/vhx/enable
		echo 0 > $TRACE_I/tracing_on
		log "vhx-trace: $(awk '/^entries:/ { e += $2 } /^overrun:/ { o += $2 } END { print e + o }' \
			$TRACE_I/per_cpu/cpu*/stats) vhx events recorded"
	fi
}

# result WORKLOAD METRIC UNIT hi|lo VALUE (for the current variant and run;
# run 0 is the profiled one of BENCH_PROFILE=1: logged, never reported)
result() {
	[ "$RUN" != 0 ] && emit "R $1 $2 $3 $4 $VARIANT $RUN $5"
	log "[$GROUP $RUN/$PAIRS] $1 $VARIANT: $5 $3${2:+ ($2)}"
}

failed() {	# failed WORKLOAD REASON
	log "[$GROUP $RUN/$PAIRS] $1 $VARIANT: FAILED: ${2:-unknown}"
	[ "$RUN" = 0 ] && return
	emit "FAIL bench:$1:$VARIANT:$RUN ${2:-unknown}"
	GROUP_FAILED=1
}

# With BENCH_PROFILE=1, run 0 (before the pairs) profiles these workloads.
PROFILED=${BENCH_PROFILE_WORKLOADS:-tx-64,rx-64,iperf-fwd}
profiled() { [[ ",$PROFILED," == *",$1,"* ]]; }

not_run() {	# not_run WORKLOAD REASON
	emit "N $1 $2"
	log "$1: not run: $2"
}

# shellcheck source=bench/lib/testpmd.sh
. "$VHX_ROOT/bench/lib/testpmd.sh"
# shellcheck source=bench/lib/profile.sh
. "$VHX_ROOT/bench/lib/profile.sh"
# shellcheck source=bench/lib/cost.sh
. "$VHX_ROOT/bench/lib/cost.sh"
for f in "$VHX_ROOT"/bench/workloads/*.sh; do
	# shellcheck disable=SC1090
	. "$f"
done

cleanup() {
	tp_quit_all
	pktgen_stop 2> /dev/null || true
	[ -d $TRACE_I ] && { trace_for off; rmdir $TRACE_I; }
	rm -rf "$WORK"
}
trap cleanup EXIT

load_modules() {
	local dep
	modprobe tun
	modprobe tap
	modprobe vhost_net	# the in-tree module owns /dev/vhost-net
	for dep in $(modinfo -F depends "$KO/vhx_core.ko" "$KO/vhx_net.ko" | tr ',' ' '); do
		case $dep in vhx_*) ;; *) modprobe "$dep" ;; esac
	done
	log "insmod $KO/vhx_core.ko, $KO/vhx_net.ko devname=vhx-net"
	insmod "$KO/vhx_core.ko"
	insmod "$KO/vhx_net.ko" devname=vhx-net
	# /dev/vhost-blk for the block rows (a BENCH_KO build may lack it)
	if [ -e "$KO/vhx_blk.ko" ]; then
		log "insmod $KO/vhx_blk.ko"
		insmod "$KO/vhx_blk.ko"
	fi
	if [ -n "$VS_KO" ]; then
		log "insmod $VS_KO/vhxb_core.ko, $VS_KO/vhxb_net.ko devname=vhx-base"
		insmod "$VS_KO/vhxb_core.ko"
		insmod "$VS_KO/vhxb_net.ko" devname=vhx-base
	fi
	for _ in $(seq 1 50); do
		[ -c /dev/vhx-net ] && [ -c /dev/vhost-net ] &&
			{ [ -z "$VS_KO" ] || [ -c /dev/vhx-base ]; } && return 0
		sleep 0.1
	done
	log "device nodes missing: $(ls -l /dev/vhx-net /dev/vhost-net 2>&1 | tr '\n' ' ')"
	return 1
}

environment() {
	emit "E guest_kernel $(uname -r)"
	emit "E guest_cpu $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo) x $(nproc)"
	emit "E guest_mem $(awk '/^MemTotal/ { print $2 " kB" }' /proc/meminfo)"
	emit "E dpdk $(dpkg-query -W -f '${Version}' dpdk-dev 2>/dev/null || echo unknown)"
	emit "E iperf3 $(iperf3 --version 2>/dev/null | head -n1)"
	emit "E vhx $(modinfo -F version "$KO/vhx_net.ko")"
	[ -n "$VS_KO" ] && emit "E vhx_base $(modinfo -F version "$VS_KO/vhxb_net.ko")"
	local mods=vhost_net	# the in-tree modules of the selected groups
	if [[ ",$GROUPS_SEL," == *,vsock,* ]]; then
		mods=vhost_vsock
		[[ ",$GROUPS_SEL," =~ ,(idle|pmd|iperf|packed), ]] && mods="vhost_net, vhost_vsock"
	fi
	emit "E intree $mods of $(uname -r)"
	emit "E fio $(fio --version 2>/dev/null || echo none)"
	emit "E secs $SECS"
	emit "E warm $WARM"
	emit "E pairs $PAIRS"
	emit "E tc_drop $TC_DROP"
	emit "E cost $(cost_on && echo "guest instructions on the workers' vCPU per packet (vhx-icount)" || echo none)"
}

main() {
	local g w v run reason t0=$SECONDS
	log "pairs $PAIRS, ${SECS}s per run (+${WARM}s warm-up), groups $GROUPS_SEL"
	if ! load_modules; then
		emit "FAIL bench:modules could not load vhost_net and vhx_net side by side"
		emit "summary: 0 passed, 1 failed, 0 skipped"
		return 1
	fi
	mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
	if modprobe sch_ingress 2>/dev/null && modprobe cls_matchall 2>/dev/null &&
	   modprobe act_gact 2>/dev/null; then
		TC_DROP=1
	fi
	cost_init
	environment
	for g in ${GROUPS_SEL//,/ }; do
		GROUP=$g
		if ! declare -F "${g}_measure" > /dev/null; then
			log "unknown group $g"
			emit "FAIL bench:$g unknown group"
			nfail=$((nfail + 1))
			continue
		fi
		if ! reason=$("${g}_check"); then
			for w in $("${g}_workloads"); do not_run "$w" "$reason"; done
			emit "SKIP bench:$g $reason"
			nskip=$((nskip + 1))
			continue
		fi
		GROUP_FAILED=0
		log "=== $g: $("${g}_workloads" | tr '\n' ' ')x {$("${g}_variants")} x $PAIRS"
		declare -A down=()
		RUN=0
		for v in $("${g}_variants"); do
			VARIANT=$v
			"${g}_setup" "$v" || down[$v]=$(tp_why)
		done
		for run in $(seq "$FIRST_RUN" "$PAIRS"); do
			for w in $("${g}_workloads"); do
				[ "$run" = 0 ] && ! profiled "$w" && continue
				for v in $("${g}_variants"); do
					VARIANT=$v RUN=$run
					if [ -n "${down[$v]:-}" ]; then
						failed "$w" "set-up failed: ${down[$v]}"
					else
						trace_for "$v"
						"${g}_measure" "$w" "$v"
						trace_for off
					fi
				done
			done
		done
		for v in $("${g}_variants"); do "${g}_teardown" "$v"; done
		unset down
		if [ "$GROUP_FAILED" = 0 ]; then
			emit "PASS bench:$g"
			npass=$((npass + 1))
		else
			nfail=$((nfail + 1))
		fi
		log "=== $g done after $((SECONDS - t0))s"
	done
	[ -c /dev/vhost-blk ] && { rmmod vhx_blk || log "warning: rmmod vhx_blk failed"; }
	rmmod vhx_net vhx_core || log "warning: rmmod vhx_net vhx_core failed"
	[ -n "$VS_KO" ] && { rmmod vhxb_net vhxb_core || log "warning: rmmod vhxb_* failed"; }
	log "finished in $((SECONDS - t0))s"
	emit "summary: $npass passed, $nfail failed, $nskip skipped"
}

main "$@"
