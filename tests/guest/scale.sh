#!/bin/bash
# vm-timeout: 5400
# make scale (tools/dev/scale.sh): ISER_SCALE_SESSIONS logged-in sessions
# (default 1024) to one target from the initiator's guest, across two
# guests (ISER_TOPOLOGY=two), for each transport of ISER_SCALE_TRANSPORTS
# (default "ours srq stock": iser_target, iser_target with use_srq=1,
# ib_isert). The sessions come from iser-hostile's "sessions" scenario, a
# user-space initiator: open-iscsi takes an interface record and an iscsid
# round trip per session. ISER_SCALE_PARALLEL processes (default 4) log in
# at once, each session proven alive by a 4 KiB write read back equal at
# its own LBA, after a round of 16 sessions that is not measured, on a
# target RDMA device created afresh for each transport.
# Measured: the time from the first connect until every
# session is up (a login storm), the target's kernel memory per session
# while they are held, the time to log them all out as the initiator saw
# it, and the time until the target had freed every connection (no iSCSI
# receive thread left, no more queue pairs than before). One JSON line per
# transport in $ISER_OUT/scale.jsonl. Checks that every session logged in,
# verified its data and logged out; the times are figures, not checks.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-12.org.example:scale
TOOL_IQN=iqn.2026-12.org.example:scale-initiator
SESSIONS=${ISER_SCALE_SESSIONS:-1024}
PARALLEL=${ISER_SCALE_PARALLEL:-4}
DEPTH=${ISER_SCALE_DEPTH:-64}
TRANSPORTS=${ISER_SCALE_TRANSPORTS:-"ours srq stock"}
WARMUP=$((SESSIONS < 16 ? SESSIONS : 16))
HOSTILE=$ISER_REPO/tools/iser-hostile/iser-hostile
OUT=$ISER_OUT/scale.jsonl

[[ $TOPOLOGY == two ]] || {
	echo "scale.sh measures the target alone: run it with ISER_TOPOLOGY=two"
	exit 1
}

# --- run in the target's guest (tgt) -------------------------------------

# sc_target IQN MIB INITIATOR DEPTH: LIO with a MIB MiB ramdisk as LUN 0,
# an ACL for INITIATOR with that CmdSN window, and an iSCSI portal with
# iSER still off.
sc_target() {
	lio_load && lio_ramdisk scale0 "$2" && lio_target "$1" &&
		lio_lun "$1" 0 scale0 && lio_acl "$1" "$3" 0 &&
		echo "$4" >"$(tpg_dir "$1")/acls/$3/cmdsn_depth" &&
		mkdir -p "$(tpg_dir "$1")/np/$PORTAL" && lio_enable "$1"
}

# sc_snapshot FILE: the target's slab caches and vmalloc areas by caller,
# for sc_grew. The caches are shrunk first, so that objects freed but
# still held in per-CPU slabs do not count as in use.
sc_snapshot() {
	local f
	for f in /sys/kernel/slab/*/shrink; do
		echo 1 >"$f"
	done 2>/dev/null
	{
		awk '!/^#|^slabinfo/ { print "slab", $1, $2 * $4 }' /proc/slabinfo
		awk '{ n[$3] += $2 } END { for (c in n) print "vmalloc", c, n[c] }' /proc/vmallocinfo
	} >"$1"
}

# sc_grew BEFORE AFTER: the five slab caches or vmalloc callers that grew
# most from BEFORE to AFTER, in KiB.
sc_grew() {
	awk 'FNR == 1 { f++ } f == 1 { b[$1 " " $2] = $3 } f == 2 { d[$1 " " $2] = $3 - b[$1 " " $2] }
		END { for (k in d) if (d[k] > 0) printf "%d %s\n", d[k] / 1024, k }' "$1" "$2" |
		sort -rn | head -n 5 |
		awk '{ printf "%s%s %s %d", (NR > 1 ? ", " : ""), $2, $3, $1 } END { print "" }'
}

# sc_live: the target's iSCSI connections (LIO runs a receive thread for
# each, whatever the transport) and the queue pairs of its RDMA device.
sc_live() {
	echo "$(pgrep -c -x iscsi_trx) $(rdma resource show rxe0 | sed -n 's/.* qp \([0-9]*\).*/\1/p')"
}

# --- run here, in the initiator's guest ------------------------------------

tool_present() {
	[[ -x $HOSTILE ]] || {
		echo "$HOSTILE is missing: tools/dev/scale.sh builds it on the host"
		return 1
	}
}

# field NAME LINE: the value of NAME=VALUE in LINE.
field() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" $2"
}

# measure TRANSPORT: one login storm, hold and logout, with the target's
# memory read before, while held, and after.
measure() {
	local tr=$1 pid up down before=() held=() after=() kib left g_held g_after \
		live0=() live=() t0 gone
	# A fresh RDMA device for each transport: ib_core's CQ pool keeps the
	# CQs it grew until its device goes, so the transport measured second
	# would find the first one's and look cheaper than it is.
	tgt portal_transport "$T" off && target_rxe del && target_rxe add &&
		tgt rdma_link_active rxe0 >/dev/null &&
		tgt portal_transport "$T" "$tr" || return 1
	# A first round, not measured: the first logins through a freshly
	# loaded transport took 3.5 s longer (32 sessions, the one measured
	# first), and the CQ pools keep the CQs they grow.
	timeout 600 "$HOSTILE" --target "$TARGET_IP" --iqn "$T" --initiator "$TOOL_IQN" \
		--lun 0 --lba 0 --scenario sessions --count "$WARMUP" \
		--parallel "$PARALLEL" --hold 0 --timeout 60 >/tmp/scale.out 2>&1 || {
		echo "$tr: the first $WARMUP sessions failed"
		cat /tmp/scale.out
		return 1
	}
	read -ra before <<<"$(tgt mem_now)"
	tgt sc_snapshot /tmp/scale.before
	read -ra live0 <<<"$(tgt sc_live)"
	"$HOSTILE" --target "$TARGET_IP" --iqn "$T" --initiator "$TOOL_IQN" \
		--lun 0 --lba 0 --scenario sessions --count "$SESSIONS" \
		--parallel "$PARALLEL" --hold 36000 --timeout 60 \
		>/tmp/scale.out 2>/tmp/scale.err &
	pid=$!
	for _ in $(seq "$(polls 2400)"); do
		grep -q '^UP ' /tmp/scale.out && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	grep -q '^UP ' /tmp/scale.out || {
		echo "$tr: no UP line from iser-hostile"
		cat /tmp/scale.err
		kill -TERM "$pid"
		wait "$pid"
		return 1
	}
	up=$(grep '^UP ' /tmp/scale.out)
	sleep 2
	read -ra held <<<"$(tgt mem_now)"
	tgt sc_snapshot /tmp/scale.held
	# Teardown: from the first logout until the target has no iSCSI
	# connection left and no more queue pairs than before.
	t0=$EPOCHREALTIME
	kill -TERM "$pid"
	for _ in $(seq "$(polls 1200)"); do
		read -ra live <<<"$(tgt sc_live)"
		((${#live[@]} == 2 && live[0] == 0 && live[1] <= live0[1])) && break
		sleep 0.2
	done
	gone=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	wait "$pid"
	down=$(grep '^DOWN ' /tmp/scale.out)
	((${#live[@]} == 2 && live[0] == 0 && live[1] <= live0[1])) || {
		echo "$tr: after ${gone} s the target still had ${live[0]:-?} iSCSI connections and ${live[1]:-?} queue pairs (${live0[1]:-?} before)"
		return 1
	}
	# Every connection object of iser_target freed (counted exactly).
	if [[ $tr != stock ]]; then
		for _ in $(seq "$(polls 50)"); do
			[[ $(slab_objs iser_conn) == 0 ]] && break
			sleep 0.2
		done
		[[ $(slab_objs iser_conn) == 0 ]] || {
			echo "$tr: $(slab_objs iser_conn) iser_conn objects still in use after the teardown"
			return 1
		}
	fi
	sleep 5
	read -ra after <<<"$(tgt mem_now)"
	tgt sc_snapshot /tmp/scale.after
	g_held=$(tgt sc_grew /tmp/scale.before /tmp/scale.held)
	g_after=$(tgt sc_grew /tmp/scale.before /tmp/scale.after)
	head -n 5 /tmp/scale.err
	echo "$tr: $up; $down"
	((${#before[@]} == 3 && ${#held[@]} == 3 && ${#after[@]} == 3)) || {
		echo "$tr: the target's memory could not be read"
		return 1
	}
	kib=$(((held[0] - before[0]) / SESSIONS))
	left=$((after[0] - before[0]))
	echo "$tr: target memory $kib KiB per session (slab $(((held[1] - before[1]) / SESSIONS)), vmalloc $(((held[2] - before[2]) / SESSIONS))); $left KiB more than before once logged out"
	printf '{"transport": "%s", "sessions": %d, "parallel": %d, "cmdsn_depth": %d, "verified": %d, "failed": %d, "login_secs": %s, "logged_out": %d, "logout_secs": %s, "teardown_secs": %s, "kib_per_session": %d, "slab_kib_per_session": %d, "vmalloc_kib_per_session": %d, "kib_left_after": %d, "grew_held": "%s", "grown_after": "%s"}\n' \
		"$tr" "$SESSIONS" "$PARALLEL" "$DEPTH" "$(field verified "$up")" \
		"$(field failed "$up")" "$(field seconds "$up")" \
		"$(field logged_out "$down")" "$(field seconds "$down")" "$gone" "$kib" \
		"$(((held[1] - before[1]) / SESSIONS))" \
		"$(((held[2] - before[2]) / SESSIONS))" "$left" "$g_held" "$g_after" >>"$OUT"
	[[ $(field verified "$up") == "$SESSIONS" && $(field logged_out "$down") == "$SESSIONS" ]]
}

: >"$OUT"
tap_diag "make scale: $SESSIONS sessions from $PARALLEL processes, cmdsn_depth $DEPTH, transports $TRANSPORTS"
modules_snapshot
step tool "iser-hostile is built" tool_present
step defs "the target guest has this suite's helpers" tgt eval "$(declare -f sc_target sc_snapshot sc_grew sc_live)"
step transport "iser_target installed in the target's guest" tgt select_transport
step rxe "Soft-RoCE rxe0/rxe1 over $(rxe_link_name)" rxe_setup
step lio "a $((SESSIONS * 4 / 1024 + 1)) MiB ramdisk LUN and an iSCSI portal on the target" \
	tgt sc_target "$T" $((SESSIONS * 4 / 1024 + 1)) "$TOOL_IQN" "$DEPTH"
for tr in $TRANSPORTS; do
	check "$tr: $SESSIONS sessions logged in, each verified by a read, all logged out" \
		measure "$tr"
done
undo lio "iSER off, both transports unloaded" tgt portal_transport "$T" off
iser_suite_teardown iscsid
