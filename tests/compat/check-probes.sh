#!/bin/bash
# Checks the compile-time probes' verdicts (iser_compat_auto.h, written by
# drivers/target/iser/compat/probe.sh during a build) against what the
# kernel's headers show by other means, so that a probe that breaks (it
# fails to compile for a reason of its own) cannot go unnoticed.
#
# Usage: check-probes.sh GENERATED-HEADER KDIR
set -u
hdr=$1 kdir=$2
[[ -r $hdr ]] || { echo "$hdr was not generated"; exit 1; }

# The source tree of KDIR: Debian's arch header package includes the
# common one from its Makefile; an O= build tree links it as source.
src=$kdir
if [[ -e $kdir/source ]]; then
	src=$(readlink -f "$kdir/source")
elif common=$(sed -n 's/^include \(.*\)\/Makefile$/\1/p' "$kdir/Makefile" 2>/dev/null) &&
	[[ -n $common ]]; then
	src=$common
fi
[[ -d $src/include/linux ]] || { echo "no kernel headers under $src"; exit 1; }

bad=0
# expect NAME yes|no WHY
expect() {
	local got=no
	grep -q "^#define ISER_HAVE_$1 1$" "$hdr" && got=yes
	if [[ $got == "$2" ]]; then
		echo "ISER_HAVE_$1: $got ($3)"
	else
		echo "ISER_HAVE_$1: probe says $got, but $3"
		bad=1
	fi
}

if [[ -e $src/include/linux/unaligned.h ]]; then
	expect LINUX_UNALIGNED_H yes "$src/include/linux/unaligned.h exists"
else
	expect LINUX_UNALIGNED_H no "$src/include/linux/unaligned.h does not exist"
fi
if grep -q 'struct target_cmd_counter[[:space:]]*\*cmd_cnt;' \
	"$src/include/target/iscsi/iscsi_target_core.h"; then
	expect CONN_CMD_COUNTER yes "struct iscsit_conn has cmd_cnt"
else
	expect CONN_CMD_COUNTER no "struct iscsit_conn has no cmd_cnt"
fi
if grep -q 'ib_cq_pool_get' "$src/include/rdma/ib_verbs.h"; then
	expect CQ_POOL yes "ib_verbs.h declares ib_cq_pool_get()"
else
	expect CQ_POOL no "ib_verbs.h does not declare ib_cq_pool_get()"
fi
# Every probe has a verdict line, and nothing else is claimed.
probes=$(find "$(dirname "$0")/../../drivers/target/iser/compat/probes" -name '*.c' | wc -l)
lines=$(grep -cE '^(#define ISER_HAVE_|/\* ISER_HAVE_)' "$hdr")
if ((probes != lines)); then
	echo "$probes probes but $lines verdicts in $hdr"
	bad=1
fi
exit "$bad"
