#!/usr/bin/env bash
# Unit tests of splat-check.sh on made-up logs: it must flag each kind of
# kernel report, pass a clean log, and not take a suite's TAP diagnostics
# (which may name a checker's slab cache) for the kernel's words.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0 failed=0

# expect NAME RC LINE...: splat-check.sh on a log of these lines exits RC.
expect() {
	local name=$1 want=$2 rc
	shift 2
	printf '%s\n' "$@" >"$tmp/log"
	"$here/splat-check.sh" "$tmp/log" >"$tmp/out" 2>&1
	rc=$?
	n=$((n + 1))
	if ((rc == want)); then
		echo "ok $n $name"
	else
		echo "not ok $n $name (exit $rc, wanted $want)"
		sed 's/^/# /' "$tmp/out"
		failed=$((failed + 1))
	fi
}

expect "a clean log passes" 0 \
	'[    1.000000] iser_target: listening for iSER on 192.168.77.1:3260'
expect "a kernel WARNING fails" 1 \
	'[    2.000000] WARNING: CPU: 1 PID: 27 at lib/refcount.c:28 refcount_warn_saturate'
expect "a KASAN report fails" 1 \
	'[    3.000000] BUG: KASAN: slab-use-after-free in iser_recv_done+0x10/0x20 [iser_target]'
expect "a kmemleak report fails" 1 \
	'[    4.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)'
expect "a hung task fails" 1 \
	'[  125.000000] INFO: task kworker/0:1:12 blocked for more than 120 seconds.'
expect "kmemleak's start-up line passes" 0 \
	'[    0.500000] kmemleak: Kernel memory leak detector initialized (mem pool available: 15874)'
expect "a TAP diagnostic naming kmemleak_object passes" 0 \
	'# unreclaimable slab: 59160 KiB before, 75236 KiB after; grew most: kmemleak_object +1848 KiB; '
expect "a kernel report after a TAP diagnostic still fails" 1 \
	'# grew most: kmemleak_object +1848 KiB; ' \
	'[    5.000000] WARNING: CPU: 0 PID: 1 at mm/slub.c:1 x'
expect "a report known-splats.txt excuses passes up to its end trace" 0 \
	'[    6.000000] workqueue: WQ_MEM_RECLAIM iscsi_ctrl_0:1:__iscsi_unbind_session [scsi_transport_iscsi] is flushing !WQ_MEM_RECLAIM pm:pm_runtime_work' \
	'[    6.000001] WARNING: CPU: 1 PID: 2 at kernel/workqueue.c:2 check_flush_dependency' \
	'[    6.000002] ---[ end trace 0000000000000000 ]---'
expect "a report after an excused one still fails" 1 \
	'[    6.000000] workqueue: WQ_MEM_RECLAIM iscsi_ctrl_0:1:__iscsi_unbind_session [scsi_transport_iscsi] is flushing !WQ_MEM_RECLAIM pm:pm_runtime_work' \
	'[    6.000002] ---[ end trace 0000000000000000 ]---' \
	'[    7.000000] BUG: unable to handle page fault for address: 0000000000000010'

echo "1..$n"
((failed == 0))
