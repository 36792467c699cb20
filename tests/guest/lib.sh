# shellcheck shell=bash
# Guest-side helpers shared by the suites (run inside the test VM only):
# transport selection, Soft-RoCE over a veth pair, LIO set-up through
# targetcli, the open-iscsi iSER initiator, and teardown. Each function
# prints what it did or what went wrong and returns non-zero on failure;
# suites wrap them in step/undo, which make one TAP check of each.

TARGET_IP=192.168.77.1
INITIATOR_IP=192.168.77.2
PORTAL=$TARGET_IP:3260
# rtslib rejects single-label domains such as "iqn.2026-11.test:x".
TARGET_IQN=iqn.2026-11.org.example:iser-target
INITIATOR_IQN=iqn.2026-11.org.example:initiator
TPG=/iscsi/$TARGET_IQN/tpg1
RAMDISK_MB=256
# What fio_verify writes and reads back; ISER_VERIFY_MB for less, where
# the data path is not what a run is about.
VERIFY_MB=${ISER_VERIFY_MB:-64}
# Bounds for commands that could hang on a broken transport, so that the
# suite still tears down and returns its dmesg. (A task stuck in the
# kernel cannot be killed; the hung-task detector and the VM timeout
# catch that.) Scaled like polls below: on the debug kernel, with a second
# guest beside it, basic's 64 MiB verify ran at 65 IOPS and needed more
# than 180 s.
CMD_TIMEOUT=$((180 * ${ISER_VM_SLOW:-1}))

# polls N: how many times a wait of N polls polls on this kernel; the
# debug kernel (ISER_VM_SLOW) is several times slower at everything.
polls() {
	echo $(($1 * ${ISER_VM_SLOW:-1}))
}

# ISER_IMPL picks the iSER target transport under test: "stock" is the
# kernel's ib_isert, "ours" is iser_target.ko built at the repository root.
ISER_IMPL=${ISER_IMPL:-ours}
case $ISER_IMPL in
ours) TRANSPORT_MOD=iser_target ;;
*) TRANSPORT_MOD=ib_isert ;;
esac

# --- step bookkeeping -------------------------------------------------

# step KEY NAME CMD...: a set-up check. It runs only while every earlier
# step has passed; otherwise it is skipped with the first failure as the
# reason. KEY records that it was attempted, for undo.
STEPS_OK=1
STEPS_WHY=
declare -A STEP_TRIED=()
step() {
	local key=$1 name=$2
	shift 2
	if ((!STEPS_OK)); then
		tap_skip "$name" "$STEPS_WHY"
		return 0
	fi
	STEP_TRIED[$key]=1
	tap_run "$name" "$@" || {
		STEPS_OK=0
		STEPS_WHY="'$name' failed"
	}
}

# check NAME CMD...: a check that needs the set-up steps so far but that
# later steps do not depend on (e.g. one I/O pattern of several).
check() {
	local name=$1
	shift
	if ((STEPS_OK)); then
		tap_run "$name" "$@" || true
	else
		tap_skip "$name" "$STEPS_WHY"
	fi
}

# undo KEY NAME CMD...: a teardown check, run whenever step KEY was
# attempted (even if it failed half-way), whatever else failed.
undo() {
	local key=$1 name=$2
	shift 2
	if [[ -n ${STEP_TRIED[$key]:-} ]]; then
		tap_run "$name" "$@" || true
	else
		tap_skip "$name" "nothing to undo: '$key' never ran"
	fi
}

# --- modules ----------------------------------------------------------

mod_loaded() {
	[[ -e /sys/module/$1/initstate ]]
}

loaded_modules() {
	cut -d' ' -f1 /proc/modules | sort
}

# mods_unload MOD...: rmmod, in the given order, those that are loaded;
# fails if any of them is still loaded afterwards.
mods_unload() {
	local mod left=()
	for mod; do
		mod_loaded "$mod" && rmmod "$mod"
	done
	for mod; do
		mod_loaded "$mod" && left+=("$mod")
	done
	((${#left[@]} == 0)) || {
		echo "still loaded: ${left[*]}"
		return 1
	}
}

# unload_new_modules FILE: unload every module not listed in FILE (a
# loaded_modules snapshot), in passes so that users go before the modules
# they use; fails naming what stays.
unload_new_modules() {
	local before=$1 pass mod left
	for pass in 1 2 3 4 5 6; do
		left=$(loaded_modules | comm -13 "$before" -)
		[[ -n $left ]] || return 0
		echo "pass $pass: unloading ${left//$'\n'/ }"
		for mod in $left; do
			rmmod "$mod" 2>/dev/null
		done
	done
	left=$(loaded_modules | comm -13 "$before" -)
	[[ -z $left ]] || {
		echo "could not unload: ${left//$'\n'/ }"
		return 1
	}
}

# --- transport selection ----------------------------------------------

transport_banner() {
	case $ISER_IMPL in
	ours) echo "transport under test: iser_target (this project, ISER_IMPL=ours)" ;;
	*) echo "transport under test: ib_isert (the kernel's stock iSER target, ISER_IMPL=$ISER_IMPL)" ;;
	esac
}

# Make targetcli's enable_iser (LIO's request_module("ib_isert")) load
# the transport under test.
select_transport() {
	local kver ko resolved
	kver=$(uname -r)
	case $ISER_IMPL in
	stock) ;;
	ours)
		ko=$ISER_REPO/iser_target.ko
		[[ -e $ko ]] || {
			echo "$ko is missing: run make KVER=$kver first"
			return 1
		}
		read -r resolved _ < <(modinfo -F vermagic "$ko")
		[[ $resolved == "$kver" ]] || {
			echo "$ko is built for '$resolved', the guest runs $kver"
			return 1
		}
		mkdir -p "/lib/modules/$kver/updates" &&
			cp "$ko" "/lib/modules/$kver/updates/" || return 1
		# Indexes made on the host (tests/vm/stage-modules.sh) spare a
		# depmod that reads every module over 9p.
		if [[ -n ${ISER_MODSTAGE:-} && -e $ISER_MODSTAGE/modules.dep ]] &&
			cmp -s "$ko" "$ISER_MODSTAGE/updates/iser_target.ko"; then
			cp "$ISER_MODSTAGE"/modules.* "/lib/modules/$kver/" || return 1
		else
			depmod -a || return 1
		fi
		install -m 0644 "$ISER_REPO/packaging/modprobe.d/iser-target.conf" /etc/modprobe.d/ ||
			return 1
		# ISER_TARGET_OPTS="use_srq=1 ...": the suite runs with those
		# module parameters.
		if [[ -n ${ISER_TARGET_OPTS:-} ]]; then
			echo "options iser_target $ISER_TARGET_OPTS" >/etc/modprobe.d/iser-target-opts.conf ||
				return 1
		fi
		;;
	*)
		echo "ISER_IMPL must be 'stock' or 'ours', not '$ISER_IMPL'"
		return 1
		;;
	esac
	resolved=$(modprobe -R ib_isert) || return 1
	echo "modprobe ib_isert resolves to: $resolved"
	[[ $resolved == "$TRANSPORT_MOD" ]]
}

# The module that enable_iser loaded must be the one under test.
transport_loaded() {
	echo "loaded: $(grep -E '^(ib_isert|iser_target) ' /proc/modules | cut -d' ' -f1 | xargs)"
	mod_loaded "$TRANSPORT_MOD" || return 1
	if [[ $TRANSPORT_MOD != ib_isert ]] && mod_loaded ib_isert; then
		echo "the stock ib_isert is loaded too"
		return 1
	fi
}

# --- two guests (run-vm.sh, ISER_TOPOLOGY=two) --------------------------

TOPOLOGY=${ISER_TOPOLOGY:-one}
PAIR_DIR=/run/iser-pair

# pair_seq: the number of the next request. Kept in a file, not in a
# variable: tgt often runs in a subshell ($(slab_objs ...)), where a
# variable's increment is lost and the next request would reuse a number
# and read an old answer.
pair_seq() {
	local fd n
	exec {fd}>>/run/iser-pair.lock || return 1
	flock "$fd"
	n=$(cat /run/iser-pair.seq 2>/dev/null)
	echo $((${n:-0} + 1)) >/run/iser-pair.seq
	exec {fd}>&-
	echo "${n:-0}"
}

# tgt CMD [ARG...]: run CMD (a helper of these files, or a program) where
# the target is: here with one guest; with two, in the target's guest
# through tests/vm/pair-agent.sh, in one shell that keeps its state from
# one call to the next. Its output and status come back.
tgt() {
	[[ $TOPOLOGY == two ]] || {
		"$@"
		return
	}
	local n req wait=$((CMD_TIMEOUT * 2 + 60))
	n=$(pair_seq) || return 1
	req=$PAIR_DIR/req.$n
	printf '%q ' "$@" >"$req.tmp" && mv "$req.tmp" "$req" || return 1
	for _ in $(seq $((wait * 20))); do
		if [[ -e $PAIR_DIR/rc.$n ]]; then
			cat "$PAIR_DIR/out.$n"
			return "$(<"$PAIR_DIR/rc.$n")"
		fi
		[[ -e $PAIR_DIR/target-gone ]] && {
			echo "the target's guest is gone (QEMU status $(<"$PAIR_DIR/target-gone")): request $n ($*) unanswered"
			return 125
		}
		sleep 0.05
	done
	echo "the target's guest did not answer request $n ($*) in ${wait}s"
	return 124
}

# --- Soft-RoCE --------------------------------------------------------

# rxe on lo cannot resolve routes for iSER; a veth pair can. MTU 9000
# gives rxe a 4096-byte RDMA MTU (fewer packets per I/O).
rxe_setup() {
	if [[ $TOPOLOGY == two ]]; then
		tgt rxe_side "$TARGET_IP" rxe0 && rxe_side "$INITIATOR_IP" rxe1
		return
	fi
	ip link add veth0 type veth peer name veth1 &&
		ip link set veth0 mtu 9000 up &&
		ip link set veth1 mtu 9000 up &&
		ip addr add "$TARGET_IP/24" dev veth0 &&
		ip addr add "$INITIATOR_IP/24" dev veth1 &&
		modprobe rdma_rxe &&
		rdma link add rxe0 type rxe netdev veth0 &&
		rdma link add rxe1 type rxe netdev veth1 || return 1
	for _ in $(seq 20); do
		(($(rdma link show | grep -c 'state ACTIVE') == 2)) && break
		sleep 0.5
	done
	rdma link show
	(($(rdma link show | grep -c 'state ACTIVE') == 2))
}

# rxe_side ADDR NAME: one guest's end of the virtio-net link between two
# guests (eth0, no udev to rename it) with ADDR and the rxe link NAME.
rxe_side() {
	ip link set eth0 mtu 9000 up && ip addr add "$1/24" dev eth0 &&
		modprobe rdma_rxe && rdma link add "$2" type rxe netdev eth0 &&
		rdma_link_active "$2"
}

# rdma_link_active NAME: until port 1 of RDMA link NAME is active (10 s at
# most); shows the link, and fails if it never became active.
rdma_link_active() {
	for _ in $(seq 20); do
		rdma link show "$1/1" 2>/dev/null | grep -q 'state ACTIVE' && break
		sleep 0.5
	done
	rdma link show "$1/1"
	rdma link show "$1/1" | grep -q 'state ACTIVE'
}

rxe_side_teardown() {
	rdma link delete "$1" && ip addr flush dev eth0 || return 1
	rdma link show
	[[ -z $(rdma link show) ]]
}

rxe_teardown() {
	if [[ $TOPOLOGY == two ]]; then
		rxe_side_teardown rxe1 && tgt rxe_side_teardown rxe0
		return
	fi
	rdma link delete rxe1
	rdma link delete rxe0
	ip link del veth0
	rdma link show
	[[ -z $(rdma link show) ]] && ! ip link show veth0 2>/dev/null
}

unload_rdma() {
	if [[ $TOPOLOGY == two ]]; then
		tgt unload_rdma_here || return 1
	fi
	unload_rdma_here
}

unload_rdma_here() {
	mods_unload rdma_rxe rdma_ucm rdma_cm iw_cm ib_cm ib_uverbs ib_core
}

# --- target (LIO via targetcli) ----------------------------------------

# targetcli-fb looks for tcmu-runner on the D-Bus system bus and dies
# without one.
dbus_start() {
	mkdir -p /run/dbus
	dbus-daemon --system --fork </dev/null >/dev/null 2>&1 &&
		[[ -S /run/dbus/system_bus_socket ]]
}

tcli() {
	echo "+ targetcli $*"
	timeout "$CMD_TIMEOUT" targetcli "$@"
}

target_backstore() {
	tcli /backstores/ramdisk create name=rd0 size="${RAMDISK_MB}M"
}

target_create() {
	tcli /iscsi create "$TARGET_IQN" &&
		tcli "$TPG/luns" create /backstores/ramdisk/rd0 &&
		tcli "$TPG/acls" create "$INITIATOR_IQN"
}

# Replace the default 0.0.0.0 portal with one on the RDMA interface and
# enable iSER on it: LIO then loads the iSER transport.
target_portal_iser() {
	local np=/sys/kernel/config/target/iscsi/$TARGET_IQN/tpgt_1/np/$PORTAL
	tcli "$TPG/portals" delete 0.0.0.0 3260 &&
		tcli "$TPG/portals" create "$TARGET_IP" 3260 &&
		tcli "$TPG/portals/$PORTAL" enable_iser true || return 1
	echo "$np/iser: $(cat "$np/iser")"
	[[ $(cat "$np/iser") == 1 ]]
}

target_clear() {
	tcli clearconfig confirm=True || return 1
	[[ ! -e /sys/kernel/config/target/iscsi/$TARGET_IQN ]] &&
		! compgen -G '/sys/kernel/config/target/core/rd_mcp_*'
}

# clearconfig leaves the iscsi configfs group, which pins iscsi_target_mod;
# the backstore plugins hold target_core_mod.
unload_lio() {
	if [[ -d /sys/kernel/config/target/iscsi ]]; then
		rmdir /sys/kernel/config/target/iscsi || return 1
	fi
	mods_unload iscsi_target_mod target_core_user target_core_file \
		target_core_iblock target_core_pscsi target_core_mod
}

# --- initiator (open-iscsi) -------------------------------------------

# iscsid signals its whole process group on exit, so it gets its own
# session; it is ready once its abstract control socket exists.
initiator_start() {
	echo "InitiatorName=$INITIATOR_IQN" >/etc/iscsi/initiatorname.iscsi
	# No udev: sd_mod must be there before login for /dev/sdX to appear.
	modprobe sd_mod || return 1
	setsid iscsid -f </dev/null >/run/iscsid.log 2>&1 &
	for _ in $(seq "$(polls 40)"); do
		grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix && return 0
		sleep 0.25
	done
	echo "iscsid did not come up:"
	cat /run/iscsid.log
	return 1
}

initiator_stop() {
	iscsiadm -k 0
	for _ in $(seq "$(polls 20)"); do
		pidof iscsid >/dev/null || return 0
		sleep 0.25
	done
	echo "iscsid still running"
	return 1
}

initiator_discover() {
	local found
	found=$(timeout "$CMD_TIMEOUT" iscsiadm -m discovery -t st -p "$PORTAL" -I iser) || return 1
	echo "$found"
	grep -q " $TARGET_IQN\$" <<<"$found"
}

initiator_login() {
	timeout "$CMD_TIMEOUT" iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -I iser --login
}

session_is_iser() {
	local info
	info=$(iscsiadm -m session -P 1) || return 1
	echo "$info"
	grep -q 'Iface Transport: iser' <<<"$info"
}

# Sets DISK to the session's block device (sdX) once it exists and has
# the size of the exported ramdisk.
DISK=
initiator_disk() {
	local sectors
	for _ in $(seq "$(polls 60)"); do
		DISK=$(iscsiadm -m session -P 3 | awk '/Attached scsi disk/ { print $4; exit }')
		[[ -n $DISK && -b /dev/$DISK ]] && break
		sleep 0.5
	done
	[[ -n $DISK && -b /dev/$DISK ]] || {
		echo "no disk attached to the session"
		iscsiadm -m session -P 3
		return 1
	}
	sectors=$(cat "/sys/block/$DISK/size")
	echo "/dev/$DISK: $((sectors / 2048)) MiB"
	((sectors == RAMDISK_MB * 2048))
}

initiator_logout() {
	timeout "$CMD_TIMEOUT" iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -u &&
		iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -o delete || return 1
	# Exit status 21: no sessions left.
	iscsiadm -m session
	(($? == 21))
}

# --- I/O ----------------------------------------------------------------

# fio_verify BS RW: write VERIFY_MB MiB with crc32c checksums, read it
# back and verify every block; fails on any I/O or verify error.
fio_verify() {
	local bs=$1 rw=$2
	(cd /tmp && timeout "$CMD_TIMEOUT" fio --name="verify-$bs" --filename="/dev/$DISK" \
		--ioengine=libaio --direct=1 --rw="$rw" --bs="$bs" --iodepth=16 \
		--size="${VERIFY_MB}M" --verify=crc32c --do_verify=1 --verify_fatal=1 \
		--verify_state_save=0)
}

# --- the whole round trip -----------------------------------------------

# iser_setup: everything from transport selection to an attached iSER
# disk ($DISK), one step each. Snapshots the loaded modules first.
MODULES_BEFORE=
# Where the target's guest keeps its own snapshot, with two guests.
TGT_MODULES_BEFORE=/run/modules-before
iser_setup() {
	modules_snapshot
	step transport "select transport $TRANSPORT_MOD (ISER_IMPL=$ISER_IMPL)" tgt select_transport
	step rxe "Soft-RoCE rxe0/rxe1 over $(rxe_link_name)" rxe_setup
	step dbus "D-Bus system bus for targetcli" tgt dbus_start
	step backstore "targetcli: ${RAMDISK_MB} MiB ramdisk backstore" tgt target_backstore
	step target "targetcli: target, LUN and initiator ACL" tgt target_create
	step portal "targetcli: portal $PORTAL with enable_iser" tgt target_portal_iser
	step served "$TRANSPORT_MOD serves iSER (ISER_IMPL=$ISER_IMPL)" tgt transport_loaded
	step iscsid "iscsid running" initiator_start
	step discovery "iSER discovery of $TARGET_IQN" initiator_discover
	step login "iSER login" initiator_login
	step session "session transport is iser" session_is_iser
	step disk "${RAMDISK_MB} MiB disk attached" initiator_disk
}

# iser_teardown: undo whatever iser_setup attempted, in reverse, down to
# unloading every module loaded since its snapshot.
iser_teardown() {
	undo login "iSCSI logout" initiator_logout
	undo iscsid "iscsid stopped" initiator_stop
	undo backstore "targetcli clearconfig" tgt target_clear
	undo login "unload initiator modules" \
		mods_unload ib_iser iscsi_tcp libiscsi_tcp libiscsi scsi_transport_iscsi
	undo portal "unload transport $TRANSPORT_MOD" tgt mods_unload "$TRANSPORT_MOD"
	undo backstore "unload LIO (iscsi_target_mod, target_core_*)" tgt unload_lio
	undo rxe "remove rxe links and $(rxe_link_name)" rxe_teardown
	undo rxe "unload rdma_rxe and the RDMA core" unload_rdma
	tap_run "unload every module loaded since boot" unload_new_modules "$MODULES_BEFORE"
	if [[ $TOPOLOGY == two ]]; then
		tap_run "target: unload every module loaded since boot" \
			tgt unload_new_modules "$TGT_MODULES_BEFORE"
	fi
}

# What joins the two rxe links.
rxe_link_name() {
	if [[ $TOPOLOGY == two ]]; then
		echo "the virtio-net link between the guests"
	else
		echo "veth pair"
	fi
}

snapshot_modules() {
	loaded_modules >"$1"
}

# modules_snapshot: what is loaded now, in MODULES_BEFORE, and with two
# guests in the target's guest too, for the last check of a suite.
modules_snapshot() {
	MODULES_BEFORE=$(mktemp)
	snapshot_modules "$MODULES_BEFORE"
	[[ $TOPOLOGY == one ]] || tgt snapshot_modules "$TGT_MODULES_BEFORE"
}

# target_rxe del|add: the target's rxe link goes away or comes back.
target_rxe() {
	local dev=veth0
	[[ $TOPOLOGY == one ]] || dev=eth0
	case $1 in
	del) tgt rdma link delete rxe0 ;;
	add) tgt rdma link add rxe0 type rxe netdev "$dev" ;;
	esac
}

# initiator_rxe del|add: the same for the initiator's.
initiator_rxe() {
	local dev=veth1
	[[ $TOPOLOGY == one ]] || dev=eth0
	case $1 in
	del) rdma link delete rxe1 ;;
	add) rdma link add rxe1 type rxe netdev "$dev" ;;
	esac
}

# target_log: the target's kernel log.
target_log() {
	tgt dmesg
}

# iser_suite_teardown KEY: how every suite with the open-iscsi initiator
# (set up by step KEY), a configfs target (step lio) and Soft-RoCE (step
# rxe) ends: all of it stopped and unloaded, nothing loaded since boot
# left behind, the TAP plan printed. Its status is the suite's.
iser_suite_teardown() {
	local ik=$1
	undo "$ik" "iscsid stopped" initiator_stop
	undo lio "LIO configuration removed" tgt lio_clear
	undo "$ik" "unload initiator modules" \
		mods_unload ib_iser iscsi_tcp libiscsi_tcp libiscsi scsi_transport_iscsi
	undo lio "unload $TRANSPORT_MOD" tgt mods_unload "$TRANSPORT_MOD"
	undo lio "unload LIO" tgt unload_lio
	undo rxe "remove rxe links and $(rxe_link_name)" rxe_teardown
	undo rxe "unload rdma_rxe and the RDMA core" unload_rdma
	tap_run "unload every module loaded since boot" unload_new_modules "$MODULES_BEFORE"
	if [[ $TOPOLOGY == two ]]; then
		tap_run "target: unload every module loaded since boot" \
			tgt unload_new_modules "$TGT_MODULES_BEFORE"
	fi
	tap_plan
	((TAP_FAIL == 0))
}
