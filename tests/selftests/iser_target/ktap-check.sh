#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: ktap-check.sh [--runner] FILE
#
# Checks that FILE is the KTAP one kselftest program printed: a version
# line (optional, first if present), one plan line "1..N" before the
# first result or after the last, results "ok|not ok K description
# [# DIRECTIVE reason]" numbered 1 to N in order, only diagnostic ("#")
# or blank lines beside them, and one totals line
# "# Totals: pass:P fail:F xfail:X xpass:0 skip:S error:0" that agrees
# with the results (ok = pass, ok # SKIP = skip, ok # XFAIL = xfail,
# not ok = fail).
#
# --runner: FILE is what run_kselftest.sh or "make run_tests" printed.
# Its own plan and results (one per program, no totals line) are checked
# as above, then each program's output, which the runner prefixes with
# "# ", as a document of its own.
#
# Prints each problem found and exits 1, or one summary line per
# document and exits 0.
set -u

ERRORS=0

problem() {
	echo "ktap-check: $*" >&2
	ERRORS=$((ERRORS + 1))
}

# check_doc LABEL TOTALS: check the document on stdin; TOTALS=1 requires
# the totals line.
check_doc() {
	local label=$1 need_totals=$2 line ln=0 n=0 res num desc dir
	local plan='' plan_after=0 totals='' pass=0 fail=0 xfail=0 skip=0 errs=$ERRORS
	local re_result='^(ok|not ok) ([0-9]+)( (.*))?$'
	local re_totals='^# Totals: pass:([0-9]+) fail:([0-9]+) xfail:([0-9]+) xpass:([0-9]+) skip:([0-9]+) error:([0-9]+)$'
	while IFS= read -r line; do
		ln=$((ln + 1))
		if [[ $line =~ ^(TAP\ version\ 1[34]|KTAP\ version\ 1)$ ]]; then
			((ln == 1)) || problem "$label:$ln: version line not first"
		elif [[ $line =~ ^1\.\.([0-9]+)( \#.*)?$ ]]; then
			[[ -z $plan ]] || problem "$label:$ln: a second plan line"
			plan=${BASH_REMATCH[1]}
			((n == 0)) || plan_after=1
		elif [[ $line =~ $re_result ]]; then
			n=$((n + 1))
			res=${BASH_REMATCH[1]}
			num=${BASH_REMATCH[2]}
			desc=${BASH_REMATCH[4]}
			((num == n)) || problem "$label:$ln: result numbered $num, expected $n"
			((!plan_after)) || problem "$label:$ln: a result after the closing plan line"
			dir=
			if [[ " $desc" =~ \ \#\ *([A-Za-z]+) ]]; then
				dir=${BASH_REMATCH[1]^^}
			fi
			if [[ $res == 'not ok' ]]; then
				fail=$((fail + 1))
			elif [[ $dir == SKIP ]]; then
				skip=$((skip + 1))
			elif [[ $dir == XFAIL ]]; then
				xfail=$((xfail + 1))
			else
				pass=$((pass + 1))
			fi
		elif [[ $line =~ $re_totals ]]; then
			[[ -z $totals ]] || problem "$label:$ln: a second totals line"
			totals="${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]} ${BASH_REMATCH[4]} ${BASH_REMATCH[5]} ${BASH_REMATCH[6]}"
		elif [[ $line == 'Bail out!'* ]]; then
			problem "$label:$ln: $line"
		elif [[ -n $line && $line != '#'* ]]; then
			problem "$label:$ln: not a KTAP line: $line"
		fi
	done
	if [[ -z $plan ]]; then
		problem "$label: no plan line"
	elif ((n != plan)); then
		problem "$label: the plan says $plan results, there are $n"
	fi
	if [[ -z $totals ]]; then
		((!need_totals)) || problem "$label: no totals line"
	elif [[ $totals != "$pass $fail $xfail 0 $skip 0" ]]; then
		problem "$label: totals 'pass fail xfail xpass skip error' are '$totals', the results give '$pass $fail $xfail 0 $skip 0'"
	fi
	((ERRORS == errs)) &&
		echo "ktap-check: $label: $n results (pass $pass, fail $fail, xfail $xfail, skip $skip)${totals:+, totals agree}"
}

# check_runner FILE: the runner's own document, then each program's.
check_runner() {
	local file=$1 line name='' section=''
	check_doc "$file" 0 <"$file"
	while IFS= read -r line; do
		if [[ $line =~ ^#\ selftests:\ (.*)$ ]]; then
			name=${BASH_REMATCH[1]}
			section=
		elif [[ -n $name && $line =~ ^(ok|not\ ok)\ [0-9]+\ selftests:\  ]]; then
			check_doc "$file: $name" 1 <<<"$section"
			name=
		elif [[ -n $name ]]; then
			# prefix.pl turns an empty line into "# ".
			line=${line#\#}
			section+=${line# }$'\n'
		fi
	done <"$file"
	[[ -z $name ]] || problem "$file: $name has no result line"
}

runner=0
if [[ ${1:-} == --runner ]]; then
	runner=1
	shift
fi
if (($# != 1)) || [[ ! -r $1 ]]; then
	echo "usage: ktap-check.sh [--runner] FILE" >&2
	exit 2
fi
if ((runner)); then
	check_runner "$1"
else
	check_doc "$1" 1 <"$1"
fi
((ERRORS == 0))
