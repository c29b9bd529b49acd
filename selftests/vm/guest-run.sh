#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# guest-run.sh — run the vhx test suite inside the test VM (guest side).
#
# Started by selftests/vm/init in the chroot of the host root (9p, read-only;
# /tmp and /run are fresh tmpfs).  Can also be run by hand from
# `run.sh --shell`.
#
#   load tun/tap (+macvtap) -> load target modules -> check /dev/vhost-net
#   -> run selftests/$VHX_SUITE_DIRS/*_test (C, TAP) then *_test.sh (TAP)
#   -> rmmod (module-unload) -> dmesg scan (kernel-log-clean)
#   -> "PASS|FAIL|SKIP name" lines + "summary: ..." on /dev/ttyS1
#
# Environment (from the kernel command line, see run.sh):
#   VHX_ROOT          repository path (required)
#   VHX_TARGET        vhx (default): insmod vhost/vhx_core.ko vhost/vhx_net.ko
#                     (and vhx_blk.ko, vhx_vsock.ko when built)
#                     intree: modprobe vhost_net vhost_vsock (validate tests
#                     vs mainline)
#   VHX_TESTS         comma/space separated test names (default: all)
#   VHX_TEST_TIMEOUT  per-program timeout in seconds (default 300)
# Exported to every test program: VHX_ROOT VHX_TARGET VHX_DEV VHX_KVER TMPDIR
set -uo pipefail	# no -e: a failing test must not stop the suite

VHX_ROOT=${VHX_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)}
VHX_TARGET=${VHX_TARGET:-vhx}
VHX_TESTS=${VHX_TESTS:-}
VHX_TEST_TIMEOUT=${VHX_TEST_TIMEOUT:-300}
# shellcheck source=../lib/suites.sh
. "$VHX_ROOT/selftests/lib/suites.sh"
VHX_DEV=${VHX_DEV:-/dev/vhost-net}
VHX_KVER=$(uname -r)
export VHX_ROOT VHX_TARGET VHX_DEV VHX_KVER TMPDIR=/tmp
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

KLOG_RE='BUG:|WARNING:|Oops|Call Trace|hung_task|soft lockup'
WORK=$(mktemp -d /tmp/vhx-guest.XXXXXX)
npass=0 nfail=0 nskip=0
results=()

log() { echo "guest: $*"; }

# Result port: the second serial port, backed by a host file.
if [ -c /dev/ttyS1 ] && { exec 7>/dev/ttyS1; } 2>/dev/null; then
	stty -F /dev/ttyS1 raw -echo 2>/dev/null
else
	exec 7>/dev/null
fi

# record RESULT NAME [REASON]
record() {
	local res=$1 name=$2 reason=${3:-}
	case $res in
	PASS) npass=$((npass + 1)) ;;
	FAIL) nfail=$((nfail + 1)) ;;
	SKIP) nskip=$((nskip + 1)) ;;
	esac
	results+=("$res $name${reason:+ $reason}")
	echo "$res $name${reason:+ $reason}" >&7
}

# Is test NAME selected by VHX_TESTS?  Matches the short name (testpmd),
# the file name (testpmd_test.sh) or the program name (testpmd_test).
selected() {
	local short=$1 file=$2 t
	[ -z "$VHX_TESTS" ] && return 0
	for t in ${VHX_TESTS//,/ }; do
		case $t in
		"$short" | "$file" | "${file%.sh}") return 0 ;;
		esac
	done
	return 1
}

# run_prog PATH — run one TAP program, count its results.
run_prog() {
	local path=$1 file short out rc line n_not_ok=0 n_lines=0 name rest
	file=${path##*/}
	short=${file%.sh}
	short=${short%_test}
	out=$WORK/$file.out
	mkdir -p "$WORK/$short" && cd "$WORK/$short" || return

	# A script may ask for more time with a "# vhx-test-timeout: SECS" line
	# in its first 20 lines (the larger of that and VHX_TEST_TIMEOUT wins).
	local tmo=$VHX_TEST_TIMEOUT want
	if [[ $file == *.sh ]]; then
		want=$(head -n 20 "$path" | sed -n 's/^# vhx-test-timeout: *\([0-9][0-9]*\).*/\1/p' | head -n1)
		[ -n "$want" ] && [ "$want" -gt "$tmo" ] && tmo=$want
	fi
	log "=== $file (timeout ${tmo}s)"
	local t0=$SECONDS
	if [[ $file == *.sh ]]; then
		timeout -k 10 "$tmo" bash "$path" 2>&1 | tee "$out"
	else
		timeout -k 10 "$tmo" "$path" 2>&1 | tee "$out"
	fi
	rc=${PIPESTATUS[0]}
	cd / || true
	log "=== $file exit $rc after $((SECONDS - t0))s"

	# Top-level TAP result lines only (indented lines are subtests).
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ *(.*)$ ]]; then
			n_lines=$((n_lines + 1))
			rest=${BASH_REMATCH[2]}
			name=${rest%%#*}
			name=${name#- }
			name=${name%"${name##*[![:space:]]}"}
			[ -n "$name" ] || name="#$n_lines"
			if [ -n "${BASH_REMATCH[1]}" ]; then
				n_not_ok=$((n_not_ok + 1))
				record FAIL "$short:$name"
			elif [[ $rest =~ \#[[:space:]]*[Ss][Kk][Ii][Pp][[:space:]]*(.*)$ ]]; then
				record SKIP "$short:$name" "${BASH_REMATCH[1]:-skipped}"
			else
				record PASS "$short:$name"
			fi
		fi
	done < "$out"

	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		record FAIL "$short" "(timed out after ${tmo}s)"
	elif [ "$rc" -eq 4 ] && [ "$n_lines" -eq 0 ]; then
		record SKIP "$short" "(exit 4, no TAP output)"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$n_not_ok" -eq 0 ]; then
		record FAIL "$short" "(exit $rc)"
	elif [ "$rc" -eq 0 ] && [ "$n_lines" -eq 0 ]; then
		record PASS "$short"
	fi
}

load_target() {
	local ko dep
	case $VHX_TARGET in
	intree)
		log "modprobe vhost_net vhost_vsock (in-tree)"
		modprobe vhost_net || { record FAIL module-load "(modprobe vhost_net)"; return 1; }
		# /dev/vhost-vsock: the vsock suites SKIP without it.
		modprobe vhost_vsock || log "note: modprobe vhost_vsock failed"
		;;
	vhx)
		VHX_MODS="vhx_core vhx_net"
		# vhx_blk (/dev/vhost-blk) and vhx_vsock (/dev/vhost-vsock) come
		# along when they are built (vhx_vsock needs the sk_buff vsock API).
		[ -f "$VHX_ROOT/vhost/vhx_blk.ko" ] && VHX_MODS="$VHX_MODS vhx_blk"
		[ -f "$VHX_ROOT/vhost/vhx_vsock.ko" ] && VHX_MODS="$VHX_MODS vhx_vsock"
		for ko in $VHX_MODS; do
			if [ ! -f "$VHX_ROOT/vhost/$ko.ko" ]; then
				log "FAIL: $VHX_ROOT/vhost/$ko.ko missing (run: make modules)"
				record FAIL module-load "($ko.ko missing: run make modules)"
				return 1
			fi
		done
		for ko in $VHX_MODS; do
			# Load non-vhx dependencies (tun, tap, vhost_iotlb, ...) first.
			for dep in $(modinfo -F depends "$VHX_ROOT/vhost/$ko.ko" | tr ',' ' '); do
				case $dep in vhx_*) continue ;; esac
				modprobe "$dep" || log "warning: modprobe $dep failed"
			done
			log "insmod $VHX_ROOT/vhost/$ko.ko"
			if ! insmod "$VHX_ROOT/vhost/$ko.ko"; then
				record FAIL module-load "(insmod $ko.ko failed)"
				dmesg | tail -n 20 | sed 's/^/guest:   dmesg: /'
				return 1
			fi
		done
		;;
	*)
		record FAIL module-load "(unknown VHX_TARGET=$VHX_TARGET)"
		return 1
		;;
	esac
	# devtmpfs creates the node asynchronously; give it a moment.
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		[ -c "$VHX_DEV" ] && break
		sleep 0.2
	done
	if [ ! -c "$VHX_DEV" ]; then
		record FAIL module-load "($VHX_DEV missing after load)"
		return 1
	fi
	record PASS module-load
}

unload_target() {
	local mods
	case $VHX_TARGET in
	intree) mods="vhost_net vhost vhost_iotlb"
		lsmod | grep -q '^vhost_vsock ' && mods="vhost_vsock $mods" ;;
	*) mods="vhx_net vhx_core"
	   lsmod | grep -q '^vhx_blk ' && mods="vhx_blk $mods"
	   lsmod | grep -q '^vhx_vsock ' && mods="vhx_vsock $mods" ;;
	esac
	log "rmmod $mods"
	# A closed vsock socket whose peer has not answered lingers (up to
	# the socket layer's 8 s close timeout), holding its transport's
	# module: wait for it rather than fail.
	local m left=$mods
	for _ in $(seq 1 30); do
		# shellcheck disable=SC2086
		rmmod $left 2>/dev/null && { left=; break; }
		left=$(for m in $left; do grep -q "^$m " /proc/modules && echo "$m"; done)
		[ -n "${left// /}" ] || break
		sleep 0.5
	done
	# shellcheck disable=SC2086
	if [ -z "${left// /}" ] || rmmod $left; then
		record PASS module-unload
	else
		record FAIL module-unload "(rmmod $mods failed)"
		lsmod | grep -E '^(vhx|vhost)' | sed 's/^/guest:   lsmod: /'
	fi
}

main() {
	local t prog progs=() loaded=1

	log "kernel $VHX_KVER, target $VHX_TARGET, root $VHX_ROOT, tests ${VHX_TESTS:-all}"
	log "modprobe tun tap macvtap"
	modprobe tun || log "warning: modprobe tun failed"
	modprobe tap || log "warning: modprobe tap failed"
	modprobe macvtap 2>/dev/null || log "note: no macvtap"

	load_target || loaded=0
	log "timing: lab VM up at $(cut -d. -f1 /proc/uptime)s of uptime (kernel boot, init, module load)"

	# Discovery in the suite folders (VHX_SUITE_DIRS): executables *_test
	# (C, built by selftests/Makefile), then scripts *_test.sh, each set in
	# name order across the folders.
	# (No process substitution: the VM's root has no /dev/fd.)
	local pat found
	for pat in '*_test' '*_test.sh'; do
		found=$(for d in $VHX_SUITE_DIRS; do
			for prog in "$VHX_ROOT/selftests/$d"/$pat; do
				[ -f "$prog" ] && { [ "$pat" != '*_test' ] || [ -x "$prog" ]; } &&
					echo "${prog##*/} $prog"
			done
		done | sort | cut -d' ' -f2-)
		while IFS= read -r prog; do
			[ -n "$prog" ] && progs+=("$prog")
		done <<< "$found"
	done

	for prog in "${progs[@]}"; do
		t=${prog##*/}
		local short=${t%.sh}
		short=${short%_test}
		selected "$short" "$t" || continue
		if [ $loaded -eq 0 ]; then
			record SKIP "$short" "(module-load failed)"
			continue
		fi
		run_prog "$prog"
	done
	if [ ${#progs[@]} -eq 0 ]; then
		log "no test programs found in $VHX_ROOT/selftests (run: make tools)"
		record FAIL discovery "(no suite found in selftests/{${VHX_SUITE_DIRS// /,}})"
	fi

	if [ $loaded -eq 1 ]; then
		unload_target
	fi

	# Kernel log scan (after unload, so unload splats count too).
	if dmesg | grep -viE "command line:" | grep -E "$KLOG_RE" > "$WORK/klog.bad"; then
		record FAIL kernel-log-clean "($(wc -l < "$WORK/klog.bad") bad lines)"
		log "kernel log has problems:"
		sed 's/^/guest:   dmesg: /' "$WORK/klog.bad"
	else
		record PASS kernel-log-clean
	fi

	log "results:"
	for t in "${results[@]}"; do
		echo "guest:   $t"
	done
	log "summary: $npass passed, $nfail failed, $nskip skipped"
	echo "summary: $npass passed, $nfail failed, $nskip skipped" >&7
	exec 7>&-
	[ $nfail -eq 0 ]
}

main "$@"
