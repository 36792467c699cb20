#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Usage: ksft-tree.sh
# Print the path of a kselftest tree (tools/testing/selftests) holding the
# kernel's own lib.mk, selftests Makefile, run_kselftest.sh and kselftest/
# (runner.sh, ktap_helpers.sh, ...), extracted from Debian's
# linux-source-6.12 into build/ksft/. Debian ships only the tarball; the
# few files are extracted once and reused while the tarball is unchanged.
# 6.12, not 6.1: 6.1 has no kselftest/ktap_helpers.sh.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
tarball=/usr/src/linux-source-6.12.tar.xz
top=linux-source-6.12
out=$repo/build/ksft
ksft=$out/$top/tools/testing/selftests
stamp=$out/$top/.extracted

[[ -r $tarball ]] || {
	echo "ksft-tree.sh: no $tarball (apt-get install linux-source-6.12, or tools/dev/install-deps.sh)" >&2
	exit 1
}
if [[ ! $stamp -nt $tarball ]]; then
	rm -rf "${out:?}/$top"
	mkdir -p "$out"
	# The selftests Makefile includes scripts/subarch.include; lib.mk
	# includes nothing.
	tar -xJf "$tarball" -C "$out" \
		"$top/tools/testing/selftests/Makefile" \
		"$top/tools/testing/selftests/lib.mk" \
		"$top/tools/testing/selftests/run_kselftest.sh" \
		"$top/tools/testing/selftests/kselftest" \
		"$top/scripts/subarch.include" >&2
	touch "$stamp"
fi
echo "$ksft"
