#!/bin/bash
# vm-timeout: 1200
# Teardown under I/O through iser_target: initiator logout, deletion of
# the target's portal, of the whole target, and of the target's and the
# initiator's RDMA device while fio runs; with two guests
# (ISER_TOPOLOGY=two), also the initiator's host vanishing without a
# logout. After each, the module must hold exactly the connections that
# still exist, and a fresh session must verify its data.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:teardown
FIO_PID=

# Background load that keeps commands in flight; its errors are expected.
# The teardown must find commands under way (io_under_way).
# allow_file_create=0: were the disk gone before fio opened it, fio would
# otherwise make a regular file /dev/$D, and the next session's disk would
# get no device node (seen on the debug kernel: every later step failed).
load_start() {
	local n0
	n0=$(disk_ios "$D")
	(cd /tmp && fio --name=load --filename="/dev/$D" --ioengine=libaio \
		--direct=1 --rw=randrw --bs=64k --iodepth=32 --time_based \
		--runtime=$((20 * ${ISER_VM_SLOW:-1})) --size=32M \
		--allow_file_create=0 --output=/dev/null >/dev/null 2>&1) &
	FIO_PID=$!
	io_under_way "$D" "$n0" "$FIO_PID" && sleep 1 && return 0
	load_stop
	return 1
}

load_stop() {
	kill "$FIO_PID" 2>/dev/null
	wait "$FIO_PID" 2>/dev/null
	FIO_PID=
	return 0
}

fresh_verify() {
	logout_quiet && conns_are 0 && session_up "$T" && conns_are 1 &&
		verify "$D" 16k 16 16 randwrite
}

logout_under_io() {
	load_start || return 1
	logout "$T" "$PORTAL" >/dev/null || {
		load_stop
		return 1
	}
	load_stop
	conns_are 0 && fresh_verify
}

portal_delete_under_io() {
	load_start || return 1
	tgt lio_portal_del "$T" "$PORTAL" || {
		load_stop
		return 1
	}
	load_stop
	echo "sessions after the portal went: $(sessions_count), module connections: $(slab_objs iser_conn)"
	tgt lio_portal "$T" "$PORTAL" && fresh_verify
}

target_delete_under_io() {
	load_start || return 1
	tgt lio_clear || {
		load_stop
		return 1
	}
	load_stop
	echo "module connections after the target went: $(slab_objs iser_conn)"
	conns_are 0 && tgt lio_ramdisk rd0 64 && tgt lio_simple "$T" "$PORTAL" rd0 &&
		fresh_verify
}

target_device_delete_under_io() {
	load_start || return 1
	target_rxe del || {
		load_stop
		return 1
	}
	echo "after delete: module connections $(slab_objs iser_conn)"
	conns_are 0 || {
		load_stop
		return 1
	}
	target_rxe add || {
		load_stop
		return 1
	}
	load_stop
	for _ in $(seq "$(polls 40)"); do
		target_log | grep -q "portal $PORTAL listening again" && break
		sleep 0.25
	done
	target_log | grep 'iser_target: portal' | tail -n 2
	target_log | grep -q "portal $PORTAL listening again" && fresh_verify
}

# Connects keep coming while the target's RDMA device goes away, three
# times. The module must refuse or drop every one of them: a connect that
# rdma_cm delivers after the module's own removal step would otherwise set
# up a protection domain and a queue pair on a device that is being freed.
# Nothing may stay on the module, and the listener must come back.
HOSTILE=$ISER_REPO/tools/iser-hostile/iser-hostile
target_device_delete_under_storm() {
	local pid round back out up
	# No Linux session: the previous check leaves one logged in, and its
	# recovery after each deletion is not what this check counts.
	logout_quiet && conns_are 0 || return 1
	out=$(mktemp)
	for round in 1 2 3; do
		back=$(target_log | grep -c "portal $PORTAL listening again")
		"$HOSTILE" --target "$TARGET_IP" --iqn "$T" \
			--initiator iqn.2026-11.org.example:storm --scenario storm \
			--count 1000000 --parallel 8 --timeout 15 >"$out" 2>&1 &
		pid=$!
		# Delete the device once the storm reaches the module: on the
		# debug kernel, after a fixed 2 s, no connect of the first round
		# had been established yet.
		for _ in $(seq "$(polls 120)"); do
			(($(slab_objs iser_conn) > 0)) && break
			sleep 0.25
		done
		sleep 1
		target_rxe del && sleep 1 && target_rxe add
		local rc=$?
		kill "$pid" 2>/dev/null
		wait "$pid"
		((rc == 0)) || return 1
		# The storm must have reached the target, or this proves nothing.
		up=$(grep -oE '[0-9]+ established' "$out" | head -n 1)
		up=${up% *}
		echo "round $round: $(grep -E 'connects in' "$out" | head -n 1)"
		((${up:-0} > 0)) || {
			echo "round $round: the storm established no connection:"
			cat "$out"
			target_log | grep -E 'iser_target|rdma|rxe' | tail -n 15
			rm -f "$out"
			return 1
		}
		for _ in $(seq "$(polls 40)"); do
			(($(target_log | grep -c "portal $PORTAL listening again") > back)) && break
			sleep 0.25
		done
		(($(target_log | grep -c "portal $PORTAL listening again") > back)) || {
			echo "round $round: the portal did not listen again"
			return 1
		}
		echo "round $round: module connections $(slab_objs iser_conn)"
	done
	rm -f "$out"
	conns_are 0 && fresh_verify
}

initiator_device_delete_under_io() {
	load_start || return 1
	initiator_rxe del && sleep 2 && initiator_rxe add || {
		load_stop
		return 1
	}
	wait_logged_in
	local rc=$?
	load_stop
	((rc == 0)) && conns_are 1 && fresh_verify
}

# The initiator's host vanishes without a logout, with I/O in flight:
# everything it sends is dropped (netem, 100 % loss on its NIC), so the
# target hears nothing more from it. (Taking its link down instead left a
# kworker of the initiator's own kernel blocked for minutes, which is not
# what this check is about.) LIO never pings an iSER connection, so the
# target must notice through iser_target's keepalive probe (keepalive_secs,
# cut to 5 s here), log why and free the connection; once the initiator is
# heard again, it logs in again and verifies.
initiator_host_vanishes() {
	local t0 n was rc=0 param=/sys/module/iser_target/parameters/keepalive_secs
	was=$(tgt cat "$param") && tgt sh -c "echo 5 >$param" &&
		fresh_verify && load_start || return 1
	modprobe sch_netem && tc qdisc add dev eth0 root netem loss 100% || {
		load_stop
		return 1
	}
	t0=$SECONDS
	for _ in $(seq "$(polls 90)"); do
		n=$(slab_objs iser_conn)
		((n == 0)) && break
		sleep 1
	done
	echo "the target holds $n connections $((SECONDS - t0)) s after the initiator went silent"
	((n == 0)) || rc=1
	target_log | grep -E 'iser_target|iSCSI' | tail -n 5
	target_log | grep -q 'did not answer a keepalive probe' || {
		echo "no keepalive log line on the target"
		rc=1
	}
	tc qdisc del dev eth0 root || rc=1
	tgt sh -c "echo $was >$param" || rc=1
	wait_logged_in 120 || rc=1
	load_stop
	((rc == 0)) && conns_are 1 && fresh_verify
}

modules_snapshot
tap_diag "$(transport_banner)"
step transport "select transport iser_target" tgt select_transport
step rxe "Soft-RoCE rxe0/rxe1 over $(rxe_link_name)" rxe_setup
step lio "LIO target with an iSER portal" tgt lio_setup_simple "$T" 64
step served "$TRANSPORT_MOD serves iSER (ISER_IMPL=$ISER_IMPL)" tgt transport_loaded
# Short recovery so that a lost session gives up or comes back quickly.
step iscsid "iscsid running, short recovery timeouts" initiator_prepare "$T" 30
step session "first session verifies" fresh_verify
# one_bed_check NAME FUNC: a check that does not need two hosts; with
# ISER_TEARDOWN_PAIR_ONLY=1 (make check across two guests, where the same
# run on one guest has done it) it is skipped and says so.
one_bed_check() {
	if [[ ${ISER_TEARDOWN_PAIR_ONLY:-0} == 1 ]]; then
		tap_skip "$1" "ISER_TEARDOWN_PAIR_ONLY=1: run on one guest by vm:iser-teardown; make check-long runs it across two"
	else
		check "$@"
	fi
}
one_bed_check "initiator logout under I/O, then a fresh session verifies" logout_under_io
one_bed_check "portal deleted under I/O, then a fresh session verifies" portal_delete_under_io
one_bed_check "target deleted under I/O, then a fresh session verifies" target_delete_under_io
one_bed_check "target's RDMA device deleted under I/O; listener returns with it" \
	target_device_delete_under_io
one_bed_check "initiator's RDMA device deleted under I/O; session reinstated" \
	initiator_device_delete_under_io
if [[ $TOPOLOGY == two ]]; then
	check "initiator's host gone without a logout: target frees the connection; it logs in again" \
		initiator_host_vanishes
else
	tap_skip "initiator's host gone without a logout: target frees the connection; it logs in again" \
		"needs the initiator in a guest of its own (ISER_TOPOLOGY=two)"
fi
if [[ -x $HOSTILE ]]; then
	one_bed_check "target's RDMA device deleted during a connect storm, 3 times; nothing left" \
		target_device_delete_under_storm
else
	tap_skip "target's RDMA device deleted during a connect storm, 3 times; nothing left" \
		"$HOSTILE is not built (make -C tools/iser-hostile)"
fi
step logout "all sessions logged out, no connection left" eval 'logout_quiet && conns_are 0'
iser_suite_teardown iscsid
