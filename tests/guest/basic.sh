#!/bin/bash
# vm-timeout: 600
# Basic iSER round trip in one guest: Soft-RoCE over a veth pair, a LIO
# ramdisk LUN exported through targetcli with iSER enabled on the portal,
# the open-iscsi iSER initiator on the other end, crc32c-verified I/O,
# then a full teardown down to unloading every module the suite loaded.
# The transport under test is chosen by ISER_IMPL (see lib.sh).
# shellcheck source-path=SCRIPTDIR
set -u
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"

tap_diag "$(transport_banner)"
iser_setup
check "fio crc32c write+verify $VERIFY_MB MiB bs=4k randwrite" fio_verify 4k randwrite
check "fio crc32c write+verify $VERIFY_MB MiB bs=128k write" fio_verify 128k write
iser_teardown
tap_diag "$(transport_banner)"
tap_plan
((TAP_FAIL == 0))
