#!/bin/bash
# vm-timeout: 1200
# Login paths through iser_target: CHAP and mutual CHAP (and a wrong secret
# refused), ImmediateData and InitialR2T set both ways on the TPG, IPv6
# and wildcard portals, Soft-iWARP refused with its reason, a portal
# disabled while another keeps serving, module parameter validation, and
# refusal to load beside ib_isert; t10_pi on a TPG served without PI.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=lio.sh
. "$ISER_REPO/tests/guest/lio.sh"

T=iqn.2026-11.org.example:paths
T6=iqn.2026-11.org.example:paths6
TW=iqn.2026-11.org.example:wild
IP6_T=fd77::1
IP6_I=fd77::2
P6="[$IP6_T]:3260"
P2=$TARGET_IP:3261
SECRET=target-secret-1234
MSECRET=mutual-secret-5678

setup() {
	lio_load && lio_ramdisk rd0 32 && lio_ramdisk rd6 32 &&
		lio_ramdisk rdw 32 || return 1
	lio_target "$T" && lio_lun "$T" 0 rd0 && lio_acl "$T" "$INITIATOR_IQN" 0 &&
		lio_portal "$T" "$PORTAL" && lio_portal "$T" "$P2" &&
		lio_enable "$T"
}

ipv6_setup() {
	ip -6 addr add "$IP6_T/64" dev veth0 nodad &&
		ip -6 addr add "$IP6_I/64" dev veth1 nodad || return 1
	lio_target "$T6" && lio_lun "$T6" 0 rd6 && lio_acl "$T6" "$INITIATOR_IQN" 0 &&
		lio_portal "$T6" "$P6" && lio_enable "$T6"
}

# session_roundtrip IQN PORTAL: discovery, login, crc32c verify, logout.
session_roundtrip() {
	local d
	discover "$2" >/dev/null || return 1
	login "$1" "$2" && wait_disks "$1" 1 || return 1
	d=$(disks_of "$1" | head -n 1)
	iscsiadm -m session -P 1 | grep -E 'Current Portal|Iface Transport' | sort -u
	verify "$d" 64k 8 8 write
	local rc=$?
	logout "$1" "$2" >/dev/null || rc=1
	return $rc
}

chap_target() {
	local a
	a=$(tpg_dir "$T")/acls/$INITIATOR_IQN/auth
	echo "$INITIATOR_IQN" >"$a/userid" && echo "$SECRET" >"$a/password" &&
		lio_attrib "$T" authentication 1
}

chap_initiator() {
	node_set "$T" "$PORTAL" node.session.auth.authmethod CHAP &&
		node_set "$T" "$PORTAL" node.session.auth.username "$INITIATOR_IQN" &&
		node_set "$T" "$PORTAL" node.session.auth.password "$1"
}

wrong_secret_refused() {
	chap_initiator wrong-secret-000 || return 1
	if login "$T" "$PORTAL"; then
		echo "login with a wrong CHAP secret succeeded"
		return 1
	fi
	(($(sessions_count) == 0))
}

chap_login() {
	chap_initiator "$SECRET" && session_roundtrip "$T" "$PORTAL"
}

mutual_chap_login() {
	local a
	a=$(tpg_dir "$T")/acls/$INITIATOR_IQN/auth
	echo "$T" >"$a/userid_mutual" && echo "$MSECRET" >"$a/password_mutual" &&
		node_set "$T" "$PORTAL" node.session.auth.username_in "$T" &&
		node_set "$T" "$PORTAL" node.session.auth.password_in "$MSECRET" &&
		session_roundtrip "$T" "$PORTAL"
}

no_auth() {
	lio_attrib "$T" authentication 0 &&
		node_set "$T" "$PORTAL" node.session.auth.authmethod None
}

# immediate IMM R2T: set the TPG keys, then check what the session agreed.
immediate() {
	local d info rc
	lio_param "$T" ImmediateData "$1" && lio_param "$T" InitialR2T "$2" ||
		return 1
	login "$T" "$PORTAL" && wait_disks "$T" 1 || return 1
	info=$(iscsiadm -m session -P 2)
	grep -E 'ImmediateData|InitialR2T|FirstBurst' <<<"$info"
	d=$(disks_of "$T" | head -n 1)
	rc=0
	grep -q "ImmediateData: $1" <<<"$info" &&
		grep -q "InitialR2T: $2" <<<"$info" || rc=1
	verify "$d" 4k 16 8 randwrite || rc=1
	verify "$d" 128k 8 16 write || rc=1
	logout "$T" "$PORTAL" >/dev/null || rc=1
	return $rc
}

# LIO refuses 0.0.0.0 and [::] on the same port (it treats them as one
# portal), so the IPv6 wildcard listens on the next port.
wildcard() {
	lio_target "$TW" && lio_lun "$TW" 0 rdw && lio_acl "$TW" "$INITIATOR_IQN" 0 &&
		lio_portal "$TW" 0.0.0.0:3262 && lio_portal "$TW" "[::]:3263" &&
		lio_enable "$TW" || return 1
	session_roundtrip "$TW" "$TARGET_IP:3262" &&
		session_roundtrip "$TW" "[$IP6_T]:3263"
}

# One portal of the target is disabled while a session on the other one
# keeps verifying; the disabled portal refuses, then serves again.
portal_disable() {
	local d rc=0 pid
	discover "$P2" >/dev/null && login "$T" "$PORTAL" && wait_disks "$T" 1 ||
		return 1
	d=$(disks_of "$T" | head -n 1)
	verify "$d" 16k 16 24 randwrite &
	pid=$!
	echo 0 >"$(tpg_dir "$T")/np/$P2/iser" || rc=1
	# One try with a short timeout: iscsiadm's defaults (8 retries of
	# 15 s) spent two minutes of make check here proving the same.
	node_set "$T" "$P2" node.session.initial_login_retry_max 1 &&
		node_set "$T" "$P2" node.conn[0].timeo.login_timeout 5 || rc=1
	if login "$T" "$P2" 2>/dev/null; then
		echo "login through the disabled iSER portal succeeded"
		rc=1
	fi
	wait $pid || {
		echo "I/O on the other portal failed"
		rc=1
	}
	echo 1 >"$(tpg_dir "$T")/np/$P2/iser" || rc=1
	logout "$T" "$PORTAL" >/dev/null || rc=1
	((rc == 0)) && session_roundtrip "$T" "$P2"
}

# A CmdSN window (LIO's 64) above queue_depth: the receive ring is cut to
# the receive queue, and must leave ib_drain_rq() an entry for its marker
# ("failed to drain recv queue" otherwise, when the session ends).
window_above_depth() {
	local qd=/sys/module/iser_target/parameters/queue_depth old rc=0 m
	old=$(cat "$qd") && echo 16 >"$qd" || return 1
	m=$(dmesg | wc -l)
	session_roundtrip "$T" "$PORTAL" || rc=1
	echo "$old" >"$qd" || rc=1
	dmesg | tail -n +"$((m + 1))" | grep -E 'queue depth|drain' | head -n 3
	dmesg | tail -n +"$((m + 1))" | grep -qE 'session queue depth 64 is above the [0-9]+ commands' || {
		echo "no line about the window above queue_depth"
		rc=1
	}
	if dmesg | tail -n +"$((m + 1))" | grep -q 'failed to drain'; then
		echo "a queue pair could not be drained"
		rc=1
	fi
	return $rc
}

# t10_pi on the TPG: this transport offers no protection information (no
# signature offload), so the session is served without it, and the log
# says so rather than the initiator silently losing PI.
t10_pi_without_pi() {
	local m rc=0
	lio_attrib "$T" t10_pi 1 || return 1
	m=$(dmesg | wc -l)
	session_roundtrip "$T" "$PORTAL" || rc=1
	lio_attrib "$T" t10_pi 0 || rc=1
	dmesg | tail -n +"$((m + 1))" | grep 'T10-PI' | head -n 2
	dmesg | tail -n +"$((m + 1))" |
		grep -q "T10-PI requested on $T but not offered by iSER; serving without PI" || {
		echo "no line about T10-PI"
		rc=1
	}
	return $rc
}

logout_all() {
	iscsiadm -m node -u >/dev/null 2>&1
	(($(sessions_count) == 0))
}

bad_params_refused() {
	local rc=0 v p=/sys/module/iser_target/parameters
	for v in max_io_bytes=17825792 max_io_bytes=65000 max_io_bytes=0 \
		queue_depth=15 queue_depth=4097 keepalive_secs=3601 \
		srq_size=63 srq_size=16385 queue_depth=x; do
		if modprobe iser_target "$v" 2>/dev/null; then
			echo "modprobe iser_target $v was accepted"
			rmmod iser_target
			rc=1
		fi
	done
	dmesg | grep -q 'srq_size=16385 refused: need 64 to 16384' || {
		echo "no log line for srq_size=16385"
		rc=1
	}
	dmesg | grep -q 'max_io_bytes=65000 refused: need a multiple of 4096 from 65536 to 16777216' || {
		echo "no log line for max_io_bytes=65000"
		rc=1
	}
	# The ends of each range are accepted and read back, and so is a
	# module without counters.
	modprobe iser_target queue_depth=4096 keepalive_secs=0 srq_size=64 \
		max_io_bytes=65536 stats=0 || return 1
	v="$(cat $p/queue_depth $p/keepalive_secs $p/srq_size $p/max_io_bytes $p/stats | xargs)"
	[[ $v == "4096 0 64 65536 N" ]] || {
		echo "queue_depth keepalive_secs srq_size max_io_bytes stats read back as $v"
		rc=1
	}
	# A refused write through sysfs leaves the value as it was.
	echo 15 >$p/queue_depth 2>/dev/null && {
		echo "queue_depth=15 written through sysfs"
		rc=1
	}
	echo 3601 >$p/keepalive_secs 2>/dev/null && {
		echo "keepalive_secs=3601 written through sysfs"
		rc=1
	}
	echo 16 >$p/queue_depth || rc=1
	v="$(cat $p/queue_depth $p/keepalive_secs | xargs)"
	[[ $v == "16 0" ]] || {
		echo "after the writes, queue_depth keepalive_secs read $v, not 16 0"
		rc=1
	}
	dmesg | grep -q 'keepalive_secs=3601 refused: need 0 to 3600' || {
		echo "no log line for keepalive_secs=3601"
		rc=1
	}
	rmmod iser_target || rc=1
	return $rc
}

big_io_param() {
	modprobe iser_target max_io_bytes=16777216 || return 1
	v=$(cat /sys/module/iser_target/parameters/max_io_bytes)
	echo "max_io_bytes=$v"
	rmmod iser_target && ((v == 16777216))
}

refuses_beside_stock() {
	local ko rc=0
	# modinfo, not find: on the debug kernel .../kernel is a symlink to
	# the built modules, and find does not follow a starting point's link.
	ko=$(modinfo -n ib_isert) && [[ -e $ko ]] || {
		echo "no ib_isert module for $(uname -r)"
		return 1
	}
	insmod "$ko" || return 1
	if modprobe iser_target 2>/dev/null; then
		echo "iser_target loaded beside ib_isert"
		rc=1
		rmmod iser_target
	fi
	dmesg | grep 'iser_target: .*ib_isert' | tail -n 1
	dmesg | grep -q 'unload it first' || rc=1
	rmmod ib_isert || rc=1
	return $rc
}

# Soft-iWARP (siw.ko, which Debian does not ship: tests/run-all.sh builds
# it with tools/dev/siw-module.sh). Every iSER portal has an iSCSI/TCP
# twin on the same port, and siw listens in the host's TCP port space, so
# enabling iSER on siw's address, or on a wildcard with siw present, must
# fail with the log line that says why and what to do; the RoCE portals
# keep serving, and nothing of siw is left.
SIW_KO=$ISER_REPO/build/siw/$(uname -r)/siw.ko
SIW_IP=192.168.79.1
iwarp_refused() {
	local p np rc=0 since log deps
	ip link add sw0 type veth peer name sw1 && ip link set sw0 up &&
		ip link set sw1 up && ip addr add "$SIW_IP/24" dev sw0 || return 1
	# insmod does not load what it depends on.
	read -ra deps <<<"$(modinfo -F depends "$SIW_KO" | tr , ' ')"
	modprobe -a "${deps[@]}" && insmod "$SIW_KO" &&
		rdma link add siw0 type siw netdev sw0 || rc=1
	# As an administrator would: the link up before the portals.
	rdma_link_active siw0
	since=$(dmesg | wc -l)
	for p in "$SIW_IP:3264" 0.0.0.0:3265; do
		np=$(tpg_dir "$T")/np/$p
		mkdir "$np" || rc=1
		if echo 1 2>/dev/null >"$np/iser"; then
			echo "iSER enabled on $p beside siw0"
			rc=1
		fi
		rmdir "$np" || rc=1
	done
	log=$(dmesg | tail -n "+$((since + 1))" | grep 'iser_target: cannot listen')
	echo "$log"
	grep -qF "cannot listen on $SIW_IP:3264: -98: iWARP device siw0 listens in the TCP port space" <<<"$log" || rc=1
	grep -qF "cannot listen on 0.0.0.0:3265: -98: an iWARP device listens in the TCP port space" <<<"$log" || rc=1
	rdma link delete siw0 || rc=1
	rmmod siw || rc=1
	ip link del sw0 || rc=1
	((rc == 0)) && session_roundtrip "$T" "$PORTAL"
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
tap_diag "$(transport_banner)"
step transport "select transport iser_target" select_transport
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step lio "LIO target with two iSER portals" setup
step served "$TRANSPORT_MOD serves iSER (ISER_IMPL=$ISER_IMPL)" transport_loaded
step iscsid "iscsid running" initiator_start
step plain "plain login, verify, logout" session_roundtrip "$T" "$PORTAL"
check "CHAP: wrong secret refused" wrong_secret_refused
check "CHAP login verifies" chap_login
check "mutual CHAP login verifies" mutual_chap_login
step noauth "authentication off again" no_auth
for imm in Yes No; do
	for r2t in Yes No; do
		check "ImmediateData=$imm InitialR2T=$r2t negotiated and verifies" immediate $imm $r2t
	done
done
check "portal disabled while another serves; re-enabled it serves again" portal_disable
# Before the wildcard portals: with them listening when siw0 was added,
# enabling iSER on siw0's address failed with ENODEV instead, and a
# wildcard portal enabled beside siw0 listened.
if [[ -r $SIW_KO ]]; then
	check "Soft-iWARP: iSER on its portal refused, with the log line that says why" iwarp_refused
else
	tap_skip "Soft-iWARP: iSER on its portal refused, with the log line that says why" \
		"no $SIW_KO (tools/dev/siw-module.sh builds it; tests/run-all.sh does for each kernel it boots)"
fi
step ipv6 "IPv6 addresses and an IPv6 iSER portal" ipv6_setup
check "IPv6 portal login verifies" session_roundtrip "$T6" "$P6"
check "wildcard portals 0.0.0.0 and [::] serve IPv4 and IPv6" wildcard
check "window above queue_depth: verifies, and the queue pair drains" window_above_depth
check "t10_pi on the TPG: served without PI, with a log line" t10_pi_without_pi
step logout "all sessions logged out" logout_all
undo iscsid "iscsid stopped" initiator_stop
undo lio "LIO configuration removed" lio_clear
undo iscsid "unload initiator modules" \
	mods_unload ib_iser iscsi_tcp libiscsi_tcp libiscsi scsi_transport_iscsi
undo lio "unload iser_target" mods_unload iser_target
check "module parameters out of range refused at load and through sysfs, with a log line; their ends and stats=0 accepted" bad_params_refused
check "max_io_bytes=16777216 accepted" big_io_param
check "iser_target refuses to load beside the stock ib_isert" refuses_beside_stock
undo lio "unload LIO" unload_lio
undo rxe "remove rxe links and veth pair" rxe_teardown
undo rxe "unload rdma_rxe and the RDMA core" unload_rdma
tap_run "unload every module loaded since boot" unload_new_modules "$MODULES_BEFORE"
tap_plan
((TAP_FAIL == 0))
