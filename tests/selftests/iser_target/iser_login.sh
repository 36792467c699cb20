#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Login paths through iser_target: CHAP (a wrong secret refused, the right
# one admitted), mutual CHAP, no authentication, and the TPG's
# ImmediateData and InitialR2T set all four ways, each session checked for
# what it negotiated and verified with crc32c I/O.
set -u
# shellcheck source=iser_lib.sh
. "$(dirname "$(realpath "$0")")/iser_lib.sh"

SECRET=selftest-secret-$RUN
MSECRET=selftest-mutual-$RUN
ACL=$TPG/acls/$INITIATOR_IQN

# roundtrip: login, a verified write, logout.
roundtrip() {
	session_up && fio_verify 64k 8 write 8 && logout
}

# auth_set NAME VALUE: the ACL's CHAP attribute, without the newline echo
# would add: configfs keeps it as part of the name or secret.
auth_set() {
	printf '%s' "$2" >"$ACL/auth/$1"
}

chap_initiator() {
	node_set node.session.auth.authmethod CHAP &&
		node_set node.session.auth.username "$INITIATOR_IQN" &&
		node_set node.session.auth.password "$1"
}

wrong_secret_refused() {
	auth_set userid "$INITIATOR_IQN" && auth_set password "$SECRET" &&
		echo 1 >"$TPG/attrib/authentication" &&
		chap_initiator "wrong-secret-$RUN" || return 1
	if login; then
		echo "login with a wrong CHAP secret succeeded"
		logout
		return 1
	fi
	[[ -z $(sessions) ]]
}

# auth_state: what each end holds for CHAP, shown when a login fails.
auth_state() {
	echo "target ACL: userid '$(cat "$ACL/auth/userid")', authentication $(cat "$TPG/attrib/authentication")"
	iscsiadm -m node -T "$TARGET_IQN" -p "$PORTAL" -I "$IFACE" | grep -E 'auth\.(authmethod|username)'
}

chap_login() {
	chap_initiator "$SECRET" && roundtrip || {
		auth_state
		return 1
	}
}

mutual_chap_login() {
	auth_set userid_mutual "$TARGET_IQN" && auth_set password_mutual "$MSECRET" &&
		node_set node.session.auth.username_in "$TARGET_IQN" &&
		node_set node.session.auth.password_in "$MSECRET" && roundtrip
}

no_auth_login() {
	echo 0 >"$TPG/attrib/authentication" &&
		node_set node.session.auth.authmethod None && roundtrip
}

# immediate IMM R2T: set the TPG's keys; the session must have agreed to
# them, and small and large writes (immediate, unsolicited and solicited
# data) must verify.
immediate() {
	local info rc=0
	# The initiator offers ImmediateData=Yes and InitialR2T=No, whatever
	# the host's iscsid.conf says, so that the TPG's values win.
	node_set node.session.iscsi.ImmediateData Yes &&
		node_set node.session.iscsi.InitialR2T No &&
		echo "$1" >"$TPG/param/ImmediateData" && echo "$2" >"$TPG/param/InitialR2T" &&
		session_up || return 1
	info=$(iscsiadm -m session -r "$(sessions | head -n 1)" -P 2)
	grep -E 'ImmediateData|InitialR2T|FirstBurst' <<<"$info"
	grep -q "ImmediateData: $1" <<<"$info" && grep -q "InitialR2T: $2" <<<"$info" || {
		echo "the session did not negotiate ImmediateData=$1 InitialR2T=$2"
		rc=1
	}
	fio_verify 4k 16 randwrite 8 || rc=1
	fio_verify 128k 8 write 16 || rc=1
	logout || rc=1
	return $rc
}

# 7 set-up, discovery, 4 authentication, 4 ImmediateData/InitialR2T, 6
# clean-up.
iser_begin "iser_target login paths: CHAP, mutual CHAP, ImmediateData and InitialR2T" 22
iser_setup_base
step "SendTargets discovery lists the target" discover
check "CHAP: a wrong secret is refused" wrong_secret_refused
check "CHAP: login, verified write, logout" chap_login
check "mutual CHAP: login, verified write, logout" mutual_chap_login
check "no authentication: login, verified write, logout" no_auth_login
for imm in Yes No; do
	for r2t in Yes No; do
		check "ImmediateData=$imm InitialR2T=$r2t negotiated, verified I/O" immediate "$imm" "$r2t"
	done
done
iser_teardown
