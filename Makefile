# SPDX-License-Identifier: GPL-2.0
# vhx — front door.  See README.md.

# Target kernel: newest installed Debian 6.1 (scripts/kernels.sh kver 6.1,
# version-sorted), never `uname -r`; KVER=... picks another installed kernel
# (KDIR follows it), KDIR=... a tree.
ifdef KVER
KDIR ?= /lib/modules/$(KVER)/build
else ifdef KDIR
KVER := $(notdir $(patsubst %/build,%,$(KDIR)))
else
KVER := $(shell bash $(dir $(lastword $(MAKEFILE_LIST)))scripts/kernels.sh kver 6.1 2>/dev/null)
KDIR := $(if $(KVER),/lib/modules/$(KVER)/build)
endif
# Kernels whose headers need a newer compiler (7.x) are built in a Debian 13
# build root (scripts/kernels.sh); KBUILD_IN runs the kernel's make there.
VHX_BUILDROOT ?= /var/cache/vhx/trixie-root
export VHX_BUILDROOT
KBUILD_IN = $(if $(wildcard $(KDIR)/Makefile),,$(if $(wildcard \
	$(VHX_BUILDROOT)/usr/src/linux-headers-$(KVER)/Makefile),bash scripts/kernels.sh run $(KVER)))
INSTALL_MOD_DIR ?= updates
DEPMOD ?= /sbin/depmod
PWD := $(shell pwd)
W ?= 1

.PHONY: all modules tools clean check deps style vm-shell demo fuzz fuzz-check soak install dkms-install kernels check-matrix bench

all: modules tools

modules:
	@test -n "$(KDIR)" || { echo "vhx: no /lib/modules/6.1.*/build (run: make deps, or pass KDIR=)"; exit 1; }
	$(KBUILD_IN) $(MAKE) -C $(KDIR) M=$(PWD) W=$(W) modules
	$(KBUILD_IN) $(MAKE) -C $(KDIR) M=$(PWD)/selftests/kmod W=$(W) modules

# modules_install into $(DESTDIR)/lib/modules/$(KVER)/$(INSTALL_MOD_DIR), then depmod.
install: modules
	$(KBUILD_IN) $(MAKE) -C $(KDIR) M=$(PWD) INSTALL_MOD_DIR=$(INSTALL_MOD_DIR) \
		$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) DEPMOD=/bin/true modules_install
	$(DEPMOD) $(if $(DESTDIR),-b $(DESTDIR)) -a $(KVER)

# Register with DKMS: rebuilt for every installed and future kernel.
dkms-install:
	bash scripts/dkms-install.sh

# Test kernels (6.12 from bookworm-backports, 7.x in a Debian 13 build root).
kernels:
	bash scripts/kernels.sh install

# Build and run the suite on 6.1, 6.12 and 7.x; one line per kernel.
check-matrix: deps kernels
	$(MAKE) tools
	$(MAKE) style
	bash scripts/check-matrix.sh

tools:
	$(MAKE) -C selftests
	$(MAKE) -C tools
	$(MAKE) -C tools/vhxctl
	$(MAKE) -C bench

clean:
	-$(KBUILD_IN) $(MAKE) -C $(KDIR) M=$(PWD) clean
	-$(KBUILD_IN) $(MAKE) -C $(KDIR) M=$(PWD)/selftests/kmod clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C tools clean
	-$(MAKE) -C bench clean

deps:
	bash scripts/install-deps.sh

# Boots the Debian kernel under QEMU TCG and runs the whole suite.
# Sub-make: KDIR/KVER are recomputed after `deps` may have installed them
# (if KVER is still empty, run.sh picks the newest 6.1 itself).
# Knobs: VHX_TARGET=vhx|intree, VHX_TESTS="testpmd net" (subset).
VM_ARGS = $(if $(KVER),--kver $(KVER)) $(if $(VHX_TARGET),--target $(VHX_TARGET)) \
	  $(if $(VHX_TESTS),--tests "$(VHX_TESTS)")

# The whole test suite (scripts/check.sh): install, build, the inner guest's
# image and saved states (booted here in seconds, restored by the nested
# tests), host-side checks (style, fuzz replay, the bridge on its mock)
# beside the lab VM, every suite in the VM; one final "N passed, N failed"
# line (host and guest) and a time table.
check:
	bash scripts/check.sh $(VM_ARGS)

# checkpatch.pl --strict over the kernel sources (and W=1 in `modules`).
style:
	KDIR=$(KDIR) bash scripts/checkpatch.sh

# The main job: stock QEMU (-netdev tap,vhost=on) served by vhx, nested in
# the lab VM; streams the inner guest, ping, iperf3, vhx counters; exit 0
# only if traffic flowed through vhx.  See scripts/demo.sh.
demo: deps
	$(MAKE) -j$$(nproc) all
	bash scripts/demo.sh $(if $(KVER),--kver $(KVER)) $(if $(VHX_TARGET),--target $(VHX_TARGET))

# libFuzzer over the ring walk (vhost/vq*.c, log.c, access.c, mem.c built in userspace
# through selftests/fuzz/shim).  FUZZ_SECS per target (300); fuzz-check replays
# the committed corpus and fuzzes FUZZ_CHECK_SECS (20) per target.
fuzz:
	$(MAKE) -C selftests/fuzz fuzz

fuzz-check:
	$(MAKE) -C selftests/fuzz fuzz-check

# The long versions of the in-VM fault loops and fuzzer (VHX_SOAK=1: 100
# owner kills, 200 loops of each fault, 100 000 fuzz operations; hours under
# TCG).  `make fuzz` is the long userspace fuzz run.
soak: deps
	$(MAKE) all
	VHX_CMDLINE_EXTRA="VHX_SOAK=1 $(VHX_CMDLINE_EXTRA)" bash selftests/vm/run.sh \
		$(VM_ARGS) $(if $(VHX_TESTS),,--tests "fault ioctlfuzz cve") \
		--test-timeout 14400 --timeout 21600

# vhx against the in-tree vhost_net, side by side in one boot of the lab VM:
# bench/results/DATE-KERNEL.md + plots.  See bench/README.md.  Knobs:
# BENCH_PAIRS (3), BENCH_SECS (10), BENCH_GROUPS (idle,pmd,iperf,packed,blk,vsock),
# BENCH_VS=REV (also vhx at git REV, loaded beside: before/after rows),
# VMSLOT (a prefix for the VM command, e.g. "nice -n 10").
BENCH_PAIRS ?= 3
BENCH_SECS ?= 10
export BENCH_PAIRS BENCH_SECS BENCH_GROUPS BENCH_OUT BENCH_VS BENCH_PROFILE BENCH_TRACE VMSLOT
bench:
	bash scripts/install-deps.sh --bench
	$(MAKE) all
	KVER=$(KVER) bash bench/bench.sh

vm-shell: all
	bash selftests/vm/run.sh $(VM_ARGS) --shell
