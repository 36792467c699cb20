#!/bin/bash
# vm-timeout: 1800
# Allocation failure. Every function of iser_target that allocates (or
# takes a task or maps memory for RDMA), and the one that posts send work
# requests, is a fault point (see __iser_fault_point in iser.h), and
# fail_function makes each fail in turn while a discovery, a login, I/O and a logout run: after N
# calls let through, one call fails. Each failure must end as its row in
# TABLE says, never in a crash or leak (KASAN, kmemleak and lockdep watch
# on the debug kernel), and a clean session afterwards verifies its data.
# Then all of them fail at random together. Needs CONFIG_FAIL_FUNCTION,
# which Debian's kernels lack: there every check is skipped with that
# reason (make check-debug boots a kernel that has it).
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:allocfail
FI=/sys/kernel/debug/fail_function
# -ENOMEM as fail_function's retval file wants it (hexadecimal, 64 bits).
ENOMEM=0xfffffffffffffff4

# FUNCTION EXPECT CALLS-LET-THROUGH...: one run per count. The counts put
# the failure at different places: 0 is the first call (the discovery
# session's), larger ones reach the login's or the I/O's calls. EXPECT is
# what the failure must lead to:
#   logged   a refused connection or a failed command, with a line of ours
#   retried  the target core queues the command again (its queue-full
#            handling) and the I/O completes and verifies
#   refused  enable_iser fails: the core reports it by the failed write,
#            and nothing of ours ran to log it
# iser_post_now does not allocate: its failure is a queue pair that refuses
# work, which must drop the connection (logged) and leave no mapping.
# iser_srq_create runs only with use_srq=1, which its row sets: the
# connection then keeps a receive ring of its own (logged).
TABLE="
iser_setup_np refused 0
iser_device_get logged 0
iser_conn_alloc logged 0
iser_buf_alloc logged 0 2 40
iser_create_qp logged 0
iser_srq_create logged 0
iser_ffp_alloc logged 0
iser_rx_ring_alloc logged 0
iser_tx_slots_alloc logged 0
iser_alloc_cmd logged 0 40
iser_dup_data logged 0
iser_queue_data_in retried 0 20
iser_get_dataout retried 0 20
iser_post_now logged 0 10 40
"

have_fail_function() {
	[[ -e $FI/inject ]] || {
		echo "no $FI/inject: this kernel lacks CONFIG_FAIL_FUNCTION (run make check-debug)"
		return 1
	}
}

# The functions the module offers and the table must be the same set, so
# a new injection point cannot go untested nor a row test nothing.
table_complete() {
	local offered listed
	offered=$(awk '$2 == "[iser_target]" { print $1 }' "$FI/injectable" | sort)
	listed=$(awk 'NF { print $1 }' <<<"$TABLE" | sort)
	echo "offered: $(xargs <<<"$offered")"
	diff <(echo "$listed") <(echo "$offered")
}

forced() {
	dmesg | grep -c 'FAULT_INJECTION: forcing a failure'
}

ours_logged() {
	dmesg | grep -c 'iser_target: '
}

inject_clear() {
	echo >"$FI/inject"
}

# inject_add FUNC: FUNC joins the injected set, failing with -ENOMEM, or
# with NULL if the module declared it returns a pointer (the kernel then
# refuses any other value).
inject_add() {
	local type retval=$ENOMEM
	type=$(awk -v f="$1" '$1 == f { print $3 }' "$FI/injectable")
	[[ $type == NULL ]] && retval=0
	echo "$1" >"$FI/inject" && echo "$retval" >"$FI/$1/retval"
}

# inject_when SKIP PROBABILITY TIMES: when the injected set fails.
inject_when() {
	echo "$1" >"$FI/space" && echo "$2" >"$FI/probability" &&
		echo "$3" >"$FI/times" && echo 1 >"$FI/interval" &&
		echo 1 >"$FI/verbose"
}

# inject FUNC SKIP PROBABILITY TIMES
inject() {
	inject_add "$1" && inject_when "$2" "$3" "$4"
}

# The workload the failures hit: discovery, login, write and read with
# verification, logout. Its own outcome is reported, not judged: an
# injected failure may rightly fail any part of it.
workload() {
	local out=""
	discover "$PORTAL" >/dev/null 2>&1 && out+="discovery ok" || out+="discovery failed"
	if login "$T" "$PORTAL" >/dev/null 2>&1 && wait_disks "$T" 1 >/dev/null; then
		out+=", login ok"
		if verify "$(disks_of "$T" | head -n 1)" 64k 8 8 rw >/dev/null 2>&1; then
			out+=", I/O verified"
		else
			out+=", I/O failed"
		fi
	else
		out+=", login failed"
	fi
	logout_quiet >/dev/null
	echo "$out"
}

# Nothing of the failed round is left, and a new session verifies data.
clean_session() {
	logout_quiet && conns_are 0 && discover "$PORTAL" >/dev/null &&
		login "$T" "$PORTAL" >/dev/null && wait_disks "$T" 1 &&
		verify "$(disks_of "$T" | head -n 1)" 4k 16 4 &&
		logout_quiet && conns_are 0
}

# A portal cannot start listening: enable_iser fails, nothing listens,
# and once the failure is gone the portal comes up as usual.
portal_round() {
	local skip=$1
	lio_portal_del "$T" "$PORTAL" || return 1
	inject iser_setup_np "$skip" 100 1 || return 1
	if lio_portal "$T" "$PORTAL" 2>&1; then
		echo "enable_iser succeeded although iser_setup_np failed"
		inject_clear
		return 1
	fi
	inject_clear
	lio_portal_del "$T" "$PORTAL" >/dev/null 2>&1
	lio_portal "$T" "$PORTAL"
}

# fail_one FUNC EXPECT SKIP: one call of FUNC fails after SKIP went
# through, with the outcome EXPECT (see TABLE).
fail_one() {
	local fn=$1 expect=$2 skip=$3 f0 l0 f1 l1 what
	f0=$(forced)
	l0=$(ours_logged)
	if [[ $fn == iser_setup_np ]]; then
		portal_round "$skip" || return 1
		what="enable_iser refused"
	else
		[[ $fn == iser_srq_create ]] && echo 1 >/sys/module/iser_target/parameters/use_srq
		inject "$fn" "$skip" 100 1 || return 1
		what=$(workload)
		inject_clear
		echo 0 >/sys/module/iser_target/parameters/use_srq
	fi
	f1=$(forced)
	l1=$(ours_logged)
	echo "$fn after $skip call(s): $what; $((f1 - f0)) failure(s) forced, $((l1 - l0)) line(s) logged"
	dmesg | grep 'iser_target: ' | tail -n $((l1 - l0 > 3 ? 3 : l1 - l0))
	((f1 > f0)) || {
		echo "the failure was never forced: the workload did not reach call $((skip + 1))"
		return 1
	}
	case $expect in
	logged)
		((l1 > l0)) || {
			echo "iser_target logged nothing about it"
			return 1
		}
		;;
	retried)
		[[ $what == *"I/O verified" ]] || {
			echo "the command was not retried to completion"
			return 1
		}
		;;
	esac
	clean_session
}

# Every function at once, each call failing with 2% probability, over six
# rounds of the workload.
fail_random() {
	local f0 i fn out
	f0=$(forced)
	while read -r fn _; do
		inject_add "$fn" || return 1
	done < <(awk 'NF && $1 != "iser_setup_np"' <<<"$TABLE")
	inject_when 0 2 -1 || return 1
	for i in $(seq 6); do
		out=$(workload)
		echo "round $i: $out"
	done
	inject_clear
	echo "$(($(forced) - f0)) failures forced (the kernel rate-limits this count)"
	(($(forced) > f0)) && clean_session
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
tap_diag "$(transport_banner)"
if ! have_fail_function >/dev/null; then
	why=$(have_fail_function)
	while read -r fn _ counts; do
		for c in $counts; do
			tap_skip "$fn fails after $c call(s)" "$why"
		done
	done < <(awk NF <<<"$TABLE")
	tap_skip "every function fails at random" "$why"
	tap_plan
	exit 0
fi
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step lio "LIO target with an iSER portal" lio_setup_simple "$T" 64
step init "iscsid started" initiator_start
step table "every injection point of iser_target is in the table" table_complete
# ISER_ALLOCFAIL_FUNCS="f g": only those rows, without the random round
# (the table check still runs).
only=" ${ISER_ALLOCFAIL_FUNCS:-} "
declare -A OUTCOME=(
	[logged]="refused or failed, logged, then clean"
	[retried]="the core retries, the I/O verifies, then clean"
	[refused]="enable_iser refused, then the portal serves"
)
while read -r fn expect counts; do
	[[ $only == "  " || $only == *" $fn "* ]] || continue
	for c in $counts; do
		check "$fn fails after $c call(s): ${OUTCOME[$expect]}" \
			fail_one "$fn" "$expect" "$c"
	done
done < <(awk NF <<<"$TABLE")
if [[ $only == "  " ]]; then
	check "every function fails at random (2%), then a clean session" fail_random
fi
undo lio "no injection left" inject_clear
iser_suite_teardown init
