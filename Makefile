# SPDX-License-Identifier: GPL-2.0
# vhx — front door.  See README.md.

# Target kernel: newest installed Debian 6.1 build tree, never `uname -r`.
KDIR ?= $(lastword $(sort $(wildcard /lib/modules/6.1.*/build)))
KVER ?= $(notdir $(patsubst %/build,%,$(KDIR)))
PWD := $(shell pwd)
W ?= 1

.PHONY: all modules tools clean check deps style vm-shell demo

all: modules tools

modules:
	@test -n "$(KDIR)" || { echo "vhx: no /lib/modules/6.1.*/build (run: make deps, or pass KDIR=)"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(PWD) W=$(W) modules

tools:
	$(MAKE) -C selftests
	$(MAKE) -C tools
	$(MAKE) -C tools/vhxctl

clean:
	-$(MAKE) -C $(KDIR) M=$(PWD) clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C tools clean

deps:
	bash tools/install-deps.sh

# Boots the Debian kernel under QEMU TCG and runs the whole suite.
# Sub-make: KDIR/KVER are recomputed after `deps` may have installed them
# (if KVER is still empty, run.sh picks the newest 6.1 itself).
# Knobs: VHX_TARGET=vhx|intree, VHX_TESTS="testpmd net" (subset).
VM_ARGS = $(if $(KVER),--kver $(KVER)) $(if $(VHX_TARGET),--target $(VHX_TARGET)) \
	  $(if $(VHX_TESTS),--tests "$(VHX_TESTS)")

# Host-side checks (style, fuzz corpus replay + short fuzz run) are counted
# in the same final "N passed, N failed" line as the guest's.
HOST_RESULTS = selftests/vm/out/host-results.txt
check: deps
	$(MAKE) all
	@mkdir -p $(dir $(HOST_RESULTS))
	-bash tools/host-check.sh $(HOST_RESULTS)
	bash selftests/vm/run.sh $(VM_ARGS) --host-results $(HOST_RESULTS)

# checkpatch.pl --strict over the kernel sources (and W=1 in `modules`).
style:
	KDIR=$(KDIR) bash tools/checkpatch.sh

# The main job: stock QEMU (-netdev tap,vhost=on) served by vhx, nested in
# the lab VM; streams the inner guest, ping, iperf3, vhx counters; exit 0
# only if traffic flowed through vhx.  See tools/demo.sh.
demo: deps
	$(MAKE) all
	bash tools/demo.sh $(if $(KVER),--kver $(KVER)) $(if $(VHX_TARGET),--target $(VHX_TARGET))

# libFuzzer over the ring walk (vhost/vq.c, mem.c, log.c built in userspace
# through tests/fuzz/shim).  FUZZ_SECS per target (300); fuzz-check replays
# the committed corpus and fuzzes FUZZ_CHECK_SECS (20) per target.
fuzz:
	$(MAKE) -C tests/fuzz fuzz

fuzz-check:
	$(MAKE) -C tests/fuzz fuzz-check

vm-shell: all
	bash selftests/vm/run.sh $(VM_ARGS) --shell
