#!/bin/bash
# vm-timeout: 2400
# Faults under load through iser_target. Each fault hits a session while
# fio writes to it at a steady rate and records which writes completed
# (verify_state_save); once the session is back, every acknowledged write
# must read back intact (verify_only with that state). Faults on the
# initiator side: its RDMA device deleted and re-added, its link down for
# 10 s, a logout, iscsid killed and restarted. On the target side: the
# LUN, the TPG and the whole target deleted and made again, the TPG
# disabled and enabled. Then 200 login/logout cycles, after which the
# module must hold nothing and unload.
#
# Environment: ISER_FAULT_CYCLES (default 200) login/logout cycles.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"
# shellcheck source=faultlib.sh
. "$ISER_REPO/tests/guest/faultlib.sh"

T=iqn.2026-11.org.example:faults
CYCLES=${ISER_FAULT_CYCLES:-200}
# Bytes of acknowledged writes read back and verified, over all faults.
VERIFIED_KIB=0

# --- acknowledged writes ------------------------------------------------

FIO_DIR=/tmp/faults
# allow_file_create=0: a vanished disk is an error, not a new file in /dev.
FIO_JOB=(--name=acked --ioengine=libaio --direct=1 --rw=randwrite --bs=4k
	--iodepth=8 --size=8M --verify=crc32c --allow_file_create=0)
W_PID=

# Random 4 KiB writes at 150 per second for about 14 s; fio saves which
# completed when it ends, normally or on an I/O error. The fault must find
# writes under way: on the debug kernel fio can take seconds to open the
# disk, and a fault before that tests nothing.
writes_start() {
	rm -rf "$FIO_DIR"
	mkdir -p "$FIO_DIR"
	(cd "$FIO_DIR" && exec fio "${FIO_JOB[@]}" --filename="/dev/$D" \
		--do_verify=0 --verify_state_save=1 --rate_iops=150 \
		--output="$FIO_DIR/write.out" >/dev/null 2>&1) &
	W_PID=$!
	for _ in $(seq "$(polls 40)"); do
		if find /proc/[0-9]*/fd -lname "/dev/$D" 2>/dev/null | grep -q .; then
			sleep 2
			kill -0 "$W_PID" && return 0
			break
		fi
		kill -0 "$W_PID" 2>/dev/null || break
		sleep 0.25
	done
	echo "the writer did not get under way on /dev/$D"
	kill "$W_PID" 2>/dev/null
	wait "$W_PID"
	W_PID=
	return 1
}

writes_end() {
	local rc=0
	wait "$W_PID" || rc=$?
	W_PID=
	echo "writer exit status $rc: $(grep -oE 'WRITE: bw=[^,]*|err=[ 0-9]+' "$FIO_DIR/write.out" | tr '\n' ' ')"
}

# Reads back every write the writer saw complete.
writes_verify() {
	local kib
	(cd "$FIO_DIR" && fio "${FIO_JOB[@]}" --filename="/dev/$D" \
		--verify_only --verify_state_load=1 --verify_fatal=1 \
		--output-format=json --output="$FIO_DIR/verify.json" \
		>/dev/null 2>"$FIO_DIR/verify.err") || {
		echo "verification failed:"
		head -n 20 "$FIO_DIR/verify.err"
		return 1
	}
	kib=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["jobs"][0]["read"]["io_kbytes"])' \
		"$FIO_DIR/verify.json") || return 1
	((kib > 0)) || {
		echo "nothing was verified"
		return 1
	}
	VERIFIED_KIB=$((VERIFIED_KIB + kib))
	echo "verified $kib KiB of acknowledged writes"
}

# under_writes FAULT...: the fault while writes run, then the session back
# (same or new disk), the writes verified and one connection on the target.
under_writes() {
	writes_start || return 1
	"$@"
	local rc=$?
	writes_end
	((rc == 0)) || {
		echo "the fault itself failed: $*"
		return 1
	}
	wait_logged_in && disk_now "$T" && writes_verify && conns_are 1
}

# --- login/logout cycles --------------------------------------------------

cycles() {
	local i conn0 hdr0 tx0
	logout_quiet && conns_are 0 || return 1
	conn0=$(slab_objs iser_conn) hdr0=$(slab_objs iser_hdr) tx0=$(slab_objs iser_tx_slot)
	for ((i = 1; i <= CYCLES; i++)); do
		login "$T" "$PORTAL" >/dev/null && logout "$T" "$PORTAL" >/dev/null || {
			echo "cycle $i failed"
			return 1
		}
	done
	conns_are 0 || return 1
	echo "after $CYCLES cycles: $(iser_slabs) (before: iser_conn=$conn0 iser_hdr=$hdr0 iser_tx_slot=$tx0)"
	(($(slab_objs iser_hdr) == hdr0 && $(slab_objs iser_tx_slot) == tx0))
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
tap_diag "$(transport_banner)"
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step lio "LIO target with an iSER portal" lio_setup_simple "$T" 64
step served "$TRANSPORT_MOD serves iSER (ISER_IMPL=$ISER_IMPL)" transport_loaded
# The initiator queues I/O for up to two minutes while it recovers, so a
# fault shorter than that costs time, not errors.
step iscsid "iscsid running, two-minute recovery window" initiator_prepare "$T" 120
step session "first session up" eval 'session_up "$T" && conns_are 1'
check "initiator's RDMA device deleted and re-added: acknowledged writes intact" \
	under_writes initiator_device_flap
check "initiator's link down for 10 s: acknowledged writes intact" under_writes link_down_10s
check "logout during writes, login again: acknowledged writes intact" under_writes logout_login
check "iscsid killed and restarted: acknowledged writes intact" under_writes iscsid_restart
check "LUN deleted and re-added: acknowledged writes intact" under_writes lun_delete_readd
check "TPG disabled and enabled: acknowledged writes intact" under_writes tpg_disable_enable
check "target deleted and made again: acknowledged writes intact" under_writes target_delete_remake
check "$CYCLES login/logout cycles leave the module's caches as they were" cycles
tap_diag "acknowledged writes verified after faults: $VERIFIED_KIB KiB"
step logout "all sessions logged out, no connection left" eval 'logout_quiet && conns_are 0'
iser_suite_teardown iscsid
