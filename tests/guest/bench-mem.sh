#!/bin/bash
# vm-timeout: 2400
# Target-only kernel memory per idle logged-in connection, iser_target
# (also with use_srq=1, its shared receive queue) against ib_isert: what
# an appliance builder sizes a target by. Runs
# across two guests (run-vm.sh, ISER_TOPOLOGY=two; tools/dev/bench.sh
# starts it): the sessions come from the initiator's guest and memory is
# read in the target's, so ib_iser and the initiator's rxe queues are not
# counted. For each CmdSN window of ISER_BENCH_DEPTHS (the ACL's
# cmdsn_depth; default "64 128": LIO's default and the benchmark's) and
# each transport,
# mem_per_idle_conn (tests/guest/lio.sh) over ISER_BENCH_SESSIONS
# sessions (default 16) to a null-backed LUN; with the slab caches that
# grew most. One JSON line per figure in $ISER_OUT/bench.jsonl, for
# tools/dev/bench-report.py. Checks only that every figure was produced.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:bench-mem
SESSIONS=${ISER_BENCH_SESSIONS:-16}
DEPTHS=${ISER_BENCH_DEPTHS:-"64 128"}
TRANSPORTS="ours srq stock"
OUT=$ISER_OUT/bench.jsonl

[[ $TOPOLOGY == two ]] || {
	echo "bench-mem.sh measures the target alone: run it with ISER_TOPOLOGY=two"
	exit 1
}

# --- run in the target's guest (tgt) -------------------------------------

# bm_target IQN: LIO with a null-backed LUN 0, an ACL for the initiator
# and an iSCSI portal, iSER still off. An ACL of its own, not a generated
# one: LIO keeps generated ACLs (and their queue depth) after the session.
bm_target() {
	lio_load || return 1
	mkdir -p "$CFS/core/rd_mcp_0/null0" &&
		echo "rd_pages=262144,rd_nullio=1" >"$CFS/core/rd_mcp_0/null0/control" &&
		echo 1 >"$CFS/core/rd_mcp_0/null0/enable" || return 1
	lio_target "$1" && lio_lun "$1" 0 null0 && lio_acl "$1" "$INITIATOR_IQN" 0 &&
		mkdir -p "$(tpg_dir "$1")/np/$PORTAL" && lio_enable "$1"
}

# bm_depth IQN DEPTH: the CmdSN window of the initiator's next sessions.
bm_depth() {
	echo "$2" >"$(tpg_dir "$1")/acls/$INITIATOR_IQN/cmdsn_depth" &&
		[[ $(cat "$(tpg_dir "$1")/acls/$INITIATOR_IQN/cmdsn_depth") == "$2" ]]
}

# --- run here, in the initiator's guest ------------------------------------

bm_initiator() {
	local i
	initiator_start && modprobe ib_iser || return 1
	for i in $(seq "$SESSIONS"); do
		iface_new "iser$i" || return 1
	done
}

# top_slabs: the five slab caches of the target that grew most during the
# measured login, in KiB per connection (objects times object size).
top_slabs() {
	awk -v n="$SESSIONS" 'FNR == 1 { f++ } /^#|^slabinfo/ { next }
		f == 1 { b[$1] = $2 * $4 } f == 2 { d[$1] = $2 * $4 - b[$1] }
		END { for (c in d) if (d[c] > 0) printf "%d %s\n", d[c] / 1024 / n, c }' \
		/tmp/slabinfo.before /tmp/slabinfo.after | sort -rn | head -n 5 |
		awk '{ printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 } END { print "" }'
}

# measure DEPTH TRANSPORT: one figure, checked to come from SESSIONS
# sessions the transport under test served.
measure() {
	local depth=$1 tr=$2 m=() top
	tgt bm_depth "$T" "$depth" && tgt portal_transport "$T" "$tr" || return 1
	read -ra m <<<"$(mem_per_idle_conn "$T" "$SESSIONS")"
	((${#m[@]} == 3)) || {
		echo "$tr: $SESSIONS sessions did not all log in"
		return 1
	}
	top=$(top_slabs)
	echo "$tr, cmdsn_depth $depth: ${m[0]} KiB per connection (slab ${m[1]}, vmalloc ${m[2]}); slab caches that grew most, KiB per connection: $top"
	printf '{"transport": "%s", "workload": "target-mem-per-idle-conn", "cmdsn_depth": %d, "sessions": %d, "kib": %d, "slab_kib": %d, "vmalloc_kib": %d, "top_slabs": "%s"}\n' \
		"$tr" "$depth" "$SESSIONS" "${m[0]}" "${m[1]}" "${m[2]}" "$top" >>"$OUT"
}

all_figures() {
	local want got
	want=$(($(wc -w <<<"$DEPTHS") * $(wc -w <<<"$TRANSPORTS")))
	got=$(grep -c '"target-mem-per-idle-conn"' "$OUT")
	echo "$got of $want figures"
	((got == want))
}

: >"$OUT"
tap_diag "target-only memory: $SESSIONS idle sessions, cmdsn_depth $DEPTHS, transports $TRANSPORTS"
modules_snapshot
step defs "the target guest has this suite's helpers" \
	tgt eval "$(declare -f bm_target bm_depth)"
step transport "iser_target installed in the target's guest" tgt select_transport
step rxe "Soft-RoCE rxe0/rxe1 over $(rxe_link_name)" rxe_setup
step lio "null-backed LUN and iSCSI portal on the target" tgt bm_target "$T"
step iscsid "iscsid running, $SESSIONS iSER interfaces" bm_initiator
for depth in $DEPTHS; do
	for tr in $TRANSPORTS; do
		check "$tr, cmdsn_depth $depth: target memory per idle connection measured" \
			measure "$depth" "$tr"
	done
done
check "every figure produced" all_figures
undo lio "iSER off, both transports unloaded" tgt portal_transport "$T" off
iser_suite_teardown iscsid
