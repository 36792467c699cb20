#!/usr/bin/env bash
# Usage: mkinitramfs.sh KVER
# Build the guest initramfs for kernel KVER, or reuse the cached one in
# build/vm/ when its inputs (this script, the init, busybox, the modules)
# have not changed. Prints the image path. The modules come from
# $ISER_MODROOT/lib/modules/KVER (default: the host's /lib/modules).
set -euo pipefail

kver=$1
modroot=${ISER_MODROOT:-/}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=$repo/build/vm
img=$cache/initramfs-$kver.cpio.gz
busybox=/bin/busybox
# Just enough to mount the host root: virtio-pci transport, 9p, overlayfs.
wanted=(virtio_pci 9pnet_virtio 9p overlay)

ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
if [[ $ldd_out != *'not a dynamic executable'* ]]; then
	echo "mkinitramfs: $busybox is not static (install busybox-static)" >&2
	exit 1
fi

# Resolve dependencies in load order; "builtin NAME" lines need nothing
# (6.12 builds virtio_pci in).
mods=()
declare -A seen=()
for want in "${wanted[@]}"; do
	while read -r kind path _; do
		[[ $kind == insmod && -z ${seen[$path]:-} ]] || continue
		seen[$path]=1
		mods+=("$path")
	done < <(modprobe -d "$modroot" -S "$kver" --show-depends "$want")
done

key=$(
	{
		cat "${BASH_SOURCE[0]}" "$here/initramfs-init"
		stat -c '%n %s %Y' "$busybox" "${mods[@]}"
		echo "$modroot"
	} | sha256sum | cut -d' ' -f1
)
if [[ -e $img && $(cat "$img.key" 2>/dev/null) == "$key" ]]; then
	echo "$img"
	exit 0
fi

mkdir -p "$cache"
stage=$(mktemp -d "$cache/initramfs.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,lib/modules}
# The kernel opens /dev/console before /init runs, so it must be in the image.
mknod -m 600 "$stage/dev/console" c 5 1
cp "$busybox" "$stage/bin/busybox"
for applet in sh mount umount mkdir insmod switch_root poweroff; do
	ln -s busybox "$stage/bin/$applet"
done
install -m 0755 "$here/initramfs-init" "$stage/init"
# Empty when the kernel has all of them built in.
: >"$stage/modules"

# busybox insmod cannot read compressed modules: store them plain.
for path in "${mods[@]}"; do
	name=${path##*/}
	case $name in
	*.ko.xz) xz -dc "$path" >"$stage/lib/modules/${name%.xz}" ;;
	*.ko.zst) zstd -qdc "$path" >"$stage/lib/modules/${name%.zst}" ;;
	*.ko.gz) gzip -dc "$path" >"$stage/lib/modules/${name%.gz}" ;;
	*.ko) cp "$path" "$stage/lib/modules/$name" ;;
	*) echo "mkinitramfs: unexpected module file $path" >&2; exit 1 ;;
	esac
	name=${name%.xz}; name=${name%.zst}; name=${name%.gz}
	echo "$name" >>"$stage/modules"
done

(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) | gzip -1 >"$img.tmp"
mv "$img.tmp" "$img"
echo "$key" >"$img.key"
echo "$img"
