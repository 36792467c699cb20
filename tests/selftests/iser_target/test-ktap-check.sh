#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Host test of ktap-check.sh: it must accept well-formed KTAP (a test's
# own, and the runner's with each test's inside) and reject each kind of
# broken one. Prints TAP and "N passed, N failed".
set -u

here=$(dirname "$(realpath "$0")")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
passed=0
failed=0

# expect VERDICT NAME [--runner]: run the checker on stdin, which must
# accept (VERDICT ok) or reject (bad) it.
expect() {
	local verdict=$1 name=$2 got=ok
	shift 2
	cat >"$tmp/in"
	"$here/ktap-check.sh" "$@" "$tmp/in" >"$tmp/out" 2>&1 || got=bad
	n=$((n + 1))
	if [[ $got == "$verdict" ]]; then
		passed=$((passed + 1))
		echo "ok $n $name"
	else
		failed=$((failed + 1))
		echo "not ok $n $name"
		sed 's/^/# /' "$tmp/out"
	fi
}

good='TAP version 13
1..4
# a diagnostic
ok 1 first
not ok 2 second
ok 3 third # SKIP no RDMA device
ok 4 fourth # XFAIL known
# Totals: pass:1 fail:1 xfail:1 xpass:0 skip:1 error:0'

echo "TAP version 13"
expect ok "well-formed document" <<<"$good"
expect ok "no version line, plan after the results" <<'EOF2'
ok 1 a
ok 2 b # skip lower-case directive

1..2
# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0
EOF2
expect ok "empty plan with a SKIP reason" <<'EOF2'
KTAP version 1
1..0 # SKIP not root
# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "no plan line" <<'EOF2'
ok 1 a
# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "fewer results than planned" <<'EOF2'
1..3
ok 1 a
ok 2 b
# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "a number skipped" <<'EOF2'
1..2
ok 1 a
ok 3 b
# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "a number repeated" <<'EOF2'
1..2
ok 1 a
ok 1 b
# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "two plan lines" <<'EOF2'
1..1
1..1
ok 1 a
# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "a result after the closing plan" <<'EOF2'
ok 1 a
1..2
ok 2 b
# Totals: pass:2 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "version line not first" <<'EOF2'
1..1
TAP version 13
ok 1 a
# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:0 error:0
EOF2
expect bad "no totals line" <<<"${good%$'\n'*}"
expect bad "totals counting a skip as a pass" <<<"${good/pass:1 /pass:2 }"
expect bad "totals missing a failure" <<<"${good/fail:1 /fail:0 }"
expect bad "totals with an error" <<<"${good/error:0/error:1}"
expect bad "two totals lines" <<<"$good"$'\n'"${good##*$'\n'}"
expect bad "output that is not KTAP" <<<"${good/\# a diagnostic/stray output}"
expect bad "Bail out!" <<<"${good/\# a diagnostic/Bail out! no configfs}"

# The runner's output: its own plan and results, each test's KTAP
# prefixed with "# ", and prefix.pl's "# " for an empty line.
runner() { # TEST1-OUTPUT RESULT1
	echo "TAP version 13"
	echo "1..2"
	echo "# timeout set to 1200"
	echo "# selftests: iser_target: one.sh"
	sed 's/^/# /' <<<"$1"
	echo "$2"
	echo "# timeout set to 1200"
	echo "# selftests: iser_target: two.sh"
	sed 's/^/# /' <<<"$good"
	echo "not ok 2 selftests: iser_target: two.sh # exit=1"
}
expect ok "runner output" --runner < <(runner "$good" "ok 1 selftests: iser_target: one.sh")
expect bad "runner output, a test's KTAP broken" --runner \
	< <(runner "${good/ok 3 /ok 5 }" "ok 1 selftests: iser_target: one.sh")
expect bad "runner output, a test without its result" --runner \
	< <(runner "$good" "# nothing")
expect bad "runner output read as one test's" < <(runner "$good" "ok 1 selftests: iser_target: one.sh")

echo "1..$n"
echo "$passed passed, $failed failed"
((failed == 0))
