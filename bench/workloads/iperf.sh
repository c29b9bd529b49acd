# SPDX-License-Identifier: GPL-2.0
# iperf.sh — TCP between two network namespaces bridged by testpmd.
#
#   netns vbn0: vbi0 198.18.1.1/24          netns vbn1: vbi1 198.18.1.2/24
#        | tap                                   ^ tap
#        v                                       |
#   $DEV fd 0 (worker) -> testpmd port 0 --io--> port 1 -> $DEV fd 1 (worker)
#
#   iperf-fwd: iperf3 -c in vbn0 -> -s in vbn1 (receiver Mbit/s)
#   iperf-rev: the same with -R (vbn1 sends)
# Both vhost-net devices are of the variant under test.

IPERF_NS=(vbn0 vbn1)
IPERF_IF=(vbi0 vbi1)
IPERF_IP=(198.18.1.1 198.18.1.2)

iperf_workloads() { echo "iperf-fwd iperf-rev"; }
iperf_variants() { echo "vhx intree"; }
iperf_check() {
	command -v "$TESTPMD" > /dev/null || { echo "no dpdk-testpmd (apt-get install dpdk)"; return 1; }
	command -v iperf3 > /dev/null || { echo "no iperf3 (apt-get install iperf3)"; return 1; }
}

iperf_down() {
	local i
	[ -f "$WORK/iperf3.pid" ] && { kill "$(cat "$WORK/iperf3.pid")" 2>/dev/null || true; }
	rm -f "$WORK/iperf3.pid"
	for i in 0 1; do ip netns del "${IPERF_NS[$i]}" 2>/dev/null || true; done
	tp_quit
}

iperf_up() {	# iperf_up DEV
	local i
	tp_start --vdev="net_virtio_user0,path=$1,queues=1,queue_size=1024,iface=${IPERF_IF[0]}" \
		 --vdev="net_virtio_user1,path=$1,queues=1,queue_size=1024,iface=${IPERF_IF[1]}" ||
		return 1
	tp_cmd "set fwd io" && tp_cmd start || return 1
	for i in 0 1; do
		ip netns add "${IPERF_NS[$i]}" &&
		ip link set "${IPERF_IF[$i]}" netns "${IPERF_NS[$i]}" &&
		ip -n "${IPERF_NS[$i]}" link set lo up &&
		ip -n "${IPERF_NS[$i]}" addr add "${IPERF_IP[$i]}/24" dev "${IPERF_IF[$i]}" &&
		ip -n "${IPERF_NS[$i]}" link set "${IPERF_IF[$i]}" up ||
			{ TP_WHY="cannot move ${IPERF_IF[$i]} into netns ${IPERF_NS[$i]}"; return 1; }
		ip netns exec "${IPERF_NS[$i]}" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 || true
	done
	ip netns exec "${IPERF_NS[1]}" iperf3 -s -D -I "$WORK/iperf3.pid" > /dev/null ||
		{ TP_WHY="iperf3 -s did not start"; return 1; }
	# The first frames through testpmd also resolve ARP (busybox: no
	# iputils-ping on a minimal host).
	for _ in $(seq 1 30); do
		ip netns exec "${IPERF_NS[0]}" busybox ping -c1 -W1 "${IPERF_IP[1]}" > /dev/null 2>&1 && return 0
	done
	TP_WHY="no ping from ${IPERF_NS[0]} to ${IPERF_IP[1]} through testpmd"
	iperf_diag
	return 1
}

iperf_diag() {	# what the two sides look like, when they do not talk
	local i
	for i in 0 1; do
		ip -n "${IPERF_NS[$i]}" -s link show "${IPERF_IF[$i]}" 2>&1 |
			sed "s/^/guest: bench:   ${IPERF_NS[$i]}: /" || true
		ip -n "${IPERF_NS[$i]}" neigh 2>&1 | sed "s/^/guest: bench:   ${IPERF_NS[$i]} neigh: /" || true
	done
	tp_cmd "show port stats all" && grep -aE 'NIC statistics|RX-packets|TX-packets' "$TP_LOG" |
		tail -n 6 | sed 's/^/guest: bench:   testpmd: /' || true
	grep -aiE 'error|fail|link' "$TP_LOG" | head -n 10 | sed 's/^/guest: bench:   testpmd log: /' || true
}

# iperf_one [-R] -> VAL=receiver Mbit/s over $SECS (after $WARM omitted)
iperf_one() {
	local out
	out=$(ip netns exec "${IPERF_NS[0]}" timeout $((SECS + WARM + 30)) \
		iperf3 -c "${IPERF_IP[1]}" -t "$SECS" -O "$WARM" -f m "$@" 2>&1) ||
		{ TP_WHY="iperf3 failed: $(tail -n1 <<< "$out")"; return 1; }
	VAL=$(awk '/receiver/ { for (i = 1; i < NF; i++) if ($(i + 1) == "Mbits/sec") v = $i }
		   END { print v }' <<< "$out")
	[ -n "$VAL" ] || { TP_WHY="no receiver line from iperf3"; return 1; }
	tp_alive || { TP_WHY="$(tp_why)"; return 1; }
}

iperf_measure() {	# iperf_measure WORKLOAD [ARGS]
	local w=$1
	shift
	VAL=
	if iperf_one "$@"; then
		result "$w" throughput Mbit/s hi "$VAL"
	else
		failed "$w" "$(tp_why)"
	fi
}

iperf_run() {
	if ! iperf_up "$(dev_of "$1")"; then
		failed iperf-fwd "$(tp_why)"
		failed iperf-rev "$(tp_why)"
		iperf_down
		return
	fi
	iperf_measure iperf-fwd
	iperf_measure iperf-rev -R
	iperf_down
}
