# SPDX-License-Identifier: GPL-2.0
# blk.sh — block rows: vhx's /dev/vhost-blk (driven by tools/vhx-blk-bench,
# playing the guest) against fio ioengine=io_uring on the same file, both on
# a tmpfs file (brd when available).  4 KiB random read QD1 and QD32, random
# write QD32: IOPS, p50 and p99 completion latency.
#
# Interface expected from tools/vhx-blk-bench (lands with /dev/vhost-blk):
#   vhx-blk-bench --dev /dev/vhost-blk --file F --rw randread|randwrite
#                 --bs 4096 --qd N --secs S
#   prints one line "iops=N p50_us=N p99_us=N"

BLK_BENCH=$VHX_ROOT/tools/vhx-blk-bench
BLK_DEV=/dev/vhost-blk
BLK_CASES=("blk-randread-qd1 randread 1" "blk-randread-qd32 randread 32"
	   "blk-randwrite-qd32 randwrite 32")

blk_workloads() { local c; for c in "${BLK_CASES[@]}"; do echo "${c%% *}"; done; }
blk_variants() { echo "vhx io_uring"; }
blk_check() {
	[ -c "$BLK_DEV" ] || { echo "no $BLK_DEV (vhx_blk not built on this branch)"; return 1; }
	[ -x "$BLK_BENCH" ] || { echo "no tools/vhx-blk-bench"; return 1; }
	command -v fio > /dev/null || { echo "no fio (apt-get install fio)"; return 1; }
}

blk_file() {
	BLK_FILE=$WORK/blk.img
	[ -f "$BLK_FILE" ] || dd if=/dev/zero of="$BLK_FILE" bs=1M count=256 status=none
}

# blk_fio RW QD -> "iops=N p50_us=N p99_us=N"
blk_fio() {
	fio --name=b --filename="$BLK_FILE" --ioengine=io_uring --rw="$1" --bs=4k \
	    --iodepth="$2" --runtime="$SECS" --ramp_time="$WARM" --time_based \
	    --output-format=terse --terse-version=3 2>/dev/null |
	awk -F';' -v w="$1" '{
		base = (w == "randwrite") ? 47 : 6	# terse v3: read group at 6, write at 47
		iops = $(base + 2)
		for (i = base + 12; i < base + 32; i++) {
			split($i, kv, "=")
			if (kv[1] == "50.000000%") p50 = kv[2]
			if (kv[1] == "99.000000%") p99 = kv[2]
		}
		printf "iops=%d p50_us=%d p99_us=%d\n", iops, p50, p99
	}'
}

blk_setup() { blk_file; }
blk_teardown() { rm -f "$WORK/blk.img"; }

blk_measure() {	# blk_measure WORKLOAD VARIANT
	local c name rw qd line
	for c in "${BLK_CASES[@]}"; do
		read -r name rw qd <<< "$c"
		[ "$name" = "$1" ] || continue
		if [ "$2" = vhx ]; then
			line=$("$BLK_BENCH" --dev "$BLK_DEV" --file "$BLK_FILE" --rw "$rw" \
				--bs 4096 --qd "$qd" --secs "$SECS" 2>&1 | tail -n1)
		else
			line=$(blk_fio "$rw" "$qd")
		fi
		if [[ $line =~ iops=([0-9]+)\ p50_us=([0-9]+)\ p99_us=([0-9]+) ]]; then
			result "$name" iops IOPS hi "${BASH_REMATCH[1]}"
			result "$name" p50 us lo "${BASH_REMATCH[2]}"
			result "$name" p99 us lo "${BASH_REMATCH[3]}"
		else
			failed "$name" "no result: ${line:-empty}"
		fi
	done
}
