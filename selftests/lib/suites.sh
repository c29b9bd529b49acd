# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The folders of selftests/ that hold suites (lib, vm and fuzz do not): the
# one list the VM runner (vm/run.sh, vm/guest-run.sh) and .ci/run read.
# A new folder of tests is added here and nowhere else.
VHX_SUITE_DIRS="net blk vsock qemu"
