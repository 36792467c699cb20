#!/bin/bash
# vm-timeout: 3600
# Exact verbs work per I/O on the target alone, iser_target against
# ib_isert (issue 18): across two guests (run-vm.sh, ISER_TOPOLOGY=two;
# tools/dev/bench.sh starts it with COST=1), so that the target guest's
# Soft-RoCE device carries only the target's work. For each transport and
# workload, fio runs a fixed number of I/Os (ISER_COST_IOS per job after an
# unmeasured warm-up) to a null-backed LUN while kprobe events on the
# provider's entry points (rdma_rxe) and ib_core's completion handlers
# count, with hist triggers, every call in the target's guest: not
# samples. Per I/O: doorbells (post_send, post_recv calls), work requests
# (send WQEs the provider completed, receive WRs posted), completion queue
# entries, CQ polls and re-arms, completion events. With the QEMU plugin
# tools/dev/insn-count.c in the target's guest (ISER_VM_INSN_COUNT), also
# every instruction that guest executes during the measured run, by
# address, for tools/dev/cost-report.py to attribute to modules and
# functions. The initiator's NOP-Out pings are off, so that nothing but
# the workload drives the target. One
# JSON line per measurement in $ISER_OUT/bench.jsonl for
# tools/dev/bench-report.py. Checks that every figure was produced and
# that each counted I/O reached the target (one SCSI command each), never
# a cost.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:cost
IOS=${ISER_COST_IOS:-4000}
# Rounds: the counts of one commit must agree from one to the next.
ROUNDS=${ISER_COST_ROUNDS:-2}
TRANSPORTS=${ISER_COST_TRANSPORTS:-"ours stock"}
OUT=$ISER_OUT/bench.jsonl
# With the instruction-counting plugin loaded into the target's guest
# (tools/dev/bench.sh COST=1 does), its instructions too.
INSN=${ISER_VM_INSN_COUNT:-}
INSN_PORT=5999
# name rw bs iodepth
WORKLOADS="
rand-read-4k-qd1 randread 4k 1
rand-write-4k-qd1 randwrite 4k 1
rand-read-4k-qd32 randread 4k 32
rand-write-4k-qd32 randwrite 4k 32
seq-read-128k-qd16 read 128k 16
seq-write-128k-qd16 write 128k 16
"

[[ $TOPOLOGY == two ]] || {
	echo "cost.sh counts the target's work alone: run it with ISER_TOPOLOGY=two"
	exit 1
}

# --- run in the target's guest (tgt) -------------------------------------

# What is counted: NAME SYMBOL. The provider's verbs entry points and
# ib_core's completion event handlers (whichever the CQ's poll context
# uses); ours and ib_isert both reach the device only through them.
COST_PROBES="
post_send rxe_post_send
post_recv rxe_post_recv
post_srq_recv rxe_post_srq_recv
recv_wr post_one_recv
send_wqe do_complete
cqe rxe_cq_post
poll_cq rxe_poll_cq
req_notify rxe_req_notify_cq
comp_event_wq ib_cq_completion_workqueue
comp_event_softirq ib_cq_completion_softirq
"

# ct_probes: one kprobe event per COST_PROBES line, group iser_cost.
ct_probes() {
	local tr=/sys/kernel/tracing name sym
	mountpoint -q "$tr" || mount -t tracefs none "$tr" || return 1
	while read -r name sym; do
		[[ -n $name ]] || continue
		echo "p:iser_cost/$name $sym" >>"$tr/kprobe_events" || {
			echo "no kprobe on $sym"
			return 1
		}
	done <<<"$COST_PROBES"
}

# ct_start: a hist trigger on each event, counting from zero.
ct_start() {
	local tr=/sys/kernel/tracing name sym
	while read -r name sym; do
		[[ -n $name ]] || continue
		echo 'hist:keys=common_pid' >"$tr/events/iser_cost/$name/trigger" || return 1
	done <<<"$COST_PROBES"
}

# ct_stop: "NAME COUNT" per event, and the triggers removed.
ct_stop() {
	local tr=/sys/kernel/tracing name sym n
	while read -r name sym; do
		[[ -n $name ]] || continue
		n=$(sed -n 's/^ *Hits: *\([0-9]*\).*/\1/p' "$tr/events/iser_cost/$name/hist")
		echo '!hist:keys=common_pid' >"$tr/events/iser_cost/$name/trigger" || return 1
		echo "$name ${n:-missing}"
	done <<<"$COST_PROBES"
}

ct_unprobe() {
	local tr=/sys/kernel/tracing name sym
	while read -r name sym; do
		[[ -n $name ]] || continue
		echo "-:iser_cost/$name" >>"$tr/kprobe_events"
	done <<<"$COST_PROBES"
}

# ct_target IQN: LIO with a null-backed LUN 0, an ACL for the initiator
# and an iSCSI portal, iSER still off.
ct_target() {
	lio_load || return 1
	mkdir -p "$CFS/core/rd_mcp_0/null0" &&
		echo "rd_pages=262144,rd_nullio=1" >"$CFS/core/rd_mcp_0/null0/control" &&
		echo 1 >"$CFS/core/rd_mcp_0/null0/enable" || return 1
	lio_target "$1" && lio_lun "$1" 0 null0 && lio_acl "$1" "$INITIATOR_IQN" 0 &&
		mkdir -p "$(tpg_dir "$1")/np/$PORTAL" && lio_enable "$1"
}

# ct_bracket LABEL PORT: with the instruction-counting plugin
# (ISER_VM_INSN_COUNT), what the target's guest executes between two of
# its reports: the first once a listener on PORT is up, the second,
# insn.LABEL, when the initiator connects to it. Nothing polls in
# between: this waits in accept(), and the pair agent waits for this.
ct_bracket() {
	python3 - "$ISER_OUT" "$1" "$2" <<'PY'
import os
import socket
import sys
import time

out, label, port = sys.argv[1], sys.argv[2], int(sys.argv[3])


def report(name):
    req = os.path.join(out, "insn.req")
    with open(req + ".tmp", "w") as f:
        f.write(name + "\n")
    os.rename(req + ".tmp", req)
    for _ in range(60000):
        if os.path.exists(os.path.join(out, "insn." + name)):
            return
        time.sleep(0.001)
    sys.exit(f"insn-count did not answer {name}")


s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(1)
report("pre")
conn, _ = s.accept()
report(label)
conn.close()
os.unlink(os.path.join(out, "insn.pre"))
PY
}

# ct_syms NAME: the kernel's text symbols, for attributing the counted
# instructions to modules and functions (they move with each load).
ct_syms() {
	awk '$2 == "t" || $2 == "T"' /proc/kallsyms >"$ISER_OUT/kallsyms.$1"
}

# ct_cmds IQN: SCSI commands the LUN has completed (LIO's own count).
ct_cmds() {
	cat "$(tpg_dir "$1")/lun/lun_0/statistics/scsi_tgt_port/in_cmds"
}

# --- run here, in the initiator's guest ------------------------------------

DISK=
ct_up() {
	tgt portal_transport "$T" "$1" || return 1
	discover "$PORTAL" >/dev/null &&
		node_set "$T" "$PORTAL" node.conn[0].timeo.noop_out_interval 0 &&
		login "$T" "$PORTAL" >/dev/null && wait_disks "$T" 1 || return 1
	DISK=$(disks_of "$T" | head -n 1)
	# No merging in the block layer: one I/O, one SCSI command.
	[[ -n $DISK ]] && echo 2 >"/sys/block/$DISK/queue/nomerges"
}

ct_down() {
	logout "$T" "$PORTAL" >/dev/null 2>&1
	iscsiadm -m node -T "$T" -o delete >/dev/null 2>&1
	tgt portal_transport "$T" off
}

# ct_fio RW BS QD IOS: exactly IOS I/Os.
ct_fio() {
	(cd /tmp && fio --name=cost --filename="/dev/$DISK" --ioengine=libaio --direct=1 \
		--rw="$1" --bs="$2" --iodepth="$3" --number_ios="$4" --size=512M \
		--norandommap --randrepeat=1 --output=/dev/null)
}

# insn_run LABEL RW BS QD: the measured fio run inside ct_bracket.
insn_run() {
	local pid rc=0 tdir=$ISER_OUT/target
	rm -f "$tdir/insn.pre" "$tdir/insn.$1"
	tgt ct_bracket "$1" "$INSN_PORT" >"/tmp/bracket.out" 2>&1 &
	pid=$!
	for _ in $(seq 1200); do
		[[ -e $tdir/insn.pre ]] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if [[ -e $tdir/insn.pre ]]; then
		ct_fio "$2" "$3" "$4" "$IOS" >/dev/null || rc=1
	else
		echo "no first report from insn-count"
		rc=1
	fi
	# Ends the bracket (and a bracket left waiting after an error).
	{ exec 3<>"/dev/tcp/$TARGET_IP/$INSN_PORT" && exec 3>&-; } 2>/dev/null
	wait "$pid" || {
		cat /tmp/bracket.out
		rc=1
	}
	((rc == 0)) && [[ -s $tdir/insn.$1 ]]
}

# measure ROUND TRANSPORT NAME RW BS QD: one JSON line of counts.
measure() {
	local round=$1 tr=$2 name=$3 c0 c1 counts line runs=1
	shift
	ct_fio "$3" "$4" "$5" $((IOS / 4)) >/dev/null || return 1
	c0=$(tgt ct_cmds "$T") && tgt ct_start || return 1
	ct_fio "$3" "$4" "$5" "$IOS" >/dev/null || return 1
	counts=$(tgt ct_stop) || return 1
	# Instructions in a run of their own: an armed kprobe costs some.
	if [[ -n $INSN ]]; then
		insn_run "$tr-$round-$name" "$3" "$4" "$5" || return 1
		runs=2
	fi
	c1=$(tgt ct_cmds "$T") || return 1
	grep -q missing <<<"$counts" && {
		echo "a count is missing: $counts"
		return 1
	}
	# Each fio I/O is one SCSI command: fewer means the count is not per
	# I/O (the block layer merged), more means something else ran.
	((c1 - c0 == runs * IOS)) || {
		echo "$tr $name: the LUN completed $((c1 - c0)) commands for $runs x $IOS I/Os"
		return 1
	}
	line=$(awk -v r="$round" -v tr="$tr" -v w="$name" -v n="$IOS" -v insn="$INSN" '
		{ c[$1] = $2 }
		END {
			printf "{\"transport\": \"%s\", \"workload\": \"%s\", \"cost\": 1, \"round\": %d, \"ios\": %d", tr, w, r, n
			if (insn != "")
				printf ", \"insn\": \"target/insn.%s-%d-%s\", \"kallsyms\": \"target/kallsyms.%s\"", tr, r, w, tr
			for (k in c) printf ", \"%s\": %d", k, c[k]
			printf "}\n"
		}' <<<"$counts")
	echo "$line" >>"$OUT"
	echo "round $round, $tr $name: $(tr '\n' ' ' <<<"$counts")"
}

# cost_round ROUND: every workload through each transport.
cost_round() {
	local round=$1 tr name rw bs qd rc=0
	for tr in $TRANSPORTS; do
		ct_up "$tr" || {
			echo "$tr: the LUN did not come up"
			ct_down "$tr"
			return 1
		}
		[[ -z $INSN ]] || tgt ct_syms "$tr" || return 1
		while read -r name rw bs qd; do
			[[ -n $name ]] || continue
			measure "$round" "$tr" "$name" "$rw" "$bs" "$qd" || rc=1
		done <<<"$WORKLOADS"
		ct_down "$tr" || rc=1
	done
	return "$rc"
}

all_figures() {
	local want got
	want=$(($(grep -c . <<<"$WORKLOADS") * $(wc -w <<<"$TRANSPORTS") * ROUNDS))
	got=$(grep -c '"cost": 1' "$OUT")
	echo "$got of $want measurements"
	((got == want))
}

: >"$OUT"
tap_diag "exact verbs counts on the target: $IOS I/Os per workload, $ROUNDS rounds, transports $TRANSPORTS"
modules_snapshot
step defs "the target guest has this suite's helpers" \
	tgt eval "$(declare -p COST_PROBES)"$'\n'"$(declare -f ct_probes ct_start ct_stop ct_unprobe ct_target ct_bracket ct_syms ct_cmds)"
step transport "iser_target installed in the target's guest" tgt select_transport
step rxe "Soft-RoCE rxe0/rxe1 over $(rxe_link_name)" rxe_setup
step probes "kprobe events on the target's verbs entry points" tgt ct_probes
step lio "null-backed LUN and iSCSI portal on the target" tgt ct_target "$T"
step iscsid "iscsid running, iSER interface" eval 'initiator_start && modprobe ib_iser'
for r in $(seq "$ROUNDS"); do
	check "round $r: every transport and workload counted" cost_round "$r"
done
check "every figure produced" all_figures
undo probes "kprobe events removed" tgt ct_unprobe
undo lio "iSER off, both transports unloaded" tgt portal_transport "$T" off
iser_suite_teardown iscsid
