#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhx-latency.sh — per-queue latency from a guest's kick to the device's
# next used-ring update, from vhx's tracepoints (vhx:vhx_kick, vhx:vhx_used),
# as power-of-two histograms in microseconds.
#
#   vhx-latency.sh [-d SECONDS] [-q DEV:VQ]   trace live for SECONDS (5) in a
#                                             tracefs instance of its own
#   vhx-latency.sh [-q DEV:VQ] FILE           read a saved trace (the text of
#                                             tracefs "trace", trace-cmd report)
#
# A kick opens a sample for its queue; the queue's next vhx_used closes it
# (kicks while one is open only count as "coalesced").  Root, for live use.
set -euo pipefail

secs=5
only=
while getopts "d:q:h" o; do
	case $o in
	d) secs=$OPTARG ;;
	q) only=$OPTARG ;;
	*) sed -n '3,14p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

live() {
	local t inst
	for t in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -d "$t/instances" ] && break
	done
	if [ ! -d "$t/instances" ]; then
		mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null || true
		t=/sys/kernel/tracing
	fi
	[ -d "$t/events/vhx" ] || { echo "vhx-latency: no vhx events in $t (vhx_core loaded?)" >&2; exit 1; }
	inst=$t/instances/vhx-latency.$$
	mkdir "$inst"
	trap 'echo 0 > "$inst/tracing_on" 2>/dev/null; rmdir "$inst" 2>/dev/null' EXIT
	echo 4096 > "$inst/buffer_size_kb"
	echo 1 > "$inst/events/vhx/vhx_kick/enable"
	echo 1 > "$inst/events/vhx/vhx_used/enable"
	sleep "$secs"
	echo 0 > "$inst/tracing_on"
	cat "$inst/trace"
}

hist() {
	awk -v only="$only" '
	function q(line,   d, v) {
		d = line; sub(/.*dev=/, "", d); sub(/ .*/, "", d)
		v = line; sub(/.*vq=/, "", v); sub(/ .*/, "", v)
		return d ":" v
	}
	function ts(   i) {
		for (i = 1; i <= NF; i++)
			if ($i ~ /^[0-9]+\.[0-9]+:$/) return substr($i, 1, length($i) - 1) + 0
		return -1
	}
	/ vhx_kick: / || / vhx_used: / {
		k = q($0); t = ts()
		if (t < 0 || (only != "" && k != only)) next
		if ($0 ~ / vhx_kick: /) {
			if (k in open) coalesced[k]++; else open[k] = t
			if (!(k in seen)) nseen++
			seen[k] = 1
			next
		}
		if (!(k in open)) next
		us = (t - open[k]) * 1e6; delete open[k]
		b = 0; while ((2 ^ b) <= us && b < 40) b++
		h[k, b]++; n[k]++; sum[k] += us
		if (b > top[k]) top[k] = b
		if (!(k in low) || b < low[k]) low[k] = b
	}
	END {
		for (k in seen) {
			printf "dev:vq %s: %d samples", k, n[k] + 0
			if (n[k]) printf ", mean %.1f us", sum[k] / n[k]
			printf ", %d coalesced kicks\n", coalesced[k] + 0
			if (!n[k]) continue
			max = 0
			for (b = low[k]; b <= top[k]; b++) if (h[k, b] > max) max = h[k, b]
			for (b = low[k]; b <= top[k]; b++) {
				lo = b ? 2 ^ (b - 1) : 0
				bar = ""; w = int(40 * h[k, b] / max)
				for (i = 0; i < w; i++) bar = bar "@"
				printf "  [%7d, %7d) us %8d |%-40s|\n", lo, 2 ^ b, h[k, b], bar
			}
		}
		if (!nseen) print "no vhx_kick events"
	}'
}

if [ $# -gt 0 ]; then
	hist < "$1"
else
	live | hist
fi
