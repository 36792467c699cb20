#!/usr/bin/env bash
# Print the Debian kernel release that builds and VM tests use.
# The host's running kernel is not a Debian kernel and cannot load modules,
# so `uname -r` is never the answer: take $KVER if set, else the newest
# installed *-amd64 release that has both a kernel image and headers.
set -euo pipefail

if [[ -n ${KVER:-} ]]; then
	printf '%s\n' "$KVER"
	exit 0
fi

found=()
for dir in /lib/modules/*-amd64; do
	ver=${dir##*/}
	[[ -e /boot/vmlinuz-$ver ]] || continue
	[[ -e /lib/modules/$ver/build/Makefile || -e /usr/src/linux-headers-$ver/Makefile ]] || continue
	found+=("$ver")
done

if ((${#found[@]} == 0)); then
	echo "kver.sh: no *-amd64 kernel with image and headers installed (run tools/install-deps.sh)" >&2
	exit 1
fi
printf '%s\n' "${found[@]}" | sort -V | tail -n 1
