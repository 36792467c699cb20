#!/usr/bin/env bash
# Install the Debian bookworm packages that building, testing (make check)
# and the demo (make demo) need. Idempotent: when every package is already
# installed it returns without touching apt.
set -euo pipefail

pkgs=(
	# module build, W=1 and sparse (C=2) checks, checkpatch.pl
	build-essential bc kmod sparse linux-source-6.1
	# the Debian kernel the guest boots and the module is built against
	linux-image-amd64 linux-headers-amd64
	# guest: QEMU, busybox initramfs, decompressing .ko.xz/.ko.zst modules
	qemu-system-x86 busybox-static cpio xz-utils zstd
	# guest workload: Soft-RoCE, LIO target, iSER initiator, I/O
	iproute2 rdma-core ibverbs-utils rdmacm-utils libibverbs-dev librdmacm-dev
	targetcli-fb dbus open-iscsi fio
)

missing=()
for pkg in "${pkgs[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null || true)
	[[ $status == ii* ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#pkgs[@]} packages already installed"
	exit 0
fi

if ((EUID != 0)); then
	echo "install-deps: must run as root to install: ${missing[*]}" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends "${missing[@]}"
