#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhx-blk-fio.sh — fio (ioengine=io_uring) with the same options and the
# same "result key=value" line as vhx-blk-bench, so the two are
# measured on the same file in the same terms:
#
#   vhx-blk-bench -f F -w randread -b 4k -q 32 -j 1 -t 10 -r 1 [-d]
#   vhx-blk-fio.sh -f F -w randread -b 4k -q 32 -j 1 -t 10 -r 1 [-d]
#
# Mapping: --queues N -> numjobs=N (one thread each, like one queue thread
# each), --iodepth -> iodepth per job, --time/--ramp -> runtime/ramp_time,
# --size/--offset -> size/offset, --direct -> direct=1.  Latency is fio's
# total latency (submission to completion, lat_percentiles=1), the bench's
# is post-to-reap: both include queueing on the ring/SQ.  Mixed workloads are
# reported unified (unified_rw_reporting=mixed).  --json prints fio's JSON.
# Needs fio and jq (make deps).
set -euo pipefail

file='' rw=randread mix=50 bs=4k qd=1 jobs=1 t=10 ramp=1 size='' offset=0 direct=0 json=0 quiet=0
usage() {
	sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'
	echo "options: -f FILE -w MODE -M PCT -b BS -q DEPTH -j QUEUES -t SECS -r SECS -s SIZE -o OFFSET -d --json --quiet"
}
while [ $# -gt 0 ]; do
	case $1 in
	-f | --file) file=$2; shift ;;
	-w | --rw) rw=$2; shift ;;
	-M | --rwmixread) mix=$2; shift ;;
	-b | --bs) bs=$2; shift ;;
	-q | --iodepth) qd=$2; shift ;;
	-j | --queues) jobs=$2; shift ;;
	-t | --time) t=$2; shift ;;
	-r | --ramp) ramp=$2; shift ;;
	-s | --size) size=$2; shift ;;
	-o | --offset) offset=$2; shift ;;
	-d | --direct) direct=1 ;;
	--json) json=1 ;;
	--quiet) quiet=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "vhx-blk-fio: unknown option $1" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$file" ] || { usage >&2; exit 2; }
command -v fio > /dev/null || { echo "vhx-blk-fio: no fio (make deps)" >&2; exit 1; }
command -v jq > /dev/null || { echo "vhx-blk-fio: no jq (make deps)" >&2; exit 1; }

args=(--name=vhx --filename="$file" --ioengine=io_uring --thread --group_reporting
	--rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs="$jobs" --direct="$direct"
	--time_based --runtime="$t" --ramp_time="$ramp" --offset="$offset"
	--randrepeat=0 --norandommap --lat_percentiles=1 --percentile_list=50:99:99.9
	--unified_rw_reporting=mixed --output-format=json)
case $rw in randrw | rw | readwrite) args+=(--rwmixread="$mix") ;; esac
[ -n "$size" ] && args+=(--size="$size")
# fio wants a size for a file it did not lay out: use the whole file
if [ -z "$size" ] && [ -f "$file" ]; then
	args+=(--size="$(($(stat -c %s "$file") - $(numfmt --from=iec "${offset^^}" 2>/dev/null || echo 0)))")
fi

out=$(fio "${args[@]}")
if [ "$json" = 1 ]; then
	echo "$out"
	exit 0
fi
bsb=$(numfmt --from=iec "${bs^^}")
jq -r --arg rw "$rw" --arg mix "$mix" --arg bs "$bsb" --arg qd "$qd" --arg q "$jobs" \
	--arg d "$direct" --arg quiet "$quiet" '
	.jobs[0] as $j | ($j.mixed // $j.read) as $m |
	($m.lat_ns.percentile // {}) as $p |
	def us(x): ((x // 0) / 1000 * 100 | round) / 100;
	(if $quiet == "1" then empty else
	 "fio io_uring: \($rw) bs=\($bs) iodepth=\($qd) numjobs=\($q)\(if $d == "1" then " direct" else "" end), \(($j.job_runtime // 0) / 1000 / ($q | tonumber)) s\n  IOPS \($m.iops | round)  \(($m.bw_bytes / 1e6 * 100 | round) / 100) MB/s  errors \($j.error)\n  latency us: avg \(us($m.lat_ns.mean))  p50 \(us($p["50.000000"]))  p99 \(us($p["99.000000"]))  p99.9 \(us($p["99.900000"]))  max \(us($m.lat_ns.max))" end),
	"result tool=fio-io_uring rw=\($rw) rwmixread=\($mix) bs=\($bs) qd=\($qd) queues=\($q) direct=\($d) time_s=\(($j.job_runtime // 0) / 1000 / ($q | tonumber)) iops=\($m.iops | round) mbps=\(($m.bw_bytes / 1e6 * 100 | round) / 100) mibps=\(($m.bw_bytes / 1048576 * 100 | round) / 100) lat_avg_us=\(us($m.lat_ns.mean)) lat_p50_us=\(us($p["50.000000"])) lat_p99_us=\(us($p["99.000000"])) lat_p999_us=\(us($p["99.900000"])) lat_max_us=\(us($m.lat_ns.max)) errors=\($j.error)"
	' <<< "$out"
