#!/usr/bin/env bash
# What `make check` runs, in order: host unit tests, module build checks
# (W=1 and sparse, against the Debian kernel the VM boots), then the VM
# suites. Prints one TAP stream (kselftest style) and ends with exactly
# one line "N passed, N failed, N skipped"; exits non-zero on any failure.
#
# Environment:
#   KVER=REL         kernel release to build for and boot (default: tools/kver.sh)
#   KDIR=DIR         kernel build tree (default: /lib/modules/$KVER/build)
#   SUITES="a b"     VM suites to run, by name in tests/guest/ (default:
#                    $default_suites below)
#   ISER_IMPL=ours|stock  iSER target transport basic.sh tests (default: ours);
#                    the iser-* suites always test ours
#   ISER_VM_KVM=1, ISER_VM_TIMEOUT=S  see tests/vm/run-vm.sh
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo" || exit 1
# shellcheck source-path=SCRIPTDIR source=guest/tap.sh
. tests/guest/tap.sh

# Suites run by default; SUITES picks others (any tests/guest/NAME.sh).
default_suites="basic iser-io iser-paths iser-teardown"
suites=${SUITES:-$default_suites}
suites=${suites//,/ }
export ISER_IMPL=${ISER_IMPL:-ours}

# relay PREFIX CMD...: run CMD, feed its TAP into ours; a non-zero exit
# that its own checks do not explain becomes a failed check.
relay() {
	local prefix=$1 fails=$TAP_FAIL rc
	shift
	tap_relay "$prefix" < <("$@" 2>&1)
	wait $! && rc=0 || rc=$?
	if ((rc != 0 && TAP_FAIL == fails)); then
		tap_not_ok "${prefix}exit status $rc of: $*"
	fi
}

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

# (a) Host unit tests; they print their own TAP.
if [[ -f tests/unit/Makefile ]]; then
	relay "unit: " make -s --no-print-directory -C tests/unit run
else
	tap_skip "unit tests" "tests/unit/Makefile does not exist yet"
fi

# (b) Module build checks, against the kernel the VM boots.
if kver=$(tools/kver.sh); then
	kdir=${KDIR:-/lib/modules/$kver/build}
	tap_diag "kernel: $kver ($kdir), transport: ISER_IMPL=$ISER_IMPL"
	# W=1 only reports on files it compiles: clean the module objects
	# first (not `make clean`, which would also drop build/'s VM cache).
	make -s -C "$kdir" M="$repo" clean >/dev/null 2>&1
	build_check "build: make KVER=$kver W=1, no warnings" KVER="$kver" W=1
	# C=2 runs sparse on every source file, rebuilt or not.
	build_check "sparse: make KVER=$kver C=2, no warnings" KVER="$kver" C=2
else
	tap_not_ok "resolve the kernel to build for and boot (tools/kver.sh)"
fi

# (c) VM suites.
for suite in $suites; do
	if [[ ! -f tests/guest/$suite.sh ]]; then
		tap_not_ok "vm:$suite: no such suite tests/guest/$suite.sh"
		continue
	fi
	relay "" tests/vm/run-vm.sh "tests/guest/$suite.sh" "$suite"
done

tap_plan
tap_totals
((TAP_FAIL == 0))
