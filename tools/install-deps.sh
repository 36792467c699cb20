#!/usr/bin/env bash
# Install the Debian bookworm packages that building, testing (make check),
# packaging (make deb, make lint) and the demo (make demo) need, plus the
# two kernels the module is built and tested for: Debian's 6.1 and the
# 6.12 kernel from bookworm-backports (whose sources entry this adds, with
# Debian's archive keyring, if no bookworm-backports source exists yet).
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
	# the debug kernel of make check-debug (tools/debug-kernel.sh)
	flex bison libelf-dev libssl-dev
)
# Kernel images and headers, by dpkg-query pattern: Debian's 6.1 ABI
# releases are 6.1.0-N-amd64, the backports ones 6.12.N+debNN-amd64.
kernel_globs=(
	'linux-image-6.1.0-*-amd64' 'linux-headers-6.1.0-*-amd64'
	'linux-image-6.12*-amd64' 'linux-headers-6.12*-amd64'
)
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
missing_kernels=()
for glob in "${kernel_globs[@]}"; do
	installed "$glob" || missing_kernels+=("$glob")
done

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

# The kernels, resolved through the linux-image-amd64/linux-headers-amd64
# metapackages: the newest version outside backports names the 6.1
# release, the backports version the 6.12 one.
meta_dep() { # META VERSION: the package META=VERSION depends on
	apt-cache show "$1=$2" | sed -n 's/^Depends: \(linux-[^ ,]*\).*/\1/p' | head -n 1
}
kernel_pkgs=()
for meta in linux-image-amd64 linux-headers-amd64; do
	stable=$(apt-cache madison "$meta" | awk -F' *[|] *' -v bpo="$backports/" \
		'index($3, bpo) == 0 { print $2; exit }')
	if [[ -z $stable ]]; then
		echo "install-deps: no bookworm version of $meta found" >&2
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
echo "install-deps: installing ${kernel_pkgs[*]} and linux-{image,headers}-amd64 from $backports"
# Naming the 6.1 packages marks them manually installed, so that moving
# the metapackages to 6.12 leaves them in place.
apt-get install -y --no-install-recommends "${kernel_pkgs[@]}"
apt-get install -y --no-install-recommends -t "$backports" linux-image-amd64 linux-headers-amd64

for glob in "${kernel_globs[@]}"; do
	installed "$glob" || {
		echo "install-deps: $glob is still not installed" >&2
		exit 1
	}
done
