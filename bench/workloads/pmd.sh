# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034  # TP_WHY is read by bench/guest.sh
# pmd.sh — packets per second with DPDK testpmd over virtio-user.
#
#   testpmd "V" (virtio-user PMD) <-> dev of V (vhost-net worker) <-> tap
#   tx-SIZE: testpmd txonly, SIZE-byte frames; counted at the tap
#            (rx_packets), dropped by a tc ingress matchall so the host stack
#            does not compete with the worker
#   rx-64:   pktgen transmits 64-byte frames into the tap (its egress is the
#            worker's RX) -> testpmd rxonly; counted in testpmd (RX-packets)
#
# One testpmd per variant stays up for the whole group (only one forwards
# at a time), so runs of the variants alternate every measurement.
# Groups: "pmd" (split rings, vhx vs in-tree) and "packed" (vhx packed vs vhx
# split vs in-tree split, 64 B; runs only when vhx offers bit 34; with
# BENCH_VS also vhx-base on packed rings).
# Sourced by bench/guest.sh (result, failed, dev_of, $SECS, $WARM).

PMD_SIZES=$BENCH_TX_SIZES	# guest.sh's default; empty: rx-64 alone
declare -A PMD_IF=([vhx]=vbtx [intree]=vbti [vhx-packed]=vbtp [vhx-base]=vbtb
		   [vhx-base-packed]=vbtq [vhx-trace]=vbtt [vhx-2]=vbt2)

pmd_workloads() { local s; for s in $PMD_SIZES; do echo "tx-$s"; done; echo rx-64; }
pmd_variants() { echo "vhx${TRACE_VARIANTS}${VS_KO:+ vhx-base} intree"; }
pmd_check() { pmd_tools_check; }
pmd_setup() { pmd_up "$1"; }
pmd_teardown() { tp_quit "pmd-$1"; }
pmd_measure() { pmd_one "$@"; }

packed_workloads() { echo "packed-tx-64 packed-rx-64"; }
# With BENCH_VS, vhx at the other revision on packed rings too (before/after).
packed_variants() { echo "vhx-packed${VS_KO:+ vhx-base-packed} vhx intree"; }
packed_check() {
	pmd_tools_check || return 1
	if ! "$VHX_ROOT/bench/progs/dev_features" -b 34 "$(dev_of vhx)" > /dev/null; then
		echo "device does not offer VIRTIO_F_RING_PACKED"
		return 1
	fi
}
packed_setup() { pmd_up "$1"; }
packed_teardown() { tp_quit "pmd-$1"; }
packed_measure() { pmd_one "${1#packed-}" "$2" "$1"; }

pmd_tools_check() {
	command -v "$TESTPMD" > /dev/null || { echo "no dpdk-testpmd (apt-get install dpdk)"; return 1; }
	[ -e /proc/net/pktgen/pgctrl ] || modprobe pktgen 2>/dev/null ||
		{ echo "no pktgen module"; return 1; }
}

ifstat() { cat "/sys/class/net/$1/statistics/$2"; }
now() { date +%s.%N; }

# pmd_up VARIANT: its testpmd with one port, the tap up and quiet.
pmd_up() {
	local ifc=${PMD_IF[$1]}
	local args
	args="net_virtio_user0,path=$(dev_of "$1"),queues=1,queue_size=1024,iface=$ifc"
	[[ $1 == *-packed ]] && args+=",packed_vq=1"
	tp_start "pmd-$1" --vdev="$args" || return 1
	cost_pin "${TP_PID[pmd-$1]}"
	sysctl -qw "net.ipv6.conf.$ifc.disable_ipv6=1" 2>/dev/null || true
	ip link set "$ifc" txqueuelen 4096 up ||
		{ TP_WHY="no tap $ifc after testpmd start"; return 1; }
	if [ "$TC_DROP" = 1 ]; then
		tc qdisc add dev "$ifc" clsact &&
			tc filter add dev "$ifc" ingress matchall action drop ||
			{ TP_WHY="tc drop on $ifc failed"; return 1; }
	fi
}

# pmd_tx VARIANT SIZE -> VAL=pps (tap rx_packets over $SECS after $WARM),
# COST (instructions per packet, cost.sh)
pmd_tx() {
	local id=pmd-$1 ifc=${PMD_IF[$1]} r0 r1 t0 t1 i0 i1
	tp_cmd "$id" "set fwd txonly" && tp_cmd "$id" "set txpkts $2" &&
		tp_cmd "$id" start || return 1
	prof_start "tx-$2"
	sleep "$WARM"
	cost_mark start; i0=$COST_INSNS
	r0=$(ifstat "$ifc" rx_packets); t0=$(now)
	sleep "$SECS"
	r1=$(ifstat "$ifc" rx_packets); t1=$(now)
	cost_mark stop; i1=$COST_INSNS
	prof_stop "tx-$2"
	tp_cmd "$id" stop 60 || return 1
	[ "$r1" -gt "$r0" ] || { TP_WHY="no frame reached $ifc"; return 1; }
	VAL=$(rate $((r1 - r0)) "$t0" "$t1")
	cost_per "tx-$2 $1 run $RUN" $((r1 - r0)) "$i0" "$i1"
}

pg() {	# pg FILE CMD
	echo "$2" > "/proc/net/pktgen/$1"
	grep -q '^Result: OK' "/proc/net/pktgen/$1" ||
		{ TP_WHY="pktgen $1 '$2': $(grep '^Result' "/proc/net/pktgen/$1")"; return 1; }
}

pktgen_stop() {
	echo stop > /proc/net/pktgen/pgctrl 2>/dev/null || true
	[ -n "${PG_PID:-}" ] && { wait "$PG_PID" 2>/dev/null || true; }
	PG_PID=
	echo rem_device_all > /proc/net/pktgen/$PG_THREAD 2>/dev/null || true
}

# pmd_rx VARIANT SIZE -> VAL=pps (testpmd RX-packets over $SECS after
# $WARM), COST.  pktgen's thread of vCPU 0, or of vCPU 1 beside testpmd
# when the workers' vCPU is measured (cost.sh).
PG_THREAD=kpktgend_0
pmd_rx() {
	local id=pmd-$1 ifc=${PMD_IF[$1]} r0 r1 t0 t1 i0 i1 mac
	PG_THREAD=$(cost_pktgen)
	tp_cmd "$id" "set fwd rxonly" && tp_cmd "$id" start || return 1
	mac=$(cat "/sys/class/net/$ifc/address")
	pg $PG_THREAD rem_device_all && pg $PG_THREAD "add_device $ifc" &&
		pg "$ifc" "count 0" && pg "$ifc" "clone_skb 0" &&
		pg "$ifc" "delay 0" && pg "$ifc" "pkt_size $2" &&
		pg "$ifc" "dst 198.18.0.2" && pg "$ifc" "src_min 198.18.0.1" &&
		pg "$ifc" "src_max 198.18.0.1" &&
		pg "$ifc" "dst_mac 02:00:00:00:00:02" && pg "$ifc" "src_mac $mac" ||
		return 1
	echo start > /proc/net/pktgen/pgctrl &	# returns on "stop"
	PG_PID=$!
	prof_start "rx-$2"
	sleep "$WARM"
	cost_mark start; i0=$COST_INSNS
	t0=$(now); tp_cmd "$id" "show port stats 0" || { pktgen_stop; return 1; }
	r0=$(tp_stat "$id" 0 RX-packets)
	sleep "$SECS"
	t1=$(now); tp_cmd "$id" "show port stats 0" || { pktgen_stop; return 1; }
	cost_mark stop; i1=$COST_INSNS
	prof_stop "rx-$2"
	r1=$(tp_stat "$id" 0 RX-packets)
	pktgen_stop
	tp_cmd "$id" stop 60 || return 1
	[ "$r1" -gt "$r0" ] || { TP_WHY="testpmd received nothing"; return 1; }
	VAL=$(rate $((r1 - r0)) "$t0" "$t1")
	cost_per "rx-$2 $1 run $RUN" $((r1 - r0)) "$i0" "$i1"
}

# pmd_one WORKLOAD VARIANT [NAME]: one measurement; restarts a testpmd
# that died in an earlier run.
pmd_one() {
	local name=${3:-$1}
	VAL=
	if ! tp_alive "pmd-$2"; then
		tp_quit "pmd-$2"
		log "restarting testpmd for $2"
		pmd_up "$2" || { failed "$name" "$(tp_why)"; return; }
	fi
	local rc=0
	COST=
	case $1 in
	tx-*) pmd_tx "$2" "${1#tx-}" || rc=1 ;;
	rx-*) pmd_rx "$2" "${1#rx-}" || rc=1 ;;
	esac
	if [ $rc = 0 ] && [ -n "$VAL" ]; then
		result "$name" rate pps hi "$VAL"
		[ -n "$COST" ] && result "$name" cost insn/pkt lo "$COST"
	else
		failed "$name" "$(tp_why)"
	fi
}
