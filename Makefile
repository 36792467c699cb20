# SPDX-License-Identifier: GPL-2.0
# Thin wrapper around Kbuild; see README.md for the targets.

KVER ?= $(shell uname -r)
KDIR ?= $(firstword $(wildcard /lib/modules/$(KVER)/build /usr/src/linux-headers-$(KVER)))
ifeq ($(KDIR),)
# No headers for the running kernel (a build host that is not Debian's):
# build for the newest installed Debian kernel, the one the tests boot.
KVER := $(shell tools/dev/kver.sh 2>/dev/null)
KDIR := /lib/modules/$(KVER)/build
endif

.PHONY: all modules clean unit check demo bench scale deps install uninstall lint deb \
	check-matrix check-debug dkms-add dkms-remove

all: modules

modules:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	$(MAKE) -C tests/unit clean
	rm -rf build

# Host unit tests of the protocol logic; they need the installed kernel
# headers (make deps), not a running kernel.
unit:
	$(MAKE) -C tests/unit run

deps:
	tools/dev/install-deps.sh

# Installs what is missing first, so that it works on a fresh machine.
check: deps
	tests/run-all.sh

# make check at the sizes that no longer fit its time: more login/logout
# cycles and fuzzing, iser-teardown's every check across two guests too.
.PHONY: check-long
check-long: deps
	ISER_CHECK_LONG=1 tests/run-all.sh

# The guest suites on a debug kernel (KASAN, lockdep, kmemleak,
# DEBUG_OBJECTS, fault injection) built from linux-source-6.1 and cached.
check-debug:
	tests/run-debug.sh

# The fuzzer (iser-hostile --fuzz) against the module on the debug kernel
# for FUZZ_SECS seconds, beside a verified Linux session
# (tests/guest/fuzz.sh); FUZZ_SEED=N replays a run. Failing sequences and
# their minimised forms land in build/vm/out/fuzz@debug/fuzz/.
FUZZ_SECS ?= 600
.PHONY: fuzz
fuzz:
	ISER_FUZZ_SECS=$(FUZZ_SECS) $(if $(FUZZ_SEED),ISER_FUZZ_SEED=$(FUZZ_SEED)) \
		ISER_VM_TIMEOUT=$$(($(FUZZ_SECS) + 2700)) SUITES=fuzz tests/run-debug.sh

# Line, function and branch coverage of the module by the guest suites and
# a fuzz run, on the debug kernel with CONFIG_GCOV_KERNEL:
# build/coverage/index.html and summary.txt (tools/dev/coverage.sh).
.PHONY: coverage
coverage:
	tools/dev/coverage.sh

# Build checks only (W=1 and sparse for every installed Debian kernel).
check-matrix:
	STAGES=build tests/run-all.sh

# W=1 builds for arm64 and ppc64el, 64 KiB pages, against linux-source-6.1
# prepared and cached per ARCH (tools/dev/cross-build.sh); no VM.
CROSS_ARCHES ?= arm64 ppc64el
.PHONY: cross
cross:
	tools/dev/cross-build.sh $(CROSS_ARCHES)

# checkpatch --strict, kernel-doc, sparse, shellcheck, docutils (TAP).
lint:
	tools/dev/lint.sh

bench:
	tools/dev/bench.sh

# A thousand logged-in sessions from a second guest, for iser_target with
# and without its shared receive queue and for ib_isert (not in make check).
scale:
	tools/dev/scale.sh

# make bench COST=1's instruction-counting QEMU plugin (a host tool, not
# the module); make check builds it too, so that it cannot rot.
build/insn-count.so: tools/dev/insn-count.c
	mkdir -p build
	gcc -O2 -Wall -Wextra -Werror -shared -fPIC -fvisibility=hidden -o $@ $< -lpthread

# Install by hand into /lib/modules/$(KVER)/updates, plus the modprobe.d
# alias that makes LIO's request for ib_isert load iser_target. DESTDIR
# stages the files elsewhere (no depmod then). Without the kernel's
# signing key (distribution headers), modules_install would try to sign
# and fail: leave that to the administrator's own key, as DKMS does.
MOD_INSTALL_DIR = $(DESTDIR)/lib/modules/$(KVER)/updates
MODPROBE_CONF = $(DESTDIR)/etc/modprobe.d/iser-target.conf
install: modules
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_PATH=$(DESTDIR) INSTALL_MOD_DIR=updates \
		$(if $(wildcard $(KDIR)/certs/signing_key.pem),,CONFIG_MODULE_SIG_ALL=) \
		modules_install
	install -D -m 0644 packaging/modprobe.d/iser-target.conf $(MODPROBE_CONF)
	$(if $(DESTDIR),,depmod -a $(KVER))

uninstall:
	rm -f $(foreach ext,.ko .ko.xz .ko.gz .ko.zst,$(MOD_INSTALL_DIR)/iser_target$(ext)) $(MODPROBE_CONF)
	if [ -d $(MOD_INSTALL_DIR) ]; then rmdir --ignore-fail-on-non-empty $(MOD_INSTALL_DIR); fi
	$(if $(DESTDIR),,depmod -a $(KVER))

# DKMS by hand: the module's sources and dkms.conf into /usr/src (not the
# whole tree, as `dkms add .` would copy), registered with dkms; then
# `dkms install iser-target/<version> -k <release>` per kernel.
DKMS_VERSION = $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC = /usr/src/iser-target-$(DKMS_VERSION)
define no_package
	@if dpkg-query -W -f='$${db:Status-Abbrev}' iser-target-dkms 2>/dev/null | grep -q '^i'; then \
		echo "iser-target-dkms is installed and owns $(DKMS_SRC): use apt instead"; exit 1; fi
endef
dkms-add:
	$(no_package)
	rm -rf $(DKMS_SRC)
	install -D -m 0644 -t $(DKMS_SRC) Kbuild dkms.conf
	install -D -m 0644 -t $(DKMS_SRC)/drivers/target/iser drivers/target/iser/*.[ch]
	install -D -m 0644 -t $(DKMS_SRC)/drivers/target/iser/compat drivers/target/iser/compat/probe.sh
	install -D -m 0644 -t $(DKMS_SRC)/drivers/target/iser/compat/probes \
		drivers/target/iser/compat/probes/*.c
	install -D -m 0644 -t $(DKMS_SRC)/include/iser_target include/iser_target/*.h
	dkms add iser-target/$(DKMS_VERSION)

dkms-remove:
	$(no_package)
	if dkms status iser-target/$(DKMS_VERSION) | grep -q .; then \
		dkms remove iser-target/$(DKMS_VERSION) --all; fi
	rm -rf $(DKMS_SRC)

# Debian package iser-target-dkms, built from a copy of the sources in
# build/deb/ so that the .deb, .changes and .buildinfo land there too.
DEB_OUT = $(CURDIR)/build/deb
DEB_SRC = $(DEB_OUT)/iser-target
deb:
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_SRC)
	cp -r Kbuild dkms.conf LICENSE README.md debian packaging Documentation $(DEB_SRC)/
	find drivers include \( -name '*.[ch]' -o -name '*.sh' \) -exec cp --parents {} $(DEB_SRC)/ \;
	cd $(DEB_SRC) && dpkg-buildpackage -us -uc
	@ls -1 $(DEB_OUT)/*.deb

demo:
	tools/dev/demo.sh
