# shellcheck shell=bash
# Faults the faults and soak suites inject, on a target $T with LUN 0
# (ramdisk rd0) for $INITIATOR_IQN behind $PORTAL, as lio_simple makes it.
# Each returns non-zero only if the fault could not be done.

# --- initiator-side faults ------------------------------------------------

initiator_device_flap() {
	rdma link delete rxe1 && sleep 2 && rdma link add rxe1 type rxe netdev veth1
}

link_down_10s() {
	ip link set veth1 down && sleep 10 && ip link set veth1 up
}

# The session goes away under the writer (its I/O fails from then on).
logout_login() {
	sleep 2
	logout "$T" "$PORTAL" >/dev/null && conns_are 0 && session_up "$T"
}

iscsid_restart() {
	pkill -9 -x iscsid || return 1
	sleep 2
	initiator_start
}

# --- target-side faults ---------------------------------------------------

lun_delete_readd() {
	local t a
	t=$(tpg_dir "$T")
	a=$t/acls/$INITIATOR_IQN
	rm "$a/lun_0/map" && rmdir "$a/lun_0" && rm "$t/lun/lun_0/rd0" &&
		rmdir "$t/lun/lun_0" || return 1
	sleep 3
	lio_lun "$T" 0 rd0 && mkdir -p "$a/lun_0" && ln -s "$t/lun/lun_0" "$a/lun_0/map"
}

tpg_disable_enable() {
	echo 0 >"$(tpg_dir "$T")/enable" && conns_are 0 && sleep 3 && lio_enable "$T"
}

# target_delete: the target and everything under it, the backstore kept.
target_delete() {
	local t
	t=$(tpg_dir "$T")
	echo 0 >"$t/enable" &&
		rm "$t/acls/$INITIATOR_IQN/lun_0/map" && rmdir "$t/acls/$INITIATOR_IQN/lun_0" &&
		rmdir "$t/acls/$INITIATOR_IQN" &&
		rm "$t/lun/lun_0/rd0" && rmdir "$t/lun/lun_0" &&
		lio_portal_del "$T" "$PORTAL" && rmdir "$t" && rmdir "${t%/tpgt_1}"
}

target_delete_remake() {
	target_delete && conns_are 0 && sleep 3 && lio_simple "$T" "$PORTAL" rd0
}

# Target's RDMA device deleted and re-added; its listener comes back.
target_device_flap() {
	local n
	n=$(dmesg | grep -c "portal $PORTAL listening again")
	rdma link delete rxe0 && conns_are 0 && sleep 2 &&
		rdma link add rxe0 type rxe netdev veth0 || return 1
	for _ in $(seq "$(polls 40)"); do
		(($(dmesg | grep -c "portal $PORTAL listening again") > n)) && return 0
		sleep 0.25
	done
	echo "the portal did not listen again"
	return 1
}
