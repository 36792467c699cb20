#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# iser-hostile: the fuzzer end to end on the host, against the in-process
# target of fake_rdma.c (no RDMA device): fuzzing a sound target,
# reproducibility, replay, and finding, minimising and replaying a bug the
# fake plants (READs return a wrong byte once a SNACK came). Prints TAP and
# "N passed, N failed".
set -u

bin=${1:-./iser-hostile-fake}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
	local what=$1

	shift
	n=$((n + 1))
	if "$@"; then
		echo "ok $n - $what"
	else
		echo "not ok $n - $what"
		failed=$((failed + 1))
	fi
}

# exited RC WANT PATTERN TEXT: exit status WANT and a line of TEXT matches.
exited() {
	[ "$1" -eq "$2" ] && grep -Eq "$3" <<<"$4"
}

# keeps_io FILE: a SNACK, a verified WRITE and READ, and their verify.
keeps_io() {
	grep -q "# SNACK" "$1" && grep -q "^verify " "$1" &&
		[ "$(grep -c "^send phase=io" "$1")" -eq 2 ]
}

actions() {
	grep -cvE '^(#|iser-fuzz|seed|index|initiator|target|lun|lba)' "$1"
}

args=(--target 127.0.0.1 --iqn iqn.2026-11.org.example:t
      --initiator iqn.2026-11.org.example:i --lun 1 --timeout 2)

# A sound target: nothing fails, passing sequences leave no file.
FAKE_TARGET='' "$bin" "${args[@]}" --fuzz 7 --pdus 1500 --record "$tmp/a" \
	>"$tmp/a.out" 2>"$tmp/a.err"
rc=$?
summary=$(tail -n 1 "$tmp/a.out")
check "a sound target: exit 0 ($summary)" test "$rc" -eq 0
fields='sequences=[1-9][0-9]* pdus=[0-9]+ seconds=[0-9.]+ pdus_per_second=[0-9.]+'
check "the summary line counts sequences, PDUs, their rate and no failure" \
	grep -Eq "^FUZZ seed=7 first=0 $fields failures=0 files=-\$" <<<"$summary"
pdus=$(sed -n 's/.* pdus=\([0-9]*\) .*/\1/p' <<<"$summary")
check "--pdus 1500: at least that many PDUs sent ($pdus)" test "${pdus:-0}" -ge 1500
check "the files of passing sequences are removed" test -z "$(ls -A "$tmp/a")"

# Reproducible: the same seed records the same files, --start resumes.
"$bin" "${args[@]}" --fuzz 11 --pdus 300 --keep --record "$tmp/b1" >/dev/null 2>&1
"$bin" "${args[@]}" --fuzz 11 --pdus 300 --keep --record "$tmp/b2" >/dev/null 2>&1
"$bin" "${args[@]}" --fuzz 11 --start 3 --pdus 1 --keep --record "$tmp/b3" \
	>/dev/null 2>&1
check "two runs of one seed record the same sequences ($(find "$tmp/b1" -type f | wc -l) files)" \
	diff -r "$tmp/b1" "$tmp/b2"
check "--start 3 plays sequence 3 as the full run did" \
	cmp "$tmp/b1/seq-11-3.txt" "$tmp/b3/seq-11-3.txt"

# Replay of a recorded sequence.
out=$("$bin" --target 127.0.0.1 --timeout 2 --replay "$tmp/b1/seq-11-0.txt" 2>&1)
rc=$?
check "--replay of a recorded sequence passes (${out%%:*})" \
	exited "$rc" 0 "^RESULT scenario=replay outcome=(alive|verified) .*verdict=PASS" "$out"

echo "iser-fuzz 1" >"$tmp/bad.txt"
echo "wait ms=1" >>"$tmp/bad.txt"
out=$("$bin" --target 127.0.0.1 --replay "$tmp/bad.txt" 2>&1)
rc=$?
check "--replay of a broken file: exit 2 and why ($out)" \
	exited "$rc" 2 "line 2: action before the header" "$out"

# The planted bug: found, minimised, replayed.
FAKE_TARGET=corrupt-after-snack "$bin" "${args[@]}" --fuzz 7 --pdus 600 \
	--record "$tmp/c" >"$tmp/c.out" 2>"$tmp/c.err"
rc=$?
fail=$(grep -m1 '^FAIL ' "$tmp/c.out")
seq=$(awk '/^FAIL /{print $2; exit}' "$tmp/c.out")
min=$(awk '/^MINIMISED /{sub(":", "", $2); print $2; exit}' "$tmp/c.out")
check "a READ with wrong data is found: exit 1, outcome failed (${fail:0:100}...)" \
	exited "$rc" 1 "outcome=failed.*other data than" "$fail"
check "the failing sequence stays on disk ($seq)" test -s "$seq"
check "the summary names the files" \
	grep -Eq "^FUZZ .*failures=[1-9][0-9]* files=.*seq-7-[0-9]+\.txt" "$tmp/c.out"
check "it is minimised to a file ($min)" test -s "$min"
if [ -s "$min" ] && [ -s "$seq" ]; then
	small=$(actions "$min")
	big=$(actions "$seq")
	check "the minimised sequence is shorter ($small of $big actions)" \
		test "$small" -lt "$big"
	check "and keeps the SNACK, the WRITE, the READ and the verify" keeps_io "$min"
	check "no candidate file is left behind" \
		test -z "$(find "$tmp/c" -name 'try-*')"
	out=$(FAKE_TARGET=corrupt-after-snack "$bin" --target 127.0.0.1 --timeout 2 \
		--replay "$min" 2>&1)
	rc=$?
	check "--replay of the minimised file fails the same way" \
		exited "$rc" 1 "^RESULT scenario=replay outcome=failed" "$out"
	out=$(FAKE_TARGET='' "$bin" --target 127.0.0.1 --timeout 2 --replay "$min" 2>&1)
	rc=$?
	check "and passes on the target without the bug" \
		exited "$rc" 0 "^RESULT scenario=replay outcome=verified" "$out"
fi

# The connection oracle: a connection the target keeps after a SNACK.
mkdir "$tmp/conns"
FAKE_TARGET=leak-after-snack FAKE_CONNS=$tmp/conns FAKE_INITIATOR=iqn.2026-11.org.example:i \
	"$bin" "${args[@]}" --fuzz 7 --pdus 600 --conns "$tmp/conns" --conns-wait 1 \
	--record "$tmp/d" >"$tmp/d.out" 2>"$tmp/d.err"
rc=$?
fail=$(grep -m1 '^FAIL ' "$tmp/d.out")
min=$(awk '/^MINIMISED /{sub(":", "", $2); print $2; exit}' "$tmp/d.out")
check "--conns: a connection left listed is found: exit 1, outcome failed (${fail:0:100}...)" \
	exited "$rc" 1 "outcome=failed.*connections: [1-9][0-9]* of iqn.2026-11.org.example:i listed" "$fail"
check "and minimised to a file that keeps the SNACK ($min)" grep -qs "# SNACK" "$min"
if [ -s "$min" ]; then
	rm -f "$tmp/conns"/*
	out=$(FAKE_TARGET='' "$bin" --target 127.0.0.1 --timeout 2 --conns "$tmp/conns" \
		--conns-wait 1 --replay "$min" 2>&1)
	rc=$?
	check "--conns: the minimised file passes on the target that frees its connections" \
		exited "$rc" 0 "^RESULT scenario=replay outcome=(alive|verified) .*verdict=PASS" "$out"
	out=$(FAKE_TARGET=leak-after-snack FAKE_CONNS=$tmp/conns \
		FAKE_INITIATOR=iqn.2026-11.org.example:i "$bin" --target 127.0.0.1 --timeout 2 \
		--conns "$tmp/conns" --conns-wait 1 --replay "$min" 2>&1)
	rc=$?
	check "and fails again on the leaking one" \
		exited "$rc" 1 "^RESULT scenario=replay outcome=failed .*connections: " "$out"
fi

echo "1..$n"
echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
