# SPDX-License-Identifier: GPL-2.0
# Thin wrapper around Kbuild; see README.md for the targets.

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build /usr/src/linux-headers-$(KVER)) \
	/lib/modules/$(KVER)/build)

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
