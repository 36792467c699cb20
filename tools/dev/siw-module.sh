#!/usr/bin/env bash
# Usage: siw-module.sh KVER
# Build Soft-iWARP (siw.ko), which Debian's kernels do not ship, for
# kernel release KVER from Debian's linux-source-X.Y tarball of the same
# X.Y, against KDIR (default /lib/modules/KVER/build). Prints the path of
# the module, build/siw/KVER/siw.ko; a build whose sources, kernel tree
# and this script are unchanged is reused. iser-paths loads it in the
# guest to check what enabling iSER on an iWARP device says.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kver=${1:?usage: siw-module.sh KVER}
kdir=${KDIR:-/lib/modules/$kver/build}
xy=$(sed -E 's/^([0-9]+\.[0-9]+).*/\1/' <<<"$kver")
tarball=/usr/src/linux-source-$xy.tar.xz
out=$repo/build/siw/$kver
ko=$out/siw.ko

[[ -r $tarball ]] || {
	echo "siw-module.sh: no $tarball (apt-get install linux-source-$xy)" >&2
	exit 1
}
[[ -r $kdir/Makefile ]] || {
	echo "siw-module.sh: no kernel tree at $kdir (set KDIR)" >&2
	exit 1
}
if [[ -e $ko && $ko -nt $tarball && $ko -nt $kdir/Makefile && $ko -nt ${BASH_SOURCE[0]} ]]; then
	echo "$ko"
	exit 0
fi
rm -rf "$out"
mkdir -p "$out"
tar -xJf "$tarball" -C "$out" --strip-components=5 \
	"linux-source-$xy/drivers/infiniband/sw/siw" >&2
make -s -C "$kdir" M="$out" CONFIG_RDMA_SIW=m modules >&2
[[ -e $ko ]] || {
	echo "siw-module.sh: the build made no $ko" >&2
	exit 1
}
echo "$ko"
