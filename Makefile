# SPDX-License-Identifier: GPL-2.0
# Thin wrapper around Kbuild; see README.md for the targets.

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build /usr/src/linux-headers-$(KVER)))
ifeq ($(KDIR),)
# No headers for the running kernel (a build host that is not Debian's):
# build for the newest installed Debian kernel, the one the tests boot.
KVER := $(shell tools/kver.sh 2>/dev/null)
KDIR := /lib/modules/$(KVER)/build
endif

.PHONY: all modules clean unit check demo bench deps

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C tests/unit clean
	rm -rf build

# Host unit tests of the protocol logic; no kernel needed.
unit:
	$(MAKE) -C tests/unit run

deps:
	tools/install-deps.sh

check:
	tests/run-all.sh

demo:
	tools/demo.sh
