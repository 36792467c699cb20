#!/bin/bash
# vm-timeout: 2400
# The kselftest collection (tests/selftests/iser_target, issue 20) run the
# way an administrator runs it: installed on the host into
# build/ksft-install (tests/run-all.sh does that first), copied into the
# guest and run with the repository hidden behind an empty tmpfs in a
# mount namespace of its own, so that nothing outside the installed
# directory can serve it. Twice: on the Soft-RoCE pair the tests create,
# then on a veth/rxe pair this script prepares and names in
# ISER_TEST_NETDEV. Each run's output must be valid KTAP (ktap-check.sh),
# every test it runs must pass, the prepared pair must outlive its run,
# and no module, RDMA link or veth the tests created may be left.
# The second run runs $ISER_KSFT_NETDEV_TESTS (default iser_basic.sh;
# "all" for the whole collection): what it adds is a netdev the tests
# did not create, which every test takes through the same set-up in
# iser_lib.sh, so one test shows it and the rest would repeat the first
# run at several minutes of make check.
# shellcheck source-path=SCRIPTDIR
set -u
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"

INST=$ISER_REPO/build/ksft-install
DIR=/tmp/ksft
TESTS=$(cd "$ISER_REPO/tests/selftests/iser_target" &&
	sed -n 's/^TEST_PROGS := //p' Makefile)
NETDEV_TESTS=${ISER_KSFT_NETDEV_TESTS:-iser_basic.sh}
[[ $NETDEV_TESTS == all ]] && NETDEV_TESTS=$TESTS
PV_T=192.168.78.1
PV_I=192.168.78.2

installed() {
	[[ -x $INST/run_kselftest.sh && -r $ISER_REPO/iser_target.ko ]] || {
		echo "$INST or $ISER_REPO/iser_target.ko is missing: make check installs the collection first"
		return 1
	}
	rm -rf "$DIR" && cp -a "$INST" "$DIR" && cp "$ISER_REPO/iser_target.ko" "$DIR/" &&
		! grep -rqF "$ISER_REPO" "$DIR" --exclude=iser_target.ko
}

# What the machine has before a run, to compare with after it.
state() {
	{
		awk '{ print "module", $1 }' /proc/modules
		# Not "rdma link show", which would load ib_core.
		ls /sys/class/infiniband 2>/dev/null | awk '{ print "rdma", $1 }'
		ip -o link show | awk -F': ' '{ print "link", $2 }'
	} | sort
}

# run_collection NAME "TEST..." [VAR=VALUE...]: the installed runner,
# repository hidden, running TEST... (run_kselftest.sh -t) or, given
# $TESTS, the whole collection; its output in $ISER_OUT/ksft-NAME.out
# (build/vm/out/kselftest/ on the host).
run_collection() {
	local name=$1 out=$ISER_OUT/ksft-$1.out t0=$SECONDS t sel=()
	if [[ $2 != "$TESTS" ]]; then
		for t in $2; do sel+=(-t "iser_target:$t"); done
	fi
	shift 2
	state >"/tmp/ksft-$name.before"
	unshare -m bash -c 'mount -t tmpfs none "$1" && shift && cd "$1" && shift &&
		n=$1 && shift && exec env "${@:1:n}" ./run_kselftest.sh "${@:n+1}"' bash \
		"$ISER_REPO" "$DIR" $(($# + 1)) ISER_TEST_MODULE="$DIR/iser_target.ko" "$@" \
		"${sel[@]}" 2>&1 | tee "$out" >/dev/null
	state >"/tmp/ksft-$name.after"
	tap_diag "run on $name took $((SECONDS - t0)) s"
	grep -E '^(ok|not ok) [0-9]+ |^# (Totals|# Totals)|Totals:' "$out" | tap_diag
}

ktap_valid() {
	"$DIR/iser_target/ktap-check.sh" --runner "$ISER_OUT/ksft-$1.out"
}

# every_test_passed NAME "TEST...": one "ok" runner line per TEST.
every_test_passed() {
	local t rc=0
	for t in $2; do
		grep -qE "^ok [0-9]+ selftests: iser_target: $t\$" "$ISER_OUT/ksft-$1.out" || {
			echo "$t did not pass:"
			grep -E "^(# )*not ok|SKIP" "$ISER_OUT/ksft-$1.out" | grep -v '^# ok' | head -n 10
			rc=1
		}
	done
	return "$rc"
}

# nothing_left NAME: what the machine had before the run, it has after.
nothing_left() {
	local diff
	diff=$(diff "/tmp/ksft-$1.before" "/tmp/ksft-$1.after")
	[[ -z $diff ]] || {
		echo "left or removed by the run (< before, > after):"
		echo "$diff"
		return 1
	}
}

prepare_netdev() {
	modprobe rdma_rxe &&
		ip link add pv0 type veth peer name pv1 &&
		ip link set pv0 up && ip link set pv1 up &&
		ip addr add "$PV_T/24" dev pv0 && ip addr add "$PV_I/24" dev pv1 &&
		rdma link add prxe0 type rxe netdev pv0 &&
		rdma link add prxe1 type rxe netdev pv1
}

prepared_kept() {
	rdma link show prxe0/1 >/dev/null && rdma link show prxe1/1 >/dev/null &&
		ip addr show pv0 | grep -qF "$PV_T/24" &&
		ip addr show pv1 | grep -qF "$PV_I/24"
}

remove_prepared() {
	rdma link delete prxe0 && rdma link delete prxe1 && ip link del pv0
}

MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
step installed "installed collection copied, no path into the repository in it" installed
if ((STEPS_OK)); then
	run_collection soft-roce "$TESTS"
	check "Soft-RoCE run: output is valid KTAP" ktap_valid soft-roce
	check "Soft-RoCE run: every test passed ($TESTS)" every_test_passed soft-roce "$TESTS"
	check "Soft-RoCE run: no module, RDMA link or interface left" nothing_left soft-roce
fi
step netdev "veth pair pv0/pv1 with rxe links prxe0/prxe1, prepared beforehand" prepare_netdev
if ((STEPS_OK)); then
	# Less data than the first run: what differs here is whose netdev it
	# is, not the data path, which the first run verified at 16 MiB.
	run_collection netdev "$NETDEV_TESTS" ISER_TEST_NETDEV="pv0 pv1" \
		ISER_TEST_TARGET_IP="$PV_T" ISER_TEST_INITIATOR_IP="$PV_I" ISER_TEST_VERIFY_MB=4
	check "prepared netdev run: output is valid KTAP" ktap_valid netdev
	check "prepared netdev run: every test passed ($NETDEV_TESTS)" every_test_passed netdev "$NETDEV_TESTS"
	check "prepared netdev run: the prepared pair and its addresses are still there" prepared_kept
	check "prepared netdev run: nothing else left or removed" nothing_left netdev
fi
undo netdev "prepared pair removed" remove_prepared
check "unload every module loaded since boot" unload_new_modules "$MODULES_BEFORE"
tap_plan
((TAP_FAIL == 0))
