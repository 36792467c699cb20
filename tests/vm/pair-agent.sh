#!/bin/bash
# The target guest's side of a two-guest run (run-vm.sh, ISER_TOPOLOGY=two),
# started by guest-init.sh instead of the suite. The suite runs in the
# initiator's guest; each `tgt CMD ARG...` there (tests/guest/lib.sh)
# writes the command, quoted, to /run/iser-pair/req.N, a 9p directory both
# guests share. This agent runs the requests in order, in one shell that
# has the suites' helpers loaded, so that state set by one request is seen
# by the next, and answers each with out.N (its output) and rc.N (its
# status). It ends when the file "exit" appears (the suite's end, or
# run-vm.sh once the initiator's guest is gone). Its stdout, the target's
# tap.txt, logs one line per request.
# shellcheck source-path=SCRIPTDIR
set -u
# shellcheck source=../guest/tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=../guest/lib.sh
. "$ISER_REPO/tests/guest/lib.sh"
# shellcheck source=../guest/lio.sh
. "$ISER_REPO/tests/guest/lio.sh"
# Here every helper acts on this guest: tgt, conns_are and the like run
# their command in place.
TOPOLOGY=one

dir=$PAIR_DIR
n=0
tap_diag "pair-agent: serving $dir on $(uname -r)"
while :; do
	req=$dir/req.$n
	if [[ -e $req ]]; then
		cmd=$(<"$req")
		t0=$SECONDS
		eval "$cmd" </dev/null >"$dir/out.$n.tmp" 2>&1
		rc=$?
		mv "$dir/out.$n.tmp" "$dir/out.$n"
		echo "$rc" >"$dir/rc.$n.tmp" && mv "$dir/rc.$n.tmp" "$dir/rc.$n"
		tap_diag "request $n: $cmd -> $rc ($((SECONDS - t0)) s)"
		n=$((n + 1))
	elif [[ -e $dir/exit ]]; then
		break
	else
		sleep 0.05
	fi
done
tap_diag "pair-agent: $n requests, exit"
