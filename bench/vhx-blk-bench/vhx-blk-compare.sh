#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# vhx-blk-compare.sh — the same workloads through /dev/vhost-blk
# (vhx-blk-bench) and through fio io_uring (vhx-blk-fio.sh, beside it) on
# the same file or block device, alternated (bench, fio, bench, fio) so
# drift on a shared machine shows; one table at the end and every run's
# "result ..." line.  Needs /dev/vhost-blk (vhx_blk.ko), fio, jq.
#
#   usage: vhx-blk-compare.sh FILE [-d|--direct] [-t SECS] [-n ROUNDS]
#          [-W "randread:1 randread:32 randwrite:32"]  (MODE:IODEPTH[:QUEUES])
#
# The default workloads are the ones `make bench` compares: 4 KiB randread
# at QD1 and QD32, 4 KiB randwrite at QD32, one queue/job.  Suggested
# backends: a brd RAM disk (modprobe brd rd_nr=1 rd_size=1048576; /dev/ram0,
# with --direct) or a file on tmpfs (buffered; tmpfs has no O_DIRECT).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd -P)
BENCH=$HERE/vhx-blk-bench
FIO=$HERE/vhx-blk-fio.sh
file='' direct=() secs=10 rounds=2 wl="randread:1 randread:32 randwrite:32"
while [ $# -gt 0 ]; do
	case $1 in
	-d | --direct) direct=(--direct) ;;
	-t) secs=$2; shift ;;
	-n) rounds=$2; shift ;;
	-W) wl=$2; shift ;;
	-h | --help) sed -n '3,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) file=$1 ;;
	esac
	shift
done
[ -n "$file" ] || { echo "usage: vhx-blk-compare.sh FILE [-d] [-t SECS] [-n ROUNDS] [-W LIST]" >&2; exit 2; }
[ -x "$BENCH" ] || { echo "no $BENCH (make tools)" >&2; exit 1; }

results=()
for w in $wl; do
	IFS=: read -r mode qd nq <<< "$w"
	nq=${nq:-1}
	for ((r = 1; r <= rounds; r++)); do
		for tool in bench fio; do
			if [ $tool = bench ]; then
				line=$("$BENCH" -f "$file" -w "$mode" -b 4k -q "$qd" -j "$nq" -t "$secs" -r 1 "${direct[@]}" --quiet | grep '^result ')
			else
				line=$("$FIO" -f "$file" -w "$mode" -b 4k -q "$qd" -j "$nq" -t "$secs" -r 1 "${direct[@]}" --quiet | grep '^result ')
			fi
			echo "$line"
			results+=("$line")
		done
	done
done
echo
printf '%-28s %-14s %10s %9s %9s %9s %9s\n' workload tool IOPS MB/s p50_us p99_us p99.9_us
for line in "${results[@]}"; do
	# shellcheck disable=SC2046
	declare -A kv=()
	for f in $line; do [[ $f == *=* ]] && kv[${f%%=*}]=${f#*=}; done
	printf '%-28s %-14s %10s %9s %9s %9s %9s\n' \
		"${kv[rw]} qd${kv[qd]} q${kv[queues]}$([ "${kv[direct]}" = 1 ] && echo ' direct')" \
		"${kv[tool]}" "${kv[iops]}" "${kv[mbps]}" "${kv[lat_p50_us]}" "${kv[lat_p99_us]}" "${kv[lat_p999_us]}"
	unset kv
done
