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
#   ISER_VM_INSN_COUNT=SO  load that QEMU plugin (tools/dev/insn-count.c,
#                      built by tools/dev/bench.sh COST=1) into the guest,
#                      with two guests into the target's: exact instruction
#                      counts on request through its output share
#   ISER_TOPOLOGY=two  two guests of one vCPU each, joined by a virtio-net
#                      link (a QEMU stream netdev on a Unix socket): the
#                      target runs tests/vm/pair-agent.sh, the initiator
#                      runs SCRIPT and has the target side run there
#                      (tgt in tests/guest/lib.sh). The target guest's
#                      output is in build/vm/out/NAME/target/.
#   ISER_TARGET_KVER, ISER_INITIATOR_KVER  each guest's kernel with
#                      ISER_TOPOLOGY=two (default: the one kernel)
#   ISER_VM_MEM=SIZE   each guest's memory (default 2G; make scale's
#                      thousand sessions to ib_isert need more)
#   ISER_VM_CX16=1     offer CMPXCHG16B to a TCG guest (default: not; see
#                      below; tools/dev/crash-loop.sh and cx16-check.sh)
#   ISER_*             passed through to the guest (e.g. ISER_IMPL)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=../guest/tap.sh
. "$repo/tests/guest/tap.sh"

script=$(realpath "$1")
name=${2:-$(basename "$script" .sh)}
topology=${ISER_TOPOLOGY:-one}
if [[ -n ${ISER_VM_KTREE:-} ]]; then
	kver=$(cat "$ISER_VM_KTREE/kver")
	kernel=$ISER_VM_KTREE/vmlinuz
	export ISER_MODROOT=$ISER_VM_KTREE/modroot
	[[ $topology == one ]] || {
		echo "run-vm.sh: ISER_TOPOLOGY=$topology boots Debian's kernels only" >&2
		exit 2
	}
else
	kver=$("$repo/tools/dev/kver.sh")
	kernel=/boot/vmlinuz-$kver
	export ISER_MODROOT=/
fi
out=$repo/build/vm/out/$name

timeout=$(sed -n 's/^# vm-timeout: *\([0-9][0-9]*\).*/\1/p' "$script" | head -n 1)
timeout=${ISER_VM_TIMEOUT:-$((${timeout:-600} * ${ISER_VM_SLOW:-1}))}

# job_env KVER ROLE DIR: what guest-init.sh reads from the output share
# DIR.
job_env() {
	local k=$1 role=$2 dir=$3 modstage=
	if [[ -e $repo/iser_target.ko && $role != initiator ]]; then
		modstage=$("$here/stage-modules.sh" "$k" "$repo/iser_target.ko")
	fi
	printf 'ISER_MODSTAGE=%q\n' "$modstage"
	printf 'ISER_REPO=%q\n' "$repo"
	printf 'ISER_SUITE=%q\n' "$script"
	printf 'ISER_OUT=%q\n' "$dir"
	printf 'ISER_ROLE=%q\n' "$role"
	# A kernel of our own has its modules outside the host's /lib/modules.
	[[ $ISER_MODROOT == / ]] || printf 'ISER_VM_MODDIR=%q\n' "$ISER_MODROOT/lib/modules/$k"
	# Shortly before the guest would be killed, it dumps its tasks.
	printf 'ISER_VM_WATCHDOG=%q\n' "$((timeout > 120 ? timeout - 60 : timeout / 2))"
	while IFS= read -r var; do
		printf '%s=%q\n' "$var" "${!var}"
	done < <(compgen -e | grep '^ISER_' | grep -vE '^ISER_(ROLE|OUT)$' || true)
}

# Under TCG without CMPXCHG16B: QEMU 7.2 corrupted RFLAGS after SLUB's
# CMPXCHG16B under the instruction clock, under the counting plugin and,
# once (2026-12-07, the cost bench's initiator), under plain multi-threaded
# TCG, crashing the guest whatever the transport (Documentation/testing.rst,
# "What the test bed hits"). SLUB then takes its locked path instead.
# Under the counting plugin never: there it corrupted RFLAGS once in 24
# measurements.
cpu=max
if [[ ${ISER_VM_CX16:-0} != 1 || -n ${ISER_VM_INSN_COUNT:-} ]]; then
	cpu+=,cx16=off
fi
if [[ ${ISER_VM_KVM:-0} == 1 ]]; then
	accel=(-accel kvm -cpu host)
	mode=KVM
elif [[ ${ISER_VM_ICOUNT:-0} == 1 ]]; then
	accel=(-accel "tcg,thread=single" -icount "shift=0,sleep=off" -cpu "$cpu")
	mode="TCG with the instruction clock"
else
	accel=(-accel "tcg,thread=multi" -cpu "$cpu")
	mode=TCG
fi

# Splats must be seen, not hidden: warnings are logged and the run goes on
# (the detector fails it afterwards); an oops panics, and a panic ends QEMU
# at once (panic=-1 reboots, -no-reboot turns that into an exit).
# loglevel=5 puts warnings and worse on the console without info chatter.
slub=${ISER_VM_SLUB_DEBUG-FZPU}
cmdline="console=ttyS0 loglevel=5 log_buf_len=4M${slub:+ slub_debug=$slub} oops=panic panic=-1"
cmdline+=" iser_init=$here/guest-init.sh"
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

# guest KVER OUT SMP EXTRA...: boot one guest whose output share is OUT,
# in the foreground; its status is QEMU's (124: killed on the timeout).
guest() {
	local k=$1 dir=$2 smp=$3 kimg=$kernel initrd
	shift 3
	[[ -n ${ISER_VM_KTREE:-} ]] || kimg=/boot/vmlinuz-$k
	initrd=$("$here/mkinitramfs.sh" "$k")
	timeout -k 10 "$timeout" qemu-system-x86_64 \
		"${accel[@]}" -smp "$smp" -m "${ISER_VM_MEM:-2G}" \
		-display none -vga none -monitor none -no-reboot \
		-serial "file:$dir/console.log" \
		-kernel "$kimg" -initrd "$initrd" -append "$cmdline iser_out=$dir" \
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap" \
		-virtfs "local,path=$dir,mount_tag=iserout,security_model=none" \
		"$@" </dev/null >"$dir/qemu.log" 2>&1
}

# counting DIR: QEMU's arguments that load ISER_VM_INSN_COUNT, the
# instruction-counting plugin (tools/dev/insn-count.c), answering in DIR.
counting() {
	[[ -n ${ISER_VM_INSN_COUNT:-} ]] || return 0
	printf '%s\n' -plugin "file=$ISER_VM_INSN_COUNT,dir=$1"
}

# launch: boot the topology's guest(s) once, in the foreground; sets
# qemu_rc (and t_rc, the target's, for a pair).
launch() {
	rm -rf "$out"
	mkdir -p "$out"
	qemu_rc=0
	if [[ $topology == one ]]; then
		job_env "$kver" one "$out" >"$out/job.env"
		tap_diag "vm:$name: kernel $kver under $mode, timeout ${timeout}s, output in ${out#"$repo"/}"
		mapfile -t plugin < <(counting "$out")
		guest "$kver" "$out" 2 "${plugin[@]}" -nic none || qemu_rc=$?
	elif [[ $topology == two ]]; then
		t_kver=${ISER_TARGET_KVER:-$kver}
		i_kver=${ISER_INITIATOR_KVER:-$kver}
		tout=$out/target
		pair=$out/pair
		mkdir -p "$tout" "$pair"
		job_env "$t_kver" target "$tout" >"$tout/job.env"
		job_env "$i_kver" initiator "$out" >"$out/job.env"
		# Built here, not by both guests at once into the same cache file.
		"$here/mkinitramfs.sh" "$t_kver" >/dev/null
		"$here/mkinitramfs.sh" "$i_kver" >/dev/null
		# A stream socket netdev loses no frame. (Over a UDP one, which may,
		# rxe warned once in rxe_completer, an error completion with a success
		# status, during basic's verify.) A Unix one, not TCP: QEMU does not
		# set TCP_NODELAY, and Nagle's algorithm meeting the peer's delayed
		# ACK held frames for up to 40 ms (50 ms per 4 KiB read at queue
		# depth 1, where a Unix socket takes about 1 ms).
		# Under /tmp: a socket's path has at most 107 bytes.
		linkdir=$(mktemp -d /tmp/iser-link.XXXXXX)
		link=$linkdir/s
		# The request directory of pair-agent.sh, shared by both, uncached.
		share=(-virtfs "local,path=$pair,mount_tag=iserpair,security_model=none")
		tap_diag "vm:$name: target kernel $t_kver, initiator kernel $i_kver, under $mode, one vCPU each, timeout ${timeout}s, output in ${out#"$repo"/}"
		# "target-gone" tells the initiator's requests to stop waiting.
		mapfile -t plugin < <(counting "$tout")
		{
			t_rc=0
			guest "$t_kver" "$tout" 1 "${share[@]}" "${plugin[@]}" -nic none \
				-netdev "stream,id=n0,server=on,addr.type=unix,addr.path=$link" \
				-device virtio-net-pci,netdev=n0,mac=52:54:00:15:00:01 || t_rc=$?
			echo "$t_rc" >"$pair/target-gone"
		} &
		tpid=$!
		# The initiator's QEMU connects at start: the target's must listen
		# (flag __SO_ACCEPTCON in /proc/net/unix).
		for _ in $(seq 100); do
			awk -v p="$link" '$4 == "00010000" && $8 == p { f = 1 } END { exit !f }' \
				/proc/net/unix && break
			sleep 0.1
		done
		guest "$i_kver" "$out" 1 "${share[@]}" -nic none \
			-netdev "stream,id=n0,server=off,addr.type=unix,addr.path=$link" \
			-device virtio-net-pci,netdev=n0,mac=52:54:00:15:00:02 || qemu_rc=$?
		# The agent ends on this file, if the suite did not end it.
		touch "$pair/exit"
		wait "$tpid"
		rm -rf "$linkdir"
		t_rc=$(<"$pair/target-gone")
	else
		echo "run-vm.sh: ISER_TOPOLOGY must be one or two, not '$topology'" >&2
		exit 2
	fi
}

# died_in_boot DIR RC: that guest stopped, not on the timeout, before
# guest-init.sh mounted its output share and wrote "booted". The module
# and the suite had not run: the kernel itself died in boot (once in CI,
# stop 36: an oops in try_to_wake_up() under cpu_latency_qos_init(), on
# Debian's 6.12.118 under multi-threaded TCG).
died_in_boot() {
	(($2 != 124)) && [[ ! -e $1/booted ]]
}

start=$SECONDS
launch
if died_in_boot "$out" "$qemu_rc" ||
	{ [[ $topology == two ]] && died_in_boot "$tout" "$t_rc"; }; then
	# Booted once more, never more often; the failed boot's consoles are
	# kept beside the output directory.
	failed=$out.failed-boot
	rm -rf "$failed"
	mkdir -p "$failed"
	cp "$out/console.log" "$failed/" 2>/dev/null || true
	if [[ $topology == two ]]; then
		cp "$tout/console.log" "$failed/target-console.log" 2>/dev/null || true
	fi
	tap_diag "vm:$name: a guest's kernel died in boot, before its init ran and before this module was loaded; booting again, once (consoles in ${failed#"$repo"/})"
	grep -hE -m 3 'BUG|Oops|panic|RIP:|EFLAGS' "$failed"/*console.log | tap_diag || true
	launch
fi
tap_diag "vm:$name: guest ran for $((SECONDS - start))s"

# judge DIR WHAT RC: the checks of one guest's end, named "vm:NAME: WHAT
# completed", "vm:NAME: [target ]kmemleak ..." and "... dmesg clean".
judge() {
	local dir=$1 what=$2 rc=$3 who=${2%suite}
	local v leaks splats logs=()
	# An EFLAGS with any of bits 22-31 set exists on no x86 CPU: the emulator
	# corrupted RFLAGS, and whatever failed after it is not the suite's fault.
	for v in $(grep -oE 'EFLAGS: [0-9a-f]+' "$dir/console.log" 2>/dev/null | cut -d' ' -f2); do
		if ((16#$v >= 0x400000)); then
			tap_diag "vm:$name: the ${who}console shows EFLAGS 0x$v, which no x86 CPU can hold: QEMU corrupted RFLAGS (see Documentation/testing.rst)"
			break
		fi
	done

	if [[ -e $dir/exit-status ]]; then
		# A suite that died half-way (an unset variable, say) after
		# passing checks must not pass: it fails with no failed check,
		# or ends without its plan line. The agent prints no plan.
		local status
		status=$(<"$dir/exit-status")
		if [[ $status != 0 ]] && ! grep -q '^not ok ' "$dir/tap.txt" 2>/dev/null; then
			tap_not_ok "vm:$name: $what completed"
			tap_diag "it exited with status $status without a failed check; its stderr ends:"
			tail -n 10 "$dir/stderr.txt" | tap_diag
		elif [[ $what == suite ]] && ! grep -qE '^1\.\.[0-9]+$' "$dir/tap.txt" 2>/dev/null; then
			tap_not_ok "vm:$name: $what completed"
			tap_diag "it ended without its plan line; its stderr ends:"
			tail -n 10 "$dir/stderr.txt" | tap_diag
		else
			tap_ok "vm:$name: $what completed"
		fi
	else
		tap_not_ok "vm:$name: $what completed"
		if ((rc == 124)); then
			tap_diag "guest killed after ${timeout}s (ISER_VM_TIMEOUT)"
		else
			tap_diag "guest stopped before the $what finished (QEMU exit status $rc)"
		fi
		if [[ -s $dir/dmesg-hang.txt ]]; then
			tap_diag "tasks blocked when the watchdog fired (all tasks in $dir/dmesg-hang.txt):"
			awk '/ state:D /, /<\/TASK>/' "$dir/dmesg-hang.txt" | head -n 120 | tap_diag
		fi
		tap_diag "last lines of the console log:"
		tail -n 40 "$dir/console.log" | tap_diag
		tail -n 5 "$dir/qemu.log" | tap_diag
	fi

	# Only a kernel with kmemleak writes this (after a scan at the end).
	# leak-check.py excuses the reports of known-leaks.txt (code outside this
	# module, attributed through the module addresses the guest recorded).
	if [[ -e $dir/kmemleak.txt ]]; then
		if leaks=$(python3 "$here/leak-check.py" "$dir/kmemleak.txt" "$dir/modules.txt"); then
			tap_ok "vm:$name: ${who}kmemleak found no leak"
			[[ -n $leaks ]] && tap_diag <<<"$leaks"
		else
			tap_not_ok "vm:$name: ${who}kmemleak found no leak"
			tap_diag <<<"$leaks"
			head -n 60 "$dir/kmemleak.txt" | tap_diag
		fi
	fi

	[[ -s $dir/console.log ]] && logs+=("$dir/console.log")
	[[ -e $dir/dmesg.txt ]] && logs+=("$dir/dmesg.txt")
	if ((${#logs[@]} == 0)); then
		tap_skip "vm:$name: ${who}dmesg clean" "the guest produced no kernel log"
	elif splats=$("$here/splat-check.sh" "${logs[@]}"); then
		tap_ok "vm:$name: ${who}dmesg clean"
		[[ -z $splats ]] || tap_diag <<<"$splats"
	else
		tap_not_ok "vm:$name: ${who}dmesg clean"
		tap_diag <<<"$splats"
	fi
	if [[ ! -e $dir/dmesg.txt && -s $dir/console.log ]]; then
		tap_diag "no dmesg came back from the ${who}guest; only its console log was checked"
	fi
}

# slowest DIR: the five checks that took longest in that guest
# (tests/guest/tap.sh's times.txt), as one diagnostic line.
slowest() {
	[[ -s $1/times.txt ]] || return 0
	tap_diag "vm:$name: slowest checks$2: $(sort -rn "$1/times.txt" | head -n 5 |
		awk '{ ms = $1; $1 = ""; printf "%s%.1f s%s", (NR > 1 ? "; " : ""), ms / 1000, $0 }')"
}

if [[ -e $out/tap.txt ]]; then
	tap_relay "$name: " <"$out/tap.txt"
fi
judge "$out" suite "$qemu_rc"
slowest "$out" ""
if [[ $topology == two ]]; then
	# What the agent ran for the suite, should a check need explaining.
	[[ -s $tout/tap.txt ]] && tap_diag "vm:$name: the target's side of the suite is in ${tout#"$repo"/}/tap.txt"
	judge "$tout" "target suite" "$t_rc"
	slowest "$tout" " (target's side)"
fi

((TAP_FAIL == 0))
