#!/bin/bash
# vm-timeout: 3600
# Runs tests/vm/cx16/cx16-flags (built on the host by tools/dev/cx16-check.sh)
# in the guest: does the emulated CPU keep RFLAGS right across CMPXCHG16B,
# in the three ways cx16-flags.c describes? No RDMA, no module:
# only the emulator is under test (issue 21).
#   ISER_CX16_BIN   the static binary
#   ISER_CX16_SECS  guest seconds per variant (default 20)
# shellcheck source-path=SCRIPTDIR
set -u
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"

secs=${ISER_CX16_SECS:-20}
for mode in nofault segment fault; do
	name="CMPXCHG16B ($mode) keeps RFLAGS for ${secs} s of guest time"
	if out=$("$ISER_CX16_BIN" "$mode" "$secs" 2>&1); then
		tap_ok "$name"
	else
		tap_not_ok "$name"
	fi
	tap_diag <<<"$out"
done
tap_plan
