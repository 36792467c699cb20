#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The basic iSER round trip through iser_target: a ramdisk LUN behind an
# iSER portal, SendTargets discovery and login with the open-iscsi iSER
# initiator, crc32c-verified writes read back, logout, and clean-up of
# everything the test created.
set -u
# shellcheck source=iser_lib.sh
. "$(dirname "$(realpath "$0")")/iser_lib.sh"

iser_begin "iser_target basic: discovery, login, verified I/O, logout" 18
iser_setup_base
step "SendTargets discovery lists the target" discover
step "iSER login, ${DISK_MB} MiB disk attached" session_up
check "fio crc32c ${VERIFY_MB} MiB bs=4k qd=16 randwrite, read back" \
	fio_verify 4k 16 randwrite "$VERIFY_MB"
check "fio crc32c ${VERIFY_MB} MiB bs=128k qd=16 write, read back" \
	fio_verify 128k 16 write "$VERIFY_MB"
check "logout leaves no session to the target" logout
iser_teardown
