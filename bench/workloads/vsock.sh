# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034  # TP_WHY is read by bench/guest.sh
# vsock.sh — vsock rows: /dev/vhost-vsock of vhx_vsock against the in-tree
# vhost_vsock, driven by bench/vhx-vsock-bench/vhx-vsock-bench, one process
# that plays both ends: the guest driver (tools/lib/vhxvsock, split rings of
# 128, 4 KiB RX buffers, EVENT_IDX) and, in a thread, the host with AF_VSOCK
# sockets (CID 2) that connect to the guest's CID.
#
#   vsock-stream-h2g  the host write()s 64 KiB at a time (BENCH_VSOCK_SIZE),
#                     the guest driver drains: MiB/s the guest received
#   vsock-stream-g2h  the guest sends 64 KiB at a time (packets of up to
#                     64 KiB, as Linux's driver), the host read()s: MiB/s
#   vsock-conn        host connect() -> guest accept -> host close() (the
#                     guest answers the SHUTDOWN with an RST), one after the
#                     other: connections per second
# cost (bench/lib/cost.sh): instructions on vCPU 0, where the device's
# worker (vhost-PID of the bench) is pinned, per MiB or per connection;
# the bench's threads (guest driver, host sockets) run on vCPU 1.  The
# host side's copies (write/read in the socket layer) and the guest
# driver's are on vCPU 1: the figure is the worker's share.
#
# Only one host-to-guest vsock transport can be registered, so the two
# variants cannot be up side by side: each measurement loads its module
# (vsock_use), unloading the other once its refcount is 0 (a closed socket
# whose peer has not answered keeps a reference up to the socket layer's
# 8 s close timeout).  The runs still alternate A B A B in the one boot; a
# swap costs a rmmod and a modprobe (logged), outside the measured window.
# The group loads nothing before it starts and unloads both at its end, so
# the other groups never see a vsock module.

VS_BENCH=$VHX_ROOT/bench/vhx-vsock-bench/vhx-vsock-bench
VS_DEV=/dev/vhost-vsock
VS_SIZE=${BENCH_VSOCK_SIZE:-65536}
VS_REF_WAIT=${BENCH_VSOCK_REF_WAIT:-30}	# s: cap on the wait for refcount 0

vsock_workloads() { echo "vsock-stream-h2g vsock-stream-g2h vsock-conn"; }
vsock_variants() { echo "vhx${TRACE_VARIANTS} intree"; }

vsock_check() {
	[ -x "$VS_BENCH" ] || { echo "no bench/vhx-vsock-bench (make tools)"; return 1; }
	[ -e "$KO/vhx_vsock.ko" ] ||
		{ echo "no $KO/vhx_vsock.ko (make modules: it needs the sk_buff vsock API)"; return 1; }
	modinfo vhost_vsock > /dev/null 2>&1 ||
		{ echo "no in-tree vhost_vsock for $(uname -r)"; return 1; }
	local dep
	for dep in $(modinfo -F depends "$KO/vhx_vsock.ko" | tr ',' ' '); do
		case $dep in vhx_*) ;; *) modprobe "$dep" 2>/dev/null ||
			{ echo "modprobe $dep (for vhx_vsock) failed"; return 1; } ;;
		esac
	done
}

vsock_module() { if [ "$1" = intree ]; then echo vhost_vsock; else echo vhx_vsock; fi; }
vsock_loaded() { grep -q "^$1 " /proc/modules; }

# vsock_unload MODULE: rmmod once nothing holds it (polled, capped).
vsock_unload() {
	local m=$1 t0=$SECONDS n
	vsock_loaded "$m" || return 0
	for _ in $(seq 1 $((VS_REF_WAIT * 10))); do
		n=$(cat "/sys/module/$m/refcnt" 2>/dev/null || echo 0)
		[ "$n" = 0 ] && rmmod "$m" 2>/dev/null && break
		sleep 0.1
	done
	if vsock_loaded "$m"; then
		TP_WHY="$m still in use after ${VS_REF_WAIT}s (refcnt $(cat "/sys/module/$m/refcnt" 2>/dev/null))"
		return 1
	fi
	[ $((SECONDS - t0)) -gt 1 ] && log "vsock: rmmod $m waited $((SECONDS - t0))s for its references"
	return 0
}

# vsock_use VARIANT: its module owns /dev/vhost-vsock (the other unloaded).
vsock_use() {
	local want other
	want=$(vsock_module "$1")
	other=$(if [ "$want" = vhx_vsock ]; then echo vhost_vsock; else echo vhx_vsock; fi)
	vsock_loaded "$want" && [ -c $VS_DEV ] && return 0
	vsock_unload "$other" || return 1
	if [ "$want" = vhost_vsock ]; then
		modprobe vhost_vsock 2>/dev/null || { TP_WHY="modprobe vhost_vsock failed"; return 1; }
	elif ! vsock_loaded vhx_vsock; then
		insmod "$KO/vhx_vsock.ko" 2>/dev/null ||
			{ TP_WHY="insmod vhx_vsock.ko failed: $(dmesg | tail -n1)"; return 1; }
	fi
	for _ in $(seq 1 50); do
		[ -c $VS_DEV ] && return 0
		sleep 0.1
	done
	TP_WHY="no $VS_DEV after loading $want"
	return 1
}

vsock_setup() { vsock_use "$1"; }	# can V's module load at all?

vsock_teardown() {	# after the last variant: neither module stays
	[ "$1" = intree ] || return 0
	vsock_unload vhx_vsock || log "warning: vsock: $TP_WHY"
	vsock_unload vhost_vsock || log "warning: vsock: $TP_WHY"
}

vsock_kv() {	# vsock_kv KEY LINE: the value of KEY=... in a result line
	tr ' ' '\n' <<< "$2" | sed -n "s/^$1=//p" | head -n1
}

# vsock_run MODE: one run of the bench with --sync; the worker pinned at
# "ready", the instruction counters read at "mark start" / "mark stop".
# -> VS_LINE (its result line), VS_ERR (its last error line), VS_I0, VS_I1
vsock_run() {
	local fin=$WORK/vsock.in fout=$WORK/vsock.out pid line to from rc=0 st=0
	local tmo=$((SECS + WARM + 180))
	VS_LINE='' VS_ERR='' VS_I0='' VS_I1=''
	rm -f "$fin" "$fout"
	mkfifo "$fin" "$fout"
	"$VS_BENCH" -w "$1" -t "$SECS" -r "$WARM" -s "$VS_SIZE" --sync \
		< "$fin" > "$fout" 2>&1 &
	pid=$!
	# the same order as the child's redirections: no deadlock
	exec {to}> "$fin" {from}< "$fout"
	# An answer goes through a subshell: if the bench died, SIGPIPE takes
	# that, not this script.
	while :; do
		IFS= read -r -t $tmo -u "$from" line || { st=$?; break; }
		case $line in
		ready\ *) cost_pin "${line#ready }"; (echo go >&"$to") 2>/dev/null || true ;;
		"mark start") cost_mark start; VS_I0=$COST_INSNS
			(echo go >&"$to") 2>/dev/null || true ;;
		"mark stop") cost_mark stop; VS_I1=$COST_INSNS
			(echo go >&"$to") 2>/dev/null || true ;;
		result\ *) VS_LINE=$line ;;
		error:*) VS_ERR=${line#error: }; log "vsock: $line" ;;
		*) VS_ERR=$line ;;
		esac
	done
	exec {to}>&- {from}<&-
	if [ $st -gt 128 ]; then	# read timed out: the bench hangs
		kill "$pid" 2>/dev/null || true
		VS_ERR="no end after ${tmo}s: killed"
	fi
	wait "$pid" || rc=$?
	rm -f "$fin" "$fout"
	[ $rc = 0 ] || [ -n "$VS_ERR" ] || VS_ERR="exit status $rc"
	return 0
}

# vsock_measure WORKLOAD VARIANT: one run; "result" lines or "failed".
vsock_measure() {
	local w=$1 v=$2 mode n errors val kib
	vsock_use "$v" || { failed "$w" "$(tp_why)"; return; }
	case $w in
	vsock-stream-h2g) mode=h2g ;;
	vsock-stream-g2h) mode=g2h ;;
	vsock-conn) mode=conn ;;
	*) failed "$w" "unknown workload"; return ;;
	esac
	vsock_run "$mode"
	errors=$(vsock_kv errors "$VS_LINE") n=$(vsock_kv count "$VS_LINE")
	if [ -z "$VS_LINE" ] || [ -z "$n" ]; then
		failed "$w" "no result line: ${VS_ERR:-empty output}"
		return
	fi
	log "vsock: $w $v run $RUN: ${VS_LINE#result tool=vhx-vsock-bench }"
	if [ "${errors:-0}" != 0 ]; then
		failed "$w" "${VS_ERR:-$errors errors}"
		return
	fi
	if [ "$n" -le 0 ]; then
		failed "$w" "nothing moved in ${SECS}s"
		return
	fi
	COST=
	if [ $mode = conn ]; then
		val=$(vsock_kv cps "$VS_LINE")
		cost_per "$w $v run $RUN" "$n" "$VS_I0" "$VS_I1"
		result "$w" rate conn/s hi "$val"
		[ -n "$COST" ] && result "$w" cost insn/conn lo "$COST"
	else
		val=$(vsock_kv mibps "$VS_LINE")
		kib=$((n / 1024))
		# cost_per's unit is KiB here (and its profile's "insn/pkt")
		cost_per "$w $v run $RUN" "$kib" "$VS_I0" "$VS_I1"
		result "$w" rate MiB/s hi "$val"
		[ -n "$COST" ] && result "$w" cost insn/MiB lo \
			"$(awk -v c="$COST" 'BEGIN { printf "%.0f\n", c * 1024 }')"
	fi
	return 0
}
