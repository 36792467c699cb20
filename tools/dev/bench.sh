#!/usr/bin/env bash
# What `make bench` runs: one guest boot measuring iser_target, the stock
# ib_isert, iSCSI/TCP and tcm_loop with the same fio workloads (see
# tests/guest/bench.sh), then a boot of two guests measuring the target's
# own memory per idle connection (tests/guest/bench-mem.sh), then a table
# of medians and ratios, also written to build/bench.json. QUICK=1 runs one short round (what make check does:
# it checks that every figure is produced, never a speed).
#
# COST=1 measures instead the exact work per I/O on the target alone
# (tests/guest/cost.sh, two guests; tools/dev/cost-report.py): verbs
# calls counted by kprobes, instructions by a QEMU plugin
# (tools/dev/insn-count.c) in the target's guest; IOS per
# workload (default 4000), ROUNDS (default 2), TRANSPORTS (default
# "ours stock"; also srq, and nostats: iser_target with stats=0).
#
# ICOUNT=1 measures 4 KiB latency at queue depth 1 for iser_target and
# ib_isert in one guest on QEMU's instruction clock (ISER_VM_ICOUNT=1:
# guest time is executed instructions, idle time skipped), RUNTIME
# (default 2) guest seconds per run, ROUNDS (default 3); the table goes to
# build/bench-icount.txt and build/bench-icount.json, build/bench.json is
# left alone.
#
# Environment: QUICK=1; ROUNDS (default 3), RUNTIME seconds per run
# (default 10), TRANSPORTS, KVER, ISER_VM_KVM; PROFILE="WORKLOAD ..." to
# profile those workloads with perf for iser_target and ib_isert
# (build/vm/out/bench/profile-*.txt).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source=../../tests/guest/tap.sh
. tests/guest/tap.sh

# The other suites' slab debugging would be measured too.
export ISER_VM_SLUB_DEBUG=${ISER_VM_SLUB_DEBUG-}

# Builds iser_target for the guest's kernel, or stops the bench.
build_module() {
	local kver

	kver=$(tools/dev/kver.sh) || exit 1
	make -s --no-print-directory KVER="$kver" >/dev/null || {
		tap_not_ok "bench: build iser_target for $kver"
		exit 1
	}
}

# COST=1: the exact per-I/O verbs counts on the target alone instead
# (tests/guest/cost.sh across two guests), merged into build/bench.json.
if [[ ${COST:-0} == 1 ]]; then
	export ISER_COST_IOS=${IOS:-4000} ISER_COST_ROUNDS=${ROUNDS:-2}
	export ISER_COST_TRANSPORTS=${TRANSPORTS:-"ours stock"}
	build_module
	# The instruction-counting QEMU plugin, for the target's guest.
	make -s --no-print-directory build/insn-count.so || {
		tap_not_ok "bench: build the instruction-counting plugin"
		exit 1
	}
	ISER_VM_INSN_COUNT=$repo/build/insn-count.so ISER_TOPOLOGY=two \
		tests/vm/run-vm.sh tests/guest/cost.sh bench-cost
	rc=$?
	if python3 tools/dev/cost-report.py build/vm/out/bench-cost build/bench.json \
		"$ISER_COST_TRANSPORTS" "$ISER_COST_ROUNDS" >build/cost.txt; then
		tap_ok "bench: every count produced, in build/bench.json (cost)"
	else
		tap_not_ok "bench: every count produced"
		rc=1
	fi
	tap_diag <build/cost.txt
	exit "$rc"
fi

if [[ ${ICOUNT:-0} == 1 ]]; then
	export ISER_VM_ICOUNT=1 ISER_BENCH_ROUNDS=${ROUNDS:-3}
	export ISER_BENCH_RUNTIME=${RUNTIME:-2} ISER_BENCH_SESSIONS=4
	export ISER_BENCH_TRANSPORTS=${TRANSPORTS:-"ours stock"}
	export ISER_BENCH_WORKLOADS=${ISER_BENCH_WORKLOADS:-"rand-read-4k-qd1 rand-write-4k-qd1"}
	build_module
	ISER_VM_TIMEOUT=1500 tests/vm/run-vm.sh tests/guest/bench.sh bench-icount
	rc=$?
	if python3 tools/dev/bench-report.py build/vm/out/bench-icount \
		build/bench-icount.json "$ISER_BENCH_TRANSPORTS" "$ISER_BENCH_ROUNDS" \
		>build/bench-icount.txt; then
		tap_ok "bench: every latency on the instruction clock, in build/bench-icount.json"
	else
		tap_not_ok "bench: every latency on the instruction clock"
		rc=1
	fi
	tap_diag <build/bench-icount.txt
	exit "$rc"
fi

# QUICK runs 1 s per workload and leaves nostats and srq out: make check
# has no time for them, and each differs from ours by one module
# parameter.
# Four workloads of ten (a 4 KiB read at depth 1 and write at 32, a
# sequential read, the mix) take every path of the guest script and of
# the report.
if [[ ${QUICK:-0} == 1 ]]; then
	export ISER_BENCH_ROUNDS=1 ISER_BENCH_RUNTIME=1 ISER_BENCH_SESSIONS=4
	export ISER_BENCH_TRANSPORTS=${TRANSPORTS:-"ours stock tcp loop"}
	export ISER_BENCH_WORKLOADS=${ISER_BENCH_WORKLOADS:-"rand-read-4k-qd1 rand-write-4k-qd32 seq-read-128k-qd16 mixed-70-30-8k-qd32"}
else
	export ISER_BENCH_ROUNDS=${ROUNDS:-3} ISER_BENCH_RUNTIME=${RUNTIME:-10}
	export ISER_BENCH_SESSIONS=${SESSIONS:-16}
	export ISER_BENCH_TRANSPORTS=${TRANSPORTS:-"ours stock tcp loop nostats srq"}
fi
export ISER_BENCH_PROFILE=${PROFILE:-}
build_module
timeout_s=$((600 + ISER_BENCH_ROUNDS * ISER_BENCH_RUNTIME * 10 * 4 * 3))
ISER_VM_TIMEOUT=$timeout_s tests/vm/run-vm.sh tests/guest/bench.sh bench
rc=$?
# The target's own memory per idle connection, in a second boot of two
# guests (tests/guest/bench-mem.sh); a few minutes more than make check's
# quick round is there for.
mem_dir=
if [[ ${QUICK:-0} == 1 ]]; then
	tap_skip "bench: target-only memory per idle connection (two guests)" \
		"QUICK=1; make bench measures it"
else
	ISER_TOPOLOGY=two tests/vm/run-vm.sh tests/guest/bench-mem.sh bench-mem || rc=1
	mem_dir=build/vm/out/bench-mem
fi
mkdir -p build
if python3 tools/dev/bench-report.py build/vm/out/bench build/bench.json \
	"$ISER_BENCH_TRANSPORTS" "$ISER_BENCH_ROUNDS" $mem_dir >build/bench.txt; then
	tap_ok "bench: every figure produced, summary in build/bench.json"
else
	tap_not_ok "bench: every figure produced"
	rc=1
fi
tap_diag <build/bench.txt
for p in build/vm/out/bench/profile-*.txt; do
	[[ -e $p ]] && tap_diag "profile: $p"
done
exit "$rc"
