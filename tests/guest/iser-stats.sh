#!/bin/bash
# vm-timeout: 900
# Observability of iser_target: the debugfs counters must match what fio
# did exactly, iser-stat must show the connection, the tracepoints must
# fire, and a connection's entry must go when the connection does.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:stats
DBG=/sys/kernel/debug/iser_target
TRACE=/sys/kernel/tracing
TOOL=$ISER_REPO/tools/iser-stat/iser-stat
WRITES=1000
READS=500
KEEPALIVE=2

setup() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	mountpoint -q $TRACE || mount -t tracefs none $TRACE
	# Recording command names hooks sched_switch, and patching that into
	# __schedule hangs Debian's 6.1 under QEMU TCG, without this module
	# too (tests/vm/repro-trace-hang.sh). The checks do not need names.
	echo 0 >$TRACE/options/record-cmd || return 1
	# Short keepalive interval for idle_probed; the session logs in after.
	lio_setup_simple "$T" 64 &&
		echo $KEEPALIVE >/sys/module/iser_target/parameters/keepalive_secs
}

# One fio I/O must be one SCSI command: no merging in the block layer.
session_nomerges() {
	initiator_start && discover "$PORTAL" >/dev/null && session_up "$T" || return 1
	echo 2 >"/sys/block/$D/queue/nomerges"
}

conn_dir() {
	local d
	for d in "$DBG"/connections/*; do
		[[ -e $d/stats ]] && echo "$d" && return 0
	done
	return 1
}

# ctr FILE NAME: one counter.
ctr() {
	awk -v k="$2" '$1 == k { print $2 }' "$1"
}

# Most responses go without a completion of their own; a later one, or a
# completion marker 10 ms after the initiator went quiet, releases
# their commands. Waits up to 2 s (scaled) for every command of the
# connection in directory $1 to be released.
all_released() {
	for _ in $(seq "$(polls 8)"); do
		(($(ctr "$1/stats" outstanding) == 0)) && return 0
		sleep 0.25
	done
	echo "outstanding $(ctr "$1/stats" outstanding) after 2 s"
	return 1
}

entry_named() {
	local d
	d=$(conn_dir) || {
		ls -R "$DBG"
		return 1
	}
	echo "$d"
	# shellcheck disable=SC2053
	[[ $(basename "$d") == "$INITIATOR_IQN,$PORTAL,isid"[0-9a-f]*",cid0" ]] &&
		grep -q '^state full-feature$' "$d/stats"
}

# Exact counts: WRITES 4 KiB writes then READS 64 KiB reads.
counters_match_fio() {
	local d b a rc=0 k
	d=$(conn_dir) || return 1
	b=$(mktemp)
	a=$(mktemp)
	cp "$d/stats" "$b"
	(cd /tmp && fio --name=w --filename="/dev/$D" --ioengine=libaio --direct=1 \
		--rw=randwrite --bs=4k --iodepth=8 --number_ios=$WRITES --size=64M \
		--output=/dev/null &&
		fio --name=r --filename="/dev/$D" --ioengine=libaio --direct=1 \
			--rw=randread --bs=64k --iodepth=8 --number_ios=$READS --size=64M \
			--output=/dev/null) || return 1
	all_released "$d" || return 1
	cp "$d/stats" "$a"
	delta() {
		echo $(($(ctr "$a" "$1") - $(ctr "$b" "$1")))
	}
	for k in cmd_write cmd_read pdu_out_scsi_rsp bytes_data_in_rdma_write; do
		echo "$k +$(delta $k)"
	done
	local wbytes=$(($(delta bytes_immediate) + $(delta bytes_unsolicited) + $(delta bytes_data_out_rdma_read)))
	echo "write bytes +$wbytes (immediate +$(delta bytes_immediate), of which in place +$(delta bytes_immediate_in_place), rdma read +$(delta bytes_data_out_rdma_read))"
	(($(delta cmd_write) == WRITES)) || rc=1
	(($(delta cmd_read) == READS)) || rc=1
	(($(delta pdu_out_scsi_rsp) == WRITES + READS)) || rc=1
	(($(delta bytes_data_in_rdma_write) == READS * 65536)) || rc=1
	((wbytes == WRITES * 4096)) || rc=1
	# Each 4 KiB WRITE came whole as immediate data: lent, not copied.
	(($(delta bytes_immediate_in_place) == WRITES * 4096)) || rc=1
	# Every 64 KiB READ got its 16 pages from the connection (the WRITEs
	# had theirs lent): after the first ones, pages its released READs
	# gave back. Pages are allocated only while the commands not yet
	# released (8 in flight, up to 7 unsignalled and those whose
	# completions are on their way: outstanding_max, 17 in one run) hold
	# more than were kept, or after the cap (256 pages) freed some: at
	# least 90 % must be reused.
	echo "data pages reused +$(delta data_pages_reused), allocated +$(delta data_pages_allocated)"
	(($(delta data_pages_reused) + $(delta data_pages_allocated) == READS * 16)) || rc=1
	(($(delta data_pages_allocated) * 10 <= READS * 16)) || rc=1
	echo "data_pages_kept $(ctr "$a" data_pages_kept)"
	(($(ctr "$a" data_pages_kept) >= 16)) || rc=1
	(($(ctr "$a" outstanding) == 0)) || rc=1
	(($(ctr "$a" outstanding_max) >= 1)) || rc=1
	(($(ctr "$a" wc_errors) == 0 && $(ctr "$a" bad_pdus) == 0)) || rc=1
	# Of 8 responses in a row, 7 go unsignalled (ISER_SQ_SIGNAL_EVERY);
	# a NOP-In or a queue half held ends a run early.
	echo "send_unsignalled +$(delta send_unsignalled) of $((WRITES + READS)) responses," \
		"sq_completion_markers +$(delta sq_completion_markers)"
	(($(delta send_unsignalled) * 8 >= (WRITES + READS) * 6)) || rc=1
	return $rc
}

# One 4 KiB write on a quiet connection: its response goes unsignalled,
# and a completion marker (or, by chance, the NOP-In answering an
# open-iscsi ping) must release its command at once.
quiet_write_released() {
	local d b a
	d=$(conn_dir) || return 1
	all_released "$d" || return 1
	b=$(mktemp)
	a=$(mktemp)
	cp "$d/stats" "$b"
	dd if=/dev/zero of="/dev/$D" bs=4k count=1 oflag=direct status=none || return 1
	all_released "$d" || return 1
	cp "$d/stats" "$a"
	delta() {
		echo $(($(ctr "$a" "$1") - $(ctr "$b" "$1")))
	}
	echo "send_unsignalled +$(delta send_unsignalled), sq_completion_markers" \
		"+$(delta sq_completion_markers), pdu_out_nop_in +$(delta pdu_out_nop_in)"
	(($(delta cmd_write) == 1 && $(delta send_unsignalled) == 1)) &&
		(($(delta sq_completion_markers) >= 1 || $(delta pdu_out_nop_in) >= 1))
}

# A live initiator without I/O is probed in each KEEPALIVE interval in
# which it sent nothing (open-iscsi's NOP-Outs, every 5 s, count as heard)
# and answers each probe through its adapter: the connection must stay.
idle_probed() {
	local d n0 n1 secs=$((KEEPALIVE * 6 * ${ISER_VM_SLOW:-1}))
	d=$(conn_dir) || return 1
	n0=$(ctr "$d/stats" keepalive_probes)
	sleep "$secs"
	n1=$(ctr "$d/stats" keepalive_probes)
	echo "keepalive_probes $n0 -> $n1 in ${secs} s idle; $(grep '^state' "$d/stats")," \
		"data_pages_kept $(ctr "$d/stats" data_pages_kept)"
	# A probe finds the connection idle: it frees the data pages it kept.
	((n1 > n0)) && grep -q '^state full-feature$' "$d/stats" &&
		(($(ctr "$d/stats" data_pages_kept) == 0)) &&
		(($(ctr "$d/stats" wc_errors) == 0)) &&
		! dmesg | grep 'did not answer a keepalive probe'
}

tool_once() {
	local out
	out=$("$TOOL") || return 1
	echo "$out" | tee /tmp/iser-stat.out
	grep -q "^INITIATOR" <<<"$out" &&
		grep "$INITIATOR_IQN" <<<"$out" | grep -q 'full-feature'
}

tool_rates() {
	local out pid n0 rc=0
	n0=$(disk_ios "$D")
	(cd /tmp && exec fio --name=rate --filename="/dev/$D" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=8 --time_based \
		--runtime=120 --allow_file_create=0 --output=/dev/null) &
	pid=$!
	# The 2 s sample must fall while fio reads: fio starts reading before
	# it and stops after it (a fixed runtime ended first on a busy host).
	if io_under_way "$D" "$n0" "$pid"; then
		out=$("$TOOL" 2 1) || rc=1
	else
		rc=1
	fi
	kill "$pid" 2>/dev/null
	# Not a bare wait: iscsid is a background job of this shell too.
	wait "$pid"
	((rc == 0)) || return 1
	echo "$out"
	# A non-zero read rate on our connection's line.
	grep "$INITIATOR_IQN" <<<"$out" | awk '{ exit !($6 > 0) }'
}

tool_json() {
	"$TOOL" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
c = list(s["connections"].values())
d = s["devices"]
print(len(c), "connection(s); devices:", " ".join(d))
sys.exit(not (len(c) == 1 and c[0]["cmd_write"] >= '"$WRITES"' and "rxe0" in d))'
}

tracepoints() {
	local ev=$TRACE/events/iser_target
	[[ -d $ev ]] || {
		echo "no $ev"
		return 1
	}
	echo >$TRACE/trace
	echo 1 >"$ev/enable"
	(cd /tmp && fio --name=t --filename="/dev/$D" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=1 --number_ios=20 \
		--size=4M --output=/dev/null)
	all_released "$(conn_dir)"
	echo 0 >"$ev/enable"
	grep -m 2 iser_cmd_done $TRACE/trace
	(($(grep -c iser_cmd_start $TRACE/trace) >= 20)) &&
		(($(grep -c 'iser_cmd_done.*latency [1-9][0-9]* ns' $TRACE/trace) >= 20))
}

# PDUs received, as the connection counted them.
pdus_in() {
	awk '$1 ~ /^pdu_in_/ { s += $2 } END { print s + 0 }' "$1"
}

# Consumed receive buffers go back to the queue 8 at a time, one post call
# each (iser_rx_repost): with up to 7 held before and after, the buffers
# reposted are within 7 of the PDUs received, and every batch is whole.
batched_reposts() {
	local d ev=$TRACE/events/iser_target/iser_rx_repost b n0 pdus posts other
	d=$(conn_dir) || return 1
	b=$(ctr "$d/stats" rx_repost_batch)
	echo >$TRACE/trace
	n0=$(pdus_in "$d/stats")
	echo 1 >"$ev/enable"
	(cd /tmp && fio --name=t --filename="/dev/$D" --ioengine=libaio \
		--direct=1 --rw=randread --bs=4k --iodepth=1 --number_ios=64 \
		--size=4M --output=/dev/null)
	echo 0 >"$ev/enable"
	pdus=$(($(pdus_in "$d/stats") - n0))
	posts=$(grep -c 'iser_rx_repost:' $TRACE/trace)
	other=$(grep 'iser_rx_repost:' $TRACE/trace | grep -vc "reposts $b receive buffers")
	echo "rx_repost_batch $b; $pdus PDUs received, $posts post calls," \
		"$other of another size"
	((b == 8 && other == 0 && pdus >= 64)) &&
		((posts * b >= pdus - (b - 1) && posts * b <= pdus + b - 1))
}

state_trace_on_logout() {
	local ev=$TRACE/events/iser_target
	echo >$TRACE/trace
	echo 1 >"$ev/iser_conn_state/enable"
	logout "$T" "$PORTAL" >/dev/null
	sleep 1
	echo 0 >"$ev/iser_conn_state/enable"
	grep iser_conn_state $TRACE/trace
	grep -q 'full-feature -> closing' $TRACE/trace &&
		grep -q 'closing -> closed' $TRACE/trace
}

entry_gone() {
	for _ in $(seq "$(polls 40)"); do
		conn_dir >/dev/null || break
		sleep 0.25
	done
	! conn_dir && cat "$DBG/devices/rxe0/stats" | head -n 12 &&
		(($(ctr "$DBG/devices/rxe0/stats" cmd_write) >= WRITES))
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
tap_diag "$(transport_banner)"
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step lio "LIO target with an iSER portal, debugfs and tracefs" setup
step session "iSER session with a disk" session_nomerges
check "one debugfs entry per connection, named initiator,portal,isid,cid" entry_named
check "counters match fio: $WRITES writes, $READS reads, bytes exact, 4 KiB writes used in place" counters_match_fio
check "a quiet connection's last response is released within 2 s" quiet_write_released
check "an idle connection is probed every ${KEEPALIVE} s, kept, and frees its kept data pages" idle_probed
check "iser-stat lists the connection" tool_once
[[ -s /tmp/iser-stat.out ]] && tap_diag </tmp/iser-stat.out
check "iser-stat shows a live read rate" tool_rates
check "iser-stat --json has connection and device counters" tool_json
check "tracepoints fire for every command, with latency" tracepoints
check "receive buffers reposted 8 per post call" batched_reposts
check "state tracepoint on logout" state_trace_on_logout
check "connection entry gone after logout; device totals kept" entry_gone
iser_suite_teardown session
