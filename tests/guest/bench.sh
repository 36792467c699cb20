#!/bin/bash
# vm-timeout: 3600
# Benchmark, one guest boot: the same fio workloads against one null-backed
# LUN through iser_target, the stock ib_isert, iSCSI over TCP and
# tcm_loop (LIO with no network: the ceiling), alternating transports
# round after round; "nostats" is iser_target loaded with stats=0, to
# show what its statistics cost, and "srq" with use_srq=1, its shared
# receive queue. Writes one JSON line per measurement to
# $ISER_OUT/bench.jsonl for tools/dev/bench.sh to summarise. Checks only that
# every figure was produced, never a speed.
#
# ISER_BENCH_PROFILE="NAME ..." also profiles those workloads in round 1
# for iser_target and ib_isert: an extra, unmeasured run under
# `perf record -a -e cpu-clock`, summarised by module and by symbol in
# $ISER_OUT/profile-TRANSPORT-NAME.txt (skipped when perf is missing).
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:bench
ROUNDS=${ISER_BENCH_ROUNDS:-3}
RUNTIME=${ISER_BENCH_RUNTIME:-10}
SESSIONS=${ISER_BENCH_SESSIONS:-16}
TRANSPORTS=${ISER_BENCH_TRANSPORTS:-"ours stock tcp loop"}
OUT=$ISER_OUT/bench.jsonl
PROFILE=${ISER_BENCH_PROFILE:-}
LOOP_WWN=naa.5001405aaaaaaaaa
LOOP_I=naa.5001405bbbbbbbbb
# name rw bs iodepth numjobs [rwmixread]
WORKLOADS="
rand-read-4k-qd1 randread 4k 1 1
rand-write-4k-qd1 randwrite 4k 1 1
rand-read-4k-qd32 randread 4k 32 1
rand-write-4k-qd32 randwrite 4k 32 1
rand-read-4k-4x32 randread 4k 32 4
seq-read-128k-qd16 read 128k 16 1
seq-write-128k-qd16 write 128k 16 1
seq-read-1m-qd16 read 1m 16 1
seq-write-1m-qd16 write 1m 16 1
mixed-70-30-8k-qd32 randrw 8k 32 1 70
"
# ISER_BENCH_WORKLOADS="NAME ...": only those (make check's quick round,
# tools/dev/crash-loop.sh); ISER_BENCH_MEM=0 leaves out the memory
# measurement.
if [[ -n ${ISER_BENCH_WORKLOADS:-} ]]; then
	WORKLOADS=$(while read -r name rest; do
		[[ " $ISER_BENCH_WORKLOADS " == *" $name "* ]] && echo "$name $rest"
	done <<<"$WORKLOADS")
	[[ -n $WORKLOADS ]] || { echo "no workload in '$ISER_BENCH_WORKLOADS'"; exit 1; }
fi

setup() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
	lio_load || return 1
	# Null I/O: the backstore neither stores nor copies, so it is never
	# the bottleneck.
	mkdir -p "$CFS/core/rd_mcp_0/null0" &&
		echo "rd_pages=262144,rd_nullio=1" >"$CFS/core/rd_mcp_0/null0/control" &&
		echo 1 >"$CFS/core/rd_mcp_0/null0/enable" || return 1
	lio_target "$T" && lio_lun "$T" 0 null0 &&
		lio_attrib "$T" generate_node_acls 1 &&
		lio_attrib "$T" demo_mode_write_protect 0 &&
		lio_attrib "$T" default_cmdsn_depth 128 &&
		mkdir -p "$(tpg_dir "$T")/np/$PORTAL" && lio_enable "$T" || return 1
	modprobe tcm_loop && modprobe ib_iser && initiator_start || return 1
	local i
	for i in $(seq "$SESSIONS"); do
		iface_new "iser$i" || return 1
	done
}

np=
iser_on() {
	np=$(tpg_dir "$T")/np/$PORTAL
	echo 1 >"$np/iser" && [[ $(cat "$np/iser") == 1 ]]
}

iser_off() {
	echo 0 >"$np/iser"
}

# up TRANSPORT: make DISK the LUN through TRANSPORT.
DISK=
up() {
	DISK=
	case $1 in
	ours | nostats | srq)
		install -m 0644 "$ISER_REPO/packaging/modprobe.d/iser-target.conf" /etc/modprobe.d/
		local stats=Y srq=N
		case $1 in
		nostats)
			echo "options iser_target stats=0" >/etc/modprobe.d/iser-bench.conf
			stats=N
			;;
		srq)
			echo "options iser_target use_srq=1" >/etc/modprobe.d/iser-bench.conf
			srq=Y
			;;
		esac
		iser_on && mod_loaded iser_target && ! mod_loaded ib_isert || return 1
		[[ $(cat /sys/module/iser_target/parameters/stats) == "$stats" &&
			$(cat /sys/module/iser_target/parameters/use_srq) == "$srq" ]] || return 1
		discover "$PORTAL" >/dev/null && login "$T" "$PORTAL" >/dev/null || return 1
		;;
	stock)
		rm -f /etc/modprobe.d/iser-target.conf
		modprobe ib_isert && iser_on && ! mod_loaded iser_target || return 1
		discover "$PORTAL" >/dev/null && login "$T" "$PORTAL" >/dev/null || return 1
		;;
	tcp)
		iscsiadm -m discovery -t st -p "$PORTAL" >/dev/null &&
			iscsiadm -m node -T "$T" -p "$PORTAL" -I default --login >/dev/null ||
			return 1
		;;
	loop)
		local l=$CFS/loopback/$LOOP_WWN/tpgt_1
		# The nexus first: linking the LUN scans it, and without a
		# nexus that scan fails and no disk appears.
		mkdir -p "$l" && echo "$LOOP_I" >"$l/nexus" &&
			mkdir -p "$l/lun/lun_0" &&
			ln -s "$CFS/core/rd_mcp_0/null0" "$l/lun/lun_0/null0" || return 1
		for _ in $(seq 80); do
			DISK=$(lsscsi_loop) && [[ -n $DISK ]] && break
			sleep 0.25
		done
		[[ -n $DISK ]]
		return
		;;
	esac
	wait_disks "$T" 1 && DISK=$(disks_of "$T" | head -n 1) && [[ -n $DISK ]]
}

# The disk of tcm_loop's SCSI host.
lsscsi_loop() {
	local h
	for h in /sys/class/scsi_host/host*; do
		[[ $(cat "$h/proc_name" 2>/dev/null) == tcm_loopback ]] || continue
		basename "$(ls -d "$h"/device/target*/*/block/sd* 2>/dev/null | head -n 1)"
		return 0
	done
	return 1
}

down() {
	case $1 in
	ours | nostats | srq | stock)
		iscsiadm -m node -T "$T" -p "$PORTAL" -u >/dev/null 2>&1
		iser_off
		rm -f /etc/modprobe.d/iser-bench.conf
		if [[ $1 == stock ]]; then mods_unload ib_isert; else mods_unload iser_target; fi
		;;
	tcp)
		iscsiadm -m node -T "$T" -p "$PORTAL" -I default -u >/dev/null 2>&1
		;;
	loop)
		local l=$CFS/loopback/$LOOP_WWN/tpgt_1
		rm -f "$l/lun/lun_0/null0"
		rmdir "$l/lun/lun_0" 2>/dev/null
		# The nexus holds the TPG and the module: drop it first.
		[[ -e $l/nexus ]] && echo NULL >"$l/nexus"
		rmdir "$l" 2>/dev/null
		rmdir "$CFS/loopback/$LOOP_WWN" 2>/dev/null
		# The fabric's own directory holds a reference on tcm_loop.
		rmdir "$CFS/loopback" 2>/dev/null
		[[ ! -e $CFS/loopback ]]
		;;
	esac
}

busy_jiffies() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 }' /proc/stat
}

# fio_workload NAME RW BS QD JOBS MIX [FIO OPTION...]: one timed fio run
# on DISK.
fio_workload() {
	local name=$1 rw=$2 bs=$3 qd=$4 jobs=$5 mix=$6 extra=()
	shift 6
	[[ -n $mix ]] && extra=(--rwmixread="$mix")
	(cd /tmp && fio --name="$name" --filename="/dev/$DISK" --ioengine=libaio \
		--direct=1 --rw="$rw" --bs="$bs" --iodepth="$qd" --numjobs="$jobs" \
		--group_reporting --time_based --runtime="$RUNTIME" --size=512M \
		"${extra[@]}" "$@")
}

# run TRANSPORT ROUND NAME RW BS QD JOBS [MIX]: one fio run. Its JSON
# report goes to $ISER_OUT/raw/, and one line describing it to bench.jsonl
# with the CPU time the guest spent meanwhile; tools/dev/bench.sh reads both.
run() {
	local tr=$1 round=$2 name=$3 j0 j1 raw
	raw=raw/$tr-$round-$name.json
	j0=$(busy_jiffies)
	fio_workload "${@:3:6}" --output-format=json --output="$ISER_OUT/$raw" || return 1
	j1=$(busy_jiffies)
	printf '{"transport": "%s", "round": %d, "workload": "%s", "fio": "%s", "busy_jiffies": %d, "hz": %d}\n' \
		"$tr" "$round" "$name" "$raw" "$((j1 - j0))" "$(getconf CLK_TCK)" >>"$OUT"
}

# by_module: perf's per-symbol percentages (stdin) summed per kernel module;
# "kernel" is the core kernel, "user" every user-space symbol.
by_module() {
	awk 'FNR == NR { if (NF == 4) { gsub(/[][]/, "", $4); mod[$3] = $4 }; next }
		$1 ~ /%$/ {
			p = $1; sub(/%/, "", p)
			m = $2 == "[k]" ? ($3 in mod ? mod[$3] : "kernel") : "user"
			sum[m] += p
		}
		END { for (m in sum) printf "%7.2f%%  %s\n", sum[m], m }' /proc/kallsyms - |
		sort -rn
}

# profile TRANSPORT NAME RW BS QD JOBS [MIX]: where the guest's CPU time
# goes during one more run of a workload, by module and by symbol.
profile() {
	local tr=$1 name=$3 txt=$ISER_OUT/profile-$1-$3.txt
	if ! command -v perf >/dev/null; then
		echo "profile of $name skipped: perf is not installed"
		return 0
	fi
	# System-wide, for exactly as long as the workload runs: perf starts
	# the workload itself once it samples.
	DISK=$DISK RUNTIME=$RUNTIME perf record -q -a -e cpu-clock -F 499 -o /tmp/bench.perf -- \
		bash -c "$(declare -f fio_workload)"'; fio_workload "$@"' fio_workload \
		"${@:3:6}" --output=/dev/null || return 1
	{
		echo "# $tr $name: guest CPU time by kernel module (from /proc/kallsyms), then the top symbols"
		perf report -i /tmp/bench.perf --stdio --sort sym 2>/dev/null |
			grep -v '^#' | by_module
		echo
		perf report -i /tmp/bench.perf --stdio --sort dso,sym --percent-limit 0.5 2>/dev/null |
			grep -v '^#' | grep . | head -n 40
	} >"$txt"
	rm -f /tmp/bench.perf
	grep -q '%' "$txt"
}

# Kernel memory one idle connection costs, target and initiator side
# together (same kernel; tests/guest/bench-mem.sh measures the target's
# alone): mem_per_idle_conn over SESSIONS sessions, as all, slab and
# vmalloc (rxe's queues, both sides).
mem_per_conn() {
	local tr=$1 m=()
	case $tr in ours | srq | stock) ;; *) return 0 ;; esac
	read -ra m <<<"$(mem_per_idle_conn "$T" "$SESSIONS")"
	((${#m[@]} == 3)) || return 1
	printf '{"transport": "%s", "workload": "mem-per-idle-conn", "kib": %d, "slab_kib": %d, "vmalloc_kib": %d}\n' \
		"$tr" "${m[0]}" "${m[1]}" "${m[2]}" >>"$OUT"
}

bench_round() {
	local round=$1 tr name rw bs qd jobs mix
	for tr in $TRANSPORTS; do
		up "$tr" || {
			echo "$tr: could not bring the LUN up"
			down "$tr"
			return 1
		}
		echo "round $round: $tr on /dev/$DISK"
		while read -r name rw bs qd jobs mix; do
			[[ -n $name ]] || continue
			run "$tr" "$round" "$name" "$rw" "$bs" "$qd" "$jobs" "$mix" || {
				echo "$tr $name failed"
				down "$tr"
				return 1
			}
			if ((round == 1)) && [[ $tr == ours || $tr == stock ]] &&
				[[ " $PROFILE " == *" $name "* ]]; then
				profile "$tr" "$round" "$name" "$rw" "$bs" "$qd" "$jobs" "$mix" ||
					echo "$tr $name: profile failed"
			fi
		done <<<"$WORKLOADS"
		((round == 1)) && [[ ${ISER_BENCH_MEM:-1} == 1 ]] &&
			{ mem_per_conn "$tr" || echo "$tr: memory measurement failed"; }
		down "$tr"
	done
}

all_figures() {
	local want got
	want=$(($(grep -c . <<<"$WORKLOADS") * ROUNDS * $(wc -w <<<"$TRANSPORTS")))
	got=$(grep -c '"round"' "$OUT")
	echo "$got of $want measurements"
	((got == want))
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
: >"$OUT"
mkdir -p "$ISER_OUT/raw"
tap_diag "transports: $TRANSPORTS; $ROUNDS round(s) of ${RUNTIME}s per workload"
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step lio "null-backed LUN, iSER/TCP portal, tcm_loop, initiator" setup
for r in $(seq "$ROUNDS"); do
	check "round $r: every transport and workload measured" bench_round "$r"
done
check "every figure produced" all_figures
undo lio "iscsid stopped" initiator_stop
undo lio "LIO configuration removed" lio_clear
undo lio "unload modules" mods_unload ib_iser iscsi_tcp libiscsi_tcp libiscsi \
	scsi_transport_iscsi tcm_loop
undo lio "unload LIO" unload_lio
undo rxe "remove rxe links and veth pair" rxe_teardown
undo rxe "unload rdma_rxe and the RDMA core" unload_rdma
tap_run "unload every module loaded since boot" unload_new_modules "$MODULES_BEFORE"
tap_plan
((TAP_FAIL == 0))
