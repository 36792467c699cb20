# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# Shared by the iser_target selftests. Results are KTAP, through the
# kernel's kselftest/ktap_helpers.sh. A test sets up, one result each: the
# LIO core, iser_target, the RDMA network (the netdev the caller names, or
# Soft-RoCE on a veth pair of its own), a ramdisk LUN behind an iSER portal
# (configfs), and the open-iscsi iSER initiator; then it runs its checks
# and removes what it created, again one result each.
#
# Every object carries a per-run suffix (target IQN, initiator IQN,
# open-iscsi iface, ramdisk, veth and rxe names), and clean-up removes
# only objects with those names: the host's own targets, sessions,
# interfaces and RDMA links are never touched. No targetcli: it would
# save the host's whole LIO configuration to /etc/target on exit.
#
# Environment (see Documentation/kselftest.rst):
#   ISER_TEST_NETDEV="TDEV [IDEV]"  netdev(s) with an RDMA device; default:
#                                   Soft-RoCE on a veth pair made here
#   ISER_TEST_TARGET_IP, ISER_TEST_INITIATOR_IP   addresses to use
#   ISER_TEST_PORT                  portal port (3260)
#   ISER_TEST_MODULE=PATH           insmod this iser_target.ko, not modprobe
#   ISER_TEST_DISK_MB, ISER_TEST_VERIFY_MB, ISER_TEST_CMD_TIMEOUT

LIB_DIR=$(dirname "$(realpath "${BASH_SOURCE[0]}")")
# Installed, kselftest/ is beside the collection; run in place (make
# run_tests), the Makefile exports KSFT_DIR.
KTAP_HELPERS=$LIB_DIR/../kselftest/ktap_helpers.sh
[[ -r $KTAP_HELPERS ]] || KTAP_HELPERS=${KSFT_DIR:-/nonexistent}/kselftest/ktap_helpers.sh
if [[ ! -r $KTAP_HELPERS ]]; then
	echo "Bail out! kselftest/ktap_helpers.sh is neither beside $LIB_DIR nor in KSFT_DIR"
	exit 1
fi
# shellcheck source=/dev/null
. "$KTAP_HELPERS"

shopt -s nullglob

RUN=$(printf '%04x' $((RANDOM % 65536)))
CFS=/sys/kernel/config/target
TARGET_IQN=iqn.2026-11.org.example.selftest:iser-target-$RUN
INITIATOR_IQN=iqn.2026-11.org.example.selftest:iser-initiator-$RUN
TPG=$CFS/iscsi/$TARGET_IQN/tpgt_1
# An HBA of our own, so that the host's rd_mcp_N are left alone.
HBA_DIR=$CFS/core/rd_mcp_$((1000000 + 16#$RUN))
RD=iser_selftest_$RUN
IFACE=iser-selftest-$RUN
VETH_T=isr${RUN}t
VETH_I=isr${RUN}i
RXE_T=rxe_isr${RUN}t
RXE_I=rxe_isr${RUN}i
ALIAS_FILE=/run/modprobe.d/iser-selftest-$RUN.conf
PORT=${ISER_TEST_PORT:-3260}
DISK_MB=${ISER_TEST_DISK_MB:-64}
# shellcheck disable=SC2034 # used by the tests that source this file
VERIFY_MB=${ISER_TEST_VERIFY_MB:-16}
CMD_TIMEOUT=${ISER_TEST_CMD_TIMEOUT:-300}
KMSG_MARK="iser_target selftest $RUN: start"

read -r -a NETDEVS <<<"${ISER_TEST_NETDEV:-}"
if ((${#NETDEVS[@]})); then
	T_DEV=${NETDEVS[0]}
	I_DEV=${NETDEVS[1]:-$T_DEV}
	TARGET_IP=${ISER_TEST_TARGET_IP:-}
	INITIATOR_IP=${ISER_TEST_INITIATOR_IP:-}
else
	T_DEV=$VETH_T
	I_DEV=$VETH_I
	# RFC 2544's benchmarking range: not routed anywhere, unlikely to
	# clash with a network the host is on.
	TARGET_IP=${ISER_TEST_TARGET_IP:-198.18.77.1}
	INITIATOR_IP=${ISER_TEST_INITIATOR_IP:-198.18.77.2}
fi

STATE=$(mktemp -d "${TMPDIR:-/tmp}/iser-selftest-$RUN.XXXXXX") || exit 1
STEPS_OK=1
STEPS_WHY=
PREREQ_WHY=
ISCSID_PID=
MOUNTED_CFS=
CREATED_ISCSI_GROUP=
CREATED_DISCOVERY=
CLEANED=
DISK=

# --- KTAP results ---------------------------------------------------------

diag() {
	sed 's/^/# /'
}

# ksft_skip NAME WHY: a skipped result with its reason (6.12's
# ktap_test_skip takes no reason).
ksft_skip() {
	__ktap_test ok "$1" "SKIP $2"
	KTAP_CNT_SKIP=$((KTAP_CNT_SKIP + 1))
}

# ksft_run NAME CMD...: one result, passing iff CMD exits 0. CMD runs in
# this shell (it may set variables for later steps); its output is shown,
# last 40 lines, only when it fails.
ksft_run() {
	local name=$1 log=$STATE/step.log rc
	shift
	if "$@" >"$log" 2>&1 </dev/null; then rc=0; else rc=$?; fi
	if ((rc == 0)); then
		ktap_test_pass "$name"
	else
		ktap_test_fail "$name"
		echo "exit status $rc" | diag
		tail -n 40 "$log" | diag
	fi
	return "$rc"
}

# step NAME CMD...: a set-up result; after a failed one, later steps and
# checks are skipped with that failure as the reason.
step() {
	local name=$1
	shift
	if ((!STEPS_OK)); then
		ksft_skip "$name" "$STEPS_WHY"
		return 0
	fi
	ksft_run "$name" "$@" || {
		STEPS_OK=0
		STEPS_WHY="'$name' failed"
	}
}

# check NAME CMD...: needs the steps so far; later ones do not need it.
check() {
	local name=$1
	shift
	if ((STEPS_OK)); then
		ksft_run "$name" "$@" || true
	else
		ksft_skip "$name" "$STEPS_WHY"
	fi
}

# cleanup NAME CMD...: runs whatever failed, unless the prerequisites were
# missing and so nothing was created.
cleanup() {
	local name=$1
	shift
	if [[ -n $PREREQ_WHY ]]; then
		ksft_skip "$name" "$PREREQ_WHY"
	else
		ksft_run "$name" "$@" || true
	fi
}

# ksft_done: the totals line and the exit status: KSFT_SKIP when the
# machine lacks a prerequisite, otherwise pass only if nothing failed and
# every planned result was printed.
ksft_done() {
	if [[ -n $PREREQ_WHY ]]; then
		ktap_print_totals
		exit "$KSFT_SKIP"
	fi
	ktap_finished
}

# --- prerequisites ----------------------------------------------------------

mod_loaded() {
	grep -q "^$1 " /proc/modules
}

# mod_available MOD: loaded, built in, or installed for this kernel.
mod_available() {
	[[ -d /sys/module/$1 ]] || modinfo "$1" >/dev/null 2>&1
}

# port_listening PORT: a TCP socket of this host listens on PORT. Read from
# /proc (state 0A is LISTEN), as ss would load the sock_diag modules.
port_listening() {
	awk -v p="$(printf '%04X' "$1")" '$4 == "0A" { split($2, a, ":"); if (a[2] == p) f = 1 }
		END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

has_addr() {
	ip -o addr show | awk '{ sub("/.*", "", $4); print $4 }' | grep -qxF "$1"
}

# rdma_dev_of NETDEV: the RDMA device (with port) bound to NETDEV.
rdma_dev_of() {
	rdma link show 2>/dev/null | awk -v n="$1" '{
		for (i = 1; i < NF; i++) if ($i == "netdev" && $(i + 1) == n) { print $2; exit }
	}'
}

portal_of() {
	if [[ $1 == *:* ]]; then echo "[$1]:$2"; else echo "$1:$2"; fi
}

# prereq_why: the first thing this machine lacks, or nothing.
prereq_why() {
	local cmd pkg mod ver dev ip
	((EUID == 0)) || {
		echo "not root"
		return
	}
	for cmd in ip:iproute2 rdma:iproute2 modprobe:kmod modinfo:kmod \
		iscsiadm:open-iscsi iscsid:open-iscsi fio:fio timeout:coreutils; do
		pkg=${cmd#*:}
		cmd=${cmd%%:*}
		command -v "$cmd" >/dev/null || {
			echo "no $cmd (Debian package $pkg)"
			return
		}
	done
	if [[ -n ${ISER_TEST_MODULE:-} ]]; then
		[[ -r $ISER_TEST_MODULE ]] || {
			echo "ISER_TEST_MODULE=$ISER_TEST_MODULE is not readable"
			return
		}
		ver=$(modinfo -F vermagic "$ISER_TEST_MODULE" 2>/dev/null)
		[[ ${ver%% *} == "$(uname -r)" ]] || {
			echo "$ISER_TEST_MODULE is built for '${ver%% *}', this kernel is $(uname -r)"
			return
		}
	elif ! mod_available iser_target; then
		echo "no iser_target module for $(uname -r): install it, or set ISER_TEST_MODULE=/path/to/iser_target.ko"
		return
	fi
	mod_loaded ib_isert && {
		echo "the stock ib_isert is loaded: unload it first (this test removes only what it loaded)"
		return
	}
	for mod in configfs target_core_mod iscsi_target_mod ib_core rdma_cm ib_iser; do
		mod_available "$mod" || {
			echo "no $mod module for $(uname -r) (see the config file)"
			return
		}
	done
	if ((${#NETDEVS[@]})); then
		for dev in "$T_DEV" "$I_DEV"; do
			ip link show dev "$dev" >/dev/null 2>&1 || {
				echo "ISER_TEST_NETDEV: no netdev $dev"
				return
			}
			[[ -n $(rdma_dev_of "$dev") ]] || {
				echo "ISER_TEST_NETDEV: no RDMA device on $dev (rdma link show)"
				return
			}
		done
		[[ -n $TARGET_IP ]] || {
			echo "ISER_TEST_NETDEV given without ISER_TEST_TARGET_IP"
			return
		}
		ip -o addr show dev "$T_DEV" | awk '{ sub("/.*", "", $4); print $4 }' |
			grep -qxF "$TARGET_IP" || {
			echo "ISER_TEST_TARGET_IP=$TARGET_IP is not an address of $T_DEV"
			return
		}
		if [[ -n $INITIATOR_IP ]]; then
			ip -o addr show dev "$I_DEV" | awk '{ sub("/.*", "", $4); print $4 }' |
				grep -qxF "$INITIATOR_IP" || {
				echo "ISER_TEST_INITIATOR_IP=$INITIATOR_IP is not an address of $I_DEV"
				return
			}
		fi
	else
		for mod in veth rdma_rxe; do
			mod_available "$mod" || {
				echo "no $mod module for $(uname -r), and no ISER_TEST_NETDEV given"
				return
			}
		done
		for ip in "$TARGET_IP" "$INITIATOR_IP"; do
			has_addr "$ip" && {
				echo "$ip is already an address of this host: set ISER_TEST_TARGET_IP and ISER_TEST_INITIATOR_IP"
				return
			}
		done
	fi
	# LIO makes a TCP portal beside each iSER one: the port must be free.
	if port_listening "$PORT"; then
		echo "TCP port $PORT is in use on this host: set ISER_TEST_PORT"
		return
	fi
}

# iser_begin TITLE PLAN: the KTAP header and plan, and the prerequisites;
# when one is missing, every result of the test is a skip with the reason.
iser_begin() {
	PORTAL=$(portal_of "$TARGET_IP" "$PORT")
	ktap_print_header
	ktap_set_plan "$2"
	echo "$1" | diag
	# Before anything runs: even "rdma link show" loads ib_core.
	cut -d' ' -f1 /proc/modules | sort >"$STATE/modules.before"
	PREREQ_WHY=$(prereq_why)
	if [[ -n $PREREQ_WHY ]]; then
		STEPS_OK=0
		STEPS_WHY=$PREREQ_WHY
		echo "SKIP: $PREREQ_WHY" | diag
		return
	fi
	trap 'exit 143' TERM
	trap 'exit 130' INT
	trap iser_exit EXIT
	echo "$KMSG_MARK" >/dev/kmsg
	cat <<-EOF | diag
		kernel $(uname -r), run $RUN
		target $TARGET_IQN on $PORTAL ($T_DEV), initiator $INITIATOR_IQN ($I_DEV)
	EOF
}

# --- set-up -----------------------------------------------------------------

lio_load() {
	[[ -d /sys/kernel/config ]] || modprobe configfs || return 1
	if ! mountpoint -q /sys/kernel/config; then
		mount -t configfs none /sys/kernel/config || return 1
		MOUNTED_CFS=1
	fi
	modprobe target_core_mod && modprobe iscsi_target_mod || return 1
	if [[ ! -d $CFS/iscsi ]]; then
		mkdir "$CFS/iscsi" || return 1
		CREATED_ISCSI_GROUP=1
	fi
}

# Load iser_target, and make LIO's request_module("ib_isert") on
# enable_iser resolve to it rather than to the stock module. Without the
# packaged alias, one of ours in /run/modprobe.d does that for this run.
transport_load() {
	local resolved
	local -a deps=()
	if [[ -n ${ISER_TEST_MODULE:-} ]]; then
		if mod_loaded iser_target; then
			echo "iser_target already loaded: $ISER_TEST_MODULE not inserted"
		else
			# insmod resolves no dependencies.
			IFS=, read -r -a deps < <(modinfo -F depends "$ISER_TEST_MODULE")
			if ((${#deps[@]})); then
				modprobe -a "${deps[@]}" || return 1
			fi
			insmod "$ISER_TEST_MODULE" || return 1
		fi
	else
		modprobe iser_target || return 1
	fi
	resolved=$(modprobe -R ib_isert 2>/dev/null)
	if [[ $resolved != iser_target ]]; then
		mkdir -p /run/modprobe.d &&
			echo "alias ib_isert iser_target" >"$ALIAS_FILE" || return 1
		resolved=$(modprobe -R ib_isert)
	fi
	echo "modprobe ib_isert resolves to: $resolved"
	[[ $resolved == iser_target ]]
}

# wait_active DEV...: until each RDMA device's port is ACTIVE.
wait_active() {
	local dev ok
	for _ in $(seq 80); do
		ok=1
		for dev; do
			rdma link show "$dev" 2>/dev/null | grep -q 'state ACTIVE' || ok=0
		done
		((ok)) && break
		sleep 0.25
	done
	rdma link show
	((ok))
}

addr_add() {
	if [[ $1 == *:* ]]; then
		ip -6 addr add "$1/64" dev "$2" nodad
	else
		ip addr add "$1/24" dev "$2"
	fi
}

# Soft-RoCE over a veth pair of our own, or the caller's netdevs as they
# are. (rxe on lo cannot resolve routes for iSER; a veth pair can.)
net_setup() {
	if ((${#NETDEVS[@]})); then
		wait_active "$(rdma_dev_of "$T_DEV")" "$(rdma_dev_of "$I_DEV")"
		return
	fi
	ip link add "$VETH_T" type veth peer name "$VETH_I" &&
		ip link set "$VETH_T" mtu 9000 up &&
		ip link set "$VETH_I" mtu 9000 up &&
		addr_add "$TARGET_IP" "$VETH_T" &&
		addr_add "$INITIATOR_IP" "$VETH_I" &&
		modprobe rdma_rxe &&
		rdma link add "$RXE_T" type rxe netdev "$VETH_T" &&
		rdma link add "$RXE_I" type rxe netdev "$VETH_I" || return 1
	wait_active "$RXE_T/1" "$RXE_I/1"
}

# The target: a ramdisk LUN 0 of DISK_MB MiB, an ACL for our initiator
# name, authentication off, one portal with iSER enabled. mkdir without -p:
# a name that exists is not ours.
target_setup() {
	local np=$TPG/np/$PORTAL
	mkdir "$HBA_DIR" && mkdir "$HBA_DIR/$RD" &&
		echo "rd_pages=$((DISK_MB * 256))" >"$HBA_DIR/$RD/control" &&
		echo 1 >"$HBA_DIR/$RD/enable" || return 1
	mkdir "$CFS/iscsi/$TARGET_IQN" && mkdir "$TPG" &&
		echo 0 >"$TPG/attrib/authentication" &&
		mkdir "$TPG/lun/lun_0" &&
		ln -s "$HBA_DIR/$RD" "$TPG/lun/lun_0/$RD" &&
		mkdir "$TPG/acls/$INITIATOR_IQN" &&
		mkdir "$TPG/acls/$INITIATOR_IQN/lun_0" &&
		ln -s "$TPG/lun/lun_0" "$TPG/acls/$INITIATOR_IQN/lun_0/map" &&
		mkdir "$np" && echo 1 >"$np/iser" || return 1
	echo "$np/iser: $(cat "$np/iser")"
	[[ $(cat "$np/iser") == 1 ]] && echo 1 >"$TPG/enable"
}

# enable_iser must have used iser_target, never the stock module.
transport_serves() {
	grep -E '^(iser_target|ib_isert) ' /proc/modules
	mod_loaded iser_target || {
		echo "iser_target is not loaded"
		return 1
	}
	! mod_loaded ib_isert || {
		echo "enable_iser loaded the stock ib_isert"
		return 1
	}
}

iscsid_socket() {
	grep -q '@ISCSIADM_ABSTRACT_NAMESPACE' /proc/net/unix
}

# Use the host's iscsid (or its systemd socket) if there is one; otherwise
# start one of our own, in its own session: iscsid signals its process
# group on exit.
iscsid_start() {
	modprobe ib_iser || return 1
	# sd_mod first: without udev nothing loads it when the disk appears.
	modprobe sd_mod || return 1
	if iscsid_socket; then
		echo "using the host's iscsid"
		return 0
	fi
	# The runner's fds 3 and 4 are closed: they are its pipes.
	setsid iscsid -f </dev/null >"$STATE/iscsid.log" 2>&1 3>&- 4>&- &
	ISCSID_PID=$!
	for _ in $(seq 40); do
		iscsid_socket && return 0
		sleep 0.25
	done
	echo "iscsid did not come up:"
	cat "$STATE/iscsid.log"
	return 1
}

iface_set() {
	iscsiadm -m iface -I "$IFACE" -o update -n "$1" -v "$2"
}

# An open-iscsi interface of our own, with our initiator name, so that the
# host's initiatorname.iscsi and default interfaces stay as they are.
iface_create() {
	iscsiadm -m iface -I "$IFACE" -o new &&
		iface_set iface.transport_name iser &&
		iface_set iface.initiatorname "$INITIATOR_IQN"
}

# SendTargets discovery through our interface must list our target. A
# discovery record that existed before (another target on that portal) is
# not ours to delete.
discover() {
	local found
	iscsiadm -m discoverydb -t st -p "$PORTAL" >/dev/null 2>&1 || CREATED_DISCOVERY=1
	found=$(timeout "$CMD_TIMEOUT" iscsiadm -m discovery -t st -p "$PORTAL" -I "$IFACE") ||
		return 1
	echo "$found"
	grep -q " $TARGET_IQN\$" <<<"$found"
}

node_set() {
	iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -I "$IFACE" -o update -n "$1" -v "$2"
}

login() {
	timeout "$CMD_TIMEOUT" iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -I "$IFACE" --login
}

# sessions: the session ids of our target, one per line.
sessions() {
	local s
	for s in /sys/class/iscsi_session/session*; do
		[[ $(cat "$s/targetname" 2>/dev/null) == "$TARGET_IQN" ]] && echo "${s##*session}"
	done
}

logout() {
	timeout "$CMD_TIMEOUT" iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -I "$IFACE" -u ||
		return 1
	[[ -z $(sessions) ]] || {
		echo "sessions to $TARGET_IQN left: $(sessions | xargs)"
		return 1
	}
}

# disk_is_ours DISK: DISK belongs to a session with our target, so fio
# never writes to a disk of the host's.
disk_is_ours() {
	local path sid
	path=$(readlink -f "/sys/block/$1/device") || return 1
	[[ $path =~ /session([0-9]+)/ ]] || return 1
	sid=${BASH_REMATCH[1]}
	[[ $(cat "/sys/class/iscsi_session/session$sid/targetname") == "$TARGET_IQN" ]]
}

# Sets DISK once our session is on the iSER transport and its disk has a
# device node and the ramdisk's size.
session_disk() {
	local sid d info
	DISK=
	sid=$(sessions | head -n 1)
	[[ -n $sid ]] || {
		echo "no session to $TARGET_IQN"
		return 1
	}
	info=$(iscsiadm -m session -r "$sid" -P 1) || return 1
	grep -E 'Transport|Portal|Iface (Name|IPaddress|Initiatorname)' <<<"$info"
	grep -q 'Iface Transport: iser' <<<"$info" || {
		echo "session $sid is not on the iser transport"
		return 1
	}
	for _ in $(seq 120); do
		for d in /sys/class/iscsi_session/session"$sid"/device/target*/*/block/*; do
			DISK=${d##*/}
		done
		[[ -n $DISK && -b /dev/$DISK ]] && break
		sleep 0.25
	done
	[[ -n $DISK && -b /dev/$DISK ]] || {
		echo "no disk attached to session $sid"
		return 1
	}
	disk_is_ours "$DISK" || {
		echo "/dev/$DISK is not a disk of $TARGET_IQN"
		return 1
	}
	echo "/dev/$DISK: $(($(cat "/sys/block/$DISK/size") / 2048)) MiB"
	(($(cat "/sys/block/$DISK/size") == DISK_MB * 2048))
}

# session_up: login, then session_disk.
session_up() {
	login && session_disk
}

# fio_verify BS QD RW MB [fio option...]: write MB MiB to our disk with
# crc32c checksums and read every block back against them.
fio_verify() {
	local bs=$1 qd=$2 rw=$3 mb=$4
	shift 4
	disk_is_ours "$DISK" || {
		echo "/dev/$DISK is not a disk of $TARGET_IQN"
		return 1
	}
	(cd "$STATE" && timeout "$CMD_TIMEOUT" fio --name="verify-$bs-$qd" \
		--filename="/dev/$DISK" --ioengine=libaio --direct=1 --rw="$rw" \
		--bs="$bs" --iodepth="$qd" --size="${mb}M" --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --verify_state_save=0 "$@")
}

# The set-up steps every test starts with, down to iscsid and our
# interface (7 results).
iser_setup_base() {
	step "LIO core loaded, configfs mounted" lio_load
	step "iser_target loaded, modprobe ib_isert resolves to it" transport_load
	step "RDMA network: $T_DEV and $I_DEV ports active" net_setup
	step "LIO target: ${DISK_MB} MiB ramdisk LUN, ACL, iSER portal" target_setup
	step "enable_iser served by iser_target, ib_isert not loaded" transport_serves
	step "iscsid available" iscsid_start
	step "open-iscsi iSER interface $IFACE" iface_create
}

# --- clean-up -----------------------------------------------------------------

# Our sessions, node records, discovery record and interface.
initiator_clean() {
	local rc=0
	if [[ -n $(sessions) ]]; then
		timeout "$CMD_TIMEOUT" iscsiadm -m node -T "$TARGET_IQN" -u || rc=1
	fi
	if iscsiadm -m node -T "$TARGET_IQN" >/dev/null 2>&1; then
		iscsiadm -m node -T "$TARGET_IQN" -o delete || rc=1
	fi
	if [[ -n $CREATED_DISCOVERY ]] &&
		iscsiadm -m discoverydb -t st -p "$PORTAL" >/dev/null 2>&1; then
		iscsiadm -m discoverydb -t st -p "$PORTAL" -o delete || rc=1
	fi
	if iscsiadm -m iface -I "$IFACE" >/dev/null 2>&1; then
		iscsiadm -m iface -I "$IFACE" -o delete || rc=1
	fi
	[[ -z $(sessions) ]] || {
		echo "sessions to $TARGET_IQN left: $(sessions | xargs)"
		rc=1
	}
	return $rc
}

iscsid_stop() {
	[[ -n $ISCSID_PID ]] || {
		echo "iscsid was the host's: left running"
		return 0
	}
	kill "$ISCSID_PID" 2>/dev/null
	for _ in $(seq 40); do
		kill -0 "$ISCSID_PID" 2>/dev/null || return 0
		sleep 0.25
	done
	echo "iscsid ($ISCSID_PID) still running"
	return 1
}

# rm_links DIR: the configfs symlinks directly in DIR.
rm_links() {
	find "$1" -mindepth 1 -maxdepth 1 -type l -delete
}

# Our target and ramdisk, and the iscsi group if we made it.
target_clean() {
	local d rc=0
	if [[ -d $TPG ]]; then
		echo 0 >"$TPG/enable" 2>/dev/null
		for d in "$TPG"/acls/*/lun_*/; do
			rm_links "$d" && rmdir "$d" || rc=1
		done
		for d in "$TPG"/acls/*/ "$TPG"/lun/lun_*/; do
			rm_links "$d" && rmdir "$d" || rc=1
		done
		for d in "$TPG"/np/*/; do
			echo 0 >"$d/iser" 2>/dev/null
			rmdir "$d" || rc=1
		done
		rmdir "$TPG" || rc=1
	fi
	if [[ -d $CFS/iscsi/$TARGET_IQN ]]; then
		rmdir "$CFS/iscsi/$TARGET_IQN" || rc=1
	fi
	if [[ -d $HBA_DIR ]]; then
		if [[ -d $HBA_DIR/$RD ]]; then
			rmdir "$HBA_DIR/$RD" || rc=1
		fi
		rmdir "$HBA_DIR" || rc=1
	fi
	if [[ -n $CREATED_ISCSI_GROUP && -d $CFS/iscsi ]] &&
		! compgen -G "$CFS/iscsi/iqn.*" >/dev/null; then
		rmdir "$CFS/iscsi" || rc=1
	fi
	[[ ! -e $CFS/iscsi/$TARGET_IQN && ! -e $HBA_DIR ]] || rc=1
	return $rc
}

# Our rxe links and veth pair (their names are this run's).
net_clean() {
	local rc=0
	if ((${#NETDEVS[@]})); then
		echo "ISER_TEST_NETDEV given: nothing was created"
		return 0
	fi
	for dev in "$RXE_I" "$RXE_T"; do
		if rdma link show "$dev/1" >/dev/null 2>&1; then
			rdma link delete "$dev" || rc=1
		fi
	done
	if ip link show "$VETH_T" >/dev/null 2>&1; then
		ip link del "$VETH_T" || rc=1
	fi
	! ip link show "$VETH_T" >/dev/null 2>&1 && ! ip link show "$VETH_I" >/dev/null 2>&1 &&
		! rdma link show "$RXE_T/1" >/dev/null 2>&1 || rc=1
	return $rc
}

# Unload every module that was not loaded when the test began, in passes
# so that users go before what they use; remove our modprobe alias, and
# the configfs mount we made once LIO is gone (it pins configfs).
modules_clean() {
	local pass mod left rc=0
	if [[ -e $ALIAS_FILE ]]; then
		rm -f "$ALIAS_FILE" || rc=1
	fi
	for pass in 1 2 3 4 5 6; do
		if [[ -n $MOUNTED_CFS ]] && ! mod_loaded target_core_mod &&
			mountpoint -q /sys/kernel/config; then
			umount /sys/kernel/config || rc=1
		fi
		left=$(cut -d' ' -f1 /proc/modules | sort | comm -13 "$STATE/modules.before" -)
		[[ -n $left ]] || return $rc
		echo "pass $pass: unloading ${left//$'\n'/ }"
		for mod in $left; do
			rmmod "$mod" 2>/dev/null
		done
	done
	left=$(cut -d' ' -f1 /proc/modules | sort | comm -13 "$STATE/modules.before" -)
	[[ -z $left ]] || {
		echo "still loaded: ${left//$'\n'/ }"
		return 1
	}
	return $rc
}

# No warning, oops or the like in the kernel log since the test began.
kernel_log_clean() {
	local log splat
	log=$(dmesg | sed -n "/$KMSG_MARK/,\$p")
	[[ -n $log ]] || {
		echo "the start mark '$KMSG_MARK' is no longer in the kernel log"
		return 1
	}
	splat=$(grep -E 'WARNING:|BUG:|Oops|general protection|Call Trace|refcount_t|list_(add|del) corruption|KASAN|kmemleak|Kernel panic|blocked for more than' <<<"$log")
	[[ -z $splat ]] || {
		echo "$splat"
		return 1
	}
}

# The clean-up results every test ends with (6), then the totals.
iser_teardown() {
	CLEANED=1
	cleanup "initiator: sessions, node records and interface removed" initiator_clean
	cleanup "iscsid stopped if this test started it" iscsid_stop
	cleanup "LIO: target, LUN, portal and ramdisk removed" target_clean
	cleanup "network: rxe links and veth pair removed" net_clean
	cleanup "modules loaded by this test unloaded" modules_clean
	cleanup "kernel log: no warning or oops since the test began" kernel_log_clean
	rm -rf "$STATE"
	ksft_done
}

# On a signal (the runner's timeout) or an unexpected exit, remove what
# was created, reporting only as diagnostics.
iser_exit() {
	[[ -n $CLEANED ]] && return
	echo "interrupted: cleaning up" | diag
	{
		initiator_clean
		iscsid_stop
		target_clean
		net_clean
		modules_clean
	} 2>&1 | diag
	rm -rf "$STATE"
}
