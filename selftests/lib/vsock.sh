# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034  # QV_* results are read by the test
# vsock.sh — stock QEMU's vhost-vsock-pci against /dev/vhost-vsock (vhx_vsock
# or the in-tree vhost_vsock) in the lab VM.  Sourced after lib/qemu.sh by
# selftests/qemu/qemu_vsock_test.sh.
#
#   lab VM (CID 2, socat)                 inner guest (model vsock, restored)
#   VSOCK-CONNECT:CID:PORT  ──────────►   vhxi-xfer vrecv PORT (vhxi-vsock.sh)
#   VSOCK-LISTEN:PORT       ◄──────────   vhxi-xfer vsend 2 PORT
#
# The device is hot-plugged into the restored guest's root port rp1
# (device_add, as libvirt's attach-device does): the host that saved the
# state has no /dev/vhost-vsock, and QEMU's realize opens it and sets the
# CID.  The guest's vmw_vsock_virtio_transport (loaded before the state was
# saved) probes it then: features, rings and SET_RUNNING happen against the
# module under test.  A migration destination gets the same device on its
# command line (qv_dev_args), with another CID: two devices of one lab VM
# cannot share one (EADDRINUSE).
#
# Functions print TAP diagnostics ("# ...") only.

QV_DEV=/dev/vhost-vsock
QV_BUF=262144		# socat's buffer in the lab VM
declare -A QV_FEAT=()	# ID -> the guest's feature bits of its vsock device
QV_BG=()
QV_SHA='' QV_T='' QV_FROM=''

qv_log() { echo "# $*"; }

# qv_prereq: why vhost-vsock cannot be tested here (empty: it can).
qv_prereq() {
	[ -c "$QV_DEV" ] || {
		if [ "${VHX_TARGET:-vhx}" = intree ]; then
			echo "no $QV_DEV (modprobe vhost_vsock failed)"
		else
			echo "no $QV_DEV (vhost/vhx_vsock.ko not built or not loaded)"
		fi
		return
	}
	command -v socat > /dev/null || { echo "no socat in the lab VM (make deps)"; return; }
	socat -V 2> /dev/null | grep -q 'WITH_VSOCK 1' || { echo "socat without VSOCK addresses"; return; }
	[ -n "$QI_INITRD" ] || return 0
	# the image has the guest's vsock modules (mkinner.sh)
	cpio -it < "$QI_INITRD" 2> /dev/null | grep -q '^modules/vsock.ko$' ||
		echo "the inner image has no vsock modules (the inner kernel has none)"
}

# qv_up_start ID: begin restoring a guest of the vsock model (qi_model
# vsock) without waiting for it, so that its restore overlaps other work;
# qv_up_finish ID completes it.  Without a saved state, qv_up_finish boots
# it (qi_up).
qv_up_start() {
	local st
	st=$(qi_state_file -)
	[ -n "$st" ] || return 0
	QI_PREP=1 qi_start "$1" - -incoming "exec:cat $st"
}

# qv_up_finish ID: the guest ID is up and its agent answers (QI_UP_SECS).
qv_up_finish() {
	local id=$1 t0=$SECONDS
	if [ -z "${QI_PID[$id]:-}" ]; then
		qi_up "$id" -
		return
	fi
	qi_wait_running "$id" 120 || { qi_tail_logs "$id"; return 1; }
	qi_ping_agent "$id" 60 || { qi_log "restored guest '$id' does not answer"; qi_tail_logs "$id"; return 1; }
	QI_UP_HOW=restored
	QI_UP_SECS=$((SECONDS - t0))
	qi_log "inner guest '$id' up (restored, model vsock), ${QI_UP_SECS}s after the wait began"
}

# qv_dev_args CID [OPTS]: the device on a QEMU command line (a migration
# destination), where qv_attach puts it.
qv_dev_args() { echo "-device vhost-vsock-pci,id=vs0,bus=rp1,guest-cid=$1${2:-}"; }

# qv_attach ID CID [OPTS]: hot-plug vhost-vsock-pci with guest-cid=CID (and
# OPTS, e.g. ",packed=on") into the running guest ID and wait until the
# guest's driver has bound it (qv_plug, then qv_bound).
qv_attach() { qv_plug "$@" && qv_bound "$1"; }

# qv_plug ID CID [OPTS]: the hot-plug alone (QEMU's monitor: device_add
# into root port rp1, as libvirt's attach-device does); the guest binds
# the device on its own meanwhile.
declare -A QV_PLUGGED=()
qv_plug() {
	local id=$1 cid=$2 opts=${3:-} dir=${QI_DIR[$1]} off
	off=$(stat -c %s "$dir/mon.log")
	QV_PLUGGED[$id]=$(qi_now)
	qi_mon "$id" "device_add vhost-vsock-pci,id=vs0,bus=rp1,guest-cid=$cid$opts"
	qi_mon "$id" "info status"
	for _ in $(seq 1 600); do
		tail -c +"$((off + 1))" "$dir/mon.log" | grep -aq 'VM status' && break
		qi_alive "$id" || break
		sleep 0.1
	done
	if tail -c +"$((off + 1))" "$dir/mon.log" | grep -aqi -E 'error|failed'; then
		qv_log "hot-plug of vhost-vsock-pci (cid $cid$opts) into '$id' failed:"
		tail -c +"$((off + 1))" "$dir/mon.log" | tr -d '\r' | grep -a -v '^(qemu)' | sed 's/^/#   mon| /'
		return 1
	fi
	qv_log "vhost-vsock-pci cid $cid$opts hot-plugged into '$id'"
}

# qv_bound ID: wait until the guest's vsock driver has bound the device;
# QV_FEAT[ID] = the guest's feature bits.
qv_bound() {
	local id=$1
	qi_cmd "$id" 120 "vsock_wait 90" > /dev/null ||
		{ qv_log "the guest's vsock driver did not bind the hot-plugged device"; qi_tail_logs "$id"; return 1; }
	QV_FEAT[$id]=$(sed -n 's/.* features=\([01]*\)$/\1/p' <<< "$QI_OUT" | head -n1)
	qv_log "the driver of '$id' bound it $(qi_since "${QV_PLUGGED[$id]}")s after the hot-plug (features ${QV_FEAT[$id]})"
}

# qv_bit ID BIT: the guest's device has feature BIT.
qv_bit() { [ "${QV_FEAT[$1]:$2:1}" = 1 ]; }

# qv_vhost_errors ID: what QEMU said about vhost (its stderr).
qv_vhost_errors() { grep -a -i -E 'vhost|vsock' "${QI_DIR[$1]}/qemu.out" 2> /dev/null | tail -n 5; }

# ---- lab VM side data movers (socat) -----------------------------------------

# qv_bg NAME ARGS...: socat ARGS in the background, -d -d into
# $QI_WORK/NAME.log, its exit status into $QI_WORK/NAME.rc; QV_PID=its pid.
QV_PID=
qv_bg() {
	local n=$1
	shift
	rm -f "$QI_WORK/$n.log" "$QI_WORK/$n.rc"
	(socat -d -d -b "$QV_BUF" "$@" 2> "$QI_WORK/$n.log" &
	 echo $! > "$QI_WORK/$n.pid"
	 wait $!
	 echo $? > "$QI_WORK/$n.rc") > /dev/null 2>&1 &
	QV_BG+=($!)
	for _ in $(seq 1 50); do [ -s "$QI_WORK/$n.pid" ] && break; sleep 0.02; done
	QV_PID=$(cat "$QI_WORK/$n.pid" 2> /dev/null)
	QV_BG+=("$QV_PID")
}

# qv_listening NAME: wait (10 s) until NAME's socat listens.
qv_listening() {
	for _ in $(seq 1 100); do
		grep -q 'listening on' "$QI_WORK/$1.log" 2> /dev/null && return 0
		[ -e "$QI_WORK/$1.rc" ] && break
		sleep 0.1
	done
	qv_log "$1: socat does not listen: $(tail -n 2 "$QI_WORK/$1.log" 2> /dev/null | tr '\n' ' ')"
	return 1
}

# qv_wait NAME SECS: wait for NAME's socat to end; its status (124: still
# running).
qv_wait() {
	local n=$1 i
	for ((i = 0; i < ${2:-60} * 10; i++)); do
		[ -e "$QI_WORK/$n.rc" ] && return "$(cat "$QI_WORK/$n.rc")"
		sleep 0.1
	done
	return 124
}

# qv_errors NAME: the error and warning lines of NAME's socat, one line
# (not socat's own "ioctl(-1, IOCTL_VM_SOCKETS_GET_LOCAL_CID)": it asks
# /dev/vsock for the local CID, which the lab VM's devtmpfs may lack).
qv_errors() {
	grep -E ' [EW] ' "$QI_WORK/$1.log" 2> /dev/null | grep -v IOCTL_VM_SOCKETS_GET_LOCAL_CID |
		sed 's/.* [EW] //' | tail -n 2 | tr '\n' ' '
}

# qv_ended_by_peer NAME: NAME's socat ended because its peer went away:
# EOF (status 0) or a reset (ECONNRESET, EPIPE, ENOTCONN, or ENOMEM: below)
# -- not a timeout or a refused connection.
qv_ended_by_peer() {
	local rc
	rc=$(cat "$QI_WORK/$1.rc" 2> /dev/null) || return 1
	[ "$rc" = 0 ] && return 0
	# (a write that meets the device already gone, before the reset of
	# its sockets, is refused by the transport, and 6.1's af_vsock reports
	# any refused write as ENOMEM: both modules, depending on the race)
	qv_errors "$1" | grep -q -E 'Connection reset by peer|Broken pipe|Transport endpoint is not connected|Cannot allocate memory'
}

# qv_stop NAME: end NAME's socat.
qv_stop() {
	local p
	p=$(cat "$QI_WORK/$1.pid" 2> /dev/null)
	[ -n "$p" ] && kill "$p" 2> /dev/null
	return 0
}

qv_cleanup() {
	local p
	for p in "${QV_BG[@]}"; do kill "$p" 2> /dev/null; done
	QV_BG=()
}

# qv_sha FILE: its sha256.
qv_sha() { sha256sum < "$1" | cut -d' ' -f1; }

# qv_to_guest ID CID PORT FILE NAME: FILE from the lab VM to guest ID over
# a connection the lab VM opens to CID:PORT; the guest's listener (vs_recv
# PORT NAME) writes /tmp/NAME.bin and hashes it.  Sets QV_SHA (the guest's
# sha256) and QV_T (timings).  A send that fails ends the guest's listener
# at once instead of letting it wait.
qv_to_guest() {
	local id=$1 cid=$2 port=$3 f=$4 n=$5 t0 tl ts
	QV_SHA='' QV_T=''
	t0=$(qi_now)
	qi_cmd "$id" 60 "vs_recv $port $n" > /dev/null || return 1
	tl=$(qi_since "$t0")
	# 120 s: a few MiB take seconds; only a stalled stream gets there
	if ! timeout 120 socat -b "$QV_BUF" -u "FILE:$f" "VSOCK-CONNECT:$cid:$port" 2> "$QI_WORK/$n.err"; then
		qv_log "the lab VM's socat to $cid:$port failed: $(grep ' E ' "$QI_WORK/$n.err" | sed 's/.* E //' | tr '\n' ' ')"
		qi_cmd "$id" 60 "vs_kill $n; vs_wait $n 20" > /dev/null
		return 1
	fi
	ts=$(qi_since "$t0")
	qi_cmd "$id" 300 "vs_wait $n 240" > /dev/null
	QV_SHA=$(sed -n 's/.* sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT" | head -n1)
	QV_T="in $(qi_since "$t0")s (guest listening at ${tl}s, sent at ${ts}s; $(grep -o 'size=[0-9]*' <<< "$QI_OUT"))"
}

# qv_from_guest ID PORT GFILE NAME: the guest's GFILE to the lab VM over a
# connection the guest opens (VSOCK-CONNECT:2:PORT) to a lab VM listener
# that writes $QI_WORK/NAME.bin.  Sets QV_SHA (the lab VM's sha256 of what
# arrived), QV_T and QV_FROM (the peer the listener accepted).
qv_from_guest() {
	local id=$1 port=$2 gf=$3 n=$4 t0
	QV_SHA='' QV_T='' QV_FROM=''
	t0=$(qi_now)
	rm -f "$QI_WORK/$n.bin"
	qv_bg "$n" -u "VSOCK-LISTEN:$port,reuseaddr" "CREATE:$QI_WORK/$n.bin"
	qv_listening "$n" || return 1
	if ! qi_cmd "$id" 300 "vs_send 2 $port $gf $n; vs_wait $n 240" > /dev/null; then
		qv_log "the guest's send failed: $(tail -n 2 <<< "$QI_OUT" | tr '\n' ' ')"
		qv_stop "$n"
	fi
	qv_wait "$n" 60
	QV_SHA=$(qv_sha "$QI_WORK/$n.bin")
	QV_FROM=$(grep -o 'accepting connection from [^ ]* [^ ]*' "$QI_WORK/$n.log" | head -n1)
	QV_T="in $(qi_since "$t0")s (size $(stat -c %s "$QI_WORK/$n.bin"))"
}

# qv_conns CID PORT N: N connections, one after the other, to the echo
# server CID:PORT; each sends a line and must get it back.  Prints
# "ok=K of N in S s"; true if all came back.
qv_conns() {
	local cid=$1 port=$2 n=$3 i ok=0 bad=0 got t0 first=
	t0=$(qi_now)
	for ((i = 0; i < n; i++)); do
		got=$(echo "vhx-h-$i" | timeout 30 socat -t 10 - "VSOCK-CONNECT:$cid:$port" 2>&1)
		if [ "$got" = "vhx-h-$i" ]; then
			ok=$((ok + 1))
			bad=0
		else
			[ -n "$first" ] || first="connection $i: '$got'"
			bad=$((bad + 1))
			# three failed in a row: the rest would too (and take long)
			[ $bad -ge 3 ] && { first+=" (gave up after $((i + 1)))"; break; }
		fi
	done
	qv_log "$n connections to $cid:$port: $ok echoed back in $(qi_since "$t0")s${first:+; first failure: $first}"
	[ "$ok" -eq "$n" ]
}

# ---- vhx's counters -------------------------------------------------------------

# qv_stats OWNER: one line per vq of OWNER's vhx vsock devices:
#   "DEV IDX NAME packets bytes conns rsts credit_requests g2g drops errors layout backend"
qv_stats() {
	qi_has_stats || return 1
	awk -v owner="$1" '
		function kv(s,   i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == s) return a[2] } return "" }
		$1 == "dev" { own[kv("id")] = kv("owner"); kind[kv("id")] = kv("kind") }
		$1 == "vq" {
			d = kv("dev")
			if (own[d] != owner || kind[d] != "vsock") next
			print d, kv("idx"), kv("name"), kv("packets") + 0, kv("bytes") + 0, kv("conns") + 0,
			      kv("rsts") + 0, kv("credit_requests") + 0, kv("g2g") + 0, kv("drops") + 0,
			      kv("errors") + 0, kv("layout"), kv("backend")
		}' "$QI_DEBUGFS"
}

# qv_delta BEFORE AFTER: "NAME packets +N bytes +N conns +N rsts +N
# credit_requests +N g2g +N drops +N errors +N" per vq (files of qv_stats).
qv_delta() {
	awk 'NR == FNR { k = $1 " " $2; for (i = 4; i <= 11; i++) b[k, i] = $i; next }
	     { k = $1 " " $2
	       printf "dev %s %s packets +%d bytes +%d conns +%d rsts +%d credit_requests +%d g2g +%d drops +%d errors +%d (%s, %s)\n",
		$1, $3, $4 - b[k, 4], $5 - b[k, 5], $6 - b[k, 6], $7 - b[k, 7], $8 - b[k, 8],
		$9 - b[k, 9], $10 - b[k, 10], $11 - b[k, 11], $12, $13 }' "$1" "$2"
}

# qv_moved DELTA NAME KEY MIN: in a qv_delta output, queue NAME's KEY grew
# by at least MIN (NAME "*": the sum over every queue).
qv_moved() {
	awk -v q="$2" -v k="$3" -v min="$4" '
		q == "*" || $3 == q { for (i = 4; i < NF; i += 2) if ($i == k) { v = substr($(i + 1), 2) + 0; s += v } }
		END { exit !(s >= min) }' <<< "$1"
}
