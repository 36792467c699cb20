#!/usr/bin/env bash
# What `make demo` runs: install the dependencies, build iser_target.ko,
# boot the Debian kernel in QEMU, export a ramdisk LUN over iSER with
# targetcli, log in with the Linux iSER initiator, write and verify data,
# print a short summary (target tree, session, throughput/IOPS) and clean
# up. Exits non-zero if any step failed.
#
# Environment: ISER_IMPL=ours|stock (default ours), KVER, ISER_VM_KVM,
# ISER_VM_TIMEOUT (see tests/vm/run-vm.sh).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
export ISER_IMPL=${ISER_IMPL:-ours}
failed=0

say() {
	printf '\n=== %s\n' "$*"
}

say "Installing dependencies"
tools/dev/install-deps.sh || exit 1
kver=$(tools/dev/kver.sh) || exit 1

say "Building iser_target.ko for $kver"
mkdir -p build
if make --no-print-directory KVER="$kver" >build/demo-make.log 2>&1; then
	echo "built $repo/iser_target.ko"
else
	failed=1
	echo "build FAILED (full log: build/demo-make.log):"
	tail -n 15 build/demo-make.log
fi

case $ISER_IMPL in
ours) echo "The demo uses iser_target, this project's module (ISER_IMPL=stock runs the kernel's ib_isert instead)." ;;
*) echo "The demo uses the kernel's stock ib_isert (ISER_IMPL=stock), not this project's module." ;;
esac

say "Booting $kver in QEMU and running the demo (a few minutes under emulation)"
tests/vm/run-vm.sh tests/guest/demo.sh demo || failed=1

say "Summary"
if [[ -s build/vm/out/demo/summary.txt ]]; then
	cat build/vm/out/demo/summary.txt
else
	echo "(the guest wrote no summary)"
	failed=1
fi

if ((failed)); then
	say "demo FAILED: see the 'not ok' lines above"
else
	say "demo OK"
fi
exit "$failed"
