#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deps.sh — what `make fuzz` needs: clang with the libFuzzer/ASan/UBSan
# runtimes (Debian 12: clang-14 + libclang-rt-14-dev).  Idempotent.
set -euo pipefail
probe() {
	echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
		clang -x c -fsanitize=fuzzer,address,undefined -o /dev/null - 2>/dev/null
}
if command -v clang >/dev/null && probe; then
	echo "fuzz deps: clang with libFuzzer present"
	exit 0
fi
[ "$(id -u)" -eq 0 ] || { echo "fuzz deps: run as root (apt-get)" >&2; exit 1; }
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev
probe || { echo "fuzz deps: clang still cannot link -fsanitize=fuzzer" >&2; exit 1; }
echo "fuzz deps: installed"
