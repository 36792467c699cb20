#!/bin/bash
# vm-timeout: 2000
# Hostile initiator against iser_target: tools/iser-hostile runs every
# scenario of tests/hostile/scenarios.tsv (one line each) against a LUN of
# its own, while the open-iscsi iSER initiator keeps a crc32c-verified
# background load on another LUN of the same target. For each scenario:
# the target reacts as the table expects (drops, refuses or keeps the
# connection), the kernel log shows the expected rate-limited line, the
# target ends up holding only the Linux session's connection, the log has
# no splat, the Linux session saw no error and a fresh session verifies
# data. For the connections held open without a login it reports the
# target's kernel memory per connection.
#
# The tool is built on the host (the guest's root is read-only):
#   make -C tools/iser-hostile
# Environment (ISER_* variables reach the guest through run-vm.sh):
#   ISER_HOSTILE_ONLY=REGEX   run only the scenarios whose name matches
#   ISER_HOSTILE_MEM_KIB=N    bound on kernel memory per idle connection
#                             outside rxe's queue memory (default 64)
#   ISER_HOSTILE_REPEAT=N     run each scenario N times, to catch races
#                             (default 1)
#   ISER_TARGET_OPTS="use_srq=1"  module parameters (lib.sh); with use_srq=1
#                             the lines of tests/hostile/scenarios-srq.tsv
#                             replace those of the same name
#   ISER_HOSTILE_IMPL=stock   run them against the kernel's ib_isert instead
#                             (to tell whether a bug is also the stock one's)
#   ISER_FUZZ_SECS=N          instead of the table, the fuzzer
#                             (iser-hostile --fuzz) for N seconds; what
#                             tests/guest/fuzz.sh runs
#   ISER_FUZZ_SEED=N          its seed (default: the guest's clock, so that
#                             each run explores new sequences; the seed is
#                             printed to replay a run)
#   ISER_FUZZ_START=I         first sequence index (default 0), to replay
#                             part of a long run
#   ISER_VM_SLOW=N            a slow (debug) kernel: the tool's time bounds
#                             grow N times, the connection storms and holds
#                             open N times fewer connections, and the
#                             background load runs N times longer; what
#                             they exercise stays the same
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=${ISER_HOSTILE_IMPL:-ours}
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:hostile
TOOL_IQN=iqn.2026-11.org.example:hostile-initiator
HOSTILE=$ISER_REPO/tools/iser-hostile/iser-hostile
TABLE=$ISER_REPO/tests/hostile/scenarios.tsv
# With ISER_TARGET_OPTS="use_srq=1": lines of this table replace the
# main table's lines of the same name (what a receive holds differs).
SRQ_TABLE=$ISER_REPO/tests/hostile/scenarios-srq.tsv
ONLY=${ISER_HOSTILE_ONLY:-}
MEM_BOUND_KIB=${ISER_HOSTILE_MEM_KIB:-64}
REPEAT=${ISER_HOSTILE_REPEAT:-1}
SLOW=${ISER_VM_SLOW:-1}
FUZZ_SECS=${ISER_FUZZ_SECS:-}
FUZZ_SEED=${ISER_FUZZ_SEED:-$(date +%s)}
FUZZ_START=${ISER_FUZZ_START:-0}
# The module's list of logged-in connections: a sequence whose
# connections stay in it fails (iser-hostile --conns).
CONNS_DIR=/sys/kernel/debug/iser_target/connections
# Lines a kernel log must not show (the host's splat detector checks the
# whole log too; this ties a splat to the scenario that caused it).
SPLAT='WARNING:|BUG:|Oops|general protection|list_add corruption|list_del corruption|refcount_t|hung_task|INFO: task|Kernel panic|Call Trace'
# What the Linux initiator logs when its session has trouble.
LINUX_ERR='detected conn error|iser_err_comp|session recovery timed out|I/O error|Buffer I/O error|rejecting I/O|ping timeout|iser: .*error'

# --- set-up -----------------------------------------------------------

tool_present() {
	[[ -x $HOSTILE ]] || {
		echo "$HOSTILE is missing: build it on the host first with"
		echo "  make -C tools/iser-hostile"
		return 1
	}
	[[ -r $TABLE ]] || {
		echo "$TABLE is missing"
		return 1
	}
	"$HOSTILE" --list >/dev/null
}

# User-space verbs need ib_uverbs, and rdma_cm from user space rdma_ucm.
rdma_user() {
	modprobe ib_uverbs && modprobe rdma_ucm
}

# LUN 0 (rd0) for the Linux initiator, LUN 1 (rd1) for the tool: the
# tool's task management (LUN resets included) cannot touch the Linux
# session's LUN. InitialR2T=No lets the tool send unsolicited Data-Out.
setup_target() {
	modprobe "$TRANSPORT_MOD" && lio_load || return 1
	lio_ramdisk rd0 64 && lio_ramdisk rd1 128 &&
		lio_target "$T" && lio_lun "$T" 0 rd0 && lio_lun "$T" 1 rd1 &&
		lio_acl "$T" "$INITIATOR_IQN" 0 && lio_acl "$T" "$TOOL_IQN" 1 &&
		lio_param "$T" InitialR2T No && lio_param "$T" ImmediateData Yes &&
		lio_portal "$T" "$PORTAL" && lio_enable "$T" && pad_targets
}

# Five more targets with long names on the same portal: SendTargets=All
# then takes more than 1024 bytes, twice the least
# InitiatorRecvDataSegmentLength an initiator may declare, so the text
# scenarios can make the target answer in three Text Responses (C=1) or
# more and continue them.
pad_targets() {
	local i name
	for i in 1 2 3 4 5; do
		name=iqn.2026-11.org.example:sendtargets-padding-$i-$(printf '%0150d' 0)
		lio_target "$name" && lio_portal "$name" "$PORTAL" &&
			lio_enable "$name" || return 1
	done
}

linux_session() {
	initiator_start && discover "$PORTAL" >/dev/null &&
		node_set "$T" "$PORTAL" node.session.timeo.replacement_timeout 30 &&
		session_up "$T" || return 1
	echo "Linux session disk: /dev/$D"
}

# A slow, crc32c-verified random-write load on the Linux session that runs
# through every scenario; its verdict is checked at the end.
BG_PID=
bg_start() {
	(cd /tmp && exec fio --name=bg --filename="/dev/$D" --ioengine=libaio \
		--direct=1 --rw=randwrite --bs=4k --iodepth=4 --size=16M \
		--verify=crc32c --verify_backlog=32 --verify_fatal=1 \
		--verify_state_save=0 --time_based --runtime=$((3600 * SLOW)) \
		--rate_iops=40 --output=/tmp/bgfio.out 2>/tmp/bgfio.err) &
	BG_PID=$!
	sleep 2
	kill -0 "$BG_PID"
}

# fio's exit status after SIGINT is not 0 even when all went well (1 here,
# 128 elsewhere): judge by its report and its error output instead.
bg_stop() {
	[[ -n $BG_PID ]] || return 1
	kill -INT "$BG_PID" 2>/dev/null
	wait "$BG_PID"
	BG_PID=
	grep -E 'err=|verify|IOPS' /tmp/bgfio.out | head -n 5
	head -n 5 /tmp/bgfio.err
	grep -q 'err= 0' /tmp/bgfio.out &&
		! grep -qiE 'verify|error|bad' /tmp/bgfio.err
}

linux_logout() {
	linux_logged_in && logout "$T" "$PORTAL" >/dev/null && conns_settle 0 30
}

# --- helpers ------------------------------------------------------------

tool() {
	"$HOSTILE" --target "$TARGET_IP" --iqn "$T" --initiator "$TOOL_IQN" \
		--lun 1 "$@"
}

# Connections of the module: the Linux session holds one.
BASE_CONNS=1
# conns_settle N SECS: until the module holds at most N connections.
conns_settle() {
	local want=$1 secs=${2:-30} i
	for ((i = 0; i < secs * 4; i++)); do
		(($(slab_objs iser_conn) <= want)) && return 0
		sleep 0.25
	done
	return 1
}

linux_logged_in() {
	iscsiadm -m session -P 1 2>/dev/null | grep -q 'iSCSI Session State: LOGGED_IN'
}

MARK=0
dmesg_mark() {
	MARK=$(dmesg | wc -l)
}

dmesg_new() {
	dmesg | tail -n +"$((MARK + 1))"
}

good_check() {
	local out
	out=$(timeout 120 "$HOSTILE" --target "$TARGET_IP" --iqn "$T" \
		--initiator "$TOOL_IQN" --lun 1 --scenario good --sizes 64k \
		--lba 131072 2>&1)
	local rc=$?
	((rc == 0)) || echo "$out" | tail -n 3
	return "$rc"
}

# The checks that follow every scenario; prints what is wrong.
after_checks() {
	local name=$1 bad=0 lines
	local t0=$SECONDS
	if ! conns_settle "$BASE_CONNS" 40; then
		echo "module still holds $(slab_objs iser_conn) connections 40 s later (expected $BASE_CONNS); $(iser_slabs)"
		bad=1
		# Slow, or never? Half-open connects end when the CM gives up.
		if conns_settle "$BASE_CONNS" 80; then
			echo "(freed after $((SECONDS - t0)) s)"
		else
			echo "module still holds $(slab_objs iser_conn) connections after 120 s: left behind"
		fi
	fi
	# One read of the log for both checks: under TCG each process the
	# per-scenario checks start costs about 0.1 s, times every scenario.
	dmesg_new >/tmp/dmesg.after
	lines=$(grep -E "$SPLAT" /tmp/dmesg.after)
	if [[ -n $lines ]]; then
		echo "kernel log splat:"
		head -n 20 <<<"$lines"
		bad=1
	fi
	lines=$(grep -E "$LINUX_ERR" /tmp/dmesg.after)
	if [[ -n $lines ]]; then
		echo "the Linux session saw errors:"
		head -n 10 <<<"$lines"
		bad=1
	fi
	if ! linux_logged_in; then
		echo "the Linux session is not logged in any more"
		bad=1
	fi
	if ! kill -0 "$BG_PID" 2>/dev/null; then
		echo "the Linux session's background load stopped:"
		tail -n 5 /tmp/bgfio.out
		bad=1
	fi
	t0=$SECONDS
	if [[ $ISER_IMPL == stock ]]; then
		echo "(no fresh session checked: the tool's closing ping fails against ib_isert)"
	elif ! good_check; then
		echo "a fresh session did not verify its data"
		bad=1
	elif ((SECONDS - t0 > 10)); then
		echo "(a fresh session verified, but only after $((SECONDS - t0)) s)"
	fi
	return "$bad"
}

# blocked_tasks: tasks in uninterruptible sleep, with their kernel stacks.
blocked_tasks() {
	local t
	for t in /proc/[0-9]*; do
		[[ $(awk '{ print $3 }' "$t/stat" 2>/dev/null) == D ]] || continue
		echo "  $(cat "$t/comm" 2>/dev/null) (pid ${t#/proc/}): $(tr '\n' ' ' <"$t/stack" 2>/dev/null | cut -c1-300)"
	done
}

# --- memory of idle connections -----------------------------------------

# Bytes the slab caches hold in total (objects x object size).
slab_bytes() {
	awk 'NR > 2 { t += $3 * $4 } END { printf "%d\n", t }' /proc/slabinfo
}

# cache_bytes CACHE: bytes its active objects take, counted after a
# shrink as slab_objs does, so that per-CPU slabs and KASAN's quarantine
# do not count freed objects.
cache_bytes() {
	slab_shrink "$1"
	awk -v c="$1" '$1 == c { printf "%d\n", $3 * $4; f = 1 } END { if (!f) print 0 }' /proc/slabinfo
}

# mem_snap: MemFree Slab VmallocUsed PageTables KernelStack (kB), slab
# bytes in total, bytes of iser_conn and iser_hdr, iser_conn objects.
mem_snap() {
	echo "$(meminfo MemFree Slab VmallocUsed PageTables KernelStack) $(slab_bytes)" \
		"$(cache_bytes iser_conn) $(cache_bytes iser_hdr) $(slab_objs iser_conn)"
}

# pid_kb PID FIELD: a field of /proc/PID/status in kB (0 once it is gone).
pid_kb() {
	awk -v f="$2:" '$1 == f { print $2; n = 1 } END { if (!n) print 0 }' \
		"/proc/$1/status" 2>/dev/null || echo 0
}

# wait_line FILE REGEX SECS: until FILE has a line matching REGEX.
wait_line() {
	local i
	for ((i = 0; i < $3 * 4; i++)); do
		grep -qE "$2" "$1" 2>/dev/null && return 0
		sleep 0.25
	done
	return 1
}

# hold_measure PORT COUNT HOLD [PIDS...]: start the tool holding COUNT
# idle connections to PORT for HOLD seconds and, once they are up, take
# what the kernel spends on them. Sets HM_PID (the tool, still running),
# HM_N, HM_S (slab KiB per connection), HM_V (vmalloc KiB per
# connection), HM_NAMED (bytes of iser_target's own caches per
# connection) and HM_LINES. Page-allocator pages are only seen through
# MemFree, whose noise (tens of KiB per connection) hides them. PIDS are other processes whose anonymous memory grows with
# the connections (the user-space listener).
hold_measure() {
	local port=$1 count=$2 hold=$3 m0 m1 a0=0 a1=0 p out=/tmp/hold.$1.out
	shift 3
	echo 3 >/proc/sys/vm/drop_caches
	sleep 1
	for p in "$@"; do a0=$((a0 + $(pid_kb "$p" RssAnon))); done
	read -ra m0 <<<"$(mem_snap)"
	tool --port "$port" --scenario idle-hold --count "$count" --hold "$hold" \
		--parallel 16 --timeout 120 >"$out" 2>&1 &
	HM_PID=$!
	if ! wait_line "$out" '^READY' 300; then
		echo "the tool never reported READY:"
		tail -n 5 "$out"
		return 1
	fi
	HM_N=$(sed -n 's/^READY established=\([0-9]*\).*/\1/p' "$out")
	sleep 2
	read -ra m1 <<<"$(mem_snap)"
	for p in "$@" "$HM_PID"; do a1=$((a1 + $(pid_kb "$p" RssAnon))); done
	((HM_N > 0)) || {
		echo "no connection was established"
		return 1
	}
	local d_free=$((m0[0] - m1[0])) d_slab=$((m1[1] - m0[1]))
	local d_vm=$((m1[2] - m0[2])) d_pt=$((m1[3] - m0[3]))
	local d_ks=$((m1[4] - m0[4])) d_anon=$((a1 - a0))
	local other=$((d_free - d_slab - d_vm - d_pt - d_ks - d_anon))
	HM_S=$((d_slab / HM_N))
	HM_V=$((d_vm / HM_N))
	HM_NAMED=$(((m1[6] + m1[7] - m0[6] - m0[7]) / HM_N))
	HM_LINES="$(grep '^READY' "$out"); per connection: MemFree -$((d_free / HM_N)) KiB, slab +$HM_S KiB, vmalloc +$HM_V KiB, unexplained $((other / HM_N)) KiB; in all: page tables +$d_pt KiB, kernel stacks +$d_ks KiB, user anonymous memory +$d_anon KiB"
}

hold_finish() {
	local i
	for ((i = 0; i < 4 * $1; i++)); do
		kill -0 "$HM_PID" 2>/dev/null || break
		sleep 0.25
	done
	if kill -0 "$HM_PID" 2>/dev/null; then
		echo "the tool did not finish in time: state $(awk '{ print $3 }' "/proc/$HM_PID/stat"), wchan $(cat "/proc/$HM_PID/wchan")"
		tr '\n' ' ' <"/proc/$HM_PID/stack"
		echo
		blocked_tasks
		kill -9 "$HM_PID"
	fi
	wait "$HM_PID"
}

# hold_run ARGS...: the idle-connection scenario. First the same number of
# connections to a user-space listener (what the initiator side costs:
# each end there is like our initiator end), then to the target; the
# target's share is the difference. While the target holds them, a good
# session must still be able to log in.
PER_CONN_KIB=
HOLD_GOOD_RC=1
# iser_connect_request() gives every connection a login request and a
# login response buffer of ISER_LOGIN_MAX_DATA (8 KiB) each, in pages.
LOGIN_BUF_KIB=16
# listener_start PORT HOLD OUT: the tool's user-space RDMA listener on
# $TARGET_IP:PORT for HOLD seconds, its output in OUT; LISTENER_PID is its
# process once it listens.
LISTENER_PID=
listener_start() {
	"$HOSTILE" --target "$TARGET_IP" --port "$1" --iqn "$T" \
		--initiator "$TOOL_IQN" --scenario listen --hold "$2" >"$3" 2>&1 &
	LISTENER_PID=$!
	wait_line "$3" '^LISTENING' 30 && return 0
	echo "the user-space listener did not start:"
	cat "$3"
	kill "$LISTENER_PID"
	return 1
}

hold_run() {
	local count hold lpid rc t0 gs
	count=$(sed -n 's/.*--count \([0-9]*\).*/\1/p' <<<"$*")
	hold=$(sed -n 's/.*--hold \([0-9]*\).*/\1/p' <<<"$*")
	count=${count:-200}
	hold=${hold:-60}

	listener_start 3261 600 /tmp/listen.out || return 1
	lpid=$LISTENER_PID
	hold_measure 3261 "$count" 5 "$lpid" || return 1
	local s_l=$HM_S v_l=$HM_V s_t v_t
	echo "baseline, $HM_N connections to a user-space listener: $HM_LINES"
	hold_finish 60
	kill "$lpid"
	wait "$lpid"
	conns_settle "$BASE_CONNS" 30

	hold_measure 3260 "$count" "$hold" || return 1
	s_t=$HM_S v_t=$HM_V
	echo "target, $HM_N connections to iser_target: $HM_LINES"
	echo "iser_target's own caches (iser_conn, iser_hdr): $HM_NAMED bytes per connection"
	PER_CONN_KIB=$((s_t - s_l / 2 + LOGIN_BUF_KIB))
	echo "target's kernel memory per idle connection outside rxe's queues: ~$PER_CONN_KIB KiB" \
		"= slab $((s_t - s_l / 2)) KiB ($s_t KiB with the initiator end, minus half the $s_l KiB" \
		"two user-space ends cost; slub_debug=FZPU pads every object) + $LOGIN_BUF_KIB KiB of login buffers (by design)"
	echo "rxe queue memory (vmalloc) per idle connection on the target: ~$((v_t - v_l / 2)) KiB" \
		"(= $v_t - $v_l/2: its queue pair's send and receive queues and a share of the CQ pool)"

	# A good session while they are held: it must get in long before the
	# hold ends (the login thread serves one connection at a time).
	t0=$SECONDS
	timeout 40 "$HOSTILE" --target "$TARGET_IP" --iqn "$T" --initiator "$TOOL_IQN" \
		--lun 1 --scenario good --sizes 64k --lba 131072 --timeout 20 >/tmp/hold.good 2>&1
	HOLD_GOOD_RC=$?
	gs=$((SECONDS - t0))
	echo "a good session while $HM_N idle connections are held: exit $HOLD_GOOD_RC after ${gs} s (the hold lasts ${hold} s): $(tail -n 1 /tmp/hold.good)"
	hold_finish $((hold + 120))
	rc=$?
	cat "/tmp/hold.3260.out"
	return "$rc"
}

# --- the scenarios --------------------------------------------------------

WEDGED=
# slow_args NAME ARGS: ARGS scaled for a kernel ISER_VM_SLOW times slower.
slow_args() {
	local name=$1 a opt='' out=()
	for a in $2; do
		case $opt in
		--timeout) a=$((a * SLOW)) ;;
		--count)
			[[ $name == idle-hold* || $name == storm* ]] &&
				a=$(((a + SLOW - 1) / SLOW))
			;;
		esac
		opt=$a
		out+=("$a")
	done
	echo "${out[*]}"
}

LEAKED=
run_scenario() {
	local name=$1 expect=$2 pattern=$3 args=$4 texpect out rc t_start
	((SLOW > 1)) && args=$(slow_args "$name" "$args")
	if [[ -n $WEDGED ]]; then
		tap_skip "$name: target reacts as expected ($expect)" "$WEDGED"
		tap_skip "$name: kernel log line" "$WEDGED"
		tap_skip "$name: target clean, other sessions unharmed" "$WEDGED"
		return
	fi
	texpect=$expect
	[[ $expect == hold ]] && texpect=survive
	t_start=$SECONDS
	dmesg_mark
	# shellcheck disable=SC2086
	if [[ $expect == hold ]]; then
		# Not in a subshell: it sets PER_CONN_KIB and HOLD_GOOD_RC.
		hold_run $args --expect "$texpect" >/tmp/hold.log 2>&1
		rc=$?
		out=$(cat /tmp/hold.log)
	else
		out=$(timeout -k 10 300 "$HOSTILE" --target "$TARGET_IP" --iqn "$T" \
			--initiator "$TOOL_IQN" --lun 1 $args --expect "$texpect" 2>&1)
		rc=$?
	fi
	if ((rc == 0)); then
		tap_ok "$name: target reacts as expected ($expect)"
	else
		tap_not_ok "$name: target reacts as expected ($expect)"
		((rc == 124 || rc == 137)) && tap_diag "the tool hung and was killed"
		((rc > 128 && rc != 137)) && tap_diag "the tool died of signal $((rc - 128))"
	fi
	grep -v '^RESULT' <<<"$out" | tail -n 12 | tap_diag
	grep '^RESULT' <<<"$out" | tap_diag
	if [[ $expect == hold ]]; then
		if [[ -n $PER_CONN_KIB ]] && ((PER_CONN_KIB <= MEM_BOUND_KIB)); then
			tap_ok "$name: kernel memory per idle connection below $MEM_BOUND_KIB KiB outside rxe queues"
		else
			tap_not_ok "$name: kernel memory per idle connection below $MEM_BOUND_KIB KiB outside rxe queues"
		fi
		if ((HOLD_GOOD_RC == 0)); then
			tap_ok "$name: a good session logs in and verifies while they are held"
		else
			tap_not_ok "$name: a good session logs in and verifies while they are held"
		fi
	fi

	# The rate-limited line may land just after the drop. A line that
	# lands after the look below is still judged: by after_checks, which
	# reads the log again once the connections are gone, and by the
	# whole log's check at the end (run-vm.sh's "dmesg clean").
	if [[ $pattern == - ]]; then
		dmesg_new >/tmp/dmesg.new
		tap_ok "$name: kernel log line (none required)"
	elif [[ $pattern == '!'* ]]; then
		sleep "$((2 * SLOW))"
		dmesg_new >/tmp/dmesg.new
		if grep -qE "${pattern#!}" /tmp/dmesg.new; then
			tap_not_ok "$name: no kernel log line /${pattern#!}/"
			grep -E "${pattern#!}" /tmp/dmesg.new | head -n 2 | tap_diag
		else
			tap_ok "$name: no kernel log line /${pattern#!}/"
		fi
	else
		local i found=0
		for ((i = 0; i < 20; i++)); do
			dmesg_new >/tmp/dmesg.new
			grep -qE "$pattern" /tmp/dmesg.new && found=1 && break
			sleep 0.25
		done
		if ((found)); then
			tap_ok "$name: kernel log line /$pattern/"
		else
			tap_not_ok "$name: kernel log line /$pattern/"
			grep -E 'suppressed' /tmp/dmesg.new | head -n 2 | tap_diag
		fi
	fi
	grep -E 'iser_target|iSCSI|iscsi|Login|login' /tmp/dmesg.new | grep -vE "$LINUX_ERR" |
		head -n 6 | tap_diag

	judge_after "$name"
	tap_diag "$name took $((SECONDS - t_start)) s"
}

# judge_after NAME: the checks that follow a scenario, as one TAP result.
judge_after() {
	local name=$1 out
	if out=$(after_checks "$name" 2>&1); then
		tap_ok "$name: target clean, other sessions unharmed"
		[[ -z $out ]] || tap_diag <<<"$out"
		return
	fi
	tap_not_ok "$name: target clean, other sessions unharmed"
	tap_diag <<<"$out"
	# A target that cannot serve a fresh session makes every later result
	# meaningless. Connections it failed to free are counted from now on,
	# and rule out the teardown at the end (it would block on them).
	if grep -q 'did not verify' <<<"$out"; then
		WEDGED="target unusable after '$name'"
	elif grep -q 'left behind' <<<"$out"; then
		LEAKED="${LEAKED:+$LEAKED, }$name"
		BASE_CONNS=$(slab_objs iser_conn)
		blocked_tasks | tap_diag
	fi
}

run_table() {
	local name expect pattern args n=0 r t0=$SECONDS line
	local -A srq=()
	if [[ " ${ISER_TARGET_OPTS:-} " == *" use_srq=1 "* ]]; then
		while IFS= read -r line; do
			[[ -z $line || $line == \#* ]] || srq[${line%%$'\t'*}]=$line
		done <"$SRQ_TABLE"
	fi
	while IFS=$'\t' read -r name expect pattern args; do
		[[ -z $name || $name == \#* ]] && continue
		[[ -n $ONLY && ! $name =~ $ONLY ]] && continue
		if [[ -n ${srq[$name]:-} ]]; then
			IFS=$'\t' read -r name expect pattern args <<<"${srq[$name]}"
			tap_diag "$name: as for use_srq=1 in ${SRQ_TABLE#"$ISER_REPO"/}"
		fi
		n=$((n + 1))
		if ((REPEAT == 1)); then
			run_scenario "$name" "$expect" "$pattern" "$args"
			continue
		fi
		for ((r = 1; r <= REPEAT; r++)); do
			run_scenario "$name#$r" "$expect" "$pattern" "$args"
		done
	done <"$TABLE"
	tap_diag "$n scenarios from ${TABLE#"$ISER_REPO"/} in $((SECONDS - t0)) s"
}

# The scenarios end connections with failed work requests (the refused
# keepalive probe, peers that vanish in the middle of a transfer): the
# devices' counters keep them by status once those connections are gone,
# and the statuses add up to wc_errors.
wc_by_status() {
	local f v errs=0 by=0
	for f in /sys/kernel/debug/iser_target/devices/*/stats; do
		[[ -r $f ]] || continue
		v=$(awk '$1 == "wc_errors" { print $2 }' "$f")
		errs=$((errs + ${v:-0}))
		v=$(awk '$1 == "wc_status" { n += $NF } END { print n + 0 }' "$f")
		by=$((by + v))
	done
	((errs > 0 && by == errs)) && return 0
	echo "wc_errors $errs, wc_status lines add up to $by"
	grep -H . /sys/kernel/debug/iser_target/devices/*/stats
	return 1
}

# Another RDMA listener (here the tool's, in user space) on the port of a
# new portal: enabling iSER there must fail with a log line that says
# why, and work once the port is free.
PORT_TAKEN=3266
port_taken() {
	local np lpid rc=0 line="cannot listen on $TARGET_IP:$PORT_TAKEN: -98"
	np=$(tpg_dir "$T")/np/$TARGET_IP:$PORT_TAKEN
	listener_start "$PORT_TAKEN" 120 /tmp/taken.out || return 1
	lpid=$LISTENER_PID
	dmesg_mark
	mkdir -p "$np" || rc=1
	if echo 1 >"$np/iser" 2>/dev/null; then
		echo "iSER enabled on $TARGET_IP:$PORT_TAKEN, which another RDMA listener holds"
		rc=1
	fi
	dmesg_new | grep -qF "$line" || {
		echo "no \"$line\" in the kernel log:"
		dmesg_new | tail -n 5
		rc=1
	}
	kill "$lpid"
	wait "$lpid"
	{ echo 1 >"$np/iser" && [[ $(cat "$np/iser") == 1 ]]; } || {
		echo "iSER not enabled on $TARGET_IP:$PORT_TAKEN once the port was free"
		rc=1
	}
	lio_portal_del "$T" "$TARGET_IP:$PORT_TAKEN" || rc=1
	return "$rc"
}

# The fuzzer against LUN 1 for FUZZ_SECS seconds. Every sequence is
# recorded in $ISER_OUT/fuzz (build/vm/out/NAME/fuzz on the host) before it
# is sent; the fuzzer keeps only failing ones and their minimised forms,
# which `iser-hostile --replay FILE` plays again.
run_fuzz() {
	local dir=$ISER_OUT/fuzz rc summary t0=$SECONDS conns=()
	local what="fuzz: every sequence of seed $FUZZ_SEED left the target serving fresh sessions, no splat"
	mkdir -p "$dir" || return 1
	tap_diag "fuzzing for $FUZZ_SECS s with seed $FUZZ_SEED from sequence $FUZZ_START, uptime $(cut -d' ' -f1 /proc/uptime) s (ISER_FUZZ_SEED=$FUZZ_SEED replays this run)"
	[[ -d $CONNS_DIR ]] && conns=(--conns "$CONNS_DIR")
	((${#conns[@]})) || tap_diag "$CONNS_DIR is missing: connections left behind are judged at the end only"
	dmesg_mark
	timeout -k 10 $((FUZZ_SECS + 600 * SLOW)) "$HOSTILE" --target "$TARGET_IP" \
		--iqn "$T" --initiator "$TOOL_IQN" --lun 1 --timeout $((10 * SLOW)) \
		--fuzz "$FUZZ_SEED" --start "$FUZZ_START" --secs "$FUZZ_SECS" \
		--record "$dir" "${conns[@]}" >/tmp/fuzz.out 2>/tmp/fuzz.err
	rc=$?
	summary=$(grep '^FUZZ ' /tmp/fuzz.out)
	if ((rc == 0)) && [[ -n $summary ]]; then
		tap_ok "$what"
	else
		tap_not_ok "$what"
		((rc == 124 || rc == 137)) && tap_diag "the fuzzer hung and was killed"
		tail -n 8 /tmp/fuzz.err | tap_diag
	fi
	grep -E '^(FAIL|MINIMISED|NOT-MINIMISED|STOPPED) ' /tmp/fuzz.out | head -n 20 | tap_diag
	tap_diag "${summary:-the fuzzer printed no summary (exit $rc)}"
	judge_after fuzz
	tap_diag "fuzz took $((SECONDS - t0)) s"
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
tap_diag "$(transport_banner)"
step tool "iser-hostile is built (make -C tools/iser-hostile on the host)" tool_present
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step uverbs "user-space verbs and RDMA CM (ib_uverbs, rdma_ucm)" rdma_user
step lio "LIO target: LUN 0 for Linux, LUN 1 for the tool, InitialR2T=No" setup_target
step served "$TRANSPORT_MOD serves iSER (ISER_IMPL=$ISER_IMPL)" transport_loaded
step linux "Linux iSER session to LUN 0" linux_session
step bg "background crc32c-verified load on the Linux session" bg_start
if [[ $ISER_IMPL == stock ]]; then
	# The NOP-Out ping that 'good' ends with fails against ib_isert
	# ("NOP-Out ping not answered"): a comparison run goes on to see
	# what each scenario does to it.
	tap_skip "iser-hostile good: its own writes read back equal" \
		"its closing NOP-Out ping fails against ib_isert"
else
	step good "iser-hostile good: its own writes read back equal" good_check
fi
if ((STEPS_OK)) && [[ -n $FUZZ_SECS ]]; then
	run_fuzz
elif ((STEPS_OK)); then
	run_table
	what="the devices' counters keep the failed completions by status"
	if [[ $ISER_IMPL == stock ]]; then
		tap_skip "$what" "ib_isert has no such counters"
	elif [[ -n $ONLY ]]; then
		tap_skip "$what" "ISER_HOSTILE_ONLY may have left out the scenarios that fail work requests"
	else
		check "$what" wc_by_status
	fi
	if [[ $ISER_IMPL == ours ]]; then
		check "enabling iSER on a port another RDMA listener holds fails, saying so, and works once it is free" port_taken
	fi
else
	tap_skip "scenarios of ${TABLE#"$ISER_REPO"/}" "$STEPS_WHY"
fi
if [[ -n $WEDGED || -n $LEAKED ]]; then
	# Tearing down a target that is wedged or holds connections it
	# cannot free blocks in the kernel for good: leave it, so that the
	# guest still returns its log.
	tap_not_ok "teardown skipped: ${WEDGED:-connections left behind by: $LEAKED}"
	tap_diag "iser_target holds $(slab_objs iser_conn) connections; $(iser_slabs)"
	tap_diag "tasks blocked in the kernel:"
	blocked_tasks | tap_diag
else
	undo bg "the Linux session's background load verified without error" bg_stop
	undo linux "the Linux session is still logged in, then logs out" linux_logout
	iser_suite_teardown linux
	exit
fi
tap_plan
((TAP_FAIL == 0))
