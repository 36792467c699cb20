#!/usr/bin/env bash
# Checks the emulator of the test bed, not the module: boots the guest
# under QEMU's instruction clock (as tools/dev/crash-loop.sh does) and runs
# tests/vm/cx16/cx16-flags there, which executes CMPXCHG16B in a loop
# (locked; unlocked and %fs-relative as the kernel's per-CPU operations;
# locked on a page that faults) and checks that RFLAGS comes out as the
# architecture says. Issue 21's double faults followed that instruction in
# SLUB's fast path with RFLAGS holding the low half of RAX. TAP; ends with
# "N passed, N failed"; non-zero on a wrong result.
#
# Environment:
#   SECS=S     guest seconds per variant (default 20)
#   ICOUNT=0   plain multi-threaded TCG instead
#   KVER       Debian kernel to boot (default: tools/dev/kver.sh)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source-path=SCRIPTDIR source=../../tests/guest/tap.sh
. tests/guest/tap.sh

mkdir -p build/cx16
if ! tap_run "build cx16-flags (static)" gcc -O2 -Wall -Wextra -Werror -static \
	-o build/cx16/cx16-flags tests/vm/cx16/cx16-flags.c; then
	tap_totals
	exit 1
fi
# The instruction under test must exist in the guest.
export ISER_VM_ICOUNT=${ICOUNT:-1} ISER_VM_SLUB_DEBUG='' ISER_VM_CX16=1
export ISER_CX16_BIN=$repo/build/cx16/cx16-flags ISER_CX16_SECS=${SECS:-20}
tap_relay_cmd "" tests/vm/run-vm.sh tests/guest/cx16-flags.sh cx16-flags
tap_plan
tap_totals
((TAP_FAIL == 0))
