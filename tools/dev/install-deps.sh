#!/usr/bin/env bash
# Install the Debian bookworm packages that building, testing (make check),
# packaging (make deb, make lint) and the demo (make demo) need, plus the
# two kernels the module is built and tested for: Debian's 6.1 and its
# newest 6.12, from bookworm-security's linux-6.12 or bookworm-backports
# (whose sources entry this adds, with Debian's archive keyring, if no
# bookworm-backports source exists yet), whichever is newer.
# Idempotent: when every package is already installed it returns at once,
# without touching apt.
set -euo pipefail

pkgs=(
	# module build, W=1 and sparse (C=2) checks, checkpatch.pl, kernel-doc
	build-essential bc kmod sparse linux-source-6.1 shellcheck
	# guest: QEMU, busybox initramfs, decompressing .ko.xz/.ko.zst modules
	qemu-system-x86 busybox-static cpio xz-utils zstd
	# guest workload: Soft-RoCE, LIO target, iSER initiator, I/O
	iproute2 rdma-core ibverbs-utils rdmacm-utils libibverbs-dev librdmacm-dev
	targetcli-fb dbus open-iscsi fio
	# packaging: DKMS, the Debian source package (dh-sequence-dkms is in
	# dh-dkms), lintian; docutils checks Documentation/*.rst, groff the
	# man pages
	dkms debhelper dh-dkms dpkg-dev fakeroot lintian python3-docutils groff-base
	debian-archive-keyring
	# the debug kernel of make check-debug (tools/dev/debug-kernel.sh);
	# lcov reports make coverage
	flex bison libelf-dev libssl-dev lcov
	# kselftest collection (tests/selftests/iser_target): lib.mk,
	# run_kselftest.sh, ktap_helpers.sh; lib.mk installs with rsync
	linux-source-6.12 rsync
)
# Debian's 6.1 kernel, by dpkg-query pattern (its ABI releases are
# 6.1.0-N-amd64).
kernel_globs=('linux-image-6.1.0-*-amd64' 'linux-headers-6.1.0-*-amd64')
# The 6.12 kernel, linux-{image,headers}-6.12.N+debNN-amd64, must be
# 6.12.111 or later. Before that Soft-RoCE's responder, finding its QP in
# the error state after completing a received message, ran the same
# message again into the next posted receive (CVE-2026-93107): in faults'
# login/logout cycles on 6.12.95 the initiator got one logout response
# twice, and libiscsi warned in iscsi_complete_task.
min612=111
re612='^linux-image-(6\.12\.([0-9]+)\+deb[0-9.]+-amd64)$'
backports=bookworm-backports
sources=/etc/apt/sources.list.d/$backports.sources

installed() {
	local status
	status=$(dpkg-query -W -f='${db:Status-Abbrev}\n' "$1" 2>/dev/null || true)
	grep -q '^ii' <<<"$status"
}

have_backports_source() {
	# shellcheck disable=SC2016 # $(REPO_URI) is apt's template, not ours
	[[ -n $(apt-get indextargets --format '$(REPO_URI)' "Release: $backports" 2>/dev/null) ]]
}

missing=()
for pkg in "${pkgs[@]}"; do
	installed "$pkg" || missing+=("$pkg")
done
# good612 [REL...]: the last release 6.12.$min612 or later among REL
# (given oldest first).
good612() {
	local rel best=
	for rel; do
		if [[ linux-image-$rel =~ $re612 ]] && ((BASH_REMATCH[2] >= min612)); then
			best=$rel
		fi
	done
	[[ -n $best ]] && printf '%s\n' "$best"
}

# The 6.12 releases whose image and headers are both installed.
installed612() {
	local pkg
	dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 'linux-image-6.12.*' 2>/dev/null |
		awk '$1 == "ii" { print $2 }' | sort -V | while read -r pkg; do
		installed "linux-headers-${pkg#linux-image-}" && printf '%s\n' "${pkg#linux-image-}"
	done
}

missing_kernels=()
for glob in "${kernel_globs[@]}"; do
	installed "$glob" || missing_kernels+=("$glob")
done
mapfile -t have612 < <(installed612)
good612 "${have612[@]}" >/dev/null || missing_kernels+=("linux-image-6.12.$min612+")

if ((${#missing[@]} == 0 && ${#missing_kernels[@]} == 0)) && have_backports_source; then
	echo "install-deps: all ${#pkgs[@]} packages and the 6.1 and 6.12 kernels already installed"
	exit 0
fi

if ((EUID != 0)); then
	echo "install-deps: must run as root to install: ${missing[*]} ${missing_kernels[*]}" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive

if ! have_backports_source; then
	# Same mirror as the configured bookworm suite.
	# shellcheck disable=SC2016 # $(REPO_URI) is apt's template, not ours
	uri=$(apt-get indextargets --format '$(REPO_URI)' 'Release: bookworm' 'Target-Of: deb' |
		head -n 1)
	if [[ -z $uri ]]; then
		echo "install-deps: no apt source for bookworm found to derive $backports from" >&2
		exit 1
	fi
	echo "install-deps: adding $sources ($uri)"
	cat >"$sources" <<EOF
Types: deb
URIs: $uri
Suites: $backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi

apt-get update
if ((${#missing[@]})); then
	echo "install-deps: installing ${missing[*]}"
	apt-get install -y --no-install-recommends "${missing[@]}"
fi

# The 6.1 kernel, resolved through the linux-image-amd64 and
# linux-headers-amd64 metapackages' newest version outside backports.
meta_dep() { # META VERSION: the package META=VERSION depends on
	apt-cache show "$1=$2" | sed -n 's/^Depends: \(linux-[^ ,]*\).*/\1/p' | head -n 1
}
kernel_pkgs=()
for meta in linux-image-amd64 linux-headers-amd64; do
	stable=$(apt-cache madison "$meta" | awk -F' *[|] *' -v bpo="$backports/" \
		'index($3, bpo) == 0 && $2 ~ /^6\.1\./ { print $2; exit }')
	if [[ -z $stable ]]; then
		echo "install-deps: no bookworm 6.1 version of $meta found" >&2
		exit 1
	fi
	kernel_pkgs+=("$(meta_dep "$meta" "$stable")")
done
for pkg in "${kernel_pkgs[@]}"; do
	[[ -n $pkg ]] || {
		echo "install-deps: could not resolve the 6.1 kernel packages" >&2
		exit 1
	}
done
# The 6.12 kernel: the newest ABI package any configured source offers.
mapfile -t offered612 < <(apt-cache search --names-only "$re612" | awk '{ print $1 }' |
	sed 's/^linux-image-//' | sort -V)
rel612=$(good612 "${offered612[@]}") || {
	echo "install-deps: no linux-image-6.12.N+debNN-amd64 with N >= $min612 in apt's sources" >&2
	exit 1
}
kernel_pkgs+=("linux-image-$rel612" "linux-headers-$rel612")
echo "install-deps: installing ${kernel_pkgs[*]}"
apt-get install -y --no-install-recommends "${kernel_pkgs[@]}"

for glob in "${kernel_globs[@]}"; do
	installed "$glob" || {
		echo "install-deps: $glob is still not installed" >&2
		exit 1
	}
done
mapfile -t have612 < <(installed612)
good612 "${have612[@]}" >/dev/null || {
	echo "install-deps: linux-image-$rel612 or its headers is still not installed" >&2
	exit 1
}
