#!/usr/bin/env bash
# Usage: kver.sh [--all]
# Print the Debian kernel release that builds and VM tests use.
# The host's running kernel is not a Debian kernel and cannot load modules,
# so `uname -r` is never the answer: take $KVER if set, else the newest
# installed *-amd64 release that has both a kernel image and headers.
#
# --all: print every installed *-amd64 release that has headers (one a
# line, oldest first), whatever $KVER says: the kernels the module must
# build for (tests/run-all.sh, make check-matrix, make lint).
set -euo pipefail

has_headers() {
	[[ -e /lib/modules/$1/build/Makefile || -e /usr/src/linux-headers-$1/Makefile ]]
}

# Releases with headers, from /lib/modules and /usr/src (a headers-only
# install has no /lib/modules/REL/kernel but has its build link).
releases() {
	local dir ver
	for dir in /lib/modules/*-amd64 /usr/src/linux-headers-*-amd64; do
		[[ -e $dir ]] || continue
		ver=${dir##*/}
		ver=${ver#linux-headers-}
		has_headers "$ver" && printf '%s\n' "$ver"
	done | sort -uV
}

if [[ ${1:-} == --all ]]; then
	all=$(releases)
	if [[ -z $all ]]; then
		echo "kver.sh: no *-amd64 kernel headers installed (run tools/dev/install-deps.sh)" >&2
		exit 1
	fi
	printf '%s\n' "$all"
	exit 0
elif (($#)); then
	echo "usage: kver.sh [--all]" >&2
	exit 2
fi

if [[ -n ${KVER:-} ]]; then
	printf '%s\n' "$KVER"
	exit 0
fi

found=()
while IFS= read -r ver; do
	[[ -e /boot/vmlinuz-$ver ]] && found+=("$ver")
done < <(releases)

if ((${#found[@]} == 0)); then
	echo "kver.sh: no *-amd64 kernel with image and headers installed (run tools/dev/install-deps.sh)" >&2
	exit 1
fi
printf '%s\n' "${found[-1]}"
