#!/usr/bin/env bash
# Usage: cross-build.sh ARCH...      (ARCH: arm64, ppc64el)
# What `make cross` runs: build iser_target.ko with W=1 for other
# architectures than the build host's, and fail on any compiler warning.
# Why: the module is otherwise only built and tested on x86_64, with 4 KiB
# pages, yet it sizes its receive buffers, login buffers and send queues
# by PAGE_SIZE; a 64 KiB page kernel (arm64 with ARM64_64K_PAGES, ppc64el
# whose default is 64 KiB pages) is where a constant that assumes 4 KiB, a
# shift that overflows or a type too narrow for PAGE_SIZE shows up as a
# warning (-Woverflow on `u16 x = PAGE_SIZE`, for one). The two are also
# other compiler backends, with their own warnings.
#
# Only Debian packages are used: the cross compilers
# (gcc-aarch64-linux-gnu, gcc-powerpc64le-linux-gnu), linux-source-6.1 and
# the kernel's host tools (flex, bison, bc, libssl-dev, libelf-dev), each
# installed with apt-get if missing. Per ARCH, linux-source-6.1 is
# extracted into the cache, configured (arm64: defconfig with
# ARM64_64K_PAGES; ppc64el: ppc64le_defconfig, which must already have
# PPC_64K_PAGES) with what the module needs as modules (INFINIBAND,
# INFINIBAND_ADDR_TRANS, TARGET_CORE, ISCSI_TARGET, CONFIGFS_FS), and
# prepared with `make modules_prepare`; no vmlinux is built. Then a copy
# of the module's sources (never the checkout this runs from, which gets
# no build products) is built against that tree through the top-level
# Makefile, with W=1, its compat probes (drivers/target/iser/compat/)
# running with the cross compiler as usual.
#
# Without vmlinux there is no Module.symvers: the prepared tree gets an
# empty one and modpost runs with KBUILD_MODPOST_WARN=1, so that each
# symbol the module imports is reported as a 'WARNING: modpost: "SYM"
# [.../iser_target.ko] undefined!' line, the first 10 of them, and the
# rest counted in one 'WARNING: modpost: suppressed N unresolved symbol
# warnings because there were too many)' line. Those lines, and only
# those, are dropped; any other line on the build's standard error (a
# compiler warning or error, any other modpost warning) fails the ARCH.
# So an imported symbol that the kernel does not export goes unnoticed
# here: that takes a full kernel build (make check-debug has one, x86_64).
#
# Time, on 2 cores: the first run for an ARCH takes about 1 minute
# (extracting the 6.1 tarball, configuring, modules_prepare, then the
# module), plus the apt-get installs if any (half a minute for a cross
# compiler); a later run reuses the prepared tree and only builds the
# module, about 10 seconds per ARCH.
# The tree is prepared anew when this script's recipe, the linux-source-6.1
# package or a compiler changes. Disk: about 1.5 GiB per ARCH.
#
# Output: for each ARCH, diagnostic lines ("# ") with the page size read
# from the configured tree's .config, then "ok cross-build ARCH (page size
# N KiB, COMPILER VERSION)" or "not ok cross-build ARCH (...)" followed by
# the first lines of warnings or errors. Exit status 0 when every ARCH
# built without a warning, 1 otherwise, 2 on a usage error. Progress goes
# to standard error; the logs stay in the cache directory.
#
# Environment:
#   ISER_CROSS_CACHE=DIR  where the prepared trees are kept, one
#                         subdirectory per ARCH
#                         (default: ~/.cache/iser-target/cross)
#   JOBS=N                make -j (default: nproc)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
tarball=/usr/src/linux-source-6.1.tar.xz
cache=${ISER_CROSS_CACHE:-${HOME:-/root}/.cache/iser-target/cross}
jobs=${JOBS:-$(nproc)}
# Raise when a change to this script changes how the trees are prepared.
recipe=1
# What iser_target needs of the kernel: tristates as modules (or built
# in, where Kconfig insists), the rest set.
needs_m=(INFINIBAND TARGET_CORE ISCSI_TARGET CONFIGFS_FS)
needs_y=(INFINIBAND_ADDR_TRANS)
# Lines of the module build's standard error that are expected: modpost
# knows no exported symbol without vmlinux (see above).
undefined_re='^WARNING: modpost: "[A-Za-z0-9_.$]+" \[[^]]*/iser_target\.ko\] undefined!$'
suppressed_re='^WARNING: modpost: suppressed ([0-9]+) unresolved symbol warnings because there were too many\)$'

usage() {
	echo "usage: $0 ARCH...   (ARCH: arm64, ppc64el)" >&2
	exit 2
}

# arch_vars ARCH: the kernel's name for ARCH and how to build for it.
arch_vars() {
	case $1 in
	arm64)
		karch=arm64
		cross=aarch64-linux-gnu-
		gccpkg=gcc-aarch64-linux-gnu
		defconfig=defconfig
		page_opt=ARM64_64K_PAGES
		shift_opt=ARM64_PAGE_SHIFT
		;;
	ppc64el)
		karch=powerpc
		cross=powerpc64le-linux-gnu-
		gccpkg=gcc-powerpc64le-linux-gnu
		defconfig=ppc64le_defconfig
		page_opt=PPC_64K_PAGES
		shift_opt=PPC_PAGE_SHIFT
		;;
	*)
		return 1
		;;
	esac
}

say() {
	printf 'cross-build: %s\n' "$*" >&2
}

diag() {
	if (($#)); then
		printf '# %s\n' "$@"
	else
		sed 's/^/# /'
	fi
}

installed() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null || true)
	[[ $status == ii* ]]
}

# install_missing: apt-get install what the ARCHes given need, with one
# apt-get update first, and only when something is missing.
install_missing() {
	local pkg arch karch cross gccpkg defconfig page_opt shift_opt
	local pkgs=(make gcc libc6-dev bc flex bison libssl-dev libelf-dev xz-utils linux-source-6.1)
	local missing=()
	for arch; do
		arch_vars "$arch"
		pkgs+=("$gccpkg")
	done
	for pkg in "${pkgs[@]}"; do
		installed "$pkg" || missing+=("$pkg")
	done
	((${#missing[@]})) || return 0
	say "installing ${missing[*]}"
	apt-get update >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}

# kmake ARGS...: make in the kernel tree (the current directory) for ARCH.
kmake() {
	make ARCH="$karch" CROSS_COMPILE="$cross" "$@"
}

# config_value OPT: OPT's value in .config, or "unset".
config_value() {
	local line
	line=$(grep "^CONFIG_$1=" .config || true)
	echo "${line#*=}" | grep . || echo unset
}

# check_config: what the module needs is in .config, and the pages are
# 64 KiB; report the page size. Sets page_kib.
check_config() {
	local opt val pshift bad=0
	for opt in "${needs_m[@]}"; do
		val=$(config_value "$opt")
		[[ $val == [my] ]] || {
			diag "$arch: CONFIG_$opt is $val, the module needs it (m or y)"
			bad=1
		}
	done
	for opt in "${needs_y[@]}"; do
		val=$(config_value "$opt")
		[[ $val == y ]] || {
			diag "$arch: CONFIG_$opt is $val, the module needs it (y)"
			bad=1
		}
	done
	val=$(config_value "$page_opt")
	pshift=$(config_value "$shift_opt")
	if [[ $pshift =~ ^[0-9]+$ ]]; then
		page_kib=$(((1 << pshift) / 1024))
		diag "$arch: $PWD/.config has CONFIG_$page_opt=$val, CONFIG_$shift_opt=$pshift: page size $page_kib KiB"
	fi
	if [[ $val != y || $pshift != 16 ]]; then
		diag "$arch: NOT 64 KiB PAGES: CONFIG_$page_opt is $val, CONFIG_$shift_opt is $pshift"
		bad=1
	fi
	((bad == 0))
}

# check_autoconf: the header the compiler reads agrees on the page size.
check_autoconf() {
	grep -qx "#define CONFIG_$shift_opt 16" include/generated/autoconf.h ||
		fail "include/generated/autoconf.h has not CONFIG_$shift_opt 16"
}

# fail [WHY]: report this ARCH as not ok and leave its subshell.
fail() {
	echo "not ok cross-build $arch (page size $page_kib KiB, $version)${1:+: $1}"
	exit 3
}

# prepare_tree: the configured, modules_prepare'd tree in $dir/src, reused
# when its key is unchanged.
prepare_tree() {
	local key log opt args=() start=$SECONDS
	key=$(
		{
			echo "recipe $recipe"
			echo "${needs_m[*]} / ${needs_y[*]}"
			dpkg-query -W -f '${Version}\n' linux-source-6.1
			"${cross}gcc" --version | head -n 1
			gcc --version | head -n 1
		} | sha256sum | cut -c1-16
	)
	if [[ -e $dir/src/.iser-cross-key && $(cat "$dir/src/.iser-cross-key") == "$key" ]]; then
		cd "$dir/src"
		check_config || fail "kernel tree $dir/src: not 64 KiB pages, or an option the module needs is missing"
		check_autoconf
		return 0
	fi

	log=$dir/tree.log
	rm -rf "$dir/src" "$dir/extract"
	mkdir -p "$dir/extract"
	say "$arch: preparing linux-source-6.1 in $dir/src (log: $log)"
	tar -xJf "$tarball" -C "$dir/extract" >"$log" 2>&1 || {
		tail -n 20 "$log" | diag
		fail "extracting $tarball failed"
	}
	mv "$dir/extract/linux-source-6.1" "$dir/src"
	rmdir "$dir/extract"
	cd "$dir/src"

	if [[ $arch == arm64 ]]; then
		args+=(-d ARM64_4K_PAGES -d ARM64_16K_PAGES -e ARM64_64K_PAGES)
	fi
	for opt in "${needs_m[@]}"; do
		args+=(-m "$opt")
	done
	for opt in "${needs_y[@]}"; do
		args+=(-e "$opt")
	done
	# CONFIGFS_FS is built in by arm64's defconfig (for USB gadgets): -m
	# asks for a module, and olddefconfig keeps it y where it is selected.
	{
		kmake "$defconfig" &&
			scripts/config --file .config "${args[@]}" &&
			kmake olddefconfig
	} >>"$log" 2>&1 || {
		tail -n 20 "$log" | diag
		fail "configuring the kernel tree failed"
	}
	check_config || fail "kernel tree $dir/src: not 64 KiB pages, or an option the module needs is missing"
	say "$arch: make modules_prepare"
	kmake -j"$jobs" modules_prepare >>"$log" 2>&1 || {
		grep -E 'error|warning' "$log" | head -n 20 | diag
		tail -n 10 "$log" | diag
		fail "make modules_prepare failed, see $log"
	}
	check_autoconf
	# No vmlinux, so no exported symbol is known (see the header).
	: >Module.symvers
	echo "$key" >.iser-cross-key
	say "$arch: tree prepared in $((SECONDS - start)) s"
}

# build_module: copy the module's sources to $dir/module and build them
# there against $dir/src with W=1; fail on any unexpected stderr line.
build_module() {
	local mod=$dir/module out=$dir/module.log err=$dir/module.err rc=0 nundef
	rm -rf "$mod"
	mkdir -p "$mod"
	(
		cd "$repo"
		find drivers include -type f \( -name '*.[ch]' -o -name '*.sh' \) \
			! -name 'iser_compat_auto.h*' ! -name '*.mod.c' -print0 |
			xargs -0 cp --parents -t "$mod" Kbuild Makefile
	)
	say "$arch: building iser_target.ko in $mod"
	make -C "$mod" KDIR="$dir/src" ARCH="$karch" CROSS_COMPILE="$cross" \
		W=1 KBUILD_MODPOST_WARN=1 -j"$jobs" modules >"$out" 2>"$err" || rc=$?
	nundef=$(grep -cE "$undefined_re" "$err" || true)
	nundef=$((nundef + $(sed -En "s/$suppressed_re/\\1/p" "$err" | grep . || echo 0)))
	grep -vE -e "$undefined_re" -e "$suppressed_re" "$err" >"$err.unexpected" || true
	if ((rc != 0)) || [[ -s $err.unexpected || ! -e $mod/iser_target.ko ]]; then
		diag "$arch: module build exit status $rc; its first warnings and errors (all in $err):"
		if grep -qE ': (warning|error|fatal error|note):' "$err.unexpected"; then
			grep -E ': (warning|error|fatal error|note):' "$err.unexpected" | head -n 16 | diag
		elif [[ -s $err.unexpected ]]; then
			head -n 20 "$err.unexpected" | diag
		else
			tail -n 10 "$out" | diag
		fi
		fail
	fi
	diag "$arch: modpost: $nundef imported symbols reported undefined (no vmlinux), dropped"
}

# build_arch ARCH: one ARCH, reported as one ok/not ok line, in a
# subshell. Exits 0 when ok, 3 when not ok (reported); anything else is
# an unexpected stop.
build_arch() {
	local dir version='?' page_kib='?'
	arch=$1
	arch_vars "$arch"
	dir=$cache/$arch
	mkdir -p "$dir"
	exec 9>"$dir/lock"
	flock 9
	version="${cross}gcc $("${cross}gcc" -dumpfullversion)"
	prepare_tree
	build_module
	echo "ok cross-build $arch (page size $page_kib KiB, $version)"
}

(($#)) || usage
for arch; do
	arch_vars "$arch" || usage
done
install_missing "$@"

echo "1..$#"
failed=0
for arch; do
	start=$SECONDS
	set +e
	(
		set -e
		build_arch "$arch"
	)
	rc=$?
	set -e
	case $rc in
	0) ;;
	3) failed=1 ;;
	*)
		echo "not ok cross-build $arch (stopped unexpectedly, exit status $rc)"
		failed=1
		;;
	esac
	diag "$arch: $((SECONDS - start)) s"
done
exit "$failed"
