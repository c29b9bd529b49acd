# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# testpmd.sh — drive interactive DPDK testpmd instances (virtio-user ports)
# from the bench workloads; several may be up at once (one per variant, so
# that runs of A and B alternate every few seconds), only one forwards at a
# time.  Sourced by bench/guest.sh; needs $WORK.
#
#   tp_start ID VDEV...   start instance ID with these --vdev arguments and
#                         wait for its prompt; 1 if it never came up
#   tp_alive ID           is it still running?
#   tp_cmd ID CMD [SECS]  send CMD, wait for the next prompt; 1 if it died
#   tp_stat ID PORT FIELD FIELD (RX-packets, ...) of the last "NIC
#                         statistics for port PORT" block, -1 if none
#   tp_quit ID            quit (SIGKILL if it hangs)
#   tp_why                how the last failing call failed (TP_WHY)

TESTPMD=${TESTPMD:-dpdk-testpmd}
declare -A TP_PID=() TP_LOG=() TP_FD=()
TP_WHY=

tp_alive() { [ -n "${TP_PID[$1]:-}" ] && kill -0 "${TP_PID[$1]}" 2>/dev/null; }

tp_died() {	# tp_died ID WHAT
	local rc=0
	wait "${TP_PID[$1]}" 2>/dev/null || rc=$?
	TP_WHY="testpmd ($1) died (exit status $rc) during '$2': $(grep -aE 'EAL: Error|error|Segmentation|panic' "${TP_LOG[$1]}" | tail -n1 | tr -d '\r' || true)"
	echo "guest: bench: $TP_WHY"
	tail -n 15 "${TP_LOG[$1]}" | sed 's/^/guest: bench:   | /' || true
	dmesg | grep -E 'segfault|general protection|dpdk' | tail -n 3 |
		sed 's/^/guest: bench:   dmesg: /' || true
	TP_PID[$1]=
}

tp_why() { echo "${TP_WHY:-testpmd not running}"; }

tp_start() {	# tp_start ID VDEV...
	local id=$1 fifo=$WORK/testpmd-$1.in fd
	shift
	TP_LOG[$id]=$WORK/testpmd-$id.log
	TP_WHY=
	rm -f "$fifo"
	mkfifo "$fifo"
	# Unbuffered: testpmd's printf()s must precede the next prompt in the log.
	# With the cost instrument both lcores run on vCPU 1 (cost.sh).
	stdbuf -o0 -e0 "$TESTPMD" "$(cost_lcores)" --no-huge -m 1024 --no-pci --file-prefix="vhxb-$id" \
		"$@" -- -i --total-num-mbufs=16384 --txd=1024 --rxd=1024 \
		< "$fifo" > "${TP_LOG[$id]}" 2>&1 &
	TP_PID[$id]=$!
	exec {fd}> "$fifo"
	TP_FD[$id]=$fd
	for _ in $(seq 1 600); do	# up to 120 s (TCG, PMDs loaded over 9p)
		grep -q 'testpmd>' "${TP_LOG[$id]}" && return 0
		if ! tp_alive "$id"; then
			tp_died "$id" start
			return 1
		fi
		sleep 0.2
	done
	TP_WHY="testpmd ($id) gave no prompt within 120 s"
	tp_quit "$id"
	return 1
}

tp_cmd() {	# tp_cmd ID CMD [TIMEOUT_SECS]
	local id=$1 n
	tp_alive "$id" || { TP_WHY="testpmd ($id) not running before '$2'"; return 1; }
	n=$(grep -c 'testpmd>' "${TP_LOG[$id]}")
	# shellcheck disable=SC2261  # >&FD is stdout to the fd
	if ! echo "$2" >&"${TP_FD[$id]}" 2>/dev/null; then
		tp_died "$id" "$2"
		return 1
	fi
	for _ in $(seq 1 $((${3:-30} * 20))); do
		[ "$(grep -c 'testpmd>' "${TP_LOG[$id]}")" -gt "$n" ] && return 0
		if ! tp_alive "$id"; then
			tp_died "$id" "$2"
			return 1
		fi
		sleep 0.05
	done
	TP_WHY="no prompt from testpmd ($id) after '$2'"
	return 1
}

tp_stat() {	# tp_stat ID PORT FIELD
	awk -v p="port $2 " -v f="$3:" '
		index($0, "NIC statistics for " p) { inblk = 1; v = "" }
		inblk { for (i = 1; i < NF; i++) if ($i == f) v = $(i + 1) }
		inblk && /^ *#+ *$/ { inblk = 0 }
		END { print (v == "" ? -1 : v) }' "${TP_LOG[$1]}"
}

tp_quit() {	# tp_quit ID
	local id=$1
	if tp_alive "$id"; then
		# shellcheck disable=SC2261  # >&FD is stdout to the fd
		echo quit >&"${TP_FD[$id]}" 2>/dev/null || true
		for _ in $(seq 1 100); do
			tp_alive "$id" || break
			sleep 0.2
		done
		tp_alive "$id" && { kill -9 "${TP_PID[$id]}" 2>/dev/null || true; }
		wait "${TP_PID[$id]}" 2>/dev/null || true
	fi
	TP_PID[$id]=
	if [ -n "${TP_FD[$id]:-}" ]; then
		eval "exec ${TP_FD[$id]}>&-" 2>/dev/null || true
		TP_FD[$id]=
	fi
}

tp_quit_all() {
	local id
	for id in "${!TP_PID[@]}"; do tp_quit "$id"; done
}
