#!/usr/bin/env bash
# What `make check` runs, in order: host unit tests, lint (checkpatch,
# kernel-doc, shellcheck, docutils), module build checks (W=1 and sparse
# for every installed Debian kernel), the VM suites (on one kernel, or on
# each of $KVERS), then the packaging test (make install/uninstall, the
# Debian package: lintian, DKMS on the host, a guest check that
# enable_iser loads the installed module, purge). Prints one TAP stream
# (kselftest style) and ends with exactly one line
# "N passed, N failed, N skipped"; exits non-zero on any failure.
#
# Environment:
#   KVER=REL         kernel to boot for the VM suites (default: tools/dev/kver.sh,
#                    the newest installed)
#   KVERS="a b"      run the VM suites and the package guest check on each
#                    of these kernels (default: $KVER alone)
#   KDIR=DIR         build against this kernel tree only (default: every
#                    installed Debian kernel, tools/dev/kver.sh --all)
#   SUITES="a b"     VM suites to run, by name in tests/guest/ (default:
#                    $default_suites below; "none" for none)
#   PAIR_SUITES="a b"  suites also run across two guests, target and
#                    initiator apart (default: basic; "" for none); with
#                    basic, also mixed kernels
#   STAGES="..."     stages to run, of: unit lint build vm bench pkg
#                    (default: all; bench is one quick round that checks
#                    every figure is produced, see tools/dev/bench.sh)
#   ISER_IMPL=ours|stock  iSER target transport basic.sh tests (default: ours);
#                    the iser-* suites always test ours
#   ISER_CHECK_LONG=1  make check-long: more login/logout cycles and
#                    fuzzing time, iser-teardown's every check across two
#                    guests too (about 8 minutes more)
#   ISER_VM_KVM=1, ISER_VM_TIMEOUT=S  see tests/vm/run-vm.sh
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
# shellcheck source-path=SCRIPTDIR source=guest/tap.sh
. tests/guest/tap.sh

# Suites run by default; SUITES picks others (any tests/guest/NAME.sh).
default_suites="basic iser-io iser-paths iser-teardown iser-stats hostile fuzz faults kselftest"
suites=${SUITES:-$default_suites}
# The fuzz suite's seed: one per commit, so that a run can be repeated and
# each commit explores new sequences.
if [[ -z ${ISER_FUZZ_SEED:-} ]] && head=$(git rev-parse --short=8 HEAD 2>/dev/null); then
	export ISER_FUZZ_SEED=$((16#$head))
fi
suites=${suites//,/ }
export ISER_IMPL=${ISER_IMPL:-ours}
# make check must end well inside the CI's time on two cores; make
# check-long (ISER_CHECK_LONG=1) runs the same suites at the sizes that
# took make check past 70 minutes there (stop 32: 72.5): twice the cycles
# and fuzzing time, and iser-teardown's one-host checks also across two
# guests.
long=${ISER_CHECK_LONG:-0}
# faults.sh's login/logout cycles: its check compares slab object counts
# exactly, so a leak of one object per cycle shows after 10 as after 200
# (the default, which make check-debug keeps); each cycle takes about
# 1.8 s under TCG. More cycles only find rarer races.
export ISER_FAULT_CYCLES=${ISER_FAULT_CYCLES:-$((long ? 20 : 10))}
# iser-io's login/logout cycles likewise (its default, 50, for a run by
# hand).
export ISER_LOGIN_CYCLES=${ISER_LOGIN_CYCLES:-$((long ? 20 : 10))}
# The fuzz suite's time (make fuzz runs for an hour on the debug kernel),
# given to that suite alone: with ISER_FUZZ_SECS set, hostile.sh runs the
# fuzzer instead of its scenario table (exported here once, it silently
# replaced every hostile scenario).
fuzz_secs=${ISER_FUZZ_SECS:-$((long ? 120 : 60))}
unset ISER_FUZZ_SECS

# build_check NAME MAKE-ARGS...: passes iff make succeeds and prints no
# "warning:" (compiler, sparse) or "WARNING:" (modpost) line.
build_check() {
	local name=$1 log rc warnings
	shift
	log=$(make --no-print-directory "$@" 2>&1) && rc=0 || rc=$?
	warnings=$(grep -i 'warning:' <<<"$log")
	if ((rc == 0)) && [[ -z $warnings ]]; then
		tap_ok "$name"
	else
		tap_not_ok "$name"
		if [[ -n $warnings ]]; then
			tap_diag "$(grep -c . <<<"$warnings") warning(s):"
			head -n 40 <<<"$warnings" | tap_diag
		fi
		((rc == 0)) || { tap_diag "make exit status $rc:"; tail -n 20 <<<"$log" | tap_diag; }
	fi
}

stages=" ${STAGES:-unit lint build vm bench pkg} "
stage() {
	[[ $stages == *" $1 "* ]]
}

# Kernels: every installed Debian kernel is built for; the VM suites boot
# $KVERS, else the one tools/dev/kver.sh names.
if [[ -n ${KDIR:-} ]]; then
	build_kvers=$(tools/dev/kver.sh) || build_kvers=
else
	build_kvers=$(tools/dev/kver.sh --all | xargs)
fi
vm_kvers=${KVERS:-$(tools/dev/kver.sh)}
vm_kvers=${vm_kvers//,/ }
[[ $suites == none ]] && suites=

# (a) Host unit tests; they print their own TAP.
if stage unit; then
	if [[ -f tests/unit/Makefile ]]; then
		tap_relay_cmd "unit: " make -s --no-print-directory -C tests/unit run
		# The fuzzer's generator, file format and ddmin, then its runner
		# against an in-process fake of the RDMA libraries.
		tap_relay_cmd "unit: iser-hostile: " \
			make -s --no-print-directory -C tools/iser-hostile test
		tap_relay_cmd "unit: " python3 tests/vm/test-leak-check.py
		tap_relay_cmd "unit: " tests/vm/test-splat-check.sh
		tap_relay_cmd "unit: " python3 tests/bench/test-cost-report.py
		tap_relay_cmd "unit: " python3 tests/bench/test-cost-lines.py
		tap_relay_cmd "unit: ktap-check: " tests/selftests/iser_target/test-ktap-check.sh
	else
		tap_skip "unit tests" "tests/unit/Makefile does not exist yet"
	fi
fi

# (b) checkpatch --strict, kernel-doc, shellcheck, docutils (sparse runs
# in (c)); see tools/dev/lint.sh.
if stage lint; then
	tap_relay_cmd "lint: " tools/dev/lint.sh --no-sparse
fi

# (c) Module build checks for every kernel, each in a fresh copy of the
# sources under build/matrix/: W=1 only reports on files it compiles, and
# the module at the top level is the one the VM suites load.
kdir_of() {
	echo "${KDIR:-/lib/modules/$1/build}"
}
matrix_check() { # KVER
	local k=$1 dir=$repo/build/matrix/$1
	rm -rf "$dir"
	mkdir -p "$dir"
	cp Kbuild "$dir/"
	find drivers include \( -name '*.[ch]' -o -name '*.sh' \) -exec cp --parents {} "$dir/" \;
	build_check "build: make KVER=$k W=1, no warnings" -C "$(kdir_of "$k")" M="$dir" W=1 modules
	# C=2 runs sparse on every source file, rebuilt or not.
	build_check "sparse: make KVER=$k C=2, no warnings" -C "$(kdir_of "$k")" M="$dir" C=2 modules
	tap_run "build: compat probes of $k match its headers" \
		tests/compat/check-probes.sh "$dir/drivers/target/iser/iser_compat_auto.h" \
		"$(kdir_of "$k")"
}
if stage build; then
	if [[ -z $build_kvers ]]; then
		tap_not_ok "build: find the installed kernels (tools/dev/kver.sh --all)"
	fi
	for k in $build_kvers; do
		tap_diag "build: $k ($(kdir_of "$k"))"
		matrix_check "$k"
	done
	# make bench COST=1's instruction-counting QEMU plugin.
	rm -f build/insn-count.so
	tap_run "build: tools/dev/insn-count.c (QEMU plugin), no warnings" \
		make -s --no-print-directory build/insn-count.so
	# 64 KiB pages and other compilers: arm64 and ppc64el, W=1.
	tap_relay_cmd "build: " tools/dev/cross-build.sh arm64 ppc64el
fi

# (d) VM suites, on each kernel of $vm_kvers; the module is built at the
# top level for that kernel first. With several kernels a suite's name
# (and output directory, build/vm/out/NAME) carries the kernel.
root_module() { # KVER
	make -s -C "$(kdir_of "$1")" M="$repo" clean >/dev/null 2>&1
	make -s --no-print-directory KVER="$1" ${KDIR:+KDIR="$KDIR"}
}
if stage vm && [[ -n $suites ]]; then
	if [[ -z $vm_kvers ]]; then
		tap_not_ok "vm: resolve the kernel to boot (tools/dev/kver.sh)"
	fi
	# The hostile suite runs this user-space initiator in the guest,
	# whose root is the host's, read-only.
	if [[ " $suites " == *" hostile "* || " $suites " == *" fuzz "* ]]; then
		tap_run "vm: build tools/iser-hostile" make -s -C tools/iser-hostile
	fi
	# The kselftest suite runs the collection installed, as a user would.
	if [[ " $suites " == *" kselftest "* ]]; then
		rm -rf build/ksft-install
		tap_run "vm: install the kselftest collection into build/ksft-install" \
			make -s --no-print-directory -C tests/selftests/iser_target install \
			INSTALL_PATH="$repo/build/ksft-install"
	fi
	for k in $vm_kvers; do
		tap_diag "vm: kernel $k, transport: ISER_IMPL=$ISER_IMPL"
		if ! tap_run "vm: build iser_target.ko for $k" root_module "$k"; then
			for suite in $suites; do
				tap_skip "vm:$suite on $k" "iser_target.ko did not build for $k"
			done
			continue
		fi
		# iser-paths loads Soft-iWARP, which Debian's kernels lack.
		if [[ " $suites " == *" iser-paths "* ]]; then
			KDIR=$(kdir_of "$k") tap_run "vm: build Soft-iWARP (siw.ko) for $k" \
				tools/dev/siw-module.sh "$k"
		fi
		for suite in $suites; do
			name=$suite
			[[ $vm_kvers == *" "* ]] && name=$suite@$k
			if [[ ! -f tests/guest/$suite.sh ]]; then
				tap_not_ok "vm:$suite: no such suite tests/guest/$suite.sh"
				continue
			fi
			suite_env=()
			[[ $suite == fuzz ]] && suite_env=(ISER_FUZZ_SECS="$fuzz_secs")
			KVER=$k tap_relay_cmd "" env "${suite_env[@]}" \
				tests/vm/run-vm.sh "tests/guest/$suite.sh" "$name"
		done
	done
fi

# (d2) The security scenarios of the hostile suite (Documentation/
# security.rst) also on every other installed kernel, so that a fix that
# depends on the core's version is seen on each (6.1 and 6.12).
security_only='^(text-|login-rdmaext|login-trdsl|login-starve|nopin-reply|ffp-snack|scsi-write-final|dataout-during-read|write-reset-other|tmf-nonimm)'
if stage vm && [[ " $suites " == *" hostile "* && -z ${KVERS:-} ]]; then
	for k in $build_kvers; do
		[[ " $vm_kvers " == *" $k "* ]] && continue
		if ! tap_run "vm: build iser_target.ko for $k" root_module "$k"; then
			tap_skip "vm:hostile-security@$k" "iser_target.ko did not build for $k"
			continue
		fi
		ISER_HOSTILE_ONLY=$security_only KVER=$k tap_relay_cmd "" \
			tests/vm/run-vm.sh tests/guest/hostile.sh "hostile-security@$k"
	done
	# The module at the top level is the one for the kernel the suites boot.
	[[ -n $vm_kvers ]] && root_module "${vm_kvers%% *}"
fi

# (d3) Two hosts: target and initiator each in a guest of its own, joined
# by a virtio-net link (run-vm.sh, ISER_TOPOLOGY=two), on the kernel the
# suites boot (iser-teardown with its check of an initiator host that
# vanishes, and basic); then basic with the target on that kernel and the
# initiator on each other installed kernel, and the reverse. When those
# mixed pairs run, they are basic across two guests with the target on
# each kernel, and basic on the one kernel alone would repeat them. The
# mixed pairs verify 16 MiB per fio job, not 64: what they add is the
# other kernel's side of the login and the data path, not the volume
# (basic on one guest writes 64).
pair_suites=${PAIR_SUITES-basic iser-teardown}
pair_suites=${pair_suites//,/ }
mixed_kvers=
if [[ -z ${KVERS:-} && -n $vm_kvers ]]; then
	for k in $build_kvers; do
		[[ $k == "${vm_kvers%% *}" ]] || mixed_kvers+=" $k"
	done
fi
if stage vm && [[ -n $pair_suites && -n $vm_kvers ]]; then
	main=${vm_kvers%% *}
	root_module "$main"
	for suite in $pair_suites; do
		[[ $suite == basic && -n $mixed_kvers ]] && continue
		# iser-teardown on one guest has run the checks that need no
		# second host (a connect storm, device and target deletions).
		pair_only=0
		((long)) || [[ $suite != iser-teardown || " $suites " != *" iser-teardown "* ]] ||
			pair_only=1
		ISER_TEARDOWN_PAIR_ONLY=$pair_only ISER_TOPOLOGY=two KVER=$main tap_relay_cmd "" \
			tests/vm/run-vm.sh "tests/guest/$suite.sh" "$suite@two"
	done
	if [[ " $pair_suites " == *" basic "* ]]; then
		for k in $mixed_kvers; do
			ISER_VERIFY_MB=16 ISER_TOPOLOGY=two KVER=$main ISER_TARGET_KVER=$main ISER_INITIATOR_KVER=$k \
				tap_relay_cmd "" tests/vm/run-vm.sh tests/guest/basic.sh "basic@two-target-$main-initiator-$k"
			if tap_run "vm: build iser_target.ko for $k" root_module "$k"; then
				ISER_VERIFY_MB=16 ISER_TOPOLOGY=two KVER=$main ISER_TARGET_KVER=$k ISER_INITIATOR_KVER=$main \
					tap_relay_cmd "" tests/vm/run-vm.sh tests/guest/basic.sh "basic@two-target-$k-initiator-$main"
			else
				tap_skip "vm:basic@two-target-$k-initiator-$main" "iser_target.ko did not build for $k"
			fi
			root_module "$main"
		done
	fi
fi

# (e) One quick benchmark round, so that the benchmark cannot rot: it
# checks that every figure is produced, never a speed.
if stage bench; then
	QUICK=1 tap_relay_cmd "" tools/dev/bench.sh
fi

# (f) Packaging, last: it installs iser-target-dkms on this machine for
# a while (and purges it again), which must not meet the suites above.
if stage pkg; then
	PKG_VM_KVERS=$vm_kvers tap_relay_cmd "" tests/pkg/deb.sh
fi

tap_plan
tap_totals
((TAP_FAIL == 0))
