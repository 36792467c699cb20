#!/bin/bash
# vm-timeout: 1200
# Data integrity through iser_target: the fio crc32c matrix (block sizes
# 512 B to the largest I/O, queue depth 1 and 128), two targets with two
# LUNs each served to four sessions verifying at once, and
# $ISER_LOGIN_CYCLES (default 50) login/logout cycles that must leave the
# module's slab caches where they were; then the same on a session that
# uses the shared receive queue.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T1=iqn.2026-11.org.example:io1
T2=iqn.2026-11.org.example:io2
QD=512
MAX_IO_KB=1024
CYCLES=${ISER_LOGIN_CYCLES:-50}

setup_targets() {
	local t n=0
	# Sized for 512 commands in flight per session.
	modprobe iser_target queue_depth=$QD || return 1
	lio_load || return 1
	for t in "$T1" "$T2"; do
		n=$((n + 1))
		lio_ramdisk "rd${n}a" 64 && lio_ramdisk "rd${n}b" 64 &&
			lio_target "$t" &&
			lio_lun "$t" 0 "rd${n}a" && lio_lun "$t" 1 "rd${n}b" &&
			lio_acl "$t" "$INITIATOR_IQN" 0 1 &&
			echo $QD >"$(tpg_dir "$t")/acls/$INITIATOR_IQN/cmdsn_depth" &&
			lio_attrib "$t" default_cmdsn_depth $QD &&
			lio_portal "$t" "$PORTAL" &&
			lio_enable "$t" || return 1
	done
}

# initiator_big_io: ib_iser for the largest I/O, iscsid, and a second iSER
# interface (iser2) for four_sessions.
initiator_big_io() {
	# The initiator's own limit must allow our largest I/O.
	modprobe ib_iser max_sectors=$((MAX_IO_KB * 2)) || return 1
	initiator_start && iface_new iser2
}

discover_both() {
	local out
	out=$(iscsiadm -m discovery -t st -p "$PORTAL" -I iser -I iser2) || return 1
	echo "$out"
	grep -q " $T1\$" <<<"$out" && grep -q " $T2\$" <<<"$out"
}

login_t1() {
	node_set "$T1" "$PORTAL" node.session.cmds_max 1024 &&
		node_set "$T1" "$PORTAL" node.session.queue_depth 256 &&
		login "$T1" "$PORTAL" && wait_disks "$T1" 2
}

D=
pick_disk() {
	D=$(disk_of "$T1" iser 0)
	[[ -n $D ]] || D=$(disks_of "$T1" | head -n 1)
	[[ -n $D ]] || return 1
	echo "$D: max_hw_sectors_kb $(cat /sys/block/"$D"/queue/max_hw_sectors_kb)"
	echo "$MAX_IO_KB" >"/sys/block/$D/queue/max_sectors_kb" &&
		(($(cat /sys/block/"$D"/queue/max_sectors_kb) == MAX_IO_KB))
}

transfers_unsplit() {
	local before after
	before=$(awk '{ print $1 }' "/sys/block/$D/stat")
	(cd /tmp && fio --name=big --filename="/dev/$D" --ioengine=libaio \
		--direct=1 --rw=read --bs=${MAX_IO_KB}k --iodepth=4 --size=16M \
		--output=/dev/null) || return 1
	after=$(awk '{ print $1 }' "/sys/block/$D/stat")
	echo "16 MiB in ${MAX_IO_KB} KiB reads took $((after - before)) requests"
	((after - before == 16 * 1024 / MAX_IO_KB))
}

# Four sessions (two targets, two interfaces each), every one verifying
# its own LUN at the same time.
four_sessions() {
	iscsiadm -m node -T "$T1" -p "$PORTAL" -I iser2 --login &&
		iscsiadm -m node -T "$T2" -p "$PORTAL" -I iser --login &&
		iscsiadm -m node -T "$T2" -p "$PORTAL" -I iser2 --login || return 1
	wait_disks "$T1" 4 && wait_disks "$T2" 4 || return 1
	echo "sessions: $(sessions_count)"
	(($(sessions_count) == 4))
}

concurrent_verify() {
	local spec=("$T1 iser 0" "$T1 iser2 1" "$T2 iser 0" "$T2 iser2 1")
	local args=() s d i=0
	for s in "${spec[@]}"; do
		# shellcheck disable=SC2086
		d=$(disk_of $s)
		[[ -n $d ]] || {
			echo "no disk for $s"
			return 1
		}
		args+=(--name="s$i" --filename="/dev/$d")
		i=$((i + 1))
	done
	echo "disks: ${args[*]}"
	(cd /tmp && fio --ioengine=libaio --direct=1 --rw=randwrite --bs=16k \
		--iodepth=32 --size=16M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --verify_state_save=0 --output=/tmp/fio4.out \
		"${args[@]}") || {
		cat /tmp/fio4.out
		return 1
	}
	grep -q 'err= 0' /tmp/fio4.out
}

# 512 commands in flight on one session: two LUNs at queue depth 256.
deep_queue() {
	local a b
	a=$(disk_of "$T1" iser 0)
	b=$(disk_of "$T1" iser 1)
	[[ -n $a && -n $b ]] || return 1
	echo 256 >"/sys/block/$a/device/queue_depth"
	echo 256 >"/sys/block/$b/device/queue_depth"
	echo "queue_depth: $(cat /sys/block/"$a"/device/queue_depth) $(cat /sys/block/"$b"/device/queue_depth)"
	(cd /tmp && fio --ioengine=libaio --direct=1 --rw=randrw --bs=4k \
		--iodepth=256 --size=16M --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --verify_state_save=0 --output=/tmp/fioq.out \
		--name=a --filename="/dev/$a" --name=b --filename="/dev/$b") || {
		cat /tmp/fioq.out
		return 1
	}
}

# Connections are freed off a workqueue: give it a moment.
slabs_settle() {
	local want=$1
	for _ in $(seq "$(polls 40)"); do
		[[ $(iser_slabs) == "$want" ]] && return 0
		sleep 0.25
	done
	return 1
}

BASE=
login_cycles() {
	local i
	BASE=$(iser_slabs)
	echo "before: $BASE"
	for i in $(seq "$CYCLES"); do
		iscsiadm -m node -T "$T2" -p "$PORTAL" -I iser --login >/dev/null &&
			iscsiadm -m node -T "$T2" -p "$PORTAL" -I iser -u >/dev/null || {
			echo "cycle $i failed"
			return 1
		}
	done
	slabs_settle "$BASE"
	echo "after:  $(iser_slabs)"
	[[ $(iser_slabs) == "$BASE" ]]
}

# use_srq=1 (it applies to new connections): a session to T2 takes its
# receives from rxe0's shared receive queue, verifies 4 KiB and 1 MiB
# writes from queue depth 128 (more PDUs than the session's window, from
# one pool), and $CYCLES login/logout cycles leave the module's caches as
# they were. The parameter goes back to what it was.
SRQ_WAS=
srq_session() {
	local dbg=/sys/kernel/debug/iser_target c d i base rc=0
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	SRQ_WAS=$(cat /sys/module/iser_target/parameters/use_srq)
	echo 1 >/sys/module/iser_target/parameters/use_srq || return 1
	login "$T2" "$PORTAL" >/dev/null && wait_disks "$T2" 2 || return 1
	d=$(disk_of "$T2" iser 0)
	c=$(grep -l "^target $T2\$" "$dbg"/connections/*/stats | head -n 1)
	echo "disk $d, $(grep -h -E '^(shared_rx|rx_posted|rx_pages|rx_repost_batch)' "$c" | xargs)," \
		"device: $(grep -h srq_buffers "$dbg"/devices/rxe0/stats)"
	[[ -n $d ]] && grep -qx 'shared_rx 1' "$c" && grep -qx 'rx_posted 0' "$c" &&
		grep -qx 'rx_repost_batch 0' "$c" &&
		! grep -qx 'srq_buffers 0' "$dbg"/devices/rxe0/stats || rc=1
	((rc == 0)) && verify "$d" 4k 128 8 && verify "$d" 1m 128 32 || rc=1
	logout "$T2" "$PORTAL" >/dev/null || rc=1
	# The shared queue's buffers stay with the device: count from here.
	conns_are 0 || rc=1
	base=$(iser_slabs)
	for i in $(seq "$CYCLES"); do
		((rc == 0)) || break
		login "$T2" "$PORTAL" >/dev/null && logout "$T2" "$PORTAL" >/dev/null || {
			echo "cycle $i failed"
			rc=1
		}
	done
	((rc == 0)) && ! slabs_settle "$base" && {
		echo "caches before: $base, after: $(iser_slabs)"
		rc=1
	}
	echo "$SRQ_WAS" >/sys/module/iser_target/parameters/use_srq
	return "$rc"
}

no_conn_left() {
	echo "$(iser_slabs)"
	[[ $(slab_objs iser_conn) == 0 ]]
}

unload_refused_in_use() {
	if rmmod iser_target 2>/dev/null; then
		echo "iser_target unloaded while portals use it"
		return 1
	fi
	mod_loaded iser_target
}

stock_never_loaded() {
	! grep -q 'ib_isert' /proc/modules && ! dmesg | grep -q 'isert'
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
tap_diag "$(transport_banner)"
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step lio "LIO: 2 targets x 2 LUNs over configfs, iSER portal" setup_targets
step served "$TRANSPORT_MOD serves iSER (ISER_IMPL=$ISER_IMPL)" transport_loaded
step iscsid "iscsid running, second iSER interface" initiator_big_io
step discovery "iSER discovery lists both targets" discover_both
step login "iSER login to $T1, 2 LUNs" login_t1
step disk "disk allows ${MAX_IO_KB} KiB I/O" pick_disk
check "${MAX_IO_KB} KiB reads reach the target unsplit" transfers_unsplit
for bs in 512 4k 64k 1m; do
	case $bs in 512) mb=2 ;; 4k) mb=8 ;; *) mb=32 ;; esac
	for qd in 1 128; do
		check "crc32c verify bs=$bs qd=$qd ${mb} MiB" verify "$D" "$bs" "$qd" "$mb"
	done
done
check "crc32c verify sequential writes at the largest I/O (${MAX_IO_KB} KiB)" \
	verify "$D" "${MAX_IO_KB}k" 16 32 write
check "512 commands in flight on one session verify" deep_queue
step four "4 sessions over 2 targets x 2 interfaces" four_sessions
check "4 sessions verify concurrently" concurrent_verify
step logout "all sessions logged out" logout_quiet
check "$CYCLES login/logout cycles leave the slab caches as they were" login_cycles
check "use_srq=1: a new session uses the shared receive queue, verifies, and $CYCLES login/logout cycles leave the caches as they were" \
	srq_session
check "no connection left after logout" no_conn_left
check "iser_target cannot be unloaded while portals use it" unload_refused_in_use
undo iscsid "iscsid stopped" initiator_stop
undo lio "LIO configuration removed" lio_clear
undo iscsid "unload initiator modules" \
	mods_unload ib_iser iscsi_tcp libiscsi_tcp libiscsi scsi_transport_iscsi
undo lio "unload iser_target" mods_unload iser_target
undo lio "unload LIO" unload_lio
undo rxe "remove rxe links and veth pair" rxe_teardown
undo rxe "unload rdma_rxe and the RDMA core" unload_rdma
tap_run "unload every module loaded since boot" unload_new_modules "$MODULES_BEFORE"
check "the stock ib_isert was never loaded" stock_never_loaded
tap_plan
((TAP_FAIL == 0))
