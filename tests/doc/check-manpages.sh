#!/usr/bin/env bash
# Usage: tests/doc/check-manpages.sh
# Every tool has a man page, and every page formats cleanly:
#
#   tools/dev/NAME.sh, tools/dev/NAME.py  need tools/dev/man/NAME.1
#   tools/DIR/ (shipped) with a Makefile  need tools/DIR/DIR.1 or tools/DIR/DIR.8
#   or an executable named DIR
#
# Each page found (those, and any other page in tools/dev/man/ or tools/DIR/)
# must pass `groff -man -ww -z` (else `man --warnings -l`) without a
# single message, and the first line of its NAME section must start with
# the tool's name (NAME or, for a script, its file name NAME.sh/NAME.py).
# Prints "ok PAGE" or "FAIL PAGE: reason", one line per page; exits 1 if
# any check failed, 2 if neither groff nor man is installed.
set -u

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 2
shopt -s nullglob

if command -v groff >/dev/null; then
	lint_page() { groff -man -ww -z "$1" 2>&1; }
elif command -v man >/dev/null; then
	lint_page() { { man --warnings -l "$1" >/dev/null; } 2>&1; }
else
	echo "FAIL: neither groff nor man is installed (apt-get install groff-base)"
	exit 2
fi

failed=0
declare -A checked=()

fail() { # PAGE REASON
	printf 'FAIL %s: %s\n' "$1" "$2"
	failed=1
}

# The first text line of the NAME section, with the usual escapes undone.
name_line() {
	awk '
		/^\.SH[ \t]+"?NAME"?[ \t]*$/ { in_name = 1; next }
		in_name && /^\.SH/ { exit }
		in_name && !/^\.\\"/ && !/^[ \t]*$/ { print; exit }
	' "$1" | sed -e 's/^\.[A-Za-z]*[ \t]*//' -e 's/\\[&%]//g' -e 's/\\-/-/g'
}

# check_page PAGE NAME...: lint PAGE; its NAME line must start with a NAME.
check_page() {
	local page=$1 out line name
	shift
	checked[$page]=1
	if ! out=$(lint_page "$page") || [[ -n $out ]]; then
		fail "$page" "$(head -n 3 <<<"${out:-formatter failed}" | paste -sd ' ')"
		return
	fi
	line=$(name_line "$page")
	if [[ -z $line ]]; then
		fail "$page" "no NAME section"
		return
	fi
	for name; do
		case $line in
		"$name" | "$name "* | "$name,"*)
			echo "ok $page"
			return
			;;
		esac
	done
	fail "$page" "NAME line does not start with '$1': $line"
}

# Developer scripts, in tools/dev/.
for script in tools/dev/*.sh tools/dev/*.py; do
	file=${script##*/}
	base=${file%.*}
	page=tools/dev/man/$base.1
	if [[ -f $page ]]; then
		check_page "$page" "$base" "$file"
	else
		fail "$page" "missing (the page of $script)"
	fi
done

# Shipped tools, each with a directory of its own.
for dir in tools/*/; do
	dir=${dir%/}
	base=${dir##*/}
	[[ $base == dev ]] && continue
	[[ -f $dir/Makefile || (-f $dir/$base && -x $dir/$base) ]] || continue
	pages=("$dir/$base".[18])
	if ((${#pages[@]})); then
		check_page "${pages[0]}" "$base"
	else
		fail "$dir/$base.[18]" "missing (the page of $dir/)"
	fi
done

# Any other page: still has to format cleanly and name its tool.
for page in tools/dev/man/*.[1-8] tools/*/*.[1-8]; do
	[[ -n ${checked[$page]:-} ]] && continue
	file=${page##*/}
	check_page "$page" "${file%.*}"
done

exit "$failed"
