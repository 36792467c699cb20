#!/bin/bash
# vm-timeout: 600
# Guest half of `make demo` (tools/dev/demo.sh): export a ramdisk LUN over
# iSER with targetcli, log in with the Linux iSER initiator, write and
# verify data, measure a little, tear down. Besides TAP it writes a
# human-readable summary to $ISER_OUT/summary.txt.
# shellcheck source-path=SCRIPTDIR
set -u
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"

summary=$ISER_OUT/summary.txt
: >"$summary"

# section TITLE CMD...: append CMD's output to the summary under TITLE.
section() {
	local title=$1 out rc
	shift
	out=$("$@" 2>&1) && rc=0 || rc=$?
	printf -- '--- %s\n%s\n\n' "$title" "$out" >>"$summary"
	echo "$out"
	return "$rc"
}

# What actually served the portal, from /proc/modules, not from ISER_IMPL.
served_by() {
	local mods
	mods=$(grep -oE '^(ib_isert|iser_target) ' /proc/modules | xargs)
	case $mods in
	ib_isert) echo "iSER target transport: ib_isert, the kernel's stock module (ISER_IMPL=$ISER_IMPL)" ;;
	iser_target) echo "iSER target transport: iser_target, this project's module (ISER_IMPL=$ISER_IMPL)" ;;
	*) echo "iSER target transport: unexpected modules loaded: '$mods'"; return 1 ;;
	esac
	[[ $mods == "$TRANSPORT_MOD" ]]
}

# perf TITLE RW BS QD: 10 s of direct libaio I/O; summarises fio's
# IOPS/bandwidth line.
perf() {
	local title=$1 rw=$2 bs=$3 qd=$4 out line
	out=$(cd /tmp && timeout "$CMD_TIMEOUT" fio --name="$rw-$bs" --filename="/dev/$DISK" --ioengine=libaio \
		--direct=1 --rw="$rw" --bs="$bs" --iodepth="$qd" --runtime=10 --time_based) || {
		echo "$out"
		return 1
	}
	line=$(grep -m1 -E '^ +(read|write): IOPS=' <<<"$out") || return 1
	printf '%-34s %s\n' "$title:" "${line#*: }" | tee -a "$summary"
}

tap_diag "$(transport_banner)"
iser_setup
check "transport that served the portal" section "Transport" served_by
check "fio crc32c write+verify $VERIFY_MB MiB bs=128k" fio_verify 128k write
check "targetcli ls" section "targetcli ls" targetcli ls
check "iscsiadm -m session -P 1" section "iscsiadm -m session -P 1" iscsiadm -m session -P 1
echo "--- fio, 10 s each, /dev/$DISK (direct, libaio; TCG emulation: figures are indicative only)" >>"$summary"
check "fio 128k sequential read, QD16, 10 s" perf "128k sequential read, QD16" read 128k 16
check "fio 4k random read, QD32, 10 s" perf "4k random read, QD32" randread 4k 32
iser_teardown
tap_plan
((TAP_FAIL == 0))
