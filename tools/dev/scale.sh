#!/usr/bin/env bash
# What `make scale` runs (not part of make check): two guests, the target
# in one and iser-hostile's "sessions" scenario in the other, logging in
# SESSIONS sessions (default 1024) to iser_target, iser_target with
# use_srq=1 and ib_isert in turn (tests/guest/scale.sh); then a table of
# login storm time, logout time and the target's memory per session, with
# each figure's ratio to ib_isert's, also in build/scale.json.
#
# Environment: SESSIONS, PARALLEL (processes logging in at once, default
# 4), DEPTH (the ACL's cmdsn_depth, default 64: LIO's), TRANSPORTS
# (default "ours srq stock"), KVER, MEM (each guest's memory, default 6G:
# a thousand ib_isert sessions hold about 3.5 GiB of the target's).
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source=../../tests/guest/tap.sh
. tests/guest/tap.sh

export ISER_SCALE_SESSIONS=${SESSIONS:-1024} ISER_SCALE_PARALLEL=${PARALLEL:-4}
export ISER_SCALE_DEPTH=${DEPTH:-64}
export ISER_SCALE_TRANSPORTS=${TRANSPORTS:-"ours srq stock"}
# Slab debugging would be measured with the memory.
export ISER_VM_SLUB_DEBUG=
export ISER_VM_MEM=${MEM:-6G} ISER_TOPOLOGY=two
kver=$(tools/dev/kver.sh) || exit 1
if ! make -s --no-print-directory KVER="$kver" >/dev/null ||
	! make -s --no-print-directory -C tools/iser-hostile >/dev/null; then
	tap_not_ok "scale: build iser_target for $kver and iser-hostile"
	exit 1
fi
tests/vm/run-vm.sh tests/guest/scale.sh scale
rc=$?
python3 - build/vm/out/scale/scale.jsonl build/scale.json <<'PY' || rc=1
import json, sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
by = {r["transport"]: r for r in rows}
keys = ("login_secs", "logout_secs", "teardown_secs", "kib_per_session")
stock = by.get("stock")
ratios = {}
for t, r in by.items():
    if stock and t != "stock":
        ratios[t + "/stock"] = {
            k: round(r[k] / stock[k], 3) if stock[k] else None for k in keys}
json.dump({"runs": rows, "ratios": ratios}, open(sys.argv[2], "w"), indent=1)
print("| transport | sessions verified | login storm s | logout s | "
      "teardown s | target KiB per session | left after logout KiB |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for r in rows:
    print("| %s | %d of %d | %s | %s | %s | %d | %d |" % (
        r["transport"], r["verified"], r["sessions"], r["login_secs"],
        r["logout_secs"], r["teardown_secs"], r["kib_per_session"],
        r["kib_left_after"]))
for r in rows:
    print("%s: grew most while held (KiB): %s" % (r["transport"], r["grew_held"]))
    print("%s: still grown once logged out (KiB): %s" % (r["transport"], r["grown_after"]))
for name, q in ratios.items():
    print("%s: %s" % (name, ", ".join("%s %s" % kv for kv in q.items())))
PY
exit "$rc"
