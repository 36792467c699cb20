#!/usr/bin/env bash
# Usage: debug-kernel.sh
# Build the debug kernel that `make check-debug` boots, or reuse the
# cached build, and print its directory. The kernel is Debian's
# linux-source-6.1 configured as x86_64 defconfig + kvm_guest.config +
# tests/debug/iser-debug.config (KASAN, lockdep, kmemleak, DEBUG_OBJECTS,
# fault injection). The cache is keyed by that fragment, the recipe
# version below, the source package version and the compiler, so a change
# to any of them builds anew; an unchanged key costs nothing. Only the
# newest build is kept.
#
# The directory holds: src/ (the configured and built tree, also the
# KDIR to build iser_target.ko against), vmlinuz, kver (the release) and
# modroot/lib/modules/KVER (the installed modules).
#
# Environment:
#   ISER_DEBUG_CACHE=DIR  where builds are kept
#                         (default: ~/.cache/iser-target/debug-kernel)
#   ISER_DEBUG_GCOV=1     the same kernel with CONFIG_GCOV_KERNEL, for
#                         `make coverage`; kept in DIR-gcov beside the
#                         other, so that neither rebuild evicts the other
#   ISER_DEBUG_CHECKERS=0 without the fragment's checkers (KASAN, lockdep,
#                         kmemleak, DEBUG_OBJECTS), fault injection kept:
#                         guests run several times faster, for a coverage
#                         run that needs no checker; kept in DIR[-gcov]-fast
#   JOBS=N                make -j (default: nproc)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${ISER_DEBUG_CACHE:-${HOME:-/root}/.cache/iser-target/debug-kernel}
frag=$(mktemp)
trap 'rm -f "$frag"' EXIT
if [[ ${ISER_DEBUG_CHECKERS:-1} == 0 ]]; then
	# The fragment's checkers section ends at its first blank line.
	awk '/^# The checkers:/ { skip = 1 } skip && /^$/ { skip = 0 } !skip' \
		"$repo/tests/debug/iser-debug.config" >"$frag"
	if ! grep -q '^CONFIG_FAIL_FUNCTION=y' "$frag" || grep -q '^CONFIG_KASAN=' "$frag"; then
		echo "debug-kernel: cannot take the checkers out of iser-debug.config" >&2
		exit 1
	fi
else
	cat "$repo/tests/debug/iser-debug.config" >"$frag"
fi
if [[ ${ISER_DEBUG_GCOV:-0} == 1 ]]; then
	# Only objects built with GCOV_PROFILE are instrumented: the kernel
	# itself runs as fast as without.
	printf '%s\n' CONFIG_GCOV_KERNEL=y '# CONFIG_GCOV_PROFILE_ALL is not set' >>"$frag"
	cache=$cache-gcov
fi
[[ ${ISER_DEBUG_CHECKERS:-1} == 0 ]] && cache=$cache-fast
jobs=${JOBS:-$(nproc)}
# Raise when a change to this script changes what gets built.
recipe=1

if [[ ! -e $tarball ]]; then
	echo "debug-kernel: $tarball is missing (apt-get install linux-source-6.1)" >&2
	exit 1
fi
srcver=$(dpkg-query -W -f '${Version}' linux-source-6.1)
key=$(
	{
		cat "$frag"
		echo "recipe $recipe"
		echo "$srcver"
		gcc --version | head -n 1
	} | sha256sum | cut -c1-16
)
dir=$cache/$key
if [[ -e $dir/done ]]; then
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9
if [[ -e $dir/done ]]; then
	echo "$dir"
	exit 0
fi
rm -rf "$dir"
mkdir -p "$dir"
log=$dir/build.log
echo "debug-kernel: building linux-source-6.1 $srcver in $dir (log: $log)" >&2

{
	tar -xJf "$tarball" -C "$dir"
	mv "$dir/linux-source-6.1" "$dir/src"
	cd "$dir/src"
	make defconfig
	[[ -e kernel/configs/kvm_guest.config ]]
	scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$frag"
	make olddefconfig
} >"$log" 2>&1 || {
	echo "debug-kernel: configuration failed, see $log" >&2
	exit 1
}

# Kconfig drops what it cannot satisfy without a word: check every line.
cd "$dir/src"
missing=0
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF "$line" .config || {
			echo "debug-kernel: wanted $line, got: $(grep "^${line%%=*}=" .config || echo unset)" >&2
			missing=1
		}
		;;
	'# CONFIG_'*' is not set')
		opt=${line#\# }
		opt=${opt%% *}
		if grep -q "^$opt=" .config; then
			echo "debug-kernel: wanted $opt unset, got: $(grep "^$opt=" .config)" >&2
			missing=1
		fi
		;;
	esac
done <"$frag"
((missing == 0)) || exit 1

start=$SECONDS
make -j"$jobs" LOCALVERSION=-iser-debug bzImage modules >>"$log" 2>&1 || {
	echo "debug-kernel: build failed, last lines of $log:" >&2
	tail -n 30 "$log" >&2
	exit 1
}
make -s LOCALVERSION=-iser-debug kernelrelease >"$dir/kver"
make LOCALVERSION=-iser-debug INSTALL_MOD_PATH="$dir/modroot" INSTALL_MOD_STRIP=1 \
	modules_install >>"$log" 2>&1
cp arch/x86/boot/bzImage "$dir/vmlinuz"
echo "built in $((SECONDS - start)) s" >>"$log"
touch "$dir/done"
# One build is kept: others are for a config or source no longer used.
for old in "$cache"/*/; do
	[[ ${old%/} == "$dir" ]] || rm -rf "${old%/}"
done
echo "$dir"
