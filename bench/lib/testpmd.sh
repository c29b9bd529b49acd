# SPDX-License-Identifier: GPL-2.0
# testpmd.sh — drive one interactive DPDK testpmd (virtio-user ports) from a
# bench workload.  Sourced by bench/guest.sh; needs $WORK.
#
#   tp_start VDEV...      start testpmd with these --vdev arguments, wait for
#                         the prompt (TP_PID, TP_LOG); 1 if it never came up
#   tp_cmd CMD [SECS]     send CMD, wait for the next prompt; 1 if testpmd died
#   tp_stat PORT FIELD    FIELD (RX-packets, TX-packets, ...) of the last
#                         "NIC statistics for port PORT" block, -1 if none
#   tp_quit               quit (then SIGKILL if it hangs)
#   tp_why                one line: how testpmd ended, for a FAIL reason

TESTPMD=${TESTPMD:-dpdk-testpmd}
TP_PID=
TP_LOG=
TP_WHY=

tp_alive() { [ -n "$TP_PID" ] && kill -0 "$TP_PID" 2>/dev/null; }

tp_died() {	# tp_died WHAT
	local rc=0
	wait "$TP_PID" 2>/dev/null || rc=$?
	TP_WHY="testpmd died (exit status $rc) during '$1': $(grep -aE 'EAL: Error|error|Segmentation|panic' "$TP_LOG" | tail -n1 | tr -d '\r' || true)"
	echo "guest: bench: $TP_WHY"
	tail -n 15 "$TP_LOG" | sed 's/^/guest: bench:   | /' || true
	dmesg | grep -E 'segfault|general protection|dpdk' | tail -n 3 |
		sed 's/^/guest: bench:   dmesg: /' || true
	TP_PID=
}

tp_why() { echo "${TP_WHY:-testpmd not running}"; }

tp_start() {
	local fifo=$WORK/testpmd.in
	TP_LOG=$WORK/testpmd.log
	TP_WHY=
	rm -f "$fifo"
	mkfifo "$fifo"
	# Unbuffered: testpmd's printf()s must precede the next prompt in the log.
	stdbuf -o0 -e0 "$TESTPMD" -l 0-1 --no-huge -m 1024 --no-pci --file-prefix=vhxbench \
		"$@" -- -i --total-num-mbufs=16384 --txd=1024 --rxd=1024 \
		< "$fifo" > "$TP_LOG" 2>&1 &
	TP_PID=$!
	exec 3> "$fifo"
	for _ in $(seq 1 600); do	# up to 120 s (TCG, PMDs loaded over 9p)
		grep -q 'testpmd>' "$TP_LOG" && return 0
		if ! tp_alive; then
			tp_died "start"
			return 1
		fi
		sleep 0.2
	done
	TP_WHY="testpmd gave no prompt within 120 s"
	tp_quit
	return 1
}

tp_cmd() {	# tp_cmd CMD [TIMEOUT_SECS]
	local n
	tp_alive || { TP_WHY=${TP_WHY:-"testpmd not running before '$1'"}; return 1; }
	n=$(grep -c 'testpmd>' "$TP_LOG")
	if ! echo "$1" >&3 2>/dev/null; then
		tp_died "$1"
		return 1
	fi
	for _ in $(seq 1 $((${2:-30} * 20))); do
		[ "$(grep -c 'testpmd>' "$TP_LOG")" -gt "$n" ] && return 0
		if ! tp_alive; then
			tp_died "$1"
			return 1
		fi
		sleep 0.05
	done
	TP_WHY="no testpmd prompt after '$1'"
	return 1
}

tp_stat() {	# tp_stat PORT FIELD
	awk -v p="port $1 " -v f="$2:" '
		index($0, "NIC statistics for " p) { inblk = 1; v = "" }
		inblk { for (i = 1; i < NF; i++) if ($i == f) v = $(i + 1) }
		inblk && /^ *#+ *$/ { inblk = 0 }
		END { print (v == "" ? -1 : v) }' "$TP_LOG"
}

tp_quit() {
	if tp_alive; then
		echo quit >&3 2>/dev/null || true
		for _ in $(seq 1 100); do
			tp_alive || break
			sleep 0.2
		done
		if tp_alive; then
			kill -9 "$TP_PID" 2>/dev/null || true
		fi
		wait "$TP_PID" 2>/dev/null || true
	fi
	TP_PID=
	exec 3>&- 2>/dev/null || true
}
