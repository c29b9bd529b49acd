# SPDX-License-Identifier: GPL-2.0
# pmd.sh — packets per second with DPDK testpmd over virtio-user.
#
#   testpmd (virtio-user PMD) <-> $DEV (vhost-net worker) <-> tap "vbt0"
#   tx-SIZE: testpmd txonly, SIZE-byte frames; counted at the tap
#            (rx_packets), dropped by a tc ingress matchall so the host stack
#            does not compete with the worker
#   rx-64:   pktgen transmits 64-byte frames into the tap (its egress is the
#            worker's RX) -> testpmd rxonly; counted in testpmd (RX-packets)
#
# Groups: "pmd" (split rings, vhx vs in-tree) and "packed" (vhx packed vs vhx
# split vs in-tree split, 64 B; runs only when vhx offers bit 34).
# Sourced by bench/guest.sh (result, failed, dev_of, progress, $SECS, $WARM).

PMD_IF=vbt0
PMD_SIZES=${BENCH_TX_SIZES:-64 256 1500}

pmd_workloads() { local s; for s in $PMD_SIZES; do echo "tx-$s"; done; echo rx-64; }
pmd_variants() { echo "vhx intree"; }
pmd_check() { pmd_tools_check; }

packed_workloads() { echo "packed-tx-64 packed-rx-64"; }
packed_variants() { echo "vhx-packed vhx intree"; }
packed_check() {
	pmd_tools_check || return 1
	if ! "$VHX_ROOT/tools/bench/dev_features" -b 34 "$(dev_of vhx)" > /dev/null; then
		echo "device does not offer VIRTIO_F_RING_PACKED"
		return 1
	fi
}

pmd_tools_check() {
	command -v "$TESTPMD" > /dev/null || { echo "no dpdk-testpmd (apt-get install dpdk)"; return 1; }
	[ -e /proc/net/pktgen/pgctrl ] || modprobe pktgen 2>/dev/null ||
		{ echo "no pktgen module"; return 1; }
}

ifstat() { cat "/sys/class/net/$PMD_IF/statistics/$1"; }
now() { date +%s.%N; }

# pmd_up DEV PACKED: testpmd with one port on DEV, the tap up and quiet.
pmd_up() {
	local args="net_virtio_user0,path=$1,queues=1,queue_size=1024,iface=$PMD_IF"
	[ "$2" = 1 ] && args+=",packed_vq=1"
	tp_start --vdev="$args" || return 1
	sysctl -qw "net.ipv6.conf.$PMD_IF.disable_ipv6=1" 2>/dev/null || true
	ip link set "$PMD_IF" txqueuelen 4096 up ||
		{ TP_WHY="no tap $PMD_IF after testpmd start"; return 1; }
	if [ "$TC_DROP" = 1 ]; then
		tc qdisc add dev "$PMD_IF" clsact &&
			tc filter add dev "$PMD_IF" ingress matchall action drop ||
			{ TP_WHY="tc drop on $PMD_IF failed"; return 1; }
	fi
	sleep 1
}

# pmd_tx SIZE -> VAL=pps (tap rx_packets over $SECS after $WARM)
pmd_tx() {
	local r0 r1 t0 t1
	tp_cmd "set fwd txonly" && tp_cmd "set txpkts $1" && tp_cmd start || return 1
	sleep "$WARM"
	r0=$(ifstat rx_packets); t0=$(now)
	sleep "$SECS"
	r1=$(ifstat rx_packets); t1=$(now)
	tp_cmd stop 60 || return 1
	[ "$r1" -gt "$r0" ] || { TP_WHY="no frame reached $PMD_IF"; return 1; }
	VAL=$(rate $((r1 - r0)) "$t0" "$t1")
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
	echo rem_device_all > /proc/net/pktgen/kpktgend_0 2>/dev/null || true
}

# pmd_rx SIZE -> VAL=pps (testpmd RX-packets over $SECS after $WARM)
pmd_rx() {
	local r0 r1 t0 t1 mac
	tp_cmd "set fwd rxonly" && tp_cmd start || return 1
	mac=$(cat "/sys/class/net/$PMD_IF/address")
	pg kpktgend_0 rem_device_all && pg kpktgend_0 "add_device $PMD_IF" &&
		pg "$PMD_IF" "count 0" && pg "$PMD_IF" "clone_skb 0" &&
		pg "$PMD_IF" "delay 0" && pg "$PMD_IF" "pkt_size $1" &&
		pg "$PMD_IF" "dst 198.18.0.2" && pg "$PMD_IF" "src_min 198.18.0.1" &&
		pg "$PMD_IF" "src_max 198.18.0.1" &&
		pg "$PMD_IF" "dst_mac 02:00:00:00:00:02" && pg "$PMD_IF" "src_mac $mac" ||
		return 1
	echo start > /proc/net/pktgen/pgctrl &	# returns on "stop"
	PG_PID=$!
	sleep "$WARM"
	t0=$(now); tp_cmd "show port stats 0" || { pktgen_stop; return 1; }
	r0=$(tp_stat 0 RX-packets)
	sleep "$SECS"
	t1=$(now); tp_cmd "show port stats 0" || { pktgen_stop; return 1; }
	r1=$(tp_stat 0 RX-packets)
	pktgen_stop
	tp_cmd stop 60 || return 1
	[ "$r1" -gt "$r0" ] || { TP_WHY="testpmd received nothing"; return 1; }
	VAL=$(rate $((r1 - r0)) "$t0" "$t1")
}

# pmd_measure WORKLOAD FN ARG: one measurement, a result or a failure.
pmd_measure() {
	VAL=
	if "$2" "$3" && [ -n "$VAL" ]; then
		result "$1" rate pps hi "$VAL"
	else
		failed "$1" "$(tp_why)"
	fi
}

pmd_group_run() {	# pmd_group_run VARIANT PACKED PREFIX
	local s sizes=$PMD_SIZES
	[ -n "$3" ] && sizes=64
	if ! pmd_up "$(dev_of "$1")" "$2"; then
		for s in $sizes; do failed "${3}tx-$s" "$(tp_why)"; done
		failed "${3}rx-64" "$(tp_why)"
		tp_quit
		return
	fi
	for s in $sizes; do
		pmd_measure "${3}tx-$s" pmd_tx "$s"
	done
	pmd_measure "${3}rx-64" pmd_rx 64
	tp_quit
}

pmd_run() { pmd_group_run "$1" 0 ""; }

packed_run() {
	case $1 in
	vhx-packed) pmd_group_run vhx 1 packed- ;;
	*) pmd_group_run "$1" 0 packed- ;;
	esac
}
