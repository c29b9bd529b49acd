#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034  # QI_* knobs are read by lib/qemu.sh
# qemu_migrate_test.sh — live migration of the running inner guest to a
# second stock QEMU (-incoming) in the same lab VM while TCP streams run
# both ways; the streams survive and their checksums match (issue 3, #3:
# VHOST_F_LOG_ALL, SET_LOG_BASE, dirty log of used rings and RX buffers).
# vhx-test-timeout: 900
#
#   bridge vhxbr0 10.77.0.1 ─┬─ vhxtap0 ── QEMU src (restored, running)
#                            └─ vhxtap1 ── QEMU dst (-incoming tcp:127.0.0.1:PORT)
#   1 setup       src restored from the shared snapshot, dst waiting
#   2 migrate     streams running: VM -> guest 16 MiB (the guest checksums
#                 as it receives) and guest -> VM 4 MiB; `migrate` src ->
#                 dst completes; dst runs with its own vhost-<dst pid> worker
#   3 to-guest    VM -> guest stream complete, sha256 equal
#   4 from-guest  guest -> VM stream complete, sha256 equal
#   5 after       dst: ping 0 % loss, 2 MiB VM -> guest with sha256; vhx
#                 counters of dst's device moved; src's worker is gone
#   6 kernel-log
#
# Knobs: QI_MIG_MB (16).
set -uo pipefail

# shellcheck source=lib/qemu.sh
. "${VHX_ROOT:?}/selftests/lib/qemu.sh"

MB=${QI_MIG_MB:-16}
PORT=4444
N=6
echo "1..$N"
SENDER=
RECV=
cleanup() {
	[ -n "$SENDER" ] && kill "$SENDER" 2>/dev/null
	[ -n "$RECV" ] && kill "$RECV" 2>/dev/null
	qi_cleanup
}
trap cleanup EXIT

why=$(qi_prereq)
if [ -n "$why" ]; then
	for i in $(seq 1 $N); do echo "ok $i migrate-$i # SKIP $why"; done
	exit 4
fi
qi_klog_mark
qi_build && qi_net_bridge || { echo "Bail out! setup failed"; exit 1; }
t0=$SECONDS

# 1 setup
rc=1
if qi_sq_snapshot && qi_tap vhxtap0 && qi_tap vhxtap1 &&
   qi_restore src vhxtap0 "$QI_SNAP" && qi_start dst vhxtap1 -incoming "tcp:127.0.0.1:$PORT"; then
	qi_check_worker src && rc=0
fi
qi_result 1 setup $rc
if ! qi_alive src || ! qi_alive dst; then
	for i in $(seq 2 $N); do echo "not ok $i migrate-$i # setup failed"; done
	exit 1
fi
SRC=${QI_PID[src]}
DST=${QI_PID[dst]}

# 2 streams + migration
rc=0
big=$QI_WORK/big.bin
head -c $((MB * 1048576)) /dev/urandom > "$big"
want_in=$(sha256sum < "$big" | cut -d' ' -f1)
qi_cmd src 60 "rxsum 5005 mig && mkdata /tmp/out.bin 4" || rc=1
want_out=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT")
# guest -> VM receiver (stdin: a FIFO that never EOFs, see lib)
[ -p "$QI_WORK/never" ] || mkfifo "$QI_WORK/never"
busybox nc -l -p 5006 > "$QI_WORK/out.bin" 2>/dev/null <> "$QI_WORK/never" &
RECV=$!
sleep 0.5
bash -c "exec cat '$big' > /dev/tcp/$QI_GUEST_IP/5005" &
SENDER=$!
qi_cmd src 30 "(tx $QI_HOST_IP 5006 /tmp/out.bin > /tmp/out.log 2>&1; echo \$? > /tmp/out.rc) > /dev/null 2>&1 &" ||
	rc=1
sleep 3
b0=$(cat /sys/class/net/vhxtap0/statistics/tx_bytes)
qi_log "streams running ($((b0 / 1024)) KiB to the guest so far); migrating src (pid $SRC) -> dst (pid $DST)"
mt=$SECONDS
if qi_migrate src "tcp:127.0.0.1:$PORT" 300; then
	qi_log "migration took $((SECONDS - mt))s; stream sender still running: $(kill -0 $SENDER 2>/dev/null && echo yes || echo no)"
	qi_stop src
	qi_wait_running dst 60 || rc=1
	qi_check_worker dst || rc=1
	sleep 1
	[ -z "$(qi_workers "$SRC")" ] || { qi_log "src worker vhost-$SRC still there"; rc=1; }
else
	rc=1
fi
qi_result 2 migrate $rc

# 3 VM -> guest stream
rc=0
for _ in $(seq 1 300); do kill -0 "$SENDER" 2>/dev/null || break; sleep 1; done
if kill -0 "$SENDER" 2>/dev/null; then
	qi_log "VM -> guest sender still running after 300 s"
	kill "$SENDER"
	rc=1
fi
wait "$SENDER" || { qi_log "VM -> guest sender failed"; rc=1; }
SENDER=
qi_cmd dst 300 "sumwait mig 240" > /dev/null || rc=1
got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT")
qi_log "VM -> guest across the migration: $MB MiB, VM sha256 ${want_in:0:16}..., guest ${got:0:16}..."
[ "$got" = "$want_in" ] || { qi_log "CHECKSUM MISMATCH (VM -> guest)"; rc=1; }
qi_result 3 to-guest $rc

# 4 guest -> VM stream
rc=0
qi_cmd dst 300 'i=0; while [ ! -e /tmp/out.rc ] && [ $i -lt 2400 ]; do sleep 0.1; i=$((i+1)); done; cat /tmp/out.log; echo "tx rc=$(cat /tmp/out.rc 2>/dev/null)"' > /dev/null
grep -q 'tx rc=0' <<< "$QI_OUT" || { qi_log "guest -> VM sender: $QI_OUT"; rc=1; }
for _ in $(seq 1 100); do kill -0 "$RECV" 2>/dev/null || break; sleep 0.1; done
kill "$RECV" 2>/dev/null
wait "$RECV" 2>/dev/null
RECV=
got=$(sha256sum < "$QI_WORK/out.bin" | cut -d' ' -f1)
qi_log "guest -> VM across the migration: 4 MiB, guest sha256 ${want_out:0:16}..., VM ${got:0:16}... (size $(stat -c %s "$QI_WORK/out.bin"))"
[ -n "$want_out" ] && [ "$got" = "$want_out" ] || { qi_log "CHECKSUM MISMATCH (guest -> VM)"; rc=1; }
qi_result 4 from-guest $rc

# 5 the destination works on its own
rc=0
qi_vq_stats "$DST" > "$QI_WORK/s0" 2>/dev/null
qi_ping dst 3 || rc=1
qi_xfer_to_guest dst 2 5007 || rc=1
if [ "${VHX_TARGET:-vhx}" = vhx ]; then
	if qi_vq_stats "$DST" > "$QI_WORK/s1" && [ -s "$QI_WORK/s1" ]; then
		qi_stats_delta "$QI_WORK/s0" "$QI_WORK/s1" | sed 's/^/#   /'
		read -r drx dtx < <(qi_stats_delta "$QI_WORK/s0" "$QI_WORK/s1" |
			awk '$3 == "rx" { r += $6 } $3 == "tx" { t += $6 } END { print r + 0, t + 0 }')
		{ [ "$drx" -gt 0 ] && [ "$dtx" -gt 0 ]; } || { qi_log "dst counters did not move"; rc=1; }
	else
		qi_log "no vhx counters for dst ($QI_DEBUGFS)"
		rc=1
	fi
fi
qi_result 5 after $rc

qi_stop dst
sleep 1
w=$(qi_workers "$DST")
[ -z "$w" ] || qi_log "workers left: $w"
qi_klog_check && [ -z "$w" ]
qi_result 6 kernel-log $?
qi_log "timing: total $((SECONDS - t0))s"
[ $QI_FAILS -eq 0 ]
