#!/bin/bash
# vm-timeout: 600
# The installed package, seen from the kernel it was built for. Run by
# tests/pkg/deb.sh while iser-target-dkms is installed on the host (the
# guest sees the host's root): the module DKMS built must be the one that
# LIO's request for ib_isert loads when targetcli enables iSER, through the
# package's modprobe.d alias and the host's depmod indexes, not a copy of
# the module built at the top of the repository. Then a short iSER login
# and verified I/O through it, and a full teardown.
# shellcheck source-path=SCRIPTDIR
set -u
ISER_IMPL=ours
# shellcheck source=tap.sh
. "$ISER_REPO/tests/guest/tap.sh"
# shellcheck source=lib.sh
. "$ISER_REPO/tests/guest/lib.sh"

RAMDISK_MB=32
VERIFY_MB=8
KVER=$(uname -r)
DKMS_DIR=/lib/modules/$KVER/updates/dkms
DKMS_KO=

installed_module() {
	local f
	for f in "$DKMS_DIR"/iser_target.ko "$DKMS_DIR"/iser_target.ko.{xz,zst,gz}; do
		[[ -e $f ]] && DKMS_KO=$f
	done
	ls -l "$DKMS_DIR"
	[[ -n $DKMS_KO ]] || {
		echo "no iser_target module under $DKMS_DIR"
		return 1
	}
	echo "installed: $DKMS_KO"
	echo "vermagic: $(modinfo -F vermagic "$DKMS_KO")"
	[[ $(modinfo -F vermagic "$DKMS_KO") == "$KVER "* ]]
}

alias_resolves() {
	local resolved
	grep -H . /lib/modprobe.d/iser-target.conf || return 1
	if [[ -e /etc/modprobe.d/iser-target.conf ]]; then
		echo "/etc/modprobe.d/iser-target.conf exists: the host has a 'make install' copy"
		return 1
	fi
	resolved=$(modprobe -R ib_isert) || return 1
	echo "modprobe -R ib_isert: $resolved"
	[[ $resolved == iser_target ]]
}

depmod_picks_dkms() {
	local path
	path=$(modinfo -n iser_target) || return 1
	echo "modinfo -n iser_target: $path"
	[[ $path == "$DKMS_KO" ]]
}

# build_id FILE: the GNU build ID of a module file or of a sysfs note.
build_id() {
	local tmp
	tmp=$(mktemp)
	case $1 in
	*.xz) xz -dc "$1" >"$tmp.ko" ;;
	*.zst) zstd -qdc "$1" >"$tmp.ko" ;;
	*.gz) gzip -dc "$1" >"$tmp.ko" ;;
	*.ko) cp "$1" "$tmp.ko" ;;
	*) cp "$1" "$tmp" ;;
	esac
	if [[ -e $tmp.ko ]]; then
		objcopy -O binary --only-section=.note.gnu.build-id "$tmp.ko" "$tmp"
	fi
	od -An -tx1 -v "$tmp" | tr -d ' \n' | tail -c 40
	rm -f "$tmp" "$tmp.ko"
}

loaded_is_installed() {
	local loaded file
	loaded=$(build_id /sys/module/iser_target/notes/.note.gnu.build-id)
	file=$(build_id "$DKMS_KO")
	echo "build ID of the loaded module: $loaded"
	echo "build ID of $DKMS_KO: $file"
	[[ -n $loaded && $loaded == "$file" ]]
}

tap_diag "kernel $KVER: iser-target-dkms as installed on the host"
MODULES_BEFORE=$(mktemp)
loaded_modules >"$MODULES_BEFORE"
step module "DKMS installed iser_target for $KVER under updates/dkms" installed_module
step alias "package's /lib/modprobe.d alias: ib_isert resolves to iser_target" alias_resolves
step depmod "depmod index points at the DKMS module" depmod_picks_dkms
step rxe "Soft-RoCE rxe0/rxe1 over veth pair" rxe_setup
step dbus "D-Bus system bus for targetcli" dbus_start
step backstore "targetcli: ${RAMDISK_MB} MiB ramdisk backstore" target_backstore
step target "targetcli: target, LUN and initiator ACL" target_create
step portal "targetcli: portal $PORTAL with enable_iser" target_portal_iser
step served "enable_iser loaded iser_target, not ib_isert" transport_loaded
step same "the loaded iser_target is the installed DKMS module (build ID)" loaded_is_installed
step iscsid "iscsid running" initiator_start
step login "iSER discovery and login" eval 'initiator_discover && initiator_login'
step session "session transport is iser" session_is_iser
step disk "${RAMDISK_MB} MiB disk attached" initiator_disk
check "fio crc32c write+verify $VERIFY_MB MiB bs=64k" fio_verify 64k write
iser_teardown
tap_plan
((TAP_FAIL == 0))
