#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timing.sh — the wall-time table of `make check` (information, never a
# verdict: nothing fails on time).
#
#   timing.sh reset                   start a new table
#   timing.sh run NAME CMD...         run CMD, add "NAME SECONDS"; CMD's exit status
#   timing.sh add NAME SECONDS        add a row measured elsewhere
#   timing.sh rows-from-console LOG   the lab VM's rows: its boot and every
#                                     suite ("guest: === X exit N after Ss")
#   timing.sh table                   print the table
#
# The table lives in $VHX_TIMING (default selftests/vm/out/timing.txt).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P) || exit 1
T=${VHX_TIMING:-$ROOT/selftests/vm/out/timing.txt}
mkdir -p "$(dirname "$T")"

case ${1:-} in
reset)
	: > "$T"
	;;
run)
	name=${2:?usage: timing.sh run NAME CMD...}
	shift 2
	t0=$(date +%s%N)
	"$@"
	rc=$?
	printf '%s\t%d\n' "$name" $((($(date +%s%N) - t0 + 500000000) / 1000000000)) >> "$T"
	exit $rc
	;;
add)
	printf '%s\t%s\n' "${2:?}" "${3:?}" >> "$T"
	;;
rows-from-console)
	log=${2:?usage: timing.sh rows-from-console LOG}
	tr -d '\r' < "$log" | sed -n \
		-e 's/^guest: timing: lab VM up at \([0-9]*\)s.*/lab VM boot + module load\t\1/p' \
		-e 's/^guest: === \(.*\) exit [0-9]* after \([0-9]*\)s$/  \1\t\2/p' >> "$T"
	;;
table)
	[ -s "$T" ] || exit 0
	echo "time table (wall seconds; information, not a test):"
	awk -F'\t' '{ printf "  %-34s %6d s  %5.1f min\n", $1, $2, $2 / 60 }' "$T"
	;;
*)
	sed -n '3,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac
