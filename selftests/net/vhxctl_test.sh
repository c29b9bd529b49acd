#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhxctl_test.sh — what operators read: vhxctl's JSON, its Prometheus text
# and its list, against the kernel's debugfs file read at the same moment.
# Guest side, TAP.
#
# The owner is selftests/net/vhx_traffic, run with QEMU's "-name
# guest=NAME,debug-threads=on" (as libvirt passes it) after "--" on its
# command line.  Once traffic has moved, the owner is stopped (SIGSTOP) so
# the counters hold still; then every counter of its queues must be the
# same in `vhxctl stats --json`, in `vhxctl prom`, in the JSON vhxctl
# builds without debugfs (VHXCTL_SOURCE=fd: the device's own
# VHX_GET_QUEUE_STATS through a pidfd_getfd() copy of the owner's fd) and
# in debugfs; the VM name must be the one on its command line, and the
# exposition must be well formed (HELP and TYPE before each family's
# samples).
# Exit 0 pass, 1 fail, 4 skip.
set -uo pipefail

ROOT=${VHX_ROOT:?}
VHXCTL=$ROOT/tools/vhxctl/vhxctl
TRAFFIC=$ROOT/selftests/net/vhx_traffic
DEVICES=/sys/kernel/debug/vhx/devices
VM=vhxctl-test-vm
KEYS="num packets bytes kicks calls runs requeues errors iotlb_misses"
n=0
fail=0

ok() { n=$((n + 1)); echo "ok $n $1"; }
nok() { n=$((n + 1)); echo "not ok $n $1"; fail=1; }
skip_all() { echo "1..1"; echo "ok 1 vhxctl # SKIP $1"; exit 4; }

[ "$(id -u)" -eq 0 ] || skip_all "needs root"
[ "${VHX_TARGET:-vhx}" = vhx ] || skip_all "vhxctl reads vhx's debugfs (target ${VHX_TARGET})"
command -v jq >/dev/null || skip_all "no jq (install-deps.sh installs it)"
[ -x "$VHXCTL" ] && [ -x "$TRAFFIC" ] || skip_all "not built (make tools)"
[ -r "$DEVICES" ] || skip_all "no $DEVICES (vhx_core loaded, debugfs mounted?)"

WORK=$(mktemp -d /tmp/vhxctl.XXXXXX)
TPID=
cleanup() {
	if [ -n "$TPID" ]; then
		kill -CONT "$TPID" 2>/dev/null
		kill -TERM "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

echo "1..8"
"$TRAFFIC" -t 120 -- -name "guest=$VM,debug-threads=on" > "$WORK/traffic.out" 2>&1 &
TPID=$!
for _ in $(seq 1 300); do
	grep -q '^running' "$WORK/traffic.out" && break
	kill -0 "$TPID" 2>/dev/null || break
	sleep 0.1
done
if ! grep -q '^running' "$WORK/traffic.out"; then
	sed 's/^/# vhx_traffic: /' "$WORK/traffic.out" | tail -n 5
	nok "owner_running"
	exit 1
fi
ok "owner_running"

# Stop the owner; wait until two reads of debugfs half a second apart agree
# (the worker finishes what the rings held, then nothing moves).
kill -STOP "$TPID"
stable=0
for _ in $(seq 1 20); do
	sleep 0.5
	cat "$DEVICES" > "$WORK/a"
	sleep 0.5
	cat "$DEVICES" > "$WORK/b"
	if cmp -s "$WORK/a" "$WORK/b"; then stable=1; break; fi
done
[ $stable = 1 ] || echo "# counters still moving after 20 s"
"$VHXCTL" stats --json > "$WORK/json" 2> "$WORK/json.err"
VHXCTL_SOURCE=fd "$VHXCTL" stats --json > "$WORK/fdjson" 2>> "$WORK/json.err"
"$VHXCTL" prom > "$WORK/prom" 2> "$WORK/prom.err"
"$VHXCTL" list > "$WORK/list" 2>&1
cat "$DEVICES" > "$WORK/c"
cmp -s "$WORK/b" "$WORK/c" || { echo "# debugfs changed while vhxctl read it"; stable=0; }

dev=$(awk -v p="$TPID" '$1 == "dev" { for (i = 2; i <= NF; i++) if ($i == "owner=" p) {
	sub("id=", "", $2); print $2 } }' "$WORK/c")
echo "# owner $TPID has device ${dev:-none}"

# "IDX KEY VALUE" for every queue of device $dev, from debugfs
awk -v d="$dev" -v keys="$KEYS" '$1 == "vq" && $2 == "dev=" d {
	split(keys, k, " ")
	for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
	for (j in k) print v["idx"], k[j], v[k[j]]
}' "$WORK/c" | sort > "$WORK/from_debugfs"
echo "# $(wc -l < "$WORK/from_debugfs") values of device $dev in debugfs, $(awk '$2 == "packets" { s += $3 } END { print s + 0 }' "$WORK/from_debugfs") packets"

# ---- 2: JSON ----
if jq -e . "$WORK/json" >/dev/null 2>&1; then
	jq -r --argjson d "${dev:-0}" --arg keys "$KEYS" '.devices[] | select(.id == $d) |
		.queues[] | . as $q | ($keys | split(" "))[] as $k |
		"\($q.idx) \($k) \($q[$k])"' "$WORK/json" | sort > "$WORK/from_json"
else
	echo "# not JSON:"; head -c 400 "$WORK/json" | sed 's/^/#   /'
	: > "$WORK/from_json"
fi
if [ $stable = 1 ] && [ -s "$WORK/from_debugfs" ] &&
   awk '$2 == "packets" && $3 > 0 { f = 1 } END { exit !f }' "$WORK/from_debugfs" &&
   diff "$WORK/from_debugfs" "$WORK/from_json" > "$WORK/d1"; then
	ok "json_equals_debugfs"
else
	sed 's/^/# /' "$WORK/d1" 2>/dev/null | head -n 10
	nok "json_equals_debugfs"
fi

# ---- 3: the same without debugfs: from the device's fd ----
jq -r --argjson d "${dev:-0}" --arg keys "$KEYS" '.devices[] | select(.id == $d) |
	.queues[] | . as $q | ($keys | split(" "))[] as $k |
	"\($q.idx) \($k) \($q[$k])"' "$WORK/fdjson" 2>/dev/null | sort > "$WORK/from_fd"
fdown=$(jq -r --argjson d "${dev:-0}" '.devices[] | select(.id == $d) |
	"\(.owner.pid) \(.owner.vm) \(.worker) \(.features)"' "$WORK/fdjson" 2>/dev/null)
dbown=$(jq -r --argjson d "${dev:-0}" '.devices[] | select(.id == $d) |
	"\(.owner.pid) \(.owner.vm) \(.worker) \(.features)"' "$WORK/json" 2>/dev/null)
echo "# fd source: pid vm worker features = $fdown (debugfs: $dbown)"
if [ $stable = 1 ] && [ -s "$WORK/from_debugfs" ] && [ -n "$fdown" ] &&
   [ "$fdown" = "$dbown" ] && diff "$WORK/from_debugfs" "$WORK/from_fd" > "$WORK/d3"; then
	ok "fd_source_equals_debugfs"
else
	sed 's/^/# /' "$WORK/d3" 2>/dev/null | head -n 10
	nok "fd_source_equals_debugfs"
fi

# ---- 4: the VM and the owner in JSON ----
got=$(jq -r --argjson d "${dev:-0}" '.devices[] | select(.id == $d) |
	"\(.owner.pid) \(.owner.vm) \(.kind) \(.queues | length)"' "$WORK/json" 2>/dev/null)
echo "# json: pid vm kind queues = $got"
# a sample for the log: the device's TX queue as `vhxctl stats --json` has it
jq -c --argjson d "${dev:-0}" '.devices[] | select(.id == $d) |
	{id, kind, owner, worker, queue: (.queues[] | select(.idx == 1))}' "$WORK/json" 2>/dev/null |
	head -c 600 | sed 's/^/#   json| /'
if [ "$got" = "$TPID $VM net 2" ]; then ok "json_owner_and_vm"; else nok "json_owner_and_vm"; fi

# ---- 5: Prometheus samples ----
for k in $KEYS; do
	case $k in num) m=vhx_vq_ring_size ;; *) m=vhx_vq_${k}_total ;; esac
	sed -n "s/^$m{dev=\"$dev\",.*,vq=\"\([0-9]*\)\",.*} \([0-9]*\)$/\1 $k \2/p" "$WORK/prom"
done | sort > "$WORK/from_prom"
if [ $stable = 1 ] && [ -s "$WORK/from_debugfs" ] &&
   diff "$WORK/from_debugfs" "$WORK/from_prom" > "$WORK/d2"; then
	ok "prom_equals_debugfs"
else
	sed 's/^/# /' "$WORK/d2" 2>/dev/null | head -n 10
	nok "prom_equals_debugfs"
fi

# ---- 6: the exposition's form: every sample line a metric{labels} value,
# every family's HELP and TYPE before its first sample, the VM label ----
if awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / { if (!help[$3] || ($4 != "counter" && $4 != "gauge")) bad = 1; type[$3] = 1; next }
	/^#/ { next }
	{ m = $0; sub(/[{ ].*/, "", m)
	  if (!type[m] || $0 !~ /^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",)*[a-z_]+="([^"\\]|\\.)*"\})? [0-9]+$/) bad = 1 }
	END { exit bad }' "$WORK/prom" &&
   grep -q "^vhx_vq_packets_total{dev=\"$dev\",kind=\"net\",owner=\"$TPID\",vm=\"$VM\"," "$WORK/prom"; then
	ok "prom_well_formed"
	# a sample for the log: one family, HELP, TYPE and the device's samples
	awk -v d="dev=\"$dev\"" '/^# (HELP|TYPE) vhx_vq_packets_total / ||
		(/^vhx_vq_packets_total\{/ && index($0, d))' "$WORK/prom" | sed 's/^/#   prom| /'
else
	head -n 12 "$WORK/prom" | sed 's/^/# /'
	nok "prom_well_formed"
fi

# ---- 7: list shows the VM ----
if awk -v d="$dev" -v vm="$VM" '$1 == d && $4 == vm { f = 1 } END { exit !f }' "$WORK/list"; then
	ok "list_shows_vm"
else
	sed 's/^/# /' "$WORK/list" | head -n 6
	nok "list_shows_vm"
fi

# ---- 8: no error output from any of it ----
if [ ! -s "$WORK/json.err" ] && [ ! -s "$WORK/prom.err" ]; then
	ok "no_errors"
else
	cat "$WORK/json.err" "$WORK/prom.err" | sed 's/^/# /' | head -n 6
	nok "no_errors"
fi
exit $fail
