# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034  # TP_WHY is read by bench/guest.sh
# iperf.sh — TCP between two network namespaces bridged by testpmd.
#
#   netns vbV0: vbV0 198.18.N.1/24          netns vbV1: vbV1 198.18.N.2/24
#        | tap                                   ^ tap
#        v                                       |
#   dev fd 0 (worker) -> testpmd port 0 --io--> port 1 -> dev fd 1 (worker)
#
#   iperf-fwd: iperf3 -c in vbV0 -> -s in vbV1 (receiver Mbit/s)
#   iperf-rev: the same with -R (vbV1 sends)
# Both vhost-net devices are of the variant V under test; each variant has
# its own testpmd, taps, namespaces and subnet, all up for the whole group.

declare -A IPERF_TAG=([vhx]=x [intree]=i [vhx-base]=b) IPERF_NET=([vhx]=1 [intree]=2 [vhx-base]=3)

iperf_workloads() { echo "iperf-fwd iperf-rev"; }
iperf_variants() { net_variants; }
iperf_check() {
	command -v "$TESTPMD" > /dev/null || { echo "no dpdk-testpmd (apt-get install dpdk)"; return 1; }
	command -v iperf3 > /dev/null || { echo "no iperf3 (apt-get install iperf3)"; return 1; }
}

iperf_ns() { echo "vbn${IPERF_TAG[$1]}$2"; }	# iperf_ns VARIANT 0|1
iperf_if() { echo "vbi${IPERF_TAG[$1]}$2"; }
iperf_ip() { echo "198.18.${IPERF_NET[$1]}.$(($2 + 1))"; }

iperf_teardown() {
	local i pidf=$WORK/iperf3-$1.pid
	[ -f "$pidf" ] && { kill "$(cat "$pidf")" 2>/dev/null || true; }
	rm -f "$pidf"
	for i in 0 1; do ip netns del "$(iperf_ns "$1" $i)" 2>/dev/null || true; done
	tp_quit "iperf-$1"
}

iperf_setup() {	# iperf_setup VARIANT
	local v=$1 i dev ns ifc
	dev=$(dev_of "$v")
	tp_start "iperf-$v" \
		--vdev="net_virtio_user0,path=$dev,queues=1,queue_size=1024,iface=$(iperf_if "$v" 0)" \
		--vdev="net_virtio_user1,path=$dev,queues=1,queue_size=1024,iface=$(iperf_if "$v" 1)" ||
		return 1
	tp_cmd "iperf-$v" "set fwd io" && tp_cmd "iperf-$v" start || return 1
	for i in 0 1; do
		ns=$(iperf_ns "$v" $i) ifc=$(iperf_if "$v" $i)
		ip netns add "$ns" &&
		ip link set "$ifc" netns "$ns" &&
		ip -n "$ns" link set lo up &&
		ip -n "$ns" addr add "$(iperf_ip "$v" $i)/24" dev "$ifc" &&
		ip -n "$ns" link set "$ifc" up ||
			{ TP_WHY="cannot move $ifc into netns $ns"; return 1; }
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
	done
	ip netns exec "$(iperf_ns "$v" 1)" iperf3 -s -D -I "$WORK/iperf3-$v.pid" > /dev/null ||
		{ TP_WHY="iperf3 -s did not start"; return 1; }
	# The first frames through testpmd also resolve ARP (busybox: no
	# iputils-ping on a minimal host).
	for _ in $(seq 1 30); do
		ip netns exec "$(iperf_ns "$v" 0)" busybox ping -c1 -W1 "$(iperf_ip "$v" 1)" \
			> /dev/null 2>&1 && return 0
	done
	TP_WHY="no ping from $(iperf_ns "$v" 0) to $(iperf_ip "$v" 1) through testpmd"
	iperf_diag "$v"
	return 1
}

iperf_diag() {	# what the two sides look like, when they do not talk
	local i ns
	for i in 0 1; do
		ns=$(iperf_ns "$1" $i)
		ip -n "$ns" -s link show "$(iperf_if "$1" $i)" 2>&1 | sed "s/^/guest: bench:   $ns: /" || true
		ip -n "$ns" neigh 2>&1 | sed "s/^/guest: bench:   $ns neigh: /" || true
	done
	tp_cmd "iperf-$1" "show port stats all" &&
		grep -aE 'NIC statistics|RX-packets|TX-packets' "${TP_LOG[iperf-$1]}" |
		tail -n 6 | sed 's/^/guest: bench:   testpmd: /' || true
}

# iperf_one VARIANT [-R] -> VAL=receiver Mbit/s over $SECS ($WARM omitted)
iperf_one() {
	local v=$1 out
	shift
	out=$(ip netns exec "$(iperf_ns "$v" 0)" timeout $((SECS + WARM + 30)) \
		iperf3 -c "$(iperf_ip "$v" 1)" -t "$SECS" -O "$WARM" -f m "$@" 2>&1) ||
		{ TP_WHY="iperf3 failed: $(tail -n1 <<< "$out")"; return 1; }
	VAL=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") v = $i }
		   END { print v }' <<< "$out")
	[ -n "$VAL" ] || { TP_WHY="no receiver line from iperf3"; return 1; }
	tp_alive "iperf-$v" || { TP_WHY="testpmd (iperf-$v) died"; return 1; }
}

iperf_measure() {	# iperf_measure WORKLOAD VARIANT
	local rc=0
	VAL=
	if ! tp_alive "iperf-$2"; then
		iperf_teardown "$2"
		log "restarting testpmd and namespaces for $2"
		iperf_setup "$2" || { failed "$1" "$(tp_why)"; return; }
	fi
	case $1 in
	iperf-fwd) prof_start "$1"; iperf_one "$2" || rc=1; prof_stop "$1" ;;
	iperf-rev) prof_start "$1"; iperf_one "$2" -R || rc=1; prof_stop "$1" ;;
	esac
	if [ $rc = 0 ]; then
		result "$1" throughput Mbit/s hi "$VAL"
	else
		failed "$1" "$(tp_why)"
	fi
}
