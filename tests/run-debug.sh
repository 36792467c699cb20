#!/usr/bin/env bash
# What `make check-debug` runs: the guest suites on a debug kernel (KASAN,
# lockdep, kmemleak, DEBUG_OBJECTS, fault injection) built from Debian's
# linux-source-6.1 by tools/dev/debug-kernel.sh, which caches it. Any report of
# those checkers fails the suite (tests/vm/splat-check.sh, and the
# kmemleak scan after each suite). Not part of make check: the kernel takes
# long to build the first time and the suites run several times slower.
# TAP, ending with "N passed, N failed, N skipped"; non-zero on failure.
#
# Environment:
#   SUITES="a b"     suites to run (default: $default_suites below)
#   ISER_VM_SLOW=N   timeout factor for the slow kernel (default 3)
#   ISER_DEBUG_GCOV=1  the kernel with CONFIG_GCOV_KERNEL and the module
#                    instrumented for gcov (tools/dev/coverage.sh)
#   ISER_DEBUG_CHECKERS=0  the kernel without its checkers (coverage only;
#                    see tools/dev/debug-kernel.sh)
#   ISER_DEBUG_CACHE, JOBS  see tools/dev/debug-kernel.sh
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
# shellcheck source-path=SCRIPTDIR source=guest/tap.sh
. tests/guest/tap.sh

default_suites="allocfail basic iser-io iser-paths iser-teardown iser-stats hostile faults soak"
suites=${SUITES:-$default_suites}
# Given to the fuzz suite alone, as in tests/run-all.sh: with it set,
# hostile.sh runs the fuzzer instead of its scenario table (make coverage
# passed it to every suite, and its "hostile" counters were of a second
# fuzz run).
fuzz_secs=${ISER_FUZZ_SECS:-}
unset ISER_FUZZ_SECS
export ISER_IMPL=${ISER_IMPL:-ours}
export ISER_VM_SLOW=${ISER_VM_SLOW:-3}

build_kernel() {
	ktree=$(tools/dev/debug-kernel.sh) && [[ -e $ktree/vmlinuz ]]
}
build_module() {
	make -s -C "$ktree/src" M="$repo" clean >/dev/null 2>&1
	make -s --no-print-directory KDIR="$ktree/src" KVER="$(cat "$ktree/kver")" \
		ISER_GCOV="${ISER_DEBUG_GCOV:-0}"
}

ktree=
start=$SECONDS
if tap_run "debug kernel built or cached (tools/dev/debug-kernel.sh)" build_kernel; then
	tap_diag "debug kernel $(cat "$ktree/kver") in $ktree ($((SECONDS - start)) s)"
	if tap_run "iser_target.ko built for the debug kernel" build_module; then
		if [[ " $suites " == *" hostile "* || " $suites " == *" fuzz "* ]]; then
			tap_run "build tools/iser-hostile" make -s -C tools/iser-hostile
		fi
		if [[ " $suites " == *" iser-paths "* ]]; then
			KDIR=$ktree/src tap_run "Soft-iWARP (siw.ko) built for the debug kernel" \
				tools/dev/siw-module.sh "$(cat "$ktree/kver")"
		fi
		for suite in $suites; do
			suite_env=()
			[[ $suite == fuzz && -n $fuzz_secs ]] &&
				suite_env=(ISER_FUZZ_SECS="$fuzz_secs")
			ISER_VM_KTREE=$ktree tap_relay_cmd "" env "${suite_env[@]}" \
				tests/vm/run-vm.sh "tests/guest/$suite.sh" "$suite@debug"
			# The counters' build notes, for tools/dev/coverage.sh,
			# renamed: the next suite's "make clean" deletes every
			# *.gcno under the module's directory, build/ included.
			if [[ -d build/vm/out/$suite@debug/gcov ]]; then
				for f in drivers/target/iser/*.gcno; do
					cp "$f" "build/vm/out/$suite@debug/gcov/${f##*/}.kept"
				done
			fi
		done
	else
		for suite in $suites; do
			tap_skip "vm:$suite@debug" "iser_target.ko did not build"
		done
	fi
else
	for suite in $suites; do
		tap_skip "vm:$suite@debug" "no debug kernel"
	done
fi

tap_plan
tap_totals
((TAP_FAIL == 0))
