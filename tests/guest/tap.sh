# shellcheck shell=bash
# Kselftest-style TAP helpers, sourced by host and guest scripts alike.
# One line per check: "ok N name", "not ok N name", "ok N name # SKIP why";
# diagnostics are "# " lines.

TAP_N=0
TAP_PASS=0
TAP_FAIL=0
TAP_SKIP=0
TAP_T0=${EPOCHREALTIME/./}

# tap_time NAME: in a guest (guest-init sets ISER_OUT), the milliseconds
# since the previous check, or since this file was sourced, go to
# $ISER_OUT/times.txt as "MS NAME"; run-vm.sh names the slowest checks,
# which is where make check's time goes.
tap_time() {
	[[ -n ${ISER_OUT:-} ]] || return 0
	local now=${EPOCHREALTIME/./}
	printf '%d %s\n' $(((now - TAP_T0) / 1000)) "$1" >>"$ISER_OUT/times.txt"
	TAP_T0=$now
}

tap_ok() {
	TAP_N=$((TAP_N + 1)) TAP_PASS=$((TAP_PASS + 1))
	printf 'ok %d %s\n' "$TAP_N" "$1"
	tap_time "$1"
}

tap_not_ok() {
	TAP_N=$((TAP_N + 1)) TAP_FAIL=$((TAP_FAIL + 1))
	printf 'not ok %d %s\n' "$TAP_N" "$1"
	tap_time "$1"
}

tap_skip() {
	TAP_N=$((TAP_N + 1)) TAP_SKIP=$((TAP_SKIP + 1))
	printf 'ok %d %s # SKIP %s\n' "$TAP_N" "$1" "$2"
	tap_time "$1"
}

# Print stdin (or the arguments) as diagnostic lines.
tap_diag() {
	if (($#)); then
		printf '# %s\n' "$@"
	else
		sed 's/^/# /'
	fi
}

# tap_run NAME CMD...: one check that passes iff CMD exits 0. CMD runs in
# this shell (so it may set variables for later steps); its output is kept
# and shown, last 40 lines, only on failure.
tap_run() {
	local name=$1 log rc
	shift
	log=$(mktemp)
	if "$@" >"$log" 2>&1; then rc=0; else rc=$?; fi
	if ((rc == 0)); then
		tap_ok "$name"
	else
		tap_not_ok "$name"
		tap_diag "exit status $rc"
		tail -n 40 "$log" | tap_diag
	fi
	rm -f "$log"
	return "$rc"
}

# tap_relay [PREFIX]: copy a TAP stream from stdin into this one,
# renumbering its checks, prefixing their names and counting them.
# Anything that is neither a check nor a diagnostic becomes a diagnostic.
tap_relay() {
	local prefix=${1:-} line re_skip='^ok [0-9]+ (.*) # [Ss][Kk][Ii][Pp] ?(.*)$'
	while IFS= read -r line; do
		if [[ $line =~ $re_skip ]]; then
			tap_skip "$prefix${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
		elif [[ $line =~ ^ok\ [0-9]+\ (.*)$ ]]; then
			tap_ok "$prefix${BASH_REMATCH[1]}"
		elif [[ $line =~ ^not\ ok\ [0-9]+\ (.*)$ ]]; then
			tap_not_ok "$prefix${BASH_REMATCH[1]}"
		elif [[ $line =~ ^(TAP\ version|1\.\.[0-9]) ]]; then
			continue
		elif [[ $line == '#'* ]]; then
			printf '%s\n' "$line"
		else
			printf '# %s\n' "$line"
		fi
	done
}

# tap_relay_cmd PREFIX CMD...: run CMD and relay its TAP (stdout and
# stderr); a non-zero exit that its own checks do not explain becomes a
# failed check.
tap_relay_cmd() {
	local prefix=$1 fails=$TAP_FAIL rc
	shift
	tap_relay "$prefix" < <("$@" 2>&1)
	wait $! && rc=0 || rc=$?
	if ((rc != 0 && TAP_FAIL == fails)); then
		tap_not_ok "${prefix}exit status $rc of: $*"
	fi
}

tap_plan() {
	printf '1..%d\n' "$TAP_N"
}

tap_totals() {
	printf '%d passed, %d failed, %d skipped\n' "$TAP_PASS" "$TAP_FAIL" "$TAP_SKIP"
}
