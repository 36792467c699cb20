#!/usr/bin/env bash
# Usage: splat-check.sh FILE...
# Exit 1 and print the offending lines if a kernel log (dmesg or serial
# console) shows a warning, bug, oops, memory corruption, hang or panic.
set -u

patterns=(
	'WARNING:' 'BUG:' 'Oops' 'general protection'
	'list_add corruption' 'list_del corruption' 'refcount_t'
	'hung_task' 'Slab cache still has objects' 'INFO: task'
	'KASAN' 'kmemleak' 'lockdep' 'Kernel panic' 'Call Trace'
)
args=()
for p in "${patterns[@]}"; do
	args+=(-e "$p")
done

status=0
for file in "$@"; do
	hits=$(grep -n -F "${args[@]}" "$file")
	[[ -n $hits ]] || continue
	status=1
	echo "splat in $file:"
	head -n 40 <<<"$hits"
done
exit "$status"
