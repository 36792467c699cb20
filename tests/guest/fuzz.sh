#!/bin/bash
# vm-timeout: 900
# The fuzzer against iser_target: tests/guest/hostile.sh's set-up (LUN 1
# for the tool, a Linux iSER session with a crc32c-verified background load
# on LUN 0), then `iser-hostile --fuzz` for ISER_FUZZ_SECS seconds (default
# 120) instead of the scenario table, judged by the fuzzer's oracle (a fresh
# session after every sequence, /dev/kmsg), by the checks that follow each
# scenario (no connection left, no splat, the Linux session unharmed, a
# fresh session verifies data) and by the host's splat and leak checks.
# `make fuzz FUZZ_SECS=N` runs it on the debug kernel; make check runs a
# short one. ISER_FUZZ_SEED=N replays a run.
ISER_FUZZ_SECS=${ISER_FUZZ_SECS:-120}
# shellcheck source-path=SCRIPTDIR source=hostile.sh
. "$ISER_REPO/tests/guest/hostile.sh"
