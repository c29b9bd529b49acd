#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh — boot Debian's kernel under QEMU (TCG) and run the vhx test suite.
#
#  host                                       guest (Debian 6.1 kernel, TCG)
#  ----                                       ------------------------------
#  /boot/vmlinuz-KVER ---- -kernel ------->   kernel, cmdline VHX_*=... -> env
#  out/initramfs-KVER.cpio -initrd ------->   /init (busybox): virtio_pci, 9p
#  host /  ---- virtio-9p "hostroot" ro -->   /newroot, chroot; tmpfs /tmp /run
#    $VHX_ROOT/vhost/*.ko                       insmod vhx_core, vhx_net
#    $VHX_ROOT/selftests/*/*_test{,.sh}         run, TAP -> counted
#    dpdk-testpmd, iperf3, ip, ethtool          used by the tests
#  terminal + out/run-*/console.log <- ttyS0  console (kernel log + test output)
#  out/run-*/result.txt <-------------- ttyS1 "PASS|FAIL|SKIP name", "summary:"
#
# Exit status: 0 iff the guest wrote a summary with no failure and the console
# shows no kernel BUG/WARNING/Oops/Call Trace/panic.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
VHX_ROOT=$(cd "$HERE/../.." && pwd -P)
# shellcheck source=../lib/suites.sh
. "$VHX_ROOT/selftests/lib/suites.sh"
OUTDIR=${VHX_VM_OUT:-$HERE/out}

KVER=
TARGET=vhx
TESTS=
SHELL_MODE=0
HOST_RESULTS=		# host-side results to count (scripts/host-check.sh)
HOST_WAIT=		# seconds to wait for them (they run beside the VM)
MODE="test"		# guest mode: test (guest-run.sh), demo (scripts/demo-guest.sh),
			# bench (bench/guest.sh: in-tree vhost_net and vhx side by side)
TIMEOUT=${VHX_VM_TIMEOUT:-4200}		# whole VM, seconds (the full suite: ~45 min)
TEST_TIMEOUT=${VHX_TEST_TIMEOUT:-300}	# each test program, seconds
ACCEL=${VHX_ACCEL:-auto}		# auto: KVM if a probe boot works, else TCG
PROBE_SECS=${VHX_KVM_PROBE_SECS:-12}	# the probe's limit (a KVM boot takes ~1 s)
MEM=${VHX_VM_MEM:-4G}
SMP=${VHX_VM_SMP:-2}

log() { echo "host: $*"; }
die() { echo "host: error: $*" >&2; exit 2; }

list_tests() {
	local d f n
	for d in $VHX_SUITE_DIRS; do
		for f in "$VHX_ROOT/selftests/$d"/*_test{,.sh,.c}; do
			[ -e "$f" ] || continue
			n=${f##*/}; n=${n%.c}; n=${n%.sh}; n=${n%_test}
			echo "$n"
		done
	done | sort -u | sed 's/^/    /'
}

usage() {
	cat <<EOF
usage: $0 [--kver KVER] [--target vhx|intree] [--tests "LIST"] [--shell]
          [--timeout SECS] [--test-timeout SECS] [--mode test|demo|bench]
          [--host-results FILE [--host-wait SECS]]

  --kver KVER       kernel to boot (default: newest /lib/modules/6.1.*)
  --target vhx      blacklist in-tree vhost/vhost_net, insmod vhost/vhx_core.ko
                    and vhost/vhx_net.ko (default)
  --target intree   modprobe the in-tree vhost_net (validate the tests)
  --tests "LIST"    run only these tests (space/comma separated short names,
                    e.g. "testpmd", or file names); default: all
  --shell           interactive bash in the guest on this terminal (Ctrl-A X quits)
  --timeout SECS    kill the VM after SECS (default $TIMEOUT)
  --test-timeout S  per test program timeout in the guest (default $TEST_TIMEOUT)
                    (a *_test.sh may ask for more: "# vhx-test-timeout: SECS")
  --mode demo       run scripts/demo-guest.sh instead of the suite (make demo)
  --mode bench      run bench/guest.sh (make bench): loads the in-tree vhost_net
                    and vhx (devname=vhx-net) side by side; --target is ignored
  --host-results F  count F's "PASS|FAIL|SKIP name" lines (host-side checks,
                    scripts/host-check.sh) in the final summary too
  --host-wait SECS  F is still being written (checks beside the VM): wait
                    up to SECS after the VM for F.done

env: VHX_ACCEL=auto|kvm|tcg (auto: a short probe boot under KVM decides,
     result kept per host boot), VHX_VM_MEM (4G), VHX_VM_SMP (2), VHX_VM_OUT (logs dir),
     VHX_VM_TIMEOUT, VHX_TEST_TIMEOUT, VHX_LOGLEVEL (console, 5), VHX_CMDLINE_EXTRA,
     VHX_VM_QEMU_ARGS (extra QEMU arguments, e.g. a monitor socket)

tests found:
$(list_tests)
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--kver) KVER=${2:?}; shift 2 ;;
	--target) TARGET=${2:?}; shift 2 ;;
	--tests) TESTS=${2?}; shift 2 ;;
	--shell) SHELL_MODE=1; shift ;;
	--mode) MODE=${2:?}; shift 2 ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--test-timeout) TEST_TIMEOUT=${2:?}; shift 2 ;;
	--host-results) HOST_RESULTS=${2:?}; shift 2 ;;
	--host-wait) HOST_WAIT=${2:?}; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; die "unknown option $1" ;;
	esac
done

case $TARGET in vhx | intree) ;; *) die "--target must be vhx or intree" ;; esac
case $MODE in test | demo | bench) ;; *) die "--mode must be test, demo or bench" ;; esac
if [ -z "$KVER" ]; then
	KVER=$("$VHX_ROOT/scripts/kernels.sh" kver 6.1)
	[ -n "$KVER" ] || die "no /lib/modules/6.1.* (run: make deps)"
fi
KERNEL=/boot/vmlinuz-$KVER
[ -r "$KERNEL" ] || die "no $KERNEL"
# Unknown test names are an error: a typo must not turn into an empty, green run.
# "none" boots, loads and unloads the modules and scans the kernel log only.
if [ -n "$TESTS" ]; then
	known=$(list_tests | tr -d ' ')
	for t in ${TESTS//,/ }; do
		n=${t%.sh}; n=${n%.c}; n=${n%_test}
		[ "$n" = none ] && continue
		grep -qxF "$n" <<< "$known" || die "unknown test '$t'; known: $(tr '\n' ' ' <<< "$known")"
	done
fi
case $VHX_ROOT in *[[:space:]]* | *'"'*) die "repo path '$VHX_ROOT' must not contain spaces" ;; esac
command -v qemu-system-x86_64 >/dev/null || die "no qemu-system-x86_64 (run: make deps)"

mkdir -p "$OUTDIR"
RUNDIR=$(mktemp -d "$OUTDIR/run-$(date +%Y%m%d-%H%M%S)-XXXX")
CONSOLE=$RUNDIR/console.log
RESULT=$RUNDIR/result.txt
INITRD=$OUTDIR/initramfs-$KVER.cpio
: > "$RESULT"
# out/current: the running VM's logs (scripts/vm-phase.sh follows its console)
ln -sfn "$(basename "$RUNDIR")" "$OUTDIR/current"

# shellcheck disable=SC2317  # invoked by the EXIT trap
cleanup() {
	local rc=$?
	ln -sfn "$(basename "$RUNDIR")" "$OUTDIR/latest" 2>/dev/null || true
	rm -f "$OUTDIR/current"
	# Keep the 10 newest run directories.
	find "$OUTDIR" -mindepth 1 -maxdepth 1 -type d -name 'run-*' -printf '%T@ %p\n' |
		sort -rn | tail -n +11 | cut -d' ' -f2- | xargs -r rm -rf
	exit "$rc"
}
trap cleanup EXIT

bash "$HERE/mkinitramfs.sh" "$KVER" "$INITRD"

# ---- accelerator -------------------------------------------------------------
# KVM where it works, TCG where it does not: on some hosts /dev/kvm opens and
# KVM_CREATE_VM succeeds, yet a guest hangs right after the boot loader (or
# -cpu host aborts on an MSR write).  So auto boots the kernel once under KVM
# with PROBE_SECS to reach the initramfs's /init, and falls back to TCG,
# saying why.  The verdict is kept per host boot (boot_id) and kernel.
probe_kvm() {
	local why='' cache out t0
	[ -c /dev/kvm ] || { echo "no /dev/kvm"; return 1; }
	if [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then echo "/dev/kvm not accessible"; return 1; fi
	cache=$OUTDIR/kvm-probe-$(cat /proc/sys/kernel/random/boot_id 2>/dev/null)-$KVER
	if [ -s "$cache" ]; then
		why=$(cat "$cache")
		[ "$why" = ok ] && return 0
		echo "$why (probed earlier this host boot)"
		return 1
	fi
	out=$RUNDIR/kvm-probe.log
	t0=$SECONDS
	timeout -k 2 "$PROBE_SECS" qemu-system-x86_64 -nodefaults -no-reboot -nographic -monitor none \
		-machine q35,accel=kvm -cpu host -smp 1 -m 256M -kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 rdinit=/init VHX_MODE=probe" -serial "file:$out" \
		< /dev/null > "$out.qemu" 2>&1
	if grep -aq VHX-PROBE-OK "$out" 2>/dev/null; then
		why=ok
	elif [ $((SECONDS - t0)) -ge "$PROBE_SECS" ]; then
		why="a KVM guest did not reach /init in ${PROBE_SECS}s ($(grep -ac '' "$out" 2>/dev/null || echo 0) console lines)"
	else
		why="QEMU with KVM failed: $(grep -a -m1 -v '^$' "$out.qemu" | cut -c1-120)"
	fi
	echo "$why" > "$cache"
	[ "$why" = ok ] && return 0
	echo "$why"
	return 1
}
if [ "$ACCEL" = auto ]; then
	if why=$(probe_kvm); then
		ACCEL=kvm
		log "accelerator: KVM (a probe boot reached /init)"
	else
		ACCEL=tcg
		log "accelerator: TCG ($why)"
	fi
fi
CPU=max
ACCEL_OPTS=$ACCEL
[ "$ACCEL" = kvm ] && CPU=host
[ "$ACCEL" = tcg ] && ACCEL_OPTS+=",tb-size=${VHX_TB_SIZE:-1024}"

# Kernel command line.  KEY=value words become /init's environment.
CMDLINE="console=ttyS0 panic=-1 oops=panic panic_on_warn=1 softlockup_panic=1"
CMDLINE+=" hung_task_panic=1 rdinit=/init loglevel=${VHX_LOGLEVEL:-5}"
CMDLINE+=" VHX_ROOT=$VHX_ROOT VHX_TARGET=$TARGET VHX_TEST_TIMEOUT=$TEST_TIMEOUT VHX_LAB_ACCEL=$ACCEL"
# norandmaps (no address-space randomisation in the lab VM's processes):
# TCG keys its translations by virtual address, so with randomised load
# addresses every new process -- every QEMU of a nested test, every grep of
# a test script -- translates its binary and libraries again.  Measured:
# qemu_basic 190 -> 118 s, qemu_packed 203 -> 135 s.  Not for make bench,
# whose figures keep the kernel's defaults.  The kernel and the module are
# unaffected (KASLR stays).
[ "$MODE" != bench ] && CMDLINE+=" norandmaps"
# make bench loads both implementations: nothing is blacklisted.
[ "$TARGET" = vhx ] && [ "$MODE" != bench ] && CMDLINE+=" module_blacklist=vhost_net,vhost"
if [ -n "$TESTS" ]; then
	t=$(echo "$TESTS" | tr -s ' ,' ',' | sed 's/^,//; s/,$//')
	CMDLINE+=" VHX_TESTS=$t"
fi
if [ $SHELL_MODE -eq 1 ]; then
	CMDLINE+=" VHX_MODE=shell"
else
	CMDLINE+=" VHX_MODE=$MODE"
fi
CMDLINE+=${VHX_INNER_KVER:+ VHX_INNER_KVER=$VHX_INNER_KVER}
CMDLINE+=${VHX_QEMU2:+ VHX_QEMU2=$VHX_QEMU2}	# qemu_newer_test.sh: run the second QEMU
CMDLINE+=${VHX_CMDLINE_EXTRA:+ $VHX_CMDLINE_EXTRA}
echo "$CMDLINE" > "$RUNDIR/cmdline"

# shellcheck disable=SC2054  # commas are QEMU option syntax
QEMU=(qemu-system-x86_64 -nodefaults -no-reboot -nographic -monitor none
      -machine q35 -accel "$ACCEL_OPTS" -cpu "${VHX_VM_CPU:-$CPU}" -smp "$SMP" -m "$MEM"
      -kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
      -virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap)
# shellcheck disable=SC2206  # VHX_VM_QEMU_ARGS: extra QEMU words, split
QEMU+=(${VHX_VM_QEMU_ARGS:-})

log "kernel $KVER, target $TARGET, accel $ACCEL, tests ${TESTS:-all}"
log "logs in $RUNDIR"
log "cmdline: $CMDLINE"

if [ $SHELL_MODE -eq 1 ]; then
	log "interactive shell: Ctrl-A X quits QEMU"
	# mon:stdio lets Ctrl-C reach the guest; Ctrl-A C is the QEMU monitor.
	QEMU+=(-serial mon:stdio -serial "file:$RESULT")
	set +e
	"${QEMU[@]}"
	rc=$?
	set -e
	log "QEMU exited with $rc"
	exit $rc
fi

QEMU+=(-serial stdio -serial "file:$RESULT")
log "${QEMU[*]}"
t0=$(date +%s.%N)
set +e
# Stream the console as it happens and keep a copy.  stdin is /dev/null so
# QEMU never puts the terminal into raw mode.
timeout --foreground -k 10 "$TIMEOUT" "${QEMU[@]}" < /dev/null 2>&1 |
	tee "$CONSOLE" | sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g; s/\r//g'
qrc=${PIPESTATUS[0]}
set -e
t1=$(date +%s.%N)
log "QEMU exited with $qrc after $(awk "BEGIN{printf \"%.1f\", $t1 - $t0}")s"

# ---- verdict ---------------------------------------------------------------
# Host-side checks may still be running beside the VM (scripts/check.sh starts
# them in the background): their file is complete once FILE.done exists.
if [ -n "$HOST_RESULTS" ] && [ -n "$HOST_WAIT" ] && [ ! -e "$HOST_RESULTS.done" ]; then
	log "waiting for the host-side checks ($HOST_RESULTS)"
	for _ in $(seq 1 "$HOST_WAIT"); do [ -e "$HOST_RESULTS.done" ] && break; sleep 1; done
	[ -e "$HOST_RESULTS.done" ] || echo "FAIL host-checks (not finished after the VM and ${HOST_WAIT}s more)" >> "$HOST_RESULTS"
fi
{
	[ -n "$HOST_RESULTS" ] && [ -r "$HOST_RESULTS" ] &&
		sed 's/^\(PASS\|FAIL\|SKIP\) /\1 host:/' "$HOST_RESULTS"
	tr -d '\r' < "$RESULT"
} > "$RESULT.clean"
npass=$(grep -c '^PASS ' "$RESULT.clean" || true)
nfail=$(grep -c '^FAIL ' "$RESULT.clean" || true)
nskip=$(grep -c '^SKIP ' "$RESULT.clean" || true)
summary=$(grep -m1 '^summary: ' "$RESULT.clean" || true)

echo
log "results ($RESULT):"
grep -E '^(PASS|FAIL|SKIP) ' "$RESULT.clean" | sed 's/^/    /' || true

bad=0
if [ -z "$summary" ]; then
	if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		why="guest timed out after ${TIMEOUT}s"
	elif grep -q 'Kernel panic' "$CONSOLE"; then
		why="guest kernel panicked: $(grep -m1 -a 'Kernel panic' "$CONSOLE" | tr -d '\r')"
	elif [ ! -s "$RESULT" ]; then
		why="result file empty (QEMU exit $qrc; guest never reached the tests)"
	else
		why="no summary line (QEMU exit $qrc; guest died mid-run)"
	fi
	log "FAIL: $why"
	echo "    FAIL vm ($why)"
	nfail=$((nfail + 1))
	bad=1
fi

# Kernel log lines on the console carry a "[ seconds.micro]" stamp; test output
# (e.g. DPDK's "EAL: WARNING") does not, so only stamped lines are judged.
if grep -aE '^\[ *[0-9]+\.[0-9]+\].*(BUG:|WARNING:|Oops|Call Trace|Kernel panic)' "$CONSOLE" \
	> "$RUNDIR/console.bad"; then
	log "FAIL: kernel problems on the console:"
	tr -d '\r' < "$RUNDIR/console.bad" | head -n 40 | sed 's/^/    /'
	if ! grep -q '^FAIL kernel-log-clean' "$RESULT.clean"; then
		echo "    FAIL kernel-console-clean"
		nfail=$((nfail + 1))
	fi
	bad=1
fi

[ -n "$summary" ] && log "guest $summary"
[ "$nfail" -gt 0 ] && bad=1
log "console: $CONSOLE"
echo "$npass passed, $nfail failed, $nskip skipped"
exit $bad
