# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034  # COST, COST_INSNS: read by the workloads
# cost.sh — the cost figure of the net workloads: guest instructions the
# worker's vCPU executes per packet, counted by QEMU itself
# (bench/icount/vhx-icount.so, a TCG plugin), so that it does not move with
# the host's load the way a rate does.
#
#   vCPU 0: the vhost workers (pinned by cost_pin), and what runs in their
#           context: tun, the stack up to the tc drop, softirqs they raise,
#           wake-ups and the idle entries between runs (a halted vCPU
#           executes nothing)
#   vCPU 1: everything else: testpmd's lcores (--lcores 0@1,1@1), this
#           script and its children, pktgen (kpktgend_1)
#
#   cost_on              is the instrument there (BENCH_COST=1 and the
#                        plugin's counts readable)?
#   cost_pin OWNER_PID   pin the owner's vhost workers ("vhost-PID") to vCPU 0
#   cost_mark [start|stop]  COST_INSNS: vCPU 0's instruction count now;
#                        with BENCH_IPROF=1, start/stop also start and
#                        write out vCPU 0's instruction profile
#   cost_per NAME N I0 I1  COST: (I1 - I0) / N, instructions per packet;
#                        with BENCH_IPROF=1 also the profile's top
#                        functions, per packet, on the console
#   cost_lcores          testpmd's lcore option for this layout
#   cost_pktgen          the pktgen thread for this layout
# Sourced by bench/guest.sh.  COST_FILE is the plugin's output as the guest
# sees it (a 9p mount without a cache, made by cost_init).

COST_DIR=/run/vhx-icount
COST_FILE=$COST_DIR/counts
COST_PROF=$COST_DIR/profile
COST_PROF_TOP=${BENCH_IPROF_TOP:-25}
COST_CPU=0
COST_OK=0

cost_init() {
	[ "${BENCH_COST:-0}" = 1 ] || return 0
	mkdir -p $COST_DIR
	if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=none vhxicount $COST_DIR; then
		log "cost: no 9p export vhxicount: no cost figures"
		return 0
	fi
	if ! "$VHX_ROOT/bench/progs/icount_mark" $COST_FILE > /dev/null; then
		log "cost: the plugin does not answer: no cost figures"
		return 0
	fi
	COST_OK=1
	# this script and all it starts on vCPU 1; only the workers on vCPU 0
	taskset -pc 1 $$ > /dev/null
	log "cost: guest instructions on vCPU $COST_CPU per packet (vhx-icount)"
}

cost_on() { [ "$COST_OK" = 1 ]; }

cost_lcores() { if cost_on; then echo --lcores=0@1,1@1; else echo -l0-1; fi; }
cost_pktgen() { if cost_on; then echo kpktgend_1; else echo kpktgend_0; fi; }

cost_pin() {
	cost_on || return 0
	local tid n=0
	for tid in $(ps -eLo tid=,comm= | awk -v c="vhost-$1" '$2 == c { print $1 }'); do
		taskset -pc $COST_CPU "$tid" > /dev/null && n=$((n + 1))
	done
	[ $n -gt 0 ] || log "cost: no vhost-$1 worker to pin"
}

iprof_on() { cost_on && [ "${BENCH_IPROF:-0}" = 1 ]; }

cost_mark() {
	COST_INSNS=
	cost_on || return 0
	local line kind=
	iprof_on && kind=${1:-}
	# shellcheck disable=SC2086  # kind: no word, or one
	line=$(taskset -c 1 "$VHX_ROOT/bench/progs/icount_mark" $COST_FILE $kind) || return 0
	# SEQ CPU0 CPU1 ...
	COST_INSNS=$(awk -v c=$COST_CPU '{ print $(c + 2) }' <<< "$line")
}

cost_per() {
	COST=
	[ -n "$3" ] && [ -n "$4" ] && [ "$2" -gt 0 ] || return 0
	COST=$(awk -v n="$2" -v a="$3" -v b="$4" 'BEGIN { printf "%.1f\n", (b - a) / n }')
	cost_prof "$1" "$2"
}

# The profile's blocks ("ADDRESS INSNS", 16 hex digits) against the text
# symbols of /proc/kallsyms: merged as strings (awk's numbers cannot hold a
# kernel address), each block counted to the symbol at or below it.
cost_prof() {
	iprof_on && [ -s $COST_PROF ] && [ "$2" -gt 0 ] || return 0
	local total
	total=$(awk '{ s += $2 } END { printf "%.0f\n", s }' $COST_PROF)
	log "iprof: $1: $(awk -v t="$total" -v n="$2" 'BEGIN { printf "%.0f", t / n }') insn/pkt on vCPU 0 in the profile, by function:"
	{ awk 'tolower($2) ~ /^[tw]$/ { print $1, 0, $3 ($4 == "" ? "" : " " $4) }' /proc/kallsyms
	  awk '{ print $1, 1, $2 }' $COST_PROF; } |
		LC_ALL=C sort -k1,1 -k2,2n |
		awk '$2 == 0 { sym = $3 ($4 == "" ? "" : " " $4); next }
		     { c[sym == "" ? "(user)" : sym] += $3 }
		     END { for (s in c) printf "%.0f %s\n", c[s], s }' |
		sort -rn | head -n "$COST_PROF_TOP" |
		awk -v n="$2" -v t="$total" -v w="$1" '{ v = $1; $1 = ""
			printf "guest: iprof: %s: %8.1f insn/pkt %5.1f%%%s\n", w, v / n, 100 * v / t, $0 }' ||
		true	# head's early exit is not the workload's failure
}
