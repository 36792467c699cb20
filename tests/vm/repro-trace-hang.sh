#!/bin/bash
# Usage: KVER=6.1.0-56-amd64 tests/vm/run-vm.sh tests/vm/repro-trace-hang.sh
# Reproducer, without iser_target or any RDMA module, of a guest hang seen
# on Debian's 6.1 kernel under QEMU TCG: enabling a trace event also hooks
# sched_switch to record command names, which live-patches __schedule
# (text_poke_bp); within a few hundred toggles one CPU waits for ever in
# smp_call_function_many_cond for the other, which never answers. With
# ISER_NO_RECORD_CMD=1 tracing does not record command names, nothing in
# __schedule is patched, and the toggles complete. This is why
# tests/guest/iser-stats.sh turns record-cmd off before it enables events.
set -u
# shellcheck source-path=SCRIPTDIR source=../guest/tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
TRACE=/sys/kernel/tracing
N=${ISER_TOGGLES:-300}
mountpoint -q $TRACE || mount -t tracefs none $TRACE
if [[ -n ${ISER_NO_RECORD_CMD:-} ]]; then
	echo 0 >$TRACE/options/record-cmd
	tap_diag "record-cmd off"
fi
# Keep both CPUs scheduling.
(while :; do dd if=/dev/zero of=/dev/null bs=4k count=2000 status=none; done) &
(while :; do dd if=/dev/zero of=/dev/null bs=512 count=1 status=none; done) &
for i in $(seq "$N"); do
	echo 1 >$TRACE/events/signal/enable
	echo 0 >$TRACE/events/signal/enable
	((i % 50)) || tap_diag "toggled $i times"
done
tap_ok "trace event toggled $N times without a hang"
kill %1 %2
tap_plan
