#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Data integrity through iser_target: fio writes with crc32c checksums and
# reads every block back, from 512 B to 1 MiB blocks at queue depth 1 and
# 32 (single-PDU and multi-page RDMA transfers, one command in flight and
# many); then data written in one session must verify in the next one,
# after a logout, so that it went to the target and not only a cache.
set -u
# shellcheck source=iser_lib.sh
. "$(dirname "$(realpath "$0")")/iser_lib.sh"

BLOCK_SIZES="512 4k 64k 1m"
DEPTHS="1 32"

# across_sessions: write, log out and in again, verify only.
across_sessions() {
	local common=(--rw=write --bs=256k --iodepth=8 --size="${VERIFY_MB}M"
		--verify=crc32c --verify_state_save=0)
	(cd "$STATE" && timeout "$CMD_TIMEOUT" fio --name=persist --filename="/dev/$DISK" \
		--ioengine=libaio --direct=1 --do_verify=0 "${common[@]}") || return 1
	logout && session_up || return 1
	(cd "$STATE" && timeout "$CMD_TIMEOUT" fio --name=persist --filename="/dev/$DISK" \
		--ioengine=libaio --direct=1 --verify_only=1 --verify_fatal=1 "${common[@]}")
}

# 7 set-up, discovery, login, 4 x 2 matrix, across sessions, logout, 6
# clean-up.
iser_begin "iser_target data integrity: crc32c matrix over block sizes and queue depths" 25
iser_setup_base
step "SendTargets discovery lists the target" discover
step "iSER login, ${DISK_MB} MiB disk attached" session_up
for bs in $BLOCK_SIZES; do
	# Small blocks move less data, so that each cell costs about as many
	# commands: 512 B at queue depth 1 is slow on Soft-RoCE.
	case $bs in
	512) mb=$(((VERIFY_MB + 7) / 8)) ;;
	4k) mb=$(((VERIFY_MB + 3) / 4)) ;;
	*) mb=$VERIFY_MB ;;
	esac
	for qd in $DEPTHS; do
		check "fio crc32c $mb MiB bs=$bs qd=$qd randwrite, read back" \
			fio_verify "$bs" "$qd" randwrite "$mb"
	done
done
check "data written before a logout verifies after a new login" across_sessions
check "logout leaves no session to the target" logout
iser_teardown
