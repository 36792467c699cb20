#!/usr/bin/env bash
# shellcheck disable=SC2317 # check functions run through tap_run, unseen
# Usage: deb.sh
# Packaging test (TAP): make install/uninstall into a scratch root, DKMS
# by hand (make dkms-add, dkms install, make dkms-remove), then the Debian
# package for real on this machine. Builds iser-target-dkms
# (make deb) and lints it, installs it with apt, checks that DKMS built
# and installed iser_target for every installed Debian kernel under
# updates/dkms and that depmod and the modprobe.d alias resolve LIO's
# ib_isert to it, simulates a kernel update (dkms' kernel postinst hook
# must rebuild a removed module), boots the guest check
# tests/guest/pkg.sh (targetcli enable_iser must load the installed
# module), purges the package and checks that nothing of it is left.
# Needs root; changes the host only between install and purge, and
# purges on any exit.
#
# Environment:
#   PKG_VM_KVERS="a b"  kernels to boot the guest check on (default:
#                       tools/dev/kver.sh); "none" for no guest
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source-path=SCRIPTDIR source=../guest/tap.sh
. tests/guest/tap.sh

PKG=iser-target-dkms
# Every check's name starts so; the guest's carry the guest run's name.
P="pkg: "
NAME=iser-target
work=$repo/build/pkg
# Where the package may leave files; compared before install and after purge.
watched=(/usr/src /var/lib/dkms /lib/modules /lib/modprobe.d /etc/modprobe.d
	/usr/share/doc /var/lib/dpkg/info /etc/dkms)

# The kernels the module must build for, and those the guest boots.
mapfile -t kernels < <(tools/dev/kver.sh --all 2>/dev/null)
vm_kvers=${PKG_VM_KVERS:-$(tools/dev/kver.sh 2>/dev/null)}
[[ $vm_kvers == none ]] && vm_kvers=

finish() {
	tap_plan
	tap_totals
	((TAP_FAIL == 0))
	exit
}

# skip_rest WHY: the remaining checks cannot run.
skip_rest() {
	tap_skip "${P}package test" "$1"
	finish
}

installed() {
	[[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$PKG" 2>/dev/null) == i* ]]
}

purge() {
	DEBIAN_FRONTEND=noninteractive apt-get purge -y "$PKG"
}

((EUID == 0)) || skip_rest "needs root (installs a package)"
((${#kernels[@]})) || skip_rest "no Debian kernel headers installed (tools/dev/install-deps.sh)"
for tool in dpkg-buildpackage dh_dkms dkms lintian; do
	command -v "$tool" >/dev/null || skip_rest "$tool is not installed (tools/dev/install-deps.sh)"
done
tap_diag "kernels with headers: ${kernels[*]}; guest check on: ${vm_kvers:-none}"

# --- make install / make uninstall, into a scratch root ----------------

# A copy of the sources: the module built at the top level is the one the
# VM suites load, and must stay as it is.
rm -rf "$work"
mkdir -p "$work"
copy_sources() { # DIR
	mkdir -p "$1/tools"
	cp -r Makefile Kbuild packaging "$1/"
	cp tools/dev/kver.sh "$1/tools/"
	find drivers include \( -name '*.[ch]' -o -name '*.sh' \) -exec cp --parents {} "$1/" \;
}

hand_install() { # KVER DESTDIR
	local k=$1 dest=$2 ko src=$work/src-$1
	copy_sources "$src"
	make -s -C "$src" KVER="$k" DESTDIR="$dest" install || return 1
	find "$dest" -type f | sed "s|^$dest||"
	ko=$(compgen -G "$dest/lib/modules/$k/updates/iser_target.ko*") || {
		echo "no module under $dest/lib/modules/$k/updates"
		return 1
	}
	[[ $(modinfo -F vermagic "$ko") == "$k "* ]] &&
		cmp packaging/modprobe.d/iser-target.conf "$dest/etc/modprobe.d/iser-target.conf"
}

# depmod and modprobe on the scratch root, as on a real one.
hand_resolve() { # KVER DESTDIR
	local k=$1 dest=$2 path
	ln -s "/lib/modules/$k/kernel" "$dest/lib/modules/$k/kernel" &&
		cp /lib/modules/"$k"/modules.{order,builtin,builtin.modinfo} "$dest/lib/modules/$k/" &&
		depmod -b "$dest" "$k" || return 1
	path=$(modprobe -d "$dest" -S "$k" -C "$dest/etc/modprobe.d" --show-depends ib_isert |
		awk '/iser_target/ { print $2 }')
	echo "modprobe ib_isert loads: ${path:-nothing of ours}"
	[[ $path == "$dest/lib/modules/$k/updates/iser_target.ko"* ]]
}

hand_uninstall() { # KVER DESTDIR
	local k=$1 dest=$2 left src=$work/src-$1
	rm -rf "$dest/lib/modules/$k/kernel" "$dest"/lib/modules/"$k"/modules.*
	make -s -C "$src" KVER="$k" DESTDIR="$dest" uninstall || return 1
	left=$(find "$dest" -mindepth 1 ! -type d)
	[[ -z $left ]] || {
		echo "left behind: $left"
		return 1
	}
}

for k in "${kernels[@]}"; do
	dest=$work/destdir-$k
	rm -rf "$dest"
	if tap_run "${P}make install DESTDIR=... KVER=$k" hand_install "$k" "$dest"; then
		tap_run "${P}make install: modprobe ib_isert loads updates/iser_target for $k" hand_resolve "$k" "$dest"
		tap_run "${P}make uninstall DESTDIR=... KVER=$k leaves no file" hand_uninstall "$k" "$dest"
	else
		tap_skip "${P}make install: modprobe ib_isert loads updates/iser_target for $k" "make install failed"
		tap_skip "${P}make uninstall DESTDIR=... KVER=$k leaves no file" "make install failed"
	fi
done

# --- the Debian package -------------------------------------------------

deb=
build_deb() {
	make --no-print-directory deb || return 1
	deb=$(compgen -G "$repo/build/deb/${PKG}_*_all.deb") || return 1
	echo "built $deb"
}
tap_run "${P}make deb: dpkg-buildpackage builds ${PKG}_*_all.deb" build_deb ||
	skip_rest "no package to test"

run_lintian() {
	lintian --fail-on error,warning -I --pedantic "$repo"/build/deb/*.changes 2>&1 |
		grep -v 'running with root privileges'
	return "${PIPESTATUS[0]}"
}
tap_run "${P}lintian: no errors or warnings (source and binary)" run_lintian

versions_agree() {
	local conf changelog
	conf=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
	changelog=$(dpkg-parsechangelog -S Version | sed 's/-[^-]*$//')
	echo "dkms.conf: $conf, debian/changelog: $changelog"
	[[ -n $conf && $conf == "$changelog" ]]
}
tap_run "${P}dkms.conf PACKAGE_VERSION matches debian/changelog" versions_agree
VERSION=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)

if installed; then
	tap_diag "$PKG was installed before the test: purging it first"
	purge >/dev/null 2>&1
fi
snapshot() {
	find "${watched[@]}" -xdev 2>/dev/null | sort
}
snapshot >"$work/before.txt"
trap 'make -s dkms-remove >/dev/null 2>&1; installed && purge >/dev/null 2>&1' EXIT

dkms_ko() { # KVER: the installed module file, if any
	compgen -G "/lib/modules/$1/updates/dkms/iser_target.ko*" | head -n 1
}

dkms_installed() { # KVER
	local k=$1 ko
	dkms status -m "$NAME" -v "$VERSION" -k "$k" 2>/dev/null | grep ': installed' || return 1
	ko=$(dkms_ko "$k")
	[[ -n $ko ]] || {
		echo "no module under /lib/modules/$k/updates/dkms"
		return 1
	}
	echo "$ko: vermagic $(modinfo -F vermagic "$ko")"
	[[ $(modinfo -F vermagic "$ko") == "$k "* ]]
}

# DKMS by hand with the top-level dkms.conf (the package uses the same
# file): for one kernel, the newest; the package below covers them all.
newest=${kernels[-1]}
hand_dkms() { # KVER
	local k=$1 path
	make -s --no-print-directory dkms-add &&
		dkms install "$NAME/$VERSION" -k "$k" || return 1
	dkms_installed "$k" || return 1
	path=$(modinfo -k "$k" -n iser_target) || return 1
	echo "modinfo -n iser_target: $path"
	[[ $path == "$(dkms_ko "$k")" ]]
}
hand_dkms_remove() { # KVER
	local k=$1
	make -s --no-print-directory dkms-remove || return 1
	if [[ -n $(dkms_ko "$k") || -e /usr/src/$NAME-$VERSION || -e /var/lib/dkms/$NAME ]]; then
		echo "left: $(dkms_ko "$k") $(ls -d /usr/src/"$NAME"-* /var/lib/dkms/"$NAME" 2>/dev/null)"
		return 1
	fi
	! modinfo -k "$k" -n iser_target 2>/dev/null
}
if tap_run "${P}dkms by hand: make dkms-add, dkms install for $newest" hand_dkms "$newest"; then
	tap_run "${P}dkms by hand: make dkms-remove leaves no module" hand_dkms_remove "$newest"
else
	make -s dkms-remove >/dev/null 2>&1
	tap_skip "${P}dkms by hand: make dkms-remove leaves no module" "dkms install failed"
fi

apt_install() {
	DEBIAN_FRONTEND=noninteractive apt-get install -y \
		--no-install-recommends "$deb"
}
start=$SECONDS
tap_run "${P}apt-get install ./$(basename "$deb")" apt_install ||
	skip_rest "the package did not install"
tap_diag "installing (DKMS builds for ${#kernels[@]} kernels) took $((SECONDS - start))s"
dkms status -m "$NAME" 2>/dev/null | tap_diag

dkms_resolves() { # KVER
	local k=$1 alias path
	alias=$(modprobe -S "$k" -R ib_isert) || return 1
	path=$(modinfo -k "$k" -n iser_target) || return 1
	echo "modprobe -R ib_isert: $alias; modinfo -n iser_target: $path"
	[[ $alias == iser_target && $path == "$(dkms_ko "$k")" ]]
}

for k in "${kernels[@]}"; do
	tap_run "${P}dkms: iser_target built and installed for $k under updates/dkms" dkms_installed "$k"
	tap_run "${P}depmod and alias: ib_isert is iser_target from updates/dkms for $k" dkms_resolves "$k"
done

# A kernel update runs /etc/kernel/postinst.d/dkms; AUTOINSTALL=yes must
# make it build the module for that kernel again.
kernel_update() { # KVER
	local k=$1
	dkms uninstall -m "$NAME" -v "$VERSION" -k "$k" >/dev/null &&
		dkms unbuild -m "$NAME" -v "$VERSION" -k "$k" >/dev/null || return 1
	if [[ -n $(dkms_ko "$k") ]]; then
		echo "dkms uninstall left $(dkms_ko "$k")"
		return 1
	fi
	/etc/kernel/postinst.d/dkms "$k" || return 1
	dkms_installed "$k"
}
tap_run "${P}kernel update hook rebuilds iser_target for $newest (AUTOINSTALL)" kernel_update "$newest"

for k in $vm_kvers; do
	name=pkg
	[[ $vm_kvers == *" "* ]] && name=pkg@$k
	fails=$TAP_FAIL
	tap_relay "" < <(KVER=$k tests/vm/run-vm.sh tests/guest/pkg.sh "$name" 2>&1)
	wait $! && rc=0 || rc=$?
	if ((rc != 0 && TAP_FAIL == fails)); then
		tap_not_ok "${P}vm:$name: run-vm.sh exit status $rc"
	fi
done

tap_run "${P}apt-get purge $PKG" purge

leftovers() {
	local diff
	snapshot >"$work/after.txt"
	# dkms' own signing key, made on its first build, is not ours.
	diff=$(diff "$work/before.txt" "$work/after.txt" | grep '^[<>]' |
		grep -v '^> /var/lib/dkms/mok\.\(key\|pub\)$')
	echo "files that differ from before the install:"
	echo "${diff:-none}"
	[[ -z $diff ]] || return 1
	dkms status -m "$NAME" | grep . && return 1
	for k in "${kernels[@]}"; do
		if grep -q iser_target "/lib/modules/$k/modules.dep"; then
			echo "/lib/modules/$k/modules.dep still lists iser_target"
			return 1
		fi
	done
}
tap_run "${P}purge leaves nothing behind (${watched[*]}, modules.dep)" leftovers
trap - EXIT

finish
