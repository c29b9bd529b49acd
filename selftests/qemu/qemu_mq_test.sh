#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_mq_test.sh — stock QEMU multiqueue: -netdev tap,queues=2,vhost=on
# -device virtio-net-pci,mq=on,vectors=6 (issue 3, #2).  QEMU opens two
# vhost devices (one per queue pair); the inner guest enables both pairs
# with `ethtool -L eth0 combined 2`; traffic must use both.
# vhx-test-timeout: 900
#
#   1 boot        two vhost devices, worker(s) vhost-<qemu pid>
#   2 channels    ethtool -L eth0 combined 2 (control virtqueue -> QEMU
#                 starts the second queue pair's vhost device)
#   3 tcp         4 MiB each way, sha256 equal on both sides
#   4 iperf3      8 parallel streams each way (flows hash over the queues)
#   5 both-pairs  inner per-queue counters (ethtool -S): rx and tx of queue
#                 0 and 1 all moved; with vhx, all four vqs of the two vhx
#                 devices moved too
#   6 kernel-log
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"
trap qi_cleanup EXIT

N=6
echo "1..$N"
qi_prereq_or_skip "$N" mq
qi_klog_mark
qi_model mq
qi_build && qi_net_bridge && qi_tap vhxtap0 "$QI_TAP_OPTS" || { echo "Bail out! setup failed"; exit 1; }
t0=$SECONDS

rc=1
if qi_up g vhxtap0; then
	qi_check_worker g && rc=0
	nw=$(qi_workers "${QI_PID[g]}" | wc -l)
	qi_log "vhost worker threads of QEMU ${QI_PID[g]}: $nw"
	if [ "${VHX_TARGET:-vhx}" = vhx ] && qi_has_stats; then
		nd=$(qi_dev_lines "${QI_PID[g]}" | wc -l)
		qi_log "vhx devices owned by QEMU: $nd"
		[ "$nd" -eq 2 ] || rc=1
	else
		[ "$nw" -ge 2 ] || rc=1
	fi
fi
qi_result 1 boot $rc
boot_s=$((SECONDS - t0))
if ! qi_alive g; then
	for i in $(seq 2 $N); do echo "not ok $i mq-$i # no inner guest"; done
	exit 1
fi
QPID=${QI_PID[g]}
qi_vq_stats "$QPID" > "$QI_WORK/s0" 2>/dev/null

# 2: both pairs; no XPS (one inner CPU would pin every flow to tx queue 0)
qi_cmd g 60 'ethtool -L eth0 combined 2 && ethtool -l eth0 | tail -n 5 &&
	for f in /sys/class/net/eth0/queues/tx-*/xps_cpus; do echo 0 > $f; done &&
	ls /sys/class/net/eth0/queues/'
rc=$?
grep -q 'rx-1' <<< "$QI_OUT" || rc=1
qi_result 2 channels $rc
qi_cmd g 30 'queues' > /dev/null
before=$QI_OUT

# 3: data integrity over two queue pairs
rc=0
qi_xfer_to_guest g 4 5001 || rc=1
qi_xfer_from_guest g 4 5002 || rc=1
qi_result 3 tcp $rc

# 4: many flows each way
rc=0
qi_iperf g 4 "-P 8" || rc=1
up=$QI_IPERF_MBPS
qi_iperf g 4 "-P 8 -R" || rc=1
down=$QI_IPERF_MBPS
qi_log "iperf3 8 streams through ${VHX_TARGET:-vhx} with 2 queue pairs: inner->VM ${up:-?} Mbit/s, VM->inner ${down:-?} Mbit/s"
qi_result 4 iperf3 $rc

# 5: every queue moved
rc=0
qi_cmd g 30 'queues' > /dev/null
after=$QI_OUT
for q in rx_queue_0 rx_queue_1 tx_queue_0 tx_queue_1; do
	a=$(awk -v k="${q}_packets:" '$1 == k { print $2 }' <<< "$after")
	b=$(awk -v k="${q}_packets:" '$1 == k { print $2 }' <<< "$before")
	d=$(( ${a:-0} - ${b:-0} ))
	qi_log "inner $q: +$d packets"
	[ "$d" -gt 50 ] || { qi_log "queue $q barely used"; rc=1; }
done
if [ "${VHX_TARGET:-vhx}" = vhx ]; then
	if qi_vq_stats "$QPID" > "$QI_WORK/s1" && [ -s "$QI_WORK/s1" ]; then
		qi_stats_delta "$QI_WORK/s0" "$QI_WORK/s1" | sed 's/^/#   /'
		nz=$(qi_stats_delta "$QI_WORK/s0" "$QI_WORK/s1" | awk '$6 != "+0"' | wc -l)
		nq=$(wc -l < "$QI_WORK/s1")
		qi_log "vhx: $nz of $nq vqs moved"
		{ [ "$nq" -eq 4 ] && [ "$nz" -eq 4 ]; } || rc=1
	else
		qi_log "no vhx counters ($QI_DEBUGFS)"
		rc=1
	fi
fi
qi_result 5 both-pairs $rc

qi_stop g
sleep 1
w=$(qi_workers "$QPID")
[ -z "$w" ] || qi_log "workers left: $w"
qi_klog_check && [ -z "$w" ]
qi_result 6 kernel-log $?
qi_log "timing: inner guest up (${QI_UP_HOW:-booted}) in ${boot_s}s, total $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
