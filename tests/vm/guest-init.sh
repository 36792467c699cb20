#!/bin/bash
# PID 1 of the test guest after switch_root (see initramfs-init). Sets up
# the little a suite needs without systemd or udev, runs the suite named in
# the job file, writes its TAP output, stderr and full dmesg to the
# writable 9p share, and powers off. Kernel command-line variables:
#   iser_out=DIR  host directory shared writable as tag "iserout";
#                 DIR/job.env says what to run.
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
# /run gets fresh state; /tmp stays the host's under the overlay so a
# one-off guest script or module kept in the host's /tmp can be used.
mount -t tmpfs tmpfs /run
# Process substitution and some tools need /dev/fd and /dev/std*, which
# devtmpfs lacks (without /dev/stdout, kselftest's runner.sh appends every
# test's output to a regular file of that name).
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /run/lock /etc/target /var/lib/iscsi
ip link set lo up

# Same path as on the host, so scripts see their output directory as is.
out=${iser_out:?iser_out= missing from the kernel command line}
if ! mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 iserout "$out"; then
	echo "guest-init: cannot mount the output share on $out" >/dev/console
	poweroff -f
fi
# run-vm.sh boots once more a guest that died before this line.
: >"$out/booted"

set -a
# shellcheck source=/dev/null
. "$out/job.env"
set +a

# A kernel of our own (ISER_VM_KTREE) has no tree in the host's
# /lib/modules: lay one over it from the build.
kmods=/lib/modules/$(uname -r)
if [[ -n ${ISER_VM_MODDIR:-} && ! -e $kmods ]]; then
	mkdir -p "$kmods"
	ln -s "$ISER_VM_MODDIR/kernel" "$kmods/kernel"
	cp "$ISER_VM_MODDIR"/modules.* "$kmods/"
fi
modprobe configfs && mount -t configfs configfs /sys/kernel/config
# kmemleak (debug kernel): forget what boot left, report what the suite did.
mount -t debugfs debugfs /sys/kernel/debug
leaks=/sys/kernel/debug/kmemleak
[[ -e $leaks ]] && echo clear >"$leaks"

# Two guests (run-vm.sh, ISER_TOPOLOGY=two): the link between them, and
# the directory where the initiator's suite asks the target's agent to run
# the target's side (tests/vm/pair-agent.sh).
run=$ISER_SUITE
if [[ ${ISER_ROLE:-one} != one ]]; then
	mkdir -p /run/iser-pair
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 iserpair /run/iser-pair &&
		modprobe virtio_net || poweroff -f
	[[ $ISER_ROLE == target ]] && run=$ISER_REPO/tests/vm/pair-agent.sh
fi

cd "$ISER_REPO" || poweroff -f
echo "guest-init: running $run (kernel $(uname -r), role ${ISER_ROLE:-one})"
# Keep the suite's TAP (stdout) and stderr apart on the share, and show
# both live on the console for when the guest has to be killed.
exec 3> >(tee "$out/tap.txt")
tap_pid=$!
exec 4> >(tee "$out/stderr.txt" >&2)
err_pid=$!
# A hung suite is killed by the host: shortly before, every task's kernel
# stack goes to the kernel log and the log to the share, to show where.
# (Not holding the TAP pipes open: the tees below must see them end.)
(
	sleep "${ISER_VM_WATCHDOG:-540}"
	echo t >/proc/sysrq-trigger
	dmesg >"$out/dmesg-hang.txt"
	sync
) 3>&- 4>&- &
watchdog=$!
# Where each module was loaded: by the kmemleak scan the suite has
# unloaded them, and the host's leak-check.py needs this to tell whose
# frames a report's bare addresses are.
modwatch=
if [[ -e $leaks ]]; then
	while :; do
		cat /proc/modules || break
		sleep 1
	done 3>&- 4>&- | awk '!seen[$1 " " $6]++ { print $1, $2, $6; fflush() }' \
		>"$out/modules.txt" 3>&- 4>&- &
	modwatch=$!
fi
bash "$run" >&3 2>&4 3>&- 4>&-
rc=$?
# The suite is over: so is the target's agent.
[[ ${ISER_ROLE:-one} == initiator ]] && : >/run/iser-pair/exit
kill "$watchdog" ${modwatch:+"$modwatch"} 2>/dev/null
exec 3>&- 4>&-
wait "$tap_pid" "$err_pid"

if [[ -e $leaks ]]; then
	# Two scans a while apart: an object is reported only once it was
	# unreferenced in both, which keeps objects in flight out.
	echo scan >"$leaks"
	sleep 5
	echo scan >"$leaks"
	cat "$leaks" >"$out/kmemleak.txt"
fi
# make coverage: the module's gcov counters, which the kernel keeps after
# the suite unloaded it (gcov_persist=1), for tools/dev/coverage.sh.
if [[ -d /sys/kernel/debug/gcov ]]; then
	mkdir -p "$out/gcov"
	find /sys/kernel/debug/gcov -path '*/drivers/target/iser/*.gcda' \
		-exec cp {} "$out/gcov/" \;
fi
dmesg >"$out/dmesg.txt"
echo "$rc" >"$out/exit-status"
sync
umount "$out"
poweroff -f
