# shellcheck shell=bash
# Guest-side LIO set-up through configfs, for the suites that need many
# targets, portals and parameters quickly. The documented admin path,
# targetcli, is exercised by basic.sh; this writes the same configfs tree
# targetcli writes, about ten times faster under emulation. It also holds
# what else those suites share: kernel memory figures, and initiator
# helpers for several targets and portals.

CFS=/sys/kernel/config/target

lio_load() {
	modprobe configfs || return 1
	mountpoint -q /sys/kernel/config ||
		mount -t configfs none /sys/kernel/config || return 1
	modprobe target_core_mod && modprobe iscsi_target_mod &&
		mkdir -p "$CFS/iscsi"
}

# lio_ramdisk NAME MB: a ramdisk backstore.
lio_ramdisk() {
	local d=$CFS/core/rd_mcp_0/$1
	mkdir -p "$d" &&
		echo "rd_pages=$(($2 * 256))" >"$d/control" &&
		echo 1 >"$d/enable"
}

# lio_target IQN: a target with TPG 1, not yet enabled. Like targetcli,
# it starts with authentication off: ACLs alone admit initiators.
lio_target() {
	mkdir -p "$CFS/iscsi/$1/tpgt_1" &&
		echo 0 >"$CFS/iscsi/$1/tpgt_1/attrib/authentication"
}

tpg_dir() {
	echo "$CFS/iscsi/$1/tpgt_1"
}

# lio_lun IQN LUN BACKSTORE: export a ramdisk as LUN on the target.
lio_lun() {
	local t
	t=$(tpg_dir "$1")
	mkdir -p "$t/lun/lun_$2" &&
		ln -s "$CFS/core/rd_mcp_0/$3" "$t/lun/lun_$2/$3"
}

# lio_acl IQN INITIATOR_IQN LUN...: an ACL mapping the given LUNs.
lio_acl() {
	local t a lun
	t=$(tpg_dir "$1")
	a=$t/acls/$2
	mkdir -p "$a" || return 1
	shift 2
	for lun; do
		mkdir -p "$a/lun_$lun" &&
			ln -s "$t/lun/lun_$lun" "$a/lun_$lun/map" || return 1
	done
}

# lio_portal IQN ADDR:PORT: a portal with iSER enabled (and its TCP twin).
lio_portal() {
	local np
	np=$(tpg_dir "$1")/np/$2
	mkdir -p "$np" && echo 1 >"$np/iser" && [[ $(cat "$np/iser") == 1 ]]
}

# lio_simple IQN ADDR:PORT BACKSTORE: an enabled target whose LUN 0 is
# BACKSTORE, open to $INITIATOR_IQN through an iSER portal.
lio_simple() {
	lio_target "$1" && lio_lun "$1" 0 "$3" && lio_acl "$1" "$INITIATOR_IQN" 0 &&
		lio_portal "$1" "$2" && lio_enable "$1"
}

# lio_setup_simple IQN MB: LIO loaded, a ramdisk rd0 of MB MiB and IQN
# serving it (lio_simple) through $PORTAL.
lio_setup_simple() {
	lio_load && lio_ramdisk rd0 "$2" && lio_simple "$1" "$PORTAL" rd0
}

lio_portal_del() {
	local np
	np=$(tpg_dir "$1")/np/$2
	echo 0 >"$np/iser" && rmdir "$np"
}

# lio_param IQN KEY VALUE: a TPG login parameter, e.g. ImmediateData.
lio_param() {
	echo "$3" >"$(tpg_dir "$1")/param/$2"
}

lio_attrib() {
	echo "$3" >"$(tpg_dir "$1")/attrib/$2"
}

# lio_acl_attrib IQN INITIATOR_IQN KEY VALUE: an attribute of an ACL, e.g.
# nopin_timeout.
lio_acl_attrib() {
	echo "$4" >"$(tpg_dir "$1")/acls/$2/attrib/$3"
}

lio_enable() {
	echo 1 >"$(tpg_dir "$1")/enable"
}

# lio_clear: remove every target and backstore, leaving the modules.
lio_clear() {
	local t
	for t in "$CFS"/iscsi/iqn.*/tpgt_1; do
		[[ -d $t ]] || continue
		echo 0 >"$t/enable" 2>/dev/null
		find "$t/acls" -mindepth 3 -maxdepth 3 -type l -delete
		find "$t/acls" -mindepth 2 -maxdepth 2 -type d -name 'lun_*' -exec rmdir {} +
		find "$t/acls" -mindepth 1 -maxdepth 1 -type d -exec rmdir {} +
		find "$t/lun" -mindepth 2 -maxdepth 2 -type l -delete
		find "$t/lun" -mindepth 1 -maxdepth 1 -type d -exec rmdir {} +
		for np in "$t"/np/*; do
			[[ -d $np ]] || continue
			echo 0 >"$np/iser" 2>/dev/null
			rmdir "$np"
		done
		rmdir "$t" && rmdir "${t%/tpgt_1}" || return 1
	done
	for t in "$CFS"/core/rd_mcp_*/*; do
		[[ -d $t ]] && rmdir "$t"
	done
	for t in "$CFS"/core/rd_mcp_*; do
		[[ -d $t ]] && rmdir "$t"
	done
	! compgen -G "$CFS/iscsi/iqn.*" >/dev/null
}

# --- kernel memory ------------------------------------------------------

# meminfo FIELD...: those /proc/meminfo fields in kB, on one line in the
# order given, all from one read of the file (0 for a field it lacks).
meminfo() {
	awk -v want="$*" '{ v[$1] = $2 }
		END {
			n = split(want, w)
			for (i = 1; i <= n; i++) printf "%s%s", v[w[i] ":"] + 0, i < n ? " " : "\n"
		}' /proc/meminfo
}

# mem_now: kernel memory in use (total less free, buffers, page cache and
# user processes' anonymous memory, which iscsiadm and iscsid would add),
# slab and vmalloc, in kB, after dropping clean caches. Free pages waiting
# in the per-CPU lists (/proc/zoneinfo's pageset counts) count as free:
# MemFree leaves them out, and their number moved by megabytes between
# two readings, more than an idle connection costs.
mem_now() {
	local m pcp
	sync
	echo 3 >/proc/sys/vm/drop_caches
	read -ra m <<<"$(meminfo MemTotal MemFree Buffers Cached AnonPages Slab VmallocUsed)"
	pcp=$(awk -v kb="$(($(getconf PAGESIZE) / 1024))" '$1 == "count:" { n += $2 }
		END { print n * kb }' /proc/zoneinfo)
	echo "$((m[0] - m[1] - pcp - m[2] - m[3] - m[4])) ${m[5]} ${m[6]}"
}

# portal_transport IQN ours|srq|nostats|stock|off: iSER on the portal
# served by that transport (srq: iser_target with use_srq=1; nostats: with
# stats=0), or off with both transports unloaded.
portal_transport() {
	local np
	np=$(tpg_dir "$1")/np/$PORTAL
	echo 0 >"$np/iser" && mods_unload iser_target ib_isert || return 1
	rm -f /etc/modprobe.d/iser-transport.conf
	case $2 in
	ours | srq | nostats)
		case $2 in
		srq) echo "options iser_target use_srq=1" >/etc/modprobe.d/iser-transport.conf ;;
		nostats) echo "options iser_target stats=0" >/etc/modprobe.d/iser-transport.conf ;;
		esac
		install -m 0644 "$ISER_REPO/packaging/modprobe.d/iser-target.conf" /etc/modprobe.d/ &&
			echo 1 >"$np/iser" && mod_loaded iser_target && ! mod_loaded ib_isert &&
			[[ $(cat /sys/module/iser_target/parameters/use_srq) == "$([[ $2 == srq ]] && echo Y || echo N)" ]] &&
			[[ $(cat /sys/module/iser_target/parameters/stats) == "$([[ $2 == nostats ]] && echo N || echo Y)" ]]
		;;
	stock)
		rm -f /etc/modprobe.d/iser-target.conf
		modprobe ib_isert && echo 1 >"$np/iser" && mod_loaded ib_isert &&
			! mod_loaded iser_target
		;;
	off) ;;
	esac
}

# mem_per_idle_conn IQN N: kernel memory one idle iSER connection to IQN
# costs where the target runs (tgt: with one guest that is target and
# initiator together, with two the target alone), as "KIB SLAB_KIB
# VMALLOC_KIB": in use with N idle sessions logged in, one per open-iscsi
# interface iser1..N (iface_new), less before, divided by N. The sessions
# log in and out once first: the CQ pools keep the CQs they grew, so
# without that the transport measured second would find the first one's
# CQs and look cheaper than it is. Also leaves /tmp/slabinfo.before and
# .after, the target's slab caches around the measured login.
mem_per_idle_conn() {
	local t=$1 n=$2 before=() after=() i rc=1
	# One node record per interface, made directly: a SendTargets
	# discovery through 16 interfaces made ib_isert refuse a Text PDU and
	# iscsiadm crash, leaving a discovery session behind. The portal
	# group tag must be given, or every record lands in the same file.
	for i in $(seq "$n"); do
		iscsiadm -m node -T "$t" -p "$PORTAL,1" -I "iser$i" -o new >/dev/null || return 1
	done
	if mem_logins "$t" "$n"; then
		read -ra before <<<"$(tgt mem_now)"
		tgt cat /proc/slabinfo >/tmp/slabinfo.before
		if mem_logins "$t" "$n" keep; then
			sleep 2
			read -ra after <<<"$(tgt mem_now)"
			tgt cat /proc/slabinfo >/tmp/slabinfo.after
			mem_logouts "$t" "$n"
			rc=0
		fi
	fi
	for i in $(seq "$n"); do
		iscsiadm -m node -T "$t" -p "$PORTAL" -I "iser$i" -o delete >/dev/null 2>&1
	done
	((rc == 0 && ${#before[@]} == 3 && ${#after[@]} == 3)) || return 1
	echo "$(((after[0] - before[0]) / n)) $(((after[1] - before[1]) / n)) $(((after[2] - before[2]) / n))"
}

# mem_logins IQN N [keep]: log the N sessions in; without "keep", or if one
# fails, log them all out again (mem_logouts).
mem_logins() {
	local i
	for i in $(seq "$2"); do
		timeout 60 iscsiadm -m node -T "$1" -p "$PORTAL" -I "iser$i" --login >/dev/null ||
			{ mem_logouts "$1" "$2"; return 1; }
	done
	[[ ${3:-} == keep ]] || mem_logouts "$1" "$2"
}

# mem_logouts IQN N: whatever happened, none of these sessions stays (the
# next transport must find the module unused), and their connections are
# gone.
mem_logouts() {
	local i
	for i in $(seq "$2"); do
		iscsiadm -m node -T "$1" -p "$PORTAL" -I "iser$i" -u >/dev/null 2>&1
	done
	sleep 3
}

# slab_shrink CACHE: empty its per-CPU slabs and KASAN quarantine, if any.
slab_shrink() {
	[[ -w /sys/kernel/slab/$1/shrink ]] && echo 1 >"/sys/kernel/slab/$1/shrink"
	return 0
}

# slab_objs CACHE: active objects of a slab cache (0 when it is absent).
# Shrinking the cache first makes the count exact: it returns the objects
# that per-CPU slabs and KASAN's quarantine still hold after their free,
# which /proc/slabinfo counts as active. On the debug kernel, with a TPG
# disabled and the initiator logging in again every few seconds, each
# refused connection was released within 2 s, yet the count stayed at 4
# to 6 for a minute; after a shrink it read 0 or 1.
slab_objs() {
	[[ $TOPOLOGY == one ]] || {
		tgt slab_objs "$@"
		return
	}
	slab_shrink "$1"
	awk -v c="$1" '$1 == c { print $2; f = 1 } END { if (!f) print 0 }' /proc/slabinfo
}

# iser_slabs: one line with the active objects of the module's caches.
iser_slabs() {
	echo "iser_conn=$(slab_objs iser_conn) iser_hdr=$(slab_objs iser_hdr) iser_tx_slot=$(slab_objs iser_tx_slot)"
}

# --- initiator helpers for several targets and portals ----------------

# node_set IQN PORTAL KEY VALUE: an open-iscsi node setting.
node_set() {
	iscsiadm -m node -T "$1" -p "$2" -I iser -o update -n "$3" -v "$4"
}

# node_recovery IQN PORTAL SECS: a lost session is replaced within SECS,
# and a NOP-Out every 2 s (5 s to answer) notices a dead connection.
node_recovery() {
	node_set "$1" "$2" node.session.timeo.replacement_timeout "$3" &&
		node_set "$1" "$2" node.conn[0].timeo.noop_out_interval 2 &&
		node_set "$1" "$2" node.conn[0].timeo.noop_out_timeout 5
}

# initiator_prepare IQN SECS: iscsid running, $PORTAL discovered, and a
# lost session to IQN replaced within SECS (node_recovery).
initiator_prepare() {
	initiator_start && discover "$PORTAL" >/dev/null &&
		node_recovery "$1" "$PORTAL" "$2"
}

discover() {
	iscsiadm -m discovery -t st -p "$1" -I iser
}

login() {
	iscsiadm -m node -T "$1" -p "$2" -I iser --login
}

logout() {
	iscsiadm -m node -T "$1" -p "$2" -u
}

# disks_of IQN: block devices of the sessions to IQN, one per line.
disks_of() {
	iscsiadm -m session -P 3 2>/dev/null | awk -v t="$1" '
		/^Target: / { cur = $2 }
		/Attached scsi disk/ && cur == t { print $4 }'
}

# wait_disks IQN N: until the sessions to IQN show N disks, each with its
# block device node: a path fio opened before the node exists would be
# created as a regular file, which then hides the device.
wait_disks() {
	local n d
	for _ in $(seq "$(polls 80)"); do
		n=0
		for d in $(disks_of "$1"); do
			[[ -b /dev/$d ]] && n=$((n + 1))
		done
		((n == $2)) && return 0
		sleep 0.25
	done
	echo "expected $2 disks for $1, have $n"
	iscsiadm -m session -P 3
	return 1
}

# disk_now IQN: D is the first disk of the sessions to IQN, once it has
# its device node; after a fault it may be a new one.
D=
disk_now() {
	wait_disks "$1" 1 || return 1
	D=$(disks_of "$1" | head -n 1)
	[[ -n $D ]]
}

# session_up IQN: log in to IQN through $PORTAL, then disk_now.
session_up() {
	login "$1" "$PORTAL" && disk_now "$1"
}

# disk_ios DISK: reads and writes DISK has completed.
disk_ios() {
	awk '{ print $1 + $5 }' "/sys/block/$1/stat" 2>/dev/null || echo 0
}

# io_under_way DISK FROM PID: until DISK has completed 32 I/Os more than
# FROM while PID, the fio making them, runs. Under the debug kernel fio
# can take seconds to open a disk; a test of I/O under way must wait.
io_under_way() {
	for _ in $(seq "$(polls 80)"); do
		(($(disk_ios "$1") >= $2 + 32)) && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.25
	done
	echo "fio got no I/O going on /dev/$1"
	return 1
}

# verify DISK BS QD MB [RW]: crc32c write and verify pass.
verify() {
	local rw=${5:-randwrite}
	(cd /tmp && fio --name="v-$1-$2-$3" --filename="/dev/$1" \
		--ioengine=libaio --direct=1 --rw="$rw" --bs="$2" \
		--iodepth="$3" --size="$4M" --verify=crc32c --do_verify=1 \
		--verify_fatal=1 --verify_state_save=0 --output-format=terse \
		--terse-version=3 >/tmp/fio.out) || {
		cat /tmp/fio.out
		return 1
	}
}

# sessions_count: iSER sessions open (0 when none).
sessions_count() {
	iscsiadm -m session 2>/dev/null | grep -c '^iser:'
}

# disk_of IQN IFACE LUN: block device of LUN in the session to IQN made
# through open-iscsi interface IFACE.
disk_of() {
	iscsiadm -m session -P 3 2>/dev/null | awk -v t="$1" -v i="$2" -v l="$3" '
		/^Target: / { tgt = $2 }
		/Iface Name:/ { ifc = $3 }
		/Lun: / { lun = $NF }
		/Attached scsi disk/ && tgt == t && ifc == i && lun == l { print $4; exit }'
}

# iface_new NAME: a second open-iscsi interface on the iSER transport, so
# that one initiator can open several sessions to the same target.
iface_new() {
	iscsiadm -m iface -I "$1" -o new >/dev/null &&
		iscsiadm -m iface -I "$1" -o update -n iface.transport_name -v iser
}

# --- waiting for the target and the initiator to settle ------------------

# conns_are N: the module holds N connections once teardown settled.
conns_are() {
	[[ $TOPOLOGY == one ]] || {
		tgt conns_are "$@"
		return
	}
	for _ in $(seq "$(polls 80)"); do
		(($(slab_objs iser_conn) == $1)) && return 0
		sleep 0.25
	done
	echo "module holds $(slab_objs iser_conn) connections, expected $1"
	return 1
}

# logout_quiet: log every session out and wait until none is left.
logout_quiet() {
	iscsiadm -m node -u >/dev/null 2>&1
	for _ in $(seq "$(polls 80)"); do
		(($(sessions_count) == 0)) && return 0
		sleep 0.25
	done
	iscsiadm -m session
	return 1
}

# wait_logged_in [SECS]: until every session is logged in again (the
# initiator recovers on its own after a fault), for up to SECS (60).
wait_logged_in() {
	for _ in $(seq "$(polls $((${1:-60} * 4)))"); do
		iscsiadm -m session -P 1 2>/dev/null | grep -q 'iSCSI Session State:' &&
			! iscsiadm -m session -P 1 2>/dev/null |
			grep 'iSCSI Session State:' | grep -vq LOGGED_IN && return 0
		sleep 0.25
	done
	iscsiadm -m session -P 1
	return 1
}
