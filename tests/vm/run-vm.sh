#!/usr/bin/env bash
# Usage: run-vm.sh SCRIPT [NAME]
# Boot the Debian kernel (tools/dev/kver.sh) in QEMU with the host root as a
# read-only 9p root under a tmpfs overlay, run the guest script SCRIPT (a
# TAP-producing bash script under the host root) and print its checks as
# TAP, followed by "vm:NAME: suite completed" and "vm:NAME: dmesg clean".
# Results, console log and full dmesg are left in build/vm/out/NAME/.
# Exit status is non-zero if any check failed.
#
# Environment:
#   ISER_VM_KVM=1      use KVM instead of TCG (does not boot on every host)
#   ISER_VM_TIMEOUT=S  kill the guest after S seconds (default: the
#                      script's "# vm-timeout: S" line, else 600)
#   ISER_VM_KTREE=DIR  boot the kernel built by tools/dev/debug-kernel.sh in DIR
#                      (its vmlinuz, kver and modroot/) instead of Debian's
#   ISER_VM_SLOW=N     multiply the timeout by N (the debug kernel is slow)
#   ISER_VM_SLUB_DEBUG=FLAGS  slub_debug flags (default FZPU; empty: none,
#                      as the benchmark boots, since they cost CPU)
#   ISER_VM_ICOUNT=1   QEMU's instruction clock (one vCPU thread, guest time
#                      counts executed instructions): another timing, and
#                      repeatable costs (tools/dev/crash-loop.sh, issue 21)
#   ISER_*             passed through to the guest (e.g. ISER_IMPL)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../guest/tap.sh
. "$repo/tests/guest/tap.sh"

script=$(realpath "$1")
name=${2:-$(basename "$script" .sh)}
if [[ -n ${ISER_VM_KTREE:-} ]]; then
	kver=$(cat "$ISER_VM_KTREE/kver")
	kernel=$ISER_VM_KTREE/vmlinuz
	export ISER_MODROOT=$ISER_VM_KTREE/modroot
else
	kver=$("$repo/tools/dev/kver.sh")
	kernel=/boot/vmlinuz-$kver
	export ISER_MODROOT=/
fi
initrd=$("$here/mkinitramfs.sh" "$kver")
out=$repo/build/vm/out/$name

timeout=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$script" | head -n 1)
timeout=${ISER_VM_TIMEOUT:-$((${timeout:-600} * ${ISER_VM_SLOW:-1}))}

rm -rf "$out"
mkdir -p "$out"
modstage=
if [[ -e $repo/iser_target.ko ]]; then
	modstage=$("$here/stage-modules.sh" "$kver" "$repo/iser_target.ko")
fi
{
	printf 'ISER_MODSTAGE=%q\n' "$modstage"
	printf 'ISER_REPO=%q\n' "$repo"
	printf 'ISER_SUITE=%q\n' "$script"
	printf 'ISER_OUT=%q\n' "$out"
	# A kernel of our own has its modules outside the host's /lib/modules.
	[[ $ISER_MODROOT == / ]] || printf 'ISER_VM_MODDIR=%q\n' "$ISER_MODROOT/lib/modules/$kver"
	# Shortly before the guest would be killed, it dumps its tasks.
	printf 'ISER_VM_WATCHDOG=%q\n' "$((timeout > 120 ? timeout - 60 : timeout / 2))"
	while IFS= read -r var; do
		printf '%s=%q\n' "$var" "${!var}"
	done < <(compgen -e | grep '^ISER_' || true)
} >"$out/job.env"

if [[ ${ISER_VM_KVM:-0} == 1 ]]; then
	accel=(-accel kvm -cpu host)
	mode=KVM
elif [[ ${ISER_VM_ICOUNT:-0} == 1 ]]; then
	accel=(-accel "tcg,thread=single" -icount "shift=0,sleep=off" -cpu max)
	mode="TCG with the instruction clock"
else
	accel=(-accel "tcg,thread=multi" -cpu max)
	mode=TCG
fi

# Splats must be seen, not hidden: warnings are logged and the run goes on
# (the detector fails it afterwards); an oops panics, and a panic ends QEMU
# at once (panic=-1 reboots, -no-reboot turns that into an exit).
# loglevel=5 puts warnings and worse on the console without info chatter.
slub=${ISER_VM_SLUB_DEBUG-FZPU}
cmdline="console=ttyS0 loglevel=5 log_buf_len=4M${slub:+ slub_debug=$slub} oops=panic panic=-1"
cmdline+=" iser_init=$here/guest-init.sh iser_out=$out"
# -cpu max offers 5-level paging, and 6.1's identify_cpu() zeroes the boot
# CPU's feature bits for a moment while it probes them again. An interrupt
# in that window finds pgtable_l5_enabled() false, and KASAN, computing the
# shadow for 4-level addresses, reports a wild access on irq_desc's lock
# (seen twice in early boot on the debug kernel). The debug kernel
# boots with 4-level paging, which nothing here needs, so that window
# cannot produce a report.
# KASAN reports only its first bug unless told otherwise: that early-boot
# report once hid a later one (an rxe read past a map array in hostile's
# nop-flood). kasan_multi_shot makes every report count.
if [[ -n ${ISER_VM_KTREE:-} ]]; then
	cmdline+=" no5lvl kasan_multi_shot"
fi

tap_diag "vm:$name: kernel $kver under $mode, timeout ${timeout}s, output in ${out#"$repo"/}"
start=$SECONDS
qemu_rc=0
timeout -k 10 "$timeout" qemu-system-x86_64 \
	"${accel[@]}" -smp 2 -m 2G \
	-nic none -display none -vga none -monitor none -no-reboot \
	-serial "file:$out/console.log" \
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline" \
	-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
	-virtfs "local,path=$out,mount_tag=iserout,security_model=none" \
	</dev/null >"$out/qemu.log" 2>&1 || qemu_rc=$?
tap_diag "vm:$name: guest ran for $((SECONDS - start))s"
# An EFLAGS with any of bits 22-31 set exists on no x86 CPU: the emulator
# corrupted RFLAGS, and whatever failed after it is not the suite's fault.
for v in $(grep -oE 'EFLAGS: [0-9a-f]+' "$out/console.log" 2>/dev/null | cut -d' ' -f2); do
	if ((16#$v >= 0x400000)); then
		tap_diag "vm:$name: the console shows EFLAGS 0x$v, which no x86 CPU can hold: QEMU corrupted RFLAGS (see Documentation/testing.rst)"
		break
	fi
done

if [[ -e $out/tap.txt ]]; then
	tap_relay "$name: " <"$out/tap.txt"
fi

if [[ -e $out/exit-status ]]; then
	tap_ok "vm:$name: suite completed"
else
	tap_not_ok "vm:$name: suite completed"
	if ((qemu_rc == 124)); then
		tap_diag "guest killed after ${timeout}s (ISER_VM_TIMEOUT)"
	else
		tap_diag "guest stopped before the suite finished (QEMU exit status $qemu_rc)"
	fi
	if [[ -s $out/dmesg-hang.txt ]]; then
		tap_diag "tasks blocked when the watchdog fired (all tasks in $out/dmesg-hang.txt):"
		awk '/ state:D /, /<\/TASK>/' "$out/dmesg-hang.txt" | head -n 120 | tap_diag
	fi
	tap_diag "last lines of the console log:"
	tail -n 40 "$out/console.log" | tap_diag
	tail -n 5 "$out/qemu.log" | tap_diag
fi

# Only a kernel with kmemleak writes this (after a scan at the end).
# leak-check.py excuses the reports of known-leaks.txt (code outside this
# module, attributed through the module addresses the guest recorded).
if [[ -e $out/kmemleak.txt ]]; then
	if leaks=$(python3 "$here/leak-check.py" "$out/kmemleak.txt" "$out/modules.txt"); then
		tap_ok "vm:$name: kmemleak found no leak"
		[[ -n $leaks ]] && tap_diag <<<"$leaks"
	else
		tap_not_ok "vm:$name: kmemleak found no leak"
		tap_diag <<<"$leaks"
		head -n 60 "$out/kmemleak.txt" | tap_diag
	fi
fi

logs=()
[[ -s $out/console.log ]] && logs+=("$out/console.log")
[[ -e $out/dmesg.txt ]] && logs+=("$out/dmesg.txt")
if ((${#logs[@]} == 0)); then
	tap_skip "vm:$name: dmesg clean" "the guest produced no kernel log"
elif splats=$("$here/splat-check.sh" "${logs[@]}"); then
	tap_ok "vm:$name: dmesg clean"
	[[ -z $splats ]] || tap_diag <<<"$splats"
else
	tap_not_ok "vm:$name: dmesg clean"
	tap_diag <<<"$splats"
fi
if [[ ! -e $out/dmesg.txt && -s $out/console.log ]]; then
	tap_diag "no dmesg came back; only the console log was checked"
fi

((TAP_FAIL == 0))
