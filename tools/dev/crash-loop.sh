#!/usr/bin/env bash
# Reruns the benchmark's write workloads under QEMU's instruction clock, one
# guest boot per run and per transport, and counts how often the guest
# crashes (issue 21: a double fault once in ten instruction-clock benchmark
# runs). Transports take turns run after run, so that a slow drift of the
# host does not land on one of them. Each run is classified from its
# console log:
#   clean  the workloads ran and the guest shut down normally
#   crash  a panic, oops, BUG, KASAN or UBSAN report, or list corruption
#   fail   anything else (a fio error, a set-up failure, a guest timeout,
#          a warning in the kernel log)
# The crash signature (the first report line and the RIP) and the console
# logs of crashed runs are kept in build/crash-loop/. Prints one line per
# run, then per transport "runs, crashes, fails, crash rate", and ends with
# "N passed, N failed" where a crash or a fail counts as failed.
#
# Environment:
#   RUNS=N            runs per transport (default 10)
#   TRANSPORTS="..."  among ours stock tcp (default: all three)
#   WORKLOADS="..."   bench workload names (default: the write workloads)
#   RUNTIME=S         seconds of guest time per workload (default 10)
#   ROUNDS=N          rounds of the workloads in one boot (default 1)
#   KVER              Debian kernel to boot (default: tools/dev/kver.sh)
#   ISER_VM_KTREE=DIR the debug kernel of tools/dev/debug-kernel.sh instead
#                     (KASAN, booted with kasan_multi_shot); it does not
#                     boot under the instruction clock here: use ICOUNT=0
#   ICOUNT=0          plain multi-threaded TCG instead, for comparison
# Each run takes 3-6 minutes of wall time on 2 cores with the defaults.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1

runs=${RUNS:-10}
transports=${TRANSPORTS:-"ours stock tcp"}
workloads=${WORKLOADS:-"rand-write-4k-qd1 rand-write-4k-qd32 seq-write-128k-qd16 seq-write-1m-qd16 mixed-70-30-8k-qd32"}
outdir=$repo/build/crash-loop
mkdir -p "$outdir"

if [[ -n ${ISER_VM_KTREE:-} ]]; then
	kver=$(cat "$ISER_VM_KTREE/kver") || exit 1
	kdir=$ISER_VM_KTREE/src
	export ISER_VM_SLOW=${ISER_VM_SLOW:-3}
else
	kver=${KVER:-$(tools/dev/kver.sh)} || exit 1
	kdir=/usr/src/linux-headers-$kver
fi
make -s --no-print-directory KDIR="$kdir" KVER="$kver" >/dev/null || {
	echo "not ok build iser_target for $kver"
	exit 1
}

export ISER_VM_ICOUNT=${ICOUNT:-1}
# The emulator's fault follows CMPXCHG16B, which the test bed now hides:
# offer it, or nothing can be reproduced.
export ISER_VM_CX16=${ISER_VM_CX16:-1}
# As the benchmark boots: slab debugging would change the timing.
export ISER_VM_SLUB_DEBUG=${ISER_VM_SLUB_DEBUG-}
export ISER_BENCH_ROUNDS=${ROUNDS:-1} ISER_BENCH_RUNTIME=${RUNTIME:-10}
export ISER_BENCH_SESSIONS=1 ISER_BENCH_WORKLOADS=$workloads ISER_BENCH_MEM=0
# Boot, set-up and teardown take a few guest minutes; each workload
# RUNTIME seconds of guest time, which the instruction clock stretches.
export ISER_VM_TIMEOUT=$((900 + ISER_BENCH_ROUNDS * ISER_BENCH_RUNTIME * 5 * 40))

crash_re='double fault|Kernel panic|BUG:|Oops|general protection fault|KASAN|UBSAN|list_add corruption|list_del corruption|unable to handle|stack-protector'

# impossible_eflags CONSOLE: prints the first EFLAGS of a register dump
# that no x86 CPU can hold (bits 22 to 31 are reserved and read as zero):
# the mark of the emulator's corrupted RFLAGS (Documentation/testing.rst).
impossible_eflags() {
	local v
	for v in $(grep -oE 'EFLAGS: [0-9a-f]+' "$1" 2>/dev/null | cut -d' ' -f2); do
		if ((16#$v >= 0x400000)); then
			echo "0x$v"
			return
		fi
	done
}

# classify CONSOLE LOG: prints "clean", "crash: SIGNATURE" or "fail: WHY",
# the last two followed by the impossible EFLAGS if the console has one.
classify() {
	local console=$1 log=$2 sig emu
	emu=$(impossible_eflags "$console")
	emu=${emu:+ [emulator: EFLAGS $emu]}
	sig=$(grep -m1 -E "$crash_re" "$console" 2>/dev/null | sed 's/^\[ *[0-9.]*\] //')
	if [[ -n $sig ]]; then
		local rip
		rip=$(grep -m1 -E 'RIP: 0010:' "$console" | sed 's/^.*RIP: 0010://')
		echo "crash: $sig${rip:+ (RIP $rip)}$emu"
	elif grep -q '^not ok' "$log"; then
		echo "fail: $(grep -m1 '^not ok' "$log" | cut -c1-120)$emu"
	elif ! grep -q 'suite completed' "$log"; then
		echo "fail: no result$emu"
	else
		echo clean
	fi
}

declare -A n_run n_crash n_fail
for tr in $transports; do
	n_run[$tr]=0 n_crash[$tr]=0 n_fail[$tr]=0
done
: >"$outdir/runs.txt"
mode=$([[ $ISER_VM_ICOUNT == 1 ]] && echo "instruction clock" || echo "multi-threaded TCG")
echo "# $kver, $mode, $runs run(s) per transport of: $workloads (${ISER_BENCH_RUNTIME}s each, ${ISER_BENCH_ROUNDS} round(s) per boot)"
for i in $(seq "$runs"); do
	for tr in $transports; do
		name=crash-loop-$tr
		start=$SECONDS
		ISER_BENCH_TRANSPORTS=$tr tests/vm/run-vm.sh tests/guest/bench.sh "$name" \
			>"$outdir/$tr-$i.log" 2>&1
		v=$(classify "build/vm/out/$name/console.log" "$outdir/$tr-$i.log")
		n_run[$tr]=$((n_run[$tr] + 1))
		case $v in
		crash*)
			n_crash[$tr]=$((n_crash[$tr] + 1))
			cp "build/vm/out/$name/console.log" "$outdir/$tr-$i.console.log"
			;;
		fail*)
			n_fail[$tr]=$((n_fail[$tr] + 1))
			cp "build/vm/out/$name/console.log" "$outdir/$tr-$i.console.log"
			;;
		esac
		printf '%-6s run %2d: %s (%d s)\n' "$tr" "$i" "$v" "$((SECONDS - start))" |
			tee -a "$outdir/runs.txt"
	done
done

{
	echo "# transport  runs  crashes  fails  crash rate"
	for tr in $transports; do
		printf '# %-9s %5d %8d %6d  %d/%d\n' "$tr" "${n_run[$tr]}" "${n_crash[$tr]}" \
			"${n_fail[$tr]}" "${n_crash[$tr]}" "${n_run[$tr]}"
	done
} | tee "$outdir/summary.txt"
passed=$(awk '/^# [a-z]/ && $3 ~ /^[0-9]+$/ { p += $3 - $4 - $5 } END { print p + 0 }' "$outdir/summary.txt")
failed=$(awk '/^# [a-z]/ && $3 ~ /^[0-9]+$/ { f += $4 + $5 } END { print f + 0 }' "$outdir/summary.txt")
echo "$passed passed, $failed failed"
((failed == 0))
