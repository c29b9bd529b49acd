# SPDX-License-Identifier: GPL-2.0
# vhx — front door.  See README.md.

# Target kernel: newest installed Debian 6.1 build tree, never `uname -r`.
KDIR ?= $(lastword $(sort $(wildcard /lib/modules/6.1.*/build)))
KVER ?= $(notdir $(patsubst %/build,%,$(KDIR)))
PWD := $(shell pwd)
W ?= 1

.PHONY: all modules tools clean check deps style vm-shell

all: modules tools

modules:
	@test -n "$(KDIR)" || { echo "vhx: no /lib/modules/6.1.*/build (run: make deps, or pass KDIR=)"; exit 1; }
	$(MAKE) -C $(KDIR) M=$(PWD) W=$(W) modules

tools:
	$(MAKE) -C selftests
	$(MAKE) -C tools

clean:
	-$(MAKE) -C $(KDIR) M=$(PWD) clean
	-$(MAKE) -C selftests clean
	-$(MAKE) -C tools clean

deps:
	bash tools/install-deps.sh

# Boots the Debian kernel under QEMU TCG and runs the whole suite.
check: deps
	$(MAKE) all
	bash selftests/vm/run.sh --kver $(KVER)

vm-shell: all
	bash selftests/vm/run.sh --kver $(KVER) --shell
