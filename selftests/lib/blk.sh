# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# blk.sh — helpers of the vhost-blk end-to-end tests (qemu_blk*_test.sh):
# stock QEMU 7.2's vhost-user-blk-pci served by tools/vhx-blk-bridge, whose
# kernel side is /dev/vhost-blk (vhx_blk.ko).  Sourced after lib/qemu.sh.
#
#   lab VM ── vhx-blk-bridge --socket S --backend F (a file on /tmp, tmpfs)
#     │          └── /dev/vhost-blk: one kernel worker per queue does the I/O
#     └── qemu-system-x86_64 -smp 2, guest RAM memfd share=on,
#         -chardev socket,path=S -device vhost-user-blk-pci,num-queues=2
#         inner guest: busybox, virtio_blk, ext4, mkfs.ext4; the disk is
#         hot-plugged into a guest restored from its saved state (qb_attach)
#
# VHX_BLK_MOCK=1 runs the same tests on a host that cannot load modules:
# the bridge gets tools/vhx-blk-bridge/mock/vhxblk-mock.so preloaded (a
# userspace stand-in for /dev/vhost-blk); the checks that need the real
# module (debugfs counters, worker threads, refcount, slab) are skipped or
# read the mock's counter file instead.

QB_ROOT=${VHX_ROOT:?}
QB_BRIDGE=${QB_BRIDGE:-$QB_ROOT/tools/vhx-blk-bridge/vhx-blk-bridge}
QB_MOCK=${VHX_BLK_MOCK:-0}
QB_MOCK_SO=$QB_ROOT/tools/vhx-blk-bridge/mock/vhxblk-mock.so
QB_DEV=${VHX_BLK_DEV:-/dev/vhost-blk}
QB_SOCK=$QI_WORK/vhx-blk.sock
QB_IMG_MB=${QB_IMG_MB:-64}
QB_BRIDGE_PID=
QB_BRIDGE_LOG=
QB_BRIDGE_N=0
QB_LOADED_KO=0		# the test insmod'ed vhx_blk.ko itself
QB_MOCK_STATS=$QI_WORK/mock-stats

qb_log() { echo "# $*"; }

# qb_prereq: sets QB_WHY to why the blk tests cannot run (empty: fine) and
# returns non-zero then.  Loads vhost/vhx_blk.ko when it exists and
# /dev/vhost-blk is absent (the runner loads vhx_core; a runner that loads
# vhx_blk itself makes this a no-op).  Not in a subshell: it may insmod.
QB_WHY=
qb_prereq() {
	local ko=$QB_ROOT/vhost/vhx_blk.ko dep
	QB_WHY=
	command -v "$QI_QEMU" > /dev/null || QB_WHY="no $QI_QEMU"
	[ -n "$QB_WHY" ] || [ -r "$QI_KERNEL" ] || QB_WHY="no $QI_KERNEL"
	[ -n "$QB_WHY" ] || [ -x "$QB_BRIDGE" ] || QB_WHY="no $QB_BRIDGE (make tools; needs dpdk-dev)"
	[ -n "$QB_WHY" ] || [ "$(id -u)" -eq 0 ] || QB_WHY="needs root"
	[ -z "$QB_WHY" ] || return 1
	if [ "$QB_MOCK" = 1 ]; then
		[ -f "$QB_MOCK_SO" ] || { QB_WHY="no $QB_MOCK_SO (make tools)"; return 1; }
		return 0
	fi
	[ -c "$QB_DEV" ] && return 0
	[ -f "$ko" ] || { QB_WHY="no $QB_DEV and no $ko (vhx_blk not built)"; return 1; }
	for dep in $(modinfo -F depends "$ko" 2>/dev/null | tr ',' ' '); do
		case $dep in
		vhx_core) [ -d /sys/module/vhx_core ] || insmod "$QB_ROOT/vhost/vhx_core.ko" ;;
		*) modprobe "$dep" 2>/dev/null ;;
		esac
	done
	if ! insmod "$ko" 2> "$QI_WORK/insmod.err"; then
		QB_WHY="insmod vhx_blk.ko failed: $(tr '\n' ' ' < "$QI_WORK/insmod.err")"
		return 1
	fi
	QB_LOADED_KO=1
	qb_log "insmod $ko (the runner had not loaded it)"
	for _ in $(seq 1 20); do [ -c "$QB_DEV" ] && break; sleep 0.1; done
	[ -c "$QB_DEV" ] || { QB_WHY="$QB_DEV missing after insmod vhx_blk.ko"; return 1; }
}

# qb_image FILE MB: a sparse backend file.
qb_image() {
	rm -f "$1"
	truncate -s "$2M" "$1"
}

# qb_bridge_start BACKEND [ARGS...]: start the bridge, wait until it listens.
qb_bridge_start() {
	local backend=$1 t0=$SECONDS
	shift
	QB_BRIDGE_N=$((QB_BRIDGE_N + 1))
	QB_BRIDGE_LOG=$QI_WORK/bridge.$QB_BRIDGE_N.log
	rm -f "$QB_SOCK"
	if [ "$QB_MOCK" = 1 ]; then
		LD_PRELOAD=$QB_MOCK_SO VHX_MOCK_STATS=$QB_MOCK_STATS \
			"$QB_BRIDGE" --socket "$QB_SOCK" --backend "$backend" -v "$@" \
			> "$QB_BRIDGE_LOG" 2>&1 < /dev/null &
	else
		"$QB_BRIDGE" --socket "$QB_SOCK" --backend "$backend" --device "$QB_DEV" -v "$@" \
			> "$QB_BRIDGE_LOG" 2>&1 < /dev/null &
	fi
	QB_BRIDGE_PID=$!
	QI_BG+=("$QB_BRIDGE_PID")
	while ! grep -q 'listening on' "$QB_BRIDGE_LOG" 2>/dev/null; do
		if ! kill -0 "$QB_BRIDGE_PID" 2>/dev/null; then
			qb_log "bridge exited at start:"
			sed 's/^/#   bridge| /' "$QB_BRIDGE_LOG"
			QB_BRIDGE_PID=
			return 1
		fi
		if [ $((SECONDS - t0)) -ge 20 ]; then
			qb_log "bridge not listening after 20 s"
			sed 's/^/#   bridge| /' "$QB_BRIDGE_LOG"
			return 1
		fi
		sleep 0.1
	done
	qb_log "bridge pid $QB_BRIDGE_PID listening on $QB_SOCK ($(grep -m1 'offering' "$QB_BRIDGE_LOG" | sed 's/.*: //'))"
}

qb_bridge_alive() { [ -n "$QB_BRIDGE_PID" ] && kill -0 "$QB_BRIDGE_PID" 2>/dev/null; }

# qb_bridge_stop [SIG]: TERM (clean) by default; waits for it.
qb_bridge_stop() {
	local sig=${1:-TERM} pid=$QB_BRIDGE_PID
	[ -n "$pid" ] || return 0
	kill "-$sig" "$pid" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	# shellcheck disable=SC2034  # read by the tests
	QB_BRIDGE_RC=$?
	QB_BRIDGE_PID=
}

# qb_bridge_tail [N]: the bridge's last log lines as TAP diagnostics.
qb_bridge_tail() {
	tail -n "${1:-15}" "$QB_BRIDGE_LOG" 2>/dev/null | sed 's/^/#   bridge| /'
}

# qb_bridge_cpu: user+system CPU seconds the bridge used so far.
qb_bridge_cpu() {
	local hz
	hz=$(getconf CLK_TCK)
	awk -v hz="$hz" '{ sub(/.*\) /, ""); printf "%.2f\n", ($12 + $13) / hz }' \
		"/proc/$QB_BRIDGE_PID/stat" 2>/dev/null || echo 0
}

# qb_qemu_start ID [CHARDEV_OPTS]: inner guest of model blk (2 vCPUs,
# shared memfd RAM, no NIC; restored from its saved state or booted, see
# lib/qemu_state.sh) with a vhost-user-blk disk of 2 queues on the bridge's
# socket, hot-plugged (qb_attach); waits until the guest sees /dev/vda.
qb_qemu_start() {
	local id=$1 chopts=${2:-}
	qi_model blk
	qi_up "$id" - || return 1
	qb_attach "$id" "$chopts"
}

# qb_disk_args [CHARDEV_OPTS]: the same disk on a QEMU command line (the
# destination of a migration), in the same root port.
qb_disk_args() {
	echo "-chardev socket,id=vb0,path=$QB_SOCK${1:-} -device vhost-user-blk-pci,chardev=vb0,num-queues=2,id=vblk0,bus=rp1"
}

# qb_attach ID [CHARDEV_OPTS]: hot-plug the disk into the running guest ID
# (QEMU's monitor: chardev-add, device_add into root port rp1, as libvirt's
# attach-device does), then load virtio_blk in the guest and wait for
# /dev/vda.
qb_attach() {
	local id=$1 chopts=${2:-} dir=${QI_DIR[$1]} off t0=$SECONDS
	off=$(stat -c %s "$dir/mon.log")
	qi_mon "$id" "chardev-add socket,id=vb0,path=$QB_SOCK$chopts"
	qi_mon "$id" "device_add vhost-user-blk-pci,chardev=vb0,num-queues=2,id=vblk0,bus=rp1"
	qi_mon "$id" "info status"
	for _ in $(seq 1 600); do
		tail -c +"$((off + 1))" "$dir/mon.log" | grep -aq 'VM status' && break
		qi_alive "$id" || break
		sleep 0.1
	done
	if tail -c +"$((off + 1))" "$dir/mon.log" | grep -aqi -E 'error|failed'; then
		qb_log "hot-plug of the vhost-user-blk disk failed:"
		tail -c +"$((off + 1))" "$dir/mon.log" | tr -d '\r' | grep -a -v '^(qemu)' | sed 's/^/#   mon| /'
		return 1
	fi
	qi_cmd "$id" 300 'load_blk 240 && blkinfo vda' > /dev/null ||
		{ qb_log "the guest does not see the hot-plugged disk"; qi_tail_logs "$id"; return 1; }
	qb_log "disk hot-plugged into '$id' and /dev/vda up in $((SECONDS - t0))s"
}

# ---- kernel side ------------------------------------------------------------

# qb_stats: "IDX packets" per vq of the bridge's vhost-blk devices (live,
# debugfs), or of the mock's closed devices (summed per index).
qb_stats() {
	if [ "$QB_MOCK" = 1 ]; then
		awk '{ for (i = 1; i <= NF; i++) { split($i, a, "="); v[a[1]] = a[2] }
		       p[v["idx"]] += v["packets"] }
		     END { for (k in p) print k, p[k] }' "$QB_MOCK_STATS" 2>/dev/null | sort -n
		return 0
	fi
	qi_has_stats || return 1
	awk -v owner="$QB_BRIDGE_PID" '
		function kv(s,   i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == s) return a[2] } return "" }
		$1 == "dev" { own[kv("id")] = kv("owner"); kind[kv("id")] = kv("kind") }
		$1 == "vq" && own[kv("dev")] == owner { print kv("idx"), kv("packets") }' "$QI_DEBUGFS"
}

# qb_devices: number of vhost-blk devices the bridge owns now (debugfs).
qb_devices() {
	[ "$QB_MOCK" = 1 ] && { echo 0; return; }
	qi_has_stats || { echo 0; return; }
	grep -c "^dev .* owner=${1:-$QB_BRIDGE_PID} " "$QI_DEBUGFS"
}

# qb_workers: vhost worker threads in the system (kernel threads or
# vhost_task threads: "vhost-<pid>").
qb_workers() { ps -e -L -o comm= 2>/dev/null | grep -c '^vhost-[0-9]' ; }

QB_SLAB0=0 QB_VMB0=0
qb_slab_bytes() { awk '$1 ~ /^(dma-)?kmalloc-/ { s += $2 * $4 } END { printf "%d\n", s }' /proc/slabinfo 2>/dev/null; }
qb_vmalloc_bytes() { grep -v unpurged /proc/vmallocinfo 2>/dev/null | awk '{ s += $2 } END { printf "%d\n", s }'; }
qb_leak_mark() {
	QB_SLAB0=$(qb_slab_bytes)
	QB_VMB0=$(qb_vmalloc_bytes)
	QB_WORKERS0=$(qb_workers)
}

# qb_leak_check NAME: no vhost worker beyond the baseline, no device of the
# bridge, vhx_blk refcount 0, kmalloc slab and vmalloc back near the
# baseline (4 MiB / 8 MiB tolerance: page cache and other tests' noise).
qb_leak_check() {
	local name=$1 ok=0 w s vb r
	[ "$QB_MOCK" = 1 ] && { qb_log "$name: leak checks need the module (mock run)"; return 0; }
	for _ in $(seq 1 50); do
		w=$(qb_workers)
		[ "$w" -le "${QB_WORKERS0:-0}" ] && break
		sleep 0.2
	done
	if [ "$w" -gt "${QB_WORKERS0:-0}" ]; then
		qb_log "$name: $w vhost worker threads left (baseline ${QB_WORKERS0:-0}):"
		ps -e -L -o pid,lwp,stat,comm | grep 'vhost-' | sed 's/^/#   ps| /'
		ok=1
	fi
	if qi_has_stats && grep -q '^dev .*kind=blk' "$QI_DEBUGFS"; then
		qb_log "$name: vhost-blk devices still registered:"
		grep '^dev .*kind=blk' "$QI_DEBUGFS" | sed 's/^/#   vhx| /'
		ok=1
	fi
	r=$(cat /sys/module/vhx_blk/refcnt 2>/dev/null || echo "?")
	if [ "$r" != 0 ]; then
		qb_log "$name: /sys/module/vhx_blk/refcnt is $r"
		ok=1
	fi
	s=$(qb_slab_bytes)
	vb=$(qb_vmalloc_bytes)
	qb_log "$name: workers $w (baseline ${QB_WORKERS0:-0}), refcnt $r, kmalloc slab $QB_SLAB0 -> $s ($((s - QB_SLAB0))), vmalloc $QB_VMB0 -> $vb ($((vb - QB_VMB0)))"
	if [ $((s - QB_SLAB0)) -gt 4194304 ] || [ $((vb - QB_VMB0)) -gt 8388608 ]; then
		qb_log "$name: kernel memory did not come back"
		ok=1
	fi
	return $ok
}

# qb_unload: rmmod vhx_blk if this test loaded it (the proof that nothing
# holds it); its return status.
qb_unload() {
	[ "$QB_LOADED_KO" = 1 ] || return 0
	if rmmod vhx_blk; then
		QB_LOADED_KO=0
		qb_log "rmmod vhx_blk: ok"
		return 0
	fi
	qb_log "rmmod vhx_blk failed (refcnt $(cat /sys/module/vhx_blk/refcnt 2>/dev/null))"
	return 1
}

# The QEMU tests' TAP plan lives in the caller: N results named
# ${names[1..N]}.  qb_skip_all: every result SKIP with $QB_WHY (exit 4);
# qb_skip_rest FROM REASON: results FROM..N "not ok" with REASON (exit 1).
# shellcheck disable=SC2154  # N and names are the calling test's
qb_skip_all() {
	local i
	for i in $(seq 1 "$N"); do echo "ok $i ${names[$i]} # SKIP $QB_WHY"; done
	exit 4
}

# shellcheck disable=SC2154
qb_skip_rest() {
	local i
	for i in $(seq "$1" "$N"); do echo "not ok $i ${names[$i]} # $2"; done
	exit 1
}

# qb_begin: the common start of the QEMU tests: kernel-log and leak
# baselines, the inner guest image, and a fresh disk image in $IMG.
qb_begin() {
	qi_klog_mark
	qb_leak_mark
	qi_build || { echo "Bail out! no inner image"; exit 1; }
	IMG=$QI_WORK/disk.img
	qb_image "$IMG" "$QB_IMG_MB"
}

# qb_end N RC: the last two results of a QEMU test, after its bridges are
# stopped: N "leaks" (RC and qb_leak_check, qb_unload) and N+1
# "kernel-log"; succeeds only if no result of the test failed.
qb_end() {
	local n=$1 rc=$2
	qb_leak_check leaks || rc=1
	qb_unload || rc=1
	qi_result "$n" leaks "$rc"
	rc=0
	qi_klog_check || rc=1
	qi_result $((n + 1)) kernel-log "$rc"
	[ "$QI_FAILS" -eq 0 ]
}

# ---- data -------------------------------------------------------------------

# qb_block_sum I: sha256 of block I of the deterministic pattern (1 MiB of
# "vhx-blk-I-" lines); the inner guest's mkblock makes the same bytes.
qb_block() { yes "vhx-blk-$1-0123456789abcdef" | head -c 1048576; }
qb_block_sum() { qb_block "$1" | sha256sum | cut -d' ' -f1; }

# qb_block_sums N: the sums of blocks 0..N-1, space-separated, for the inner
# guest's blkcheck (cached: the same blocks are checked several times).
declare -A QB_SUM
qb_block_sums() {
	local i out=()
	for ((i = 0; i < $1; i++)); do
		[ -n "${QB_SUM[$i]:-}" ] || QB_SUM[$i]=$(qb_block_sum "$i")
		out+=("${QB_SUM[$i]}")
	done
	echo "${out[*]}"
}

# qb_backend_sum FILE OFFSET_MB COUNT_MB: sha256 of a region of the backend.
qb_backend_sum() {
	dd if="$1" bs=1M skip="$2" count="$3" status=none | sha256sum | cut -d' ' -f1
}

qb_cleanup() {
	qb_bridge_stop KILL
	qi_cleanup
	qb_unload > /dev/null 2>&1
	rm -f "$QB_SOCK"
	return 0
}
