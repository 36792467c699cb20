#!/usr/bin/env bash
# Usage: splat-check.sh FILE...
# Exit 1 and print the offending lines if a kernel log (dmesg or serial
# console) shows a warning, bug, oops, memory corruption, hang or panic.
# Reports listed in known-splats.txt (code outside this module) are
# skipped up to their "end trace" line and printed as "excused: ...".
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
patterns=(
	'WARNING:' 'BUG:' 'Oops' 'general protection'
	'list_add corruption' 'list_del corruption' 'refcount_t'
	'hung_task' 'Slab cache still has objects' 'INFO: task'
	'KASAN' 'kmemleak' 'lockdep' 'Kernel panic' 'Call Trace'
)
# Boot messages of a debug kernel that name a checker without a report.
benign=(
	'RCU lockdep checking is enabled'
	'kmemleak: Kernel memory leak detector initialized'
)

status=0
for file in "$@"; do
	out=$(awk -v pats="$(printf '%s\n' "${patterns[@]}")" \
		-v oks="$(printf '%s\n' "${benign[@]}")" '
		BEGIN { np = split(pats, pat, "\n"); nb = split(oks, ok, "\n") }
		FNR == NR {
			if ($0 !~ /^#/ && index($0, "\t")) {
				nk++
				known[nk] = substr($0, 1, index($0, "\t") - 1)
				why[nk] = substr($0, index($0, "\t") + 1)
			}
			next
		}
		# A suite'"'"'s TAP diagnostics on the console are its own words, and
		# may name a checker (soak lists the kmemleak_object cache). The
		# kernel'"'"'s lines never start so, and dmesg.txt has them all.
		/^# / { next }
		skip {
			if ($0 ~ /---\[ end trace/)
				skip = 0
			next
		}
		{
			for (k = 1; k <= nk; k++)
				if ($0 ~ known[k]) {
					printf "excused: line %d: %s\n", FNR, why[k]
					skip = 1
					next
				}
			for (b = 1; b <= nb; b++)
				if (index($0, ok[b]))
					next
			for (p = 1; p <= np; p++)
				if (index($0, pat[p])) {
					printf "%d:%s\n", FNR, $0
					hits++
					break
				}
		}
		END { exit hits > 0 }' "$here/known-splats.txt" "$file")
	rc=$?
	if ((rc != 0)); then
		status=1
		echo "splat in $file:"
		grep -v '^excused: ' <<<"$out" | head -n 40
	fi
	grep '^excused: ' <<<"$out" | sed "s|^|$(basename "$file"): |"
done
exit "$status"
