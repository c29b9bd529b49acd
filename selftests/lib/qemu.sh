# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# qemu.sh — run stock QEMU ("the inner guest") against /dev/vhost-net inside
# the lab VM.  Sourced (bash) by selftests/qemu_*_test.sh and
# scripts/demo-guest.sh; needs root, tun, a vhost-net implementation loaded.
#
#   lab VM (this kernel, vhx or in-tree vhost_net)
#   ├─ bridge vhxbr0 10.77.0.1/24 ─┬─ tap vhxtap0 ── QEMU A (-netdev tap,vhost=on)
#   │   (or a lone tap with the    └─ tap vhxtap1 ── QEMU B (-incoming, migration)
#   │    address, qi_net_tap)
#   └─ per QEMU instance, in $QI_WORK/<id>/:
#        console.log  inner ttyS0 (kernel log, "VHXI: ..." markers)
#        ag.in/ag.out inner ttyS1 = command agent (selftests/vm/inner/init)
#        ag.log       everything the agent said
#        mon.in/.out  HMP monitor; mon.log
#
# Inner guest: 10.77.0.2/24, MAC 52:54:00:77:00:02, busybox + iperf3 + ethtool
# (selftests/vm/inner/mkinner.sh).  Under double TCG it boots in ~1-2 min, so
# a booted guest is saved once per lab-VM boot with a migration to a file
# (qi_snapshot) and later tests restore it in seconds (qi_restore).
#
# Every wait is bounded.  Functions print TAP diagnostics ("# ...") only.

QI_ROOT=${VHX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}
# The inner guest's kernel is the client, not the kernel under test: the
# newest installed 6.1 on every row of the matrix (a 6.12 L2 guest panicked
# under double TCG during boot, before any vhost device had started).
# VHX_INNER_KVER picks another; without a 6.1, the lab VM's own kernel.
qi_inner_kver() {
	local k
	[ -n "${VHX_INNER_KVER:-}" ] && { echo "$VHX_INNER_KVER"; return; }
	k=$("$QI_ROOT/scripts/kernels.sh" kver --boot 6.1 2>/dev/null) || k=
	echo "${k:-$(uname -r)}"
}
QI_KVER=$(qi_inner_kver)
QI_KERNEL_SET=${QI_KERNEL:-}	# set by the caller: use as given
QI_KERNEL=${QI_KERNEL:-/boot/vmlinuz-$QI_KVER}
QI_QEMU=${QI_QEMU:-qemu-system-x86_64}
QI_BR=vhxbr0
QI_HOST_IP=10.77.0.1
QI_GUEST_IP=10.77.0.2
QI_MAC=52:54:00:77:00:02
# The VM side's MAC is fixed too: a guest restored from a snapshot keeps it
# in its ARP cache.
QI_HOST_MAC=02:77:00:00:00:01
QI_MEM=${QI_MEM:-256M}
# Extra inner kernel command line that makes the guest cheaper to run (part
# of a saved state's name).  The inner guest is the client, not the kernel
# under test; measured under two layers of TCG (guest seconds to READY):
#   norandmaps         TCG translations are keyed by virtual address: the
#                      guest's processes reuse them (see run.sh)
#   cryptomgr.notests  no self-tests of every crypto algorithm at boot (-8 s)
#   mitigations=off    no retpolines or RSB filling (-4 s)
QI_BOOT_OPTS=${QI_BOOT_OPTS-norandmaps cryptomgr.notests mitigations=off}
# Inner boot waits follow progress (qi_wait_ready): at most QI_BOOT_TIMEOUT
# seconds in all, QI_STALL seconds without progress; a note past QI_BOOT_SLOW.
QI_BOOT_TIMEOUT=${QI_BOOT_TIMEOUT:-1800}
QI_STALL=${QI_STALL:-180}
QI_BOOT_SLOW=${QI_BOOT_SLOW:-240}
QI_CACHE=${QI_CACHE:-${TMPDIR:-/tmp}/vhx-qemu-cache}	# shared by tests of one VM boot
QI_WORK_OWN=
[ -n "${QI_WORK:-}" ] || { QI_WORK=$(mktemp -d "${TMPDIR:-/tmp}/qemu.XXXXXX"); QI_WORK_OWN=1; }
QI_VERBOSE=${QI_VERBOSE:-0}	# 1: stream the inner console while waiting
QI_DEBUGFS=/sys/kernel/debug/vhx/devices
QI_INITRD=

# Process substitution needs /dev/fd, which a bare devtmpfs lacks.
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd 2>/dev/null

declare -A QI_PID=() QI_AGFD=() QI_MONFD=() QI_DIR=() QI_TAIL=()
QI_SEQ=0
QI_TAPS=()
QI_BG=()

qi_log() { echo "# $*"; }
qi_now() { date +%s.%N; }
qi_since() { awk -v a="$1" -v b="$(qi_now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---- environment ------------------------------------------------------------

# qi_prereq: print why the inner guest cannot run (empty: fine).
qi_prereq() {
	command -v "$QI_QEMU" >/dev/null || { echo "no $QI_QEMU"; return; }
	[ -r "$QI_KERNEL" ] || { echo "no $QI_KERNEL"; return; }
	[ -c /dev/vhost-net ] || { echo "no /dev/vhost-net"; return; }
	[ -c /dev/net/tun ] || modprobe tun 2>/dev/null
	[ -c /dev/net/tun ] || { echo "no /dev/net/tun"; return; }
	[ "$(id -u)" -eq 0 ] || { echo "needs root"; return; }
}

# qi_accel: the inner guest's accelerator, once per lab-VM boot: KVM only
# when the lab VM itself runs on KVM (VHX_LAB_ACCEL, run.sh) and a probe
# boot of the inner guest under nested KVM reaches its /init within 20 s;
# else TCG (saved states are TCG guests: a KVM inner guest boots instead).
qi_accel() {
	local f=$QI_CACHE/accel why=
	[ -n "${QI_ACCEL:-}" ] && return 0
	# not in a lab VM (mkstate.sh, the bridge's mock run on the host): TCG
	[ -n "${VHX_LAB_ACCEL:-}" ] || { QI_ACCEL=tcg; return 0; }
	if [ -s "$f" ]; then
		QI_ACCEL=$(cat "$f")
		return 0
	fi
	mkdir -p "$QI_CACHE"
	QI_ACCEL=tcg
	if [ "$VHX_LAB_ACCEL" = kvm ]; then
		[ -c /dev/kvm ] || modprobe kvm_intel 2>/dev/null || modprobe kvm_amd 2>/dev/null
		if [ ! -c /dev/kvm ]; then
			why="no /dev/kvm in the lab VM (no nested virtualisation)"
		elif QI_ACCEL=kvm qi_start kvmprobe - > /dev/null &&
		     QI_ACCEL=kvm QI_STALL=20 qi_wait_ready kvmprobe 20 > /dev/null; then
			QI_ACCEL=kvm
		else
			why="a nested KVM guest did not reach /init in 20 s"
		fi
		qi_stop kvmprobe 9 2> /dev/null
	else
		why="the lab VM runs on TCG"
	fi
	echo "$QI_ACCEL" > "$f"
	qi_log "inner guest accelerator: $QI_ACCEL${why:+ ($why)}"
}

# qi_build: build (or find) the inner initramfs; sets QI_INITRD.
qi_build() {
	local out
	out=$(bash "$QI_ROOT/selftests/vm/inner/mkinner.sh" "$QI_KVER" 2> "$QI_WORK/mkinner.log") || {
		sed 's/^/# mkinner: /' "$QI_WORK/mkinner.log"
		return 1
	}
	QI_INITRD=$(tail -n1 <<< "$out")
	qi_log "inner initramfs: $QI_INITRD ($(du -h "$QI_INITRD" | cut -f1))"
	# mkinner.sh's uncompressed kernel boots through PVH: much faster
	# than decompressing the bzImage under double emulation.
	if [ -z "${QI_KERNEL_SET:-}" ] && [ -s "${QI_INITRD%.cpio}.vmlinux" ]; then
		QI_KERNEL=${QI_INITRD%.cpio}.vmlinux
		qi_log "inner kernel: $QI_KERNEL (PVH)"
	fi
	qi_accel
}

# qi_net_bridge: bridge $QI_BR with the VM's address.
qi_net_bridge() {
	ip link set lo up	# the lab VM leaves it down; migration uses 127.0.0.1
	modprobe bridge 2>/dev/null
	if [ ! -d /sys/class/net/$QI_BR ]; then
		ip link add "$QI_BR" address "$QI_HOST_MAC" type bridge stp_state 0 forward_delay 0 || return 1
		sysctl -qw "net.ipv6.conf.$QI_BR.disable_ipv6=1" 2>/dev/null
		ip addr add "$QI_HOST_IP/24" dev "$QI_BR" || return 1
	fi
	ip link set "$QI_BR" up
}

# qi_tap NAME [multi_queue]: persistent tap, port of the bridge.
qi_tap() {
	local name=$1 mq=${2:-}
	ip link del "$name" 2>/dev/null
	# shellcheck disable=SC2086
	ip tuntap add "$name" mode tap $mq || return 1
	sysctl -qw "net.ipv6.conf.$name.disable_ipv6=1" 2>/dev/null
	ip link set "$name" master "$QI_BR" || return 1
	ip link set "$name" up
	QI_TAPS+=("$name")
}

# qi_net_tap NAME: a lone tap carrying the VM's address (no bridge).
qi_net_tap() {
	local name=$1
	ip link set lo up
	ip link del "$name" 2>/dev/null
	ip tuntap add "$name" mode tap || return 1
	sysctl -qw "net.ipv6.conf.$name.disable_ipv6=1" 2>/dev/null
	ip link set "$name" address "$QI_HOST_MAC"
	ip addr add "$QI_HOST_IP/24" dev "$name" || return 1
	ip link set "$name" up
	QI_TAPS+=("$name")
}

qi_net_cleanup() {
	local t
	for t in "${QI_TAPS[@]}"; do ip link del "$t" 2>/dev/null; done
	QI_TAPS=()
	ip link del "$QI_BR" 2>/dev/null
	return 0
}

# ---- QEMU instances ---------------------------------------------------------

# qi_append TAP: the inner kernel's command line for the current knobs.
# no_timer_check: the boot-time IO-APIC timer check races a delay loop;
# under two layers of TCG it can fail, and with interrupt remapping
# (qemu_iommu) that is a panic ("timer doesn't work through
# Interrupt-remapped IO-APIC", seen with a 7.3 lab VM).  QI_BOOT_OPTS: what
# makes the boot itself cheaper (see QI_BOOT_OPTS above).  A guest booted to
# be saved (QI_PREP=1) always has loglevel 4: its command line is part of
# the saved state's name, and a restoring test sets its own (dmesg -n).
qi_append() {
	local tap=$1 a lvl=${QI_LOGLEVEL:-4}
	[ "${QI_PREP:-0}" = 1 ] && lvl=4
	a="console=ttyS0 loglevel=$lvl panic=-1 no_timer_check"
	a+=${QI_BOOT_OPTS:+ $QI_BOOT_OPTS}
	a+=" VHXI_IP=$QI_GUEST_IP/24 VHXI_PEER=$QI_HOST_IP"
	a+=${QI_APPEND:+ $QI_APPEND}
	[ "${QI_PREP:-0}" = 1 ] && a+=" VHXI_PREP=1"
	[ "$tap" = - ] && a+=" VHXI_NET=0"
	echo "$a"
}

# qi_start ID TAP [QEMU ARGS...] — start an inner QEMU in the background.
# TAP "-": no NIC at all (the inner init skips the network: VHXI_NET=0).
# Knobs (env): QI_MACHINE (q35), QI_SMP (1), QI_NETDEV_OPTS (",queues=2"),
# QI_DEV_OPTS (",mq=on,vectors=6"), QI_PRE_DEVS (args before the NIC, e.g.
# an intel-iommu), QI_APPEND (extra inner kernel command line),
# QI_LOGLEVEL (4).  Extra args go last (e.g. -incoming ...).
qi_start() {
	local id=$1 tap=$2 dir
	shift 2
	[ -n "$QI_INITRD" ] || qi_build || return 1
	dir=$QI_WORK/$id
	rm -rf "$dir"
	mkdir -p "$dir"
	mkfifo "$dir/ag.in" "$dir/ag.out" "$dir/mon.in" "$dir/mon.out"
	# QEMU opens *.out write-only: readers first (they see EOF when it dies).
	cat "$dir/ag.out" > "$dir/ag.log" &
	QI_BG+=($!)
	cat "$dir/mon.out" > "$dir/mon.log" &
	QI_BG+=($!)
	local append nic=()
	append=$(qi_append "$tap")
	if [ "$tap" != - ]; then
		nic=(-netdev "tap,id=n0,ifname=$tap,script=no,downscript=no,vhost=${QI_VHOST:-on}${QI_NETDEV_OPTS:-}"
			-device "virtio-net-pci,netdev=n0,mac=$QI_MAC${QI_DEV_OPTS:-}")
	fi
	# shellcheck disable=SC2054,SC2206
	local cmd=("$QI_QEMU" -nodefaults -no-user-config -no-reboot -display none
		-machine "${QI_MACHINE:-q35},accel=${QI_ACCEL:-tcg}" -m "$QI_MEM" -smp "${QI_SMP:-1}"
		-kernel "$QI_KERNEL" -initrd "$QI_INITRD" -append "$append"
		-serial "file:$dir/console.log" -serial "pipe:$dir/ag"
		-monitor "pipe:$dir/mon"
		${QI_PRE_DEVS:-}
		"${nic[@]}"
		"$@")
	echo "${cmd[*]}" > "$dir/cmdline"
	"${cmd[@]}" > "$dir/qemu.out" 2>&1 < /dev/null &
	QI_PID[$id]=$!
	QI_DIR[$id]=$dir
	local fd
	exec {fd}<> "$dir/ag.in"
	QI_AGFD[$id]=$fd
	exec {fd}<> "$dir/mon.in"
	QI_MONFD[$id]=$fd
	QI_BG+=("${QI_PID[$id]}")
	[ "$QI_VERBOSE" = 1 ] && qi_stream "$id"
	if [ "$tap" = - ]; then
		qi_log "QEMU '$id' pid ${QI_PID[$id]} (no NIC)"
	else
		qi_log "QEMU '$id' pid ${QI_PID[$id]} on $tap${QI_NETDEV_OPTS:-}${QI_DEV_OPTS:-}"
	fi
	return 0
}

# qi_stream ID: copy the inner console to stdout ("inner| ...") until stopped.
qi_stream() {
	local id=$1 dir=${QI_DIR[$1]}
	touch "$dir/console.log"
	# $! is the tail; the sed ends when the tail is killed.
	tail -n +1 -F "$dir/console.log" 2>/dev/null > >(sed -u \
		's/\r//g; s/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/^/inner| /') &
	QI_TAIL[$id]=$!
}

qi_unstream() {
	local id=$1
	[ -n "${QI_TAIL[$id]:-}" ] || return 0
	sleep 0.5
	kill "${QI_TAIL[$id]}" 2>/dev/null
	wait "${QI_TAIL[$id]}" 2>/dev/null
	QI_TAIL[$id]=
}

qi_alive() { [ -n "${QI_PID[$1]:-}" ] && kill -0 "${QI_PID[$1]}" 2>/dev/null; }

# qi_progress ID: a number that grows while the inner guest makes progress:
# its console's size plus its QEMU's CPU time in units of 10 s (an idle
# QEMU spends well under 10 s of CPU in QI_STALL).  A guest that is merely
# slow (a loaded host) keeps moving it; a dead or idle-wedged one does not.
qi_progress() {
	local pid=${QI_PID[$1]:-} c t
	c=$(stat -c %s "${QI_DIR[$1]}/console.log" 2>/dev/null) || c=0
	t=$(awk '{ sub(/.*\) /, ""); print int(($12 + $13) / 1000) }' "/proc/$pid/stat" 2>/dev/null) || t=0
	echo $((c + ${t:-0}))
}

# qi_wait_ready ID [CAP]: wait for the agent's banner.  The wait follows
# progress, not a fixed time: it fails when QEMU exits, when the guest has
# not moved (qi_progress) for QI_STALL seconds, or after CAP seconds
# (QI_BOOT_TIMEOUT) in all; past QI_BOOT_SLOW seconds it says the host is
# slow.  Progress lines every QI_PROGRESS (15) seconds.
qi_wait_ready() {
	local id=$1 secs=${2:-$QI_BOOT_TIMEOUT} dir=${QI_DIR[$1]} t0=$SECONDS next=${QI_PROGRESS:-15} size=
	local p last=-1 moved=$SECONDS slow=0
	while ! grep -q '^VHXI-AGENT ready' "$dir/ag.log" 2>/dev/null; do
		if ! qi_alive "$id"; then
			qi_log "QEMU '$id' exited during boot:"
			qi_tail_logs "$id"
			return 1
		fi
		p=$(qi_progress "$id")
		[ "$p" != "$last" ] && { last=$p; moved=$SECONDS; }
		if [ $((SECONDS - moved)) -ge "$QI_STALL" ]; then
			qi_log "inner guest '$id' made no progress for ${QI_STALL}s (console and CPU time still), ${secs}s cap:"
			qi_tail_logs "$id"
			return 1
		fi
		if [ $((SECONDS - t0)) -ge "$secs" ]; then
			qi_log "inner guest '$id' not ready after ${secs}s (still progressing: the host is too slow or overloaded):"
			qi_tail_logs "$id"
			return 1
		fi
		if [ $slow = 0 ] && [ $((SECONDS - t0)) -ge "$QI_BOOT_SLOW" ]; then
			qi_log "  the host is slow: inner boot still running after ${QI_BOOT_SLOW}s (typical: 1-2 min); waiting while it progresses, up to ${secs}s"
			slow=1
		fi
		if [ $((SECONDS - t0)) -ge $next ]; then
			if [ "$QI_VERBOSE" != 1 ]; then
				qi_log "  ... inner guest booting, ${next}s: $(qi_last_console "$id")"
			elif [ "$(stat -c %s "$dir/console.log")" = "${size:-}" ]; then
				qi_log "  ... inner guest booting, ${next}s elapsed"
			fi
			size=$(stat -c %s "$dir/console.log")
			next=$((next + ${QI_PROGRESS:-15}))
		fi
		sleep 0.5
	done
	qi_log "inner guest '$id' ready after $((SECONDS - t0))s ($(grep -a -m1 'VHXI: READY' "$dir/console.log" | tr -d '\r'))"
}

qi_last_console() {
	local l
	l=$(grep -a -v '^[[:space:]]*$' "${QI_DIR[$1]}/console.log" 2>/dev/null | tail -n 1 | tr -d '\r' | cut -c1-90)
	echo "${l:-(console quiet so far)}"
}

qi_tail_logs() {
	local id=$1 dir=${QI_DIR[$1]}
	echo "# --- $id qemu.out:"
	tail -n 10 "$dir/qemu.out" 2>/dev/null | sed 's/^/#   | /'
	echo "# --- $id console.log (tail):"
	tail -n 25 "$dir/console.log" 2>/dev/null | tr -d '\r' | sed 's/^/#   | /'
	echo "# --- $id agent (tail):"
	tail -n 10 "$dir/ag.log" 2>/dev/null | sed 's/^/#   | /'
}

# qi_cmd ID SECS CMD... — run CMD in the inner guest (busybox sh, helpers of
# selftests/vm/inner/vhxi.sh).  Its output goes to stdout as "# inner: ..."
# (and to $QI_OUT); returns its exit status, 124 on timeout, 125 if QEMU died.
# With QI_LIVE=1 the output is shown while the command runs.
QI_OUT=
QI_LIVE=${QI_LIVE:-0}
qi_cmd() {
	local id=$1 secs=$2 dir=${QI_DIR[$1]} tag t0=$SECONDS rc shown=0 n
	shift 2
	QI_SEQ=$((QI_SEQ + 1))
	tag=c$QI_SEQ.$$
	# one line per command: the agent reads lines
	printf '%s %s\n' "$tag" "$(tr '\n\t' '  ' <<< "$*")" >&"${QI_AGFD[$id]}"
	[ "$QI_VERBOSE" = 1 ] && echo "# inner\$ $*"
	while ! grep -q "^VHXI-END $tag rc=" "$dir/ag.log"; do
		if ! qi_alive "$id"; then rc=125; break; fi
		if [ $((SECONDS - t0)) -ge "$secs" ]; then rc=124; break; fi
		sleep 0.2
		if [ "$QI_LIVE" = 1 ]; then
			# complete lines after BEGIN, minus the last (may be partial)
			QI_OUT=$(sed -n "/^VHXI-BEGIN $tag\$/,\$p" "$dir/ag.log" | sed 1d | tr -d '\r')
			n=$(($(grep -c '' <<< "$QI_OUT") - 1))
			if [ "$n" -gt "$shown" ]; then
				sed -n "$((shown + 1)),${n}p" <<< "$QI_OUT" | sed 's/^/# inner: /'
				shown=$n
			fi
		fi
	done
	QI_OUT=$(sed -n "/^VHXI-BEGIN $tag\$/,/^VHXI-END $tag rc=/p" "$dir/ag.log" |
		sed '1d;$d' | tr -d '\r')
	[ -n "$QI_OUT" ] && sed -n "$((shown + 1)),\$p" <<< "$QI_OUT" | sed 's/^/# inner: /'
	if [ -z "${rc:-}" ]; then
		rc=$(sed -n "s/^VHXI-END $tag rc=\([0-9]*\).*/\1/p" "$dir/ag.log")
	fi
	case $rc in
	124) qi_log "inner command timed out after ${secs}s: $*" ;;
	125) qi_log "QEMU '$id' died during: $*" ;;
	esac
	return "$rc"
}

# qi_ping_agent ID [SECS]: is the agent answering?  Retries: a byte that
# reaches the UART before an incoming migration has been loaded is lost.
qi_ping_agent() {
	local id=$1 secs=${2:-60} t0=$SECONDS try=3
	while qi_still_moving "$id" "$t0" "$secs"; do
		qi_cmd "$id" "$try" 'echo alive' > /dev/null 2>&1 && return 0
		qi_alive "$id" || return 1
		[ $try -lt 15 ] && try=$((try + 2))	# a lost line is retried soon
	done
	return 1
}

# qi_still_moving ID T0 SECS: true while a wait begun at T0 for SECS may go
# on: within SECS, or past it while the guest still makes progress
# (qi_progress moved in the last QI_STALL seconds) and QI_BOOT_TIMEOUT has
# not passed -- a loaded host is slow, not broken.  Keeps its state in
# QI_MV_* (one wait at a time).
QI_MV_KEY='' QI_MV_LAST='' QI_MV_AT=0 QI_MV_NOTED=0
qi_still_moving() {
	local id=$1 t0=$2 secs=$3 p
	if [ "$QI_MV_KEY" != "$id.$t0" ]; then
		QI_MV_KEY=$id.$t0 QI_MV_LAST='' QI_MV_AT=$SECONDS QI_MV_NOTED=0
	fi
	p=$(qi_progress "$id")
	[ "$p" != "$QI_MV_LAST" ] && { QI_MV_LAST=$p; QI_MV_AT=$SECONDS; }
	[ $((SECONDS - t0)) -lt "$secs" ] && return 0
	[ $((SECONDS - t0)) -lt "$QI_BOOT_TIMEOUT" ] && [ $((SECONDS - QI_MV_AT)) -lt "$QI_STALL" ] || return 1
	if [ $QI_MV_NOTED = 0 ]; then
		qi_log "  the host is slow: '$id' still busy after ${secs}s; waiting while it progresses (up to ${QI_BOOT_TIMEOUT}s)"
		QI_MV_NOTED=1
	fi
	return 0
}

# qi_wait_running ID SECS: wait for "VM status: running" (after -incoming);
# past SECS only while QEMU still makes progress (qi_still_moving).
qi_wait_running() {
	local id=$1 secs=${2:-120} dir=${QI_DIR[$1]} t0=$SECONDS off
	while qi_still_moving "$id" "$t0" "$secs"; do
		if ! qi_alive "$id"; then
			qi_log "QEMU '$id' exited; its last words:"
			tail -n 10 "$dir/qemu.out" 2>/dev/null | sed 's/^/#   qemu| /'
			return 1
		fi
		off=$(stat -c %s "$dir/mon.log")
		qi_mon "$id" "info status"
		sleep 0.5
		tail -c +"$((off + 1))" "$dir/mon.log" | grep -aq 'VM status: running' && return 0
	done
	qi_log "QEMU '$id' not running after ${secs}s: $(tail -c 200 "$dir/mon.log" | tr -d '\r' | grep -a 'VM status' | tail -n1)"
	return 1
}

# qi_mon ID CMD: send an HMP command (output lands in mon.log).
qi_mon() {
	printf '%s\n' "$2" >&"${QI_MONFD[$1]}"
}

# qi_migrate ID URI [SECS]: migrate, wait for completion (source pauses).
qi_migrate() {
	local id=$1 uri=$2 secs=${3:-300} dir=${QI_DIR[$1]} t0=$SECONDS st next=10 off
	off=$(stat -c %s "$dir/mon.log")	# only look at what follows
	qi_mon "$id" "migrate -d $uri"
	while :; do
		sleep 1
		qi_mon "$id" "info migrate"
		sleep 0.5
		st=$(tail -c +"$((off + 1))" "$dir/mon.log" | tr -d '\r' | grep -a 'Migration status:' |
			tail -n1 | awk '{print $3}')
		case $st in
		completed) break ;;
		failed | cancelled)
			qi_log "migration $st:"
			tr -d '\r' < "$dir/mon.log" | grep -a -v '^(qemu)' | tail -n 15 | sed 's/^/#   mon| /'
			return 1 ;;
		esac
		if ! qi_alive "$id"; then qi_log "source QEMU died during migration"; return 1; fi
		if [ $((SECONDS - t0)) -ge "$secs" ]; then
			qi_log "migration not complete after ${secs}s (status ${st:-?})"
			qi_mon "$id" "migrate_cancel"
			return 1
		fi
		if [ $((SECONDS - t0)) -ge $next ]; then
			qi_log "  ... migrating, ${next}s, status ${st:-?}"
			next=$((next + 10))
		fi
	done
	qi_log "migration to $uri completed in $((SECONDS - t0))s"
	tr -d '\r' < "$dir/mon.log" | grep -a -E '^(total time|downtime|transferred ram|dirty sync count):' |
		tail -n 4 | sed 's/^/#   /'
}

# qi_stop ID [SIG]: end an instance (default: quit via monitor, then kill).
qi_stop() {
	local id=$1 sig=${2:-} pid=${QI_PID[$1]:-}
	[ -n "$pid" ] || return 0
	if [ -z "$sig" ]; then
		qi_mon "$id" quit 2>/dev/null
		for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$pid" 2>/dev/null
	else
		kill "-$sig" "$pid" 2>/dev/null
	fi
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" 2>/dev/null
	local fd
	fd=${QI_AGFD[$id]:-}
	[ -n "$fd" ] && exec {fd}>&-
	fd=${QI_MONFD[$id]:-}
	[ -n "$fd" ] && exec {fd}>&-
	QI_AGFD[$id]=
	QI_MONFD[$id]=
	qi_unstream "$id"
	QI_PID[$id]=
}

qi_cleanup() {
	local id p
	for id in "${!QI_PID[@]}"; do
		[ -n "${QI_PID[$id]}" ] && kill -9 "${QI_PID[$id]}" 2>/dev/null
	done
	for id in "${!QI_TAIL[@]}"; do
		[ -n "${QI_TAIL[$id]}" ] && kill "${QI_TAIL[$id]}" 2>/dev/null
	done
	for p in "${QI_BG[@]}"; do kill "$p" 2>/dev/null; done
	sleep 0.3
	qi_net_cleanup
	# (failures print the logs that matter: qi_tail_logs, qi_diag)
	[ -n "$QI_WORK_OWN" ] && rm -rf "$QI_WORK"
	return 0
}

# ---- the shared snapshot of a booted single-queue guest ---------------------

# qi_snapshot ID FILE: save the running guest to FILE (migration to a file);
# the guest is paused afterwards (qi_mon ID cont resumes it).
qi_snapshot() {
	local id=$1 file=$2
	mkdir -p "$(dirname "$file")"
	rm -f "$file" "$file.ok"
	qi_cmd "$id" 60 'rm -f /tmp/*.bin /tmp/*.rc /tmp/*.err /tmp/*.sum; sync' > /dev/null
	qi_migrate "$id" "exec:cat>$file" 300 || return 1
	touch "$file.ok"
	qi_log "snapshot $file ($(du -h "$file" | cut -f1))"
}

# qi_restore ID TAP FILE: start a QEMU that loads FILE and runs.
qi_restore() {
	local id=$1 tap=$2 file=$3 t0=$SECONDS
	qi_start "$id" "$tap" -incoming "exec:cat $file" || return 1
	qi_wait_running "$id" 120 || { qi_tail_logs "$id"; return 1; }
	qi_ping_agent "$id" 60 || { qi_log "restored guest '$id' does not answer"; qi_tail_logs "$id"; return 1; }
	qi_log "guest '$id' restored from snapshot in $((SECONDS - t0))s"
}

# qi_sq_snapshot: path of a snapshot of a booted single-queue guest, made
# once per lab-VM boot (by the first test that needs it).  Needs QI_INITRD.
qi_sq_snapshot_path() { echo "$QI_CACHE/sq-$(basename "${QI_INITRD%.cpio}").state"; }

# Sets QI_SNAP.
QI_SNAP=
qi_sq_snapshot() {
	[ -n "$QI_INITRD" ] || qi_build || return 1
	QI_SNAP=$(qi_sq_snapshot_path)
	[ -f "$QI_SNAP.ok" ] && return 0
	qi_log "no snapshot yet (qemu_basic makes it): bringing up a single-queue inner guest to make one"
	[ -d /sys/class/net/$QI_BR ] || qi_net_bridge || return 1
	qi_tap vhxsnap0 || return 1
	qi_model sq
	qi_up snapboot vhxsnap0 || { qi_stop snapboot 9; return 1; }
	qi_cmd snapboot 60 "ping -c 2 -W 5 $QI_HOST_IP" > /dev/null
	qi_snapshot snapboot "$QI_SNAP" || { qi_stop snapboot 9; return 1; }
	qi_stop snapboot
	ip link del vhxsnap0 2>/dev/null
	return 0
}

# ---- live migration under traffic ---------------------------------------------

# qi_migrate_streams SRC DST N MB PORT — TAP tests N..N+3 (migrate,
# to-guest, from-guest, after): with TCP streams running both ways (VM ->
# guest MB MiB, checksummed by the guest as it receives; guest -> VM 4 MiB),
# migrate the running guest SRC to DST (a QEMU started with -incoming
# tcp:127.0.0.1:PORT); the streams must survive with matching sha256, DST
# must have its own vhost-<pid> worker and SRC's must be gone, and DST must
# work on its own afterwards (ping, 2 MiB with sha256, its vhx counters
# move).  Uses ports PORT+1 .. PORT+3.  Leaves DST running.
qi_migrate_streams() {
	local src=$1 dst=$2 n=$3 mb=$4 port=$5 rc big want_in want_out got b0 mt
	local sender recv SRC DST drx dtx
	SRC=${QI_PID[$src]}
	DST=${QI_PID[$dst]}

	# N: streams + migration
	rc=0
	big=$QI_WORK/big.bin
	head -c $((mb * 1048576)) /dev/urandom > "$big"
	want_in=$(sha256sum < "$big" | cut -d' ' -f1)
	qi_cmd "$src" 60 "rxsum $((port + 1)) mig && mkdata /tmp/out.bin 4" || rc=1
	want_out=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT")
	# guest -> VM receiver (stdin: a FIFO that never EOFs, see qi_xfer_from_guest)
	[ -p "$QI_WORK/never" ] || mkfifo "$QI_WORK/never"
	busybox nc -l -p $((port + 2)) > "$QI_WORK/out.bin" 2>/dev/null <> "$QI_WORK/never" &
	recv=$!
	QI_BG+=("$recv")
	sleep 0.5
	bash -c "exec cat '$big' > /dev/tcp/$QI_GUEST_IP/$((port + 1))" &
	sender=$!
	QI_BG+=("$sender")
	qi_cmd "$src" 30 "(tx $QI_HOST_IP $((port + 2)) /tmp/out.bin > /tmp/out.log 2>&1; echo \$? > /tmp/out.rc) > /dev/null 2>&1 &" ||
		rc=1
	sleep 3
	b0=$(cat /sys/class/net/vhxtap0/statistics/tx_bytes 2>/dev/null || echo 0)
	qi_log "streams running ($((b0 / 1024)) KiB to the guest so far); migrating $src (pid $SRC) -> $dst (pid $DST)"
	mt=$SECONDS
	if qi_migrate "$src" "tcp:127.0.0.1:$port" 300; then
		qi_log "migration took $((SECONDS - mt))s; stream sender still running: $(kill -0 $sender 2>/dev/null && echo yes || echo no)"
		qi_stop "$src"
		qi_wait_running "$dst" 60 || rc=1
		qi_check_worker "$dst" || rc=1
		sleep 1
		[ -z "$(qi_workers "$SRC")" ] || { qi_log "src worker vhost-$SRC still there"; rc=1; }
	else
		rc=1
	fi
	qi_result "$n" migrate $rc

	# N+1: VM -> guest stream
	rc=0
	for _ in $(seq 1 300); do kill -0 "$sender" 2>/dev/null || break; sleep 1; done
	if kill -0 "$sender" 2>/dev/null; then
		qi_log "VM -> guest sender still running after 300 s"
		kill "$sender"
		rc=1
	fi
	wait "$sender" || { qi_log "VM -> guest sender failed"; rc=1; }
	qi_cmd "$dst" 300 "sumwait mig 240" > /dev/null || rc=1
	got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT")
	qi_log "VM -> guest across the migration: $mb MiB, VM sha256 ${want_in:0:16}..., guest ${got:0:16}..."
	[ "$got" = "$want_in" ] || { qi_log "CHECKSUM MISMATCH (VM -> guest)"; rc=1; }
	qi_result $((n + 1)) to-guest $rc

	# N+2: guest -> VM stream
	rc=0
	qi_cmd "$dst" 300 'i=0; while [ ! -e /tmp/out.rc ] && [ $i -lt 2400 ]; do sleep 0.1; i=$((i+1)); done; cat /tmp/out.log; echo "tx rc=$(cat /tmp/out.rc 2>/dev/null)"' > /dev/null
	grep -q 'tx rc=0' <<< "$QI_OUT" || { qi_log "guest -> VM sender: $QI_OUT"; rc=1; }
	for _ in $(seq 1 100); do kill -0 "$recv" 2>/dev/null || break; sleep 0.1; done
	kill "$recv" 2>/dev/null
	wait "$recv" 2>/dev/null
	got=$(sha256sum < "$QI_WORK/out.bin" | cut -d' ' -f1)
	qi_log "guest -> VM across the migration: 4 MiB, guest sha256 ${want_out:0:16}..., VM ${got:0:16}... (size $(stat -c %s "$QI_WORK/out.bin"))"
	[ -n "$want_out" ] && [ "$got" = "$want_out" ] || { qi_log "CHECKSUM MISMATCH (guest -> VM)"; rc=1; }
	qi_result $((n + 2)) from-guest $rc

	# N+3: the destination works on its own
	rc=0
	qi_vq_stats "$DST" > "$QI_WORK/s0" 2>/dev/null
	qi_ping "$dst" 3 || rc=1
	qi_xfer_to_guest "$dst" 2 $((port + 3)) || rc=1
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
	qi_result $((n + 3)) after $rc
}

# ---- data checks ------------------------------------------------------------

# qi_xfer_to_guest ID MB PORT: VM -> inner, compare sha256 on both sides.
qi_xfer_to_guest() {
	local id=$1 mb=$2 port=${3:-5001} f want got t0
	f=$QI_WORK/tx-$port.bin
	head -c $((mb * 1048576)) /dev/urandom > "$f"
	want=$(sha256sum < "$f" | cut -d' ' -f1)
	qi_cmd "$id" 60 "rxstart $port /tmp/rx$port.bin" > /dev/null || return 1
	t0=$(qi_now)
	if ! timeout 180 bash -c "cat '$f' > /dev/tcp/$QI_GUEST_IP/$port"; then
		qi_log "send to inner guest failed"
		return 1
	fi
	qi_cmd "$id" 300 "rxwait /tmp/rx$port.bin 240; rm -f /tmp/rx$port.bin" > /dev/null || return 1
	got=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT")
	qi_log "VM -> inner: $mb MiB in $(qi_since "$t0")s; VM sha256 ${want:0:16}..., inner ${got:0:16}... ($(grep -o 'size=[0-9]*' <<< "$QI_OUT"))"
	[ "$want" = "$got" ] || { qi_log "CHECKSUM MISMATCH VM -> inner"; return 1; }
}

# qi_xfer_from_guest ID MB PORT: inner -> VM, compare sha256 on both sides.
qi_xfer_from_guest() {
	local id=$1 mb=$2 port=${3:-5002} f want got pid t0
	f=$QI_WORK/rx-$port.bin
	qi_cmd "$id" 300 "mkdata /tmp/tx$port.bin $mb" > /dev/null || return 1
	want=$(sed -n 's/.*sha256=\([0-9a-f]*\).*/\1/p' <<< "$QI_OUT")
	rm -f "$f"
	# stdin: a FIFO held open read-write never EOFs (busybox nc quits once
	# stdin is at EOF and the peer has half-closed: it would cut the stream)
	[ -p "$QI_WORK/never" ] || mkfifo "$QI_WORK/never"
	busybox nc -l -p "$port" > "$f" 2>/dev/null <> "$QI_WORK/never" &
	pid=$!
	for _ in $(seq 1 50); do ss -ltn 2>/dev/null | grep -q ":$port " && break; sleep 0.1; done
	t0=$(qi_now)
	qi_cmd "$id" 300 "tx $QI_HOST_IP $port /tmp/tx$port.bin; r=\$?; rm -f /tmp/tx$port.bin; exit \$r" > /dev/null ||
		{ kill "$pid" 2>/dev/null; return 1; }
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	got=$(sha256sum < "$f" | cut -d' ' -f1)
	qi_log "inner -> VM: $mb MiB in $(qi_since "$t0")s; inner sha256 ${want:0:16}..., VM ${got:0:16}... (size=$(stat -c %s "$f"))"
	rm -f "$f"
	[ -n "$want" ] && [ "$want" = "$got" ] || { qi_log "CHECKSUM MISMATCH inner -> VM"; return 1; }
}

# qi_ping ID COUNT: inner guest pings the VM; 0 % loss required.
qi_ping() {
	local id=$1 n=${2:-5}
	qi_cmd "$id" $((n * 6 + 30)) "ping -c $n -W 5 $QI_HOST_IP" || return 1
	grep -q ' 0% packet loss' <<< "$QI_OUT"
}

# qi_iperf ID SECS [ARGS]: iperf3 client in the inner guest, server in the VM.
# Prints the sender/receiver lines; sets QI_IPERF_MBPS (receiver).
QI_IPERF_MBPS=
qi_iperf() {
	local id=$1 secs=${2:-5} args=${3:-} spid
	QI_IPERF_MBPS=
	iperf3 -s -1 -B "$QI_HOST_IP" > "$QI_WORK/iperf-s.log" 2>&1 &
	spid=$!
	sleep 1
	local rc
	if [ "$QI_LIVE" = 1 ]; then	# every interval line, as it comes
		qi_cmd "$id" $((secs + 60)) "iperf3 -c $QI_HOST_IP -t $secs -f m $args"
		rc=$?
	else
		qi_cmd "$id" $((secs + 60)) "iperf3 -c $QI_HOST_IP -t $secs -f m $args" > /dev/null
		rc=$?
		grep -E 'sender|receiver' <<< "$QI_OUT" | sed 's/^/#   /'
	fi
	QI_IPERF_MBPS=$(grep 'receiver' <<< "$QI_OUT" | tail -n1 |
		awk '{ for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") print $(i - 1) }')
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	[ $rc -eq 0 ] && [ -n "$QI_IPERF_MBPS" ]
}

# qi_diag ID: what the inner guest and QEMU say (after a failure).
qi_diag() {
	local id=$1 dir=${QI_DIR[$1]}
	echo "# --- diagnostics of '$id':"
	tail -n 15 "$dir/qemu.out" 2>/dev/null | sed 's/^/#   qemu| /'
	qi_cmd "$id" 60 'dmesg | tail -n 15; ip -s link show eth0; ethtool -S eth0 | grep -v ": 0$"; cat /proc/interrupts | grep -i virtio' > /dev/null
	sed 's/^/#   inner| /' <<< "$QI_OUT"
	echo "#   VM: $(ip -s -o link show "$(basename "$(ls -d /sys/class/net/vhxtap* /sys/class/net/tap0 2>/dev/null | head -n1)")" 2>/dev/null | tr -s ' ' | cut -c1-300)"
	qi_has_stats && sed 's/^/#   vhx| /' "$QI_DEBUGFS"
	return 0
}

# ---- vhost side -------------------------------------------------------------

# qi_workers PID: the thread ids of the vhost worker threads named vhost-PID
# (one per device, or per queue).  Threads, not processes: since 6.4 a
# worker is a vhost_task, a thread of the owner's process (QEMU's), which
# "ps -e" does not list; on 6.1 it is a kthread (its own process, lwp = pid).
qi_workers() {
	ps -e -L -o lwp=,comm= | awk -v n="vhost-$1" '$2 == n { print $1 }'
}

qi_any_workers() {
	ps -e -L -o lwp=,comm= | awk '$2 ~ /^vhost-[0-9]+$/ { print $1 " " $2 }'
}

qi_has_stats() { [ -r "$QI_DEBUGFS" ] || { mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null; [ -r "$QI_DEBUGFS" ]; }; }

# qi_vq_stats [OWNER]: one line per vq of the vhx devices (of OWNER):
#   "DEV IDX NAME packets bytes kicks calls runs requeues errors iotlb_misses"
qi_vq_stats() {
	local owner=${1:-}
	qi_has_stats || return 1
	awk -v owner="$owner" '
		function kv(s,   i, a) { for (i = 1; i <= NF; i++) { split($i, a, "="); if (a[1] == s) return a[2] } return "" }
		$1 == "dev" { own[kv("id")] = kv("owner") }
		$1 == "vq" {
			d = kv("dev")
			if (owner != "" && own[d] != owner) next
			print d, kv("idx"), kv("name"), kv("packets"), kv("bytes"), kv("kicks"), kv("calls"),
			      kv("runs"), kv("requeues"), kv("errors"), kv("iotlb_misses")
		}' "$QI_DEBUGFS"
}

# qi_dev_lines OWNER: the "dev" lines of OWNER's devices.
qi_dev_lines() {
	qi_has_stats || return 1
	grep "^dev .* owner=$1 " "$QI_DEBUGFS"
}

# qi_stats_delta BEFORE AFTER: per-queue delta table from two qi_vq_stats.
qi_stats_delta() {
	awk 'NR == FNR { k = $1 " " $2; for (i = 4; i <= NF; i++) b[k, i] = $i; next }
	     { k = $1 " " $2; printf "dev %s %-2s q%s", $1, $3, $2
	       printf " packets +%d bytes +%d kicks +%d calls +%d runs +%d requeues +%d errors +%d iotlb_misses +%d\n",
		$4 - b[k, 4], $5 - b[k, 5], $6 - b[k, 6], $7 - b[k, 7], $8 - b[k, 8], $9 - b[k, 9],
		$10 - b[k, 10], $11 - b[k, 11] }' "$1" "$2"
}

# qi_check_worker ID: the vhost-<qemu pid> worker exists (and, with vhx
# stats, each device of this QEMU names it).  Prints the proof.
qi_check_worker() {
	local id=$1 pid=${QI_PID[$1]} w ok=0 line wp
	w=$(qi_workers "$pid")
	if [ -z "$w" ]; then
		qi_log "no vhost-$pid worker thread for QEMU pid $pid; vhost threads: $(qi_any_workers | tr '\n' ' ')"
		return 1
	fi
	ps -e -L -o pid,lwp,ppid,stat,comm | awk -v p="$pid" -v w=" $(echo $w) " \
		'NR == 1 || ($1 == p && $2 == p) || index(w, " " $2 " ")' | sed 's/^/#   ps| /'
	if qi_has_stats; then
		while read -r line; do
			wp=$(sed -n 's/.* worker=\([0-9]*\).*/\1/p' <<< "$line")
			qi_log "  vhx: $line"
			grep -qx "$wp" <<< "$w" || { qi_log "vhx device worker $wp is not a vhost-$pid thread"; ok=1; }
		done < <(qi_dev_lines "$pid")
		[ -n "$(qi_dev_lines "$pid")" ] || { [ "${VHX_TARGET:-vhx}" = vhx ] && { qi_log "no vhx device owned by $pid"; ok=1; }; }
	fi
	return $ok
}

# ---- kernel log -------------------------------------------------------------
QI_KLOG_RE='BUG:|WARNING:|Oops|Call Trace|hung_task|soft lockup|general protection|refcount_t|list_(add|del) corruption'
# qi_prereq_or_skip N NAME [WHY]: the nested tests' common preamble.  When
# WHY is given, or qi_prereq finds something missing, every one of the N
# results (NAME-1 .. NAME-N) is a SKIP with the reason and the test exits 4
# (KSFT_SKIP); else it returns.
qi_prereq_or_skip() {
	local n=$1 name=$2 why=${3:-} i
	[ -n "$why" ] || why=$(qi_prereq)
	[ -n "$why" ] || return 0
	for ((i = 1; i <= n; i++)); do echo "ok $i $name-$i # SKIP $why"; done
	exit 4
}
qi_klog_mark() { QI_KLOG_LINES=$(dmesg | wc -l); }
# qi_klog_check: new kernel log lines since qi_klog_mark; fails on splats.
qi_klog_check() {
	local new
	new=$(dmesg | tail -n +"$((QI_KLOG_LINES + 1))")
	if grep -qE "$QI_KLOG_RE" <<< "$new"; then
		qi_log "kernel log problems:"
		grep -E -A5 "$QI_KLOG_RE" <<< "$new" | head -n 40 | sed 's/^/#   dmesg| /'
		return 1
	fi
	return 0
}

# ---- TAP --------------------------------------------------------------------
QI_FAILS=0
QI_T_LAST=$SECONDS
# qi_result N NAME RC: "ok"/"not ok" from an exit status (4: skip, reason in
# QI_SKIP_WHY), then "# time: ..." -- the wall seconds since the previous
# result, so a suite's log shows where its time goes.
qi_result() {
	case $3 in
	0) echo "ok $1 $2" ;;
	4) echo "ok $1 $2 # SKIP ${QI_SKIP_WHY:-skipped}" ;;
	*) echo "not ok $1 $2"; QI_FAILS=$((QI_FAILS + 1)) ;;
	esac
	echo "# time: $1 $2 $((SECONDS - QI_T_LAST))s"
	QI_T_LAST=$SECONDS
}

# shellcheck source=qemu_state.sh
. "$QI_ROOT/selftests/lib/qemu_state.sh"
