#!/usr/bin/env bash
# Usage: lint.sh [--no-sparse]
# What `make lint` runs, as TAP (see tests/guest/tap.sh), ending with one
# "N passed, N failed, N skipped" line; exits non-zero on any finding:
#
#   checkpatch.pl --strict   one check per source file of the module
#   kernel-doc -v -none      every kernel-doc comment well-formed
#   sparse (make C=2)        once per installed Debian kernel
#   shell scripts            shellcheck -S warning, every script here
#   docutils                 Documentation/*.rst parse without warnings
#
# checkpatch.pl and kernel-doc come from linux-source (Debian's package
# only ships /usr/src/linux-source-*.tar.xz): the few scripts needed are
# extracted once into build/lint/ and reused while the tarball is unchanged.
#
# checkpatch runs outside a kernel tree (--no-tree); --root points it at
# the installed headers of the newest kernel, from whose include/ it learns
# the kernel's own CamelCase names (sess_ops->InitialR2T and the like), as
# it does in a tree. It caches them in build/lint/.
#
# Environment:
#   LINUX_SRC=DIR    a kernel tree with scripts/checkpatch.pl to use instead
#   LINT_KVERS="..." kernels for sparse (default: tools/dev/kver.sh --all)
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo" || exit 1
# shellcheck source-path=SCRIPTDIR source=../../tests/guest/tap.sh
. tests/guest/tap.sh

sparse=1
case ${1:-} in
--no-sparse) sparse=0 ;;
'') ;;
*)
	echo "usage: lint.sh [--no-sparse]" >&2
	exit 2
	;;
esac

out=$repo/build/lint
mkdir -p "$out"
shopt -s nullglob
sources=()
for f in drivers/target/iser/*.[ch] drivers/target/iser/compat/probes/*.c \
	include/iser_target/*.h; do
	# Written by a build (compat/probe.sh), not part of the sources.
	[[ $f == */iser_compat_auto.h ]] || sources+=("$f")
done
kvers=${LINT_KVERS:-$(tools/dev/kver.sh --all 2>/dev/null)}

# Where checkpatch.pl and kernel-doc live; extract them if need be.
scripts_dir() {
	local tarball top stamp
	if [[ -n ${LINUX_SRC:-} ]]; then
		echo "$LINUX_SRC/scripts"
		return
	fi
	tarball=$(printf '%s\n' /usr/src/linux-source-*.tar.xz | sort -V | tail -n 1)
	[[ -n $tarball ]] || {
		echo "no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.1)" >&2
		return 1
	}
	top=$(basename "$tarball" .tar.xz)
	stamp=$out/$top/.extracted
	if [[ ! $stamp -nt $tarball ]]; then
		rm -rf "${out:?}/$top"
		tar -xJf "$tarball" -C "$out" --occurrence=1 \
			"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
			"$top/scripts/const_structs.checkpatch" "$top/scripts/kernel-doc" ||
			return 1
		touch "$stamp"
	fi
	echo "$out/$top/scripts"
}

# The newest kernel's headers, with the kernel's full include/.
kroot=
for k in $kvers; do
	[[ -d /lib/modules/$k/source/include ]] && kroot=$(realpath "/lib/modules/$k/source")
done

if scripts=$(scripts_dir); then
	tap_diag "checkpatch.pl and kernel-doc from ${scripts%/scripts}"
	for f in "${sources[@]}"; do
		# Run in build/lint, where its CamelCase cache goes; GIT_DIR keeps
		# it from asking git about this repository instead of the kernel.
		report=$(cd "$out" && GIT_DIR=/nonexistent perl "$scripts/checkpatch.pl" \
			--strict --no-tree ${kroot:+--root="$kroot"} --terse --show-types \
			--no-summary -q -f "$repo/$f" 2>&1)
		report=${report//"$repo/"/}
		if [[ -z $report ]]; then
			tap_ok "checkpatch --strict: $f"
		else
			tap_not_ok "checkpatch --strict: $f"
			tap_diag <<<"$report"
		fi
	done

	report=$(perl "$scripts/kernel-doc" -v -none "${sources[@]}" 2>&1 | grep -v ': info: ')
	if [[ -z $report ]]; then
		tap_ok "kernel-doc -v: ${#sources[@]} files"
	else
		tap_not_ok "kernel-doc -v: ${#sources[@]} files"
		tap_diag <<<"$report"
	fi
else
	tap_not_ok "checkpatch.pl and kernel-doc available"
fi

# Sparse on a copy of the sources per kernel, so that the module built at
# the top level (the one the VM tests load) is left alone.
if ((sparse)); then
	if [[ -z $kvers ]]; then
		tap_not_ok "sparse: no installed kernel headers (tools/dev/kver.sh --all)"
	fi
	for k in $kvers; do
		dir=$out/sparse/$k
		rm -rf "$dir"
		mkdir -p "$dir"
		cp --parents Kbuild "${sources[@]}" drivers/target/iser/compat/probe.sh "$dir/"
		log=$(make --no-print-directory -C "/lib/modules/$k/build" M="$dir" C=2 modules 2>&1) &&
			rc=0 || rc=$?
		warnings=$(grep -iE 'warning:|error:' <<<"$log")
		if ((rc == 0)) && [[ -z $warnings ]]; then
			tap_ok "sparse: make C=2 for $k"
		else
			tap_not_ok "sparse: make C=2 for $k"
			tap_diag <<<"${warnings:-$(tail -n 20 <<<"$log")}"
		fi
	done
fi

if command -v shellcheck >/dev/null; then
	scripts=(tools/dev/*.sh tests/*.sh tests/*/*.sh tests/selftests/*/*.sh .ci/run tests/vm/initramfs-init
		debian/*.postinst debian/*.prerm debian/*.postrm)
	if report=$(shellcheck -x -S warning "${scripts[@]}" 2>&1); then
		tap_ok "shellcheck -S warning: ${#scripts[@]} scripts"
	else
		tap_not_ok "shellcheck -S warning: ${#scripts[@]} scripts"
		tap_diag <<<"$report"
	fi
else
	tap_skip "shellcheck" "shellcheck is not installed (tools/dev/install-deps.sh)"
fi

# Every tool in tools/ has a man page that renders without warnings.
if command -v groff >/dev/null || command -v man >/dev/null; then
	if report=$(tests/doc/check-manpages.sh 2>&1); then
		tap_ok "man pages: $(grep -c '^ok ' <<<"$report") pages for the tools in tools/"
	else
		tap_not_ok "man pages for the tools in tools/"
		grep -v '^ok ' <<<"$report" | tap_diag
	fi
else
	tap_skip "man pages" "neither groff nor man is installed"
fi

# docutils, with the Sphinx-only directives the kernel's documentation
# uses (toctree, kernel-doc) accepted as no-ops.
rst_check() {
	python3 - "$1" <<'PY'
import sys
from docutils.core import publish_doctree
from docutils.parsers.rst import Directive, directives

class Ignored(Directive):
    has_content = True
    optional_arguments = 1
    final_argument_whitespace = True
    option_spec = None

    def run(self):
        return []

Ignored.option_spec = {k: directives.unchanged for k in
                       ("maxdepth", "caption", "numbered", "glob", "hidden",
                        "titlesonly", "export", "internal", "identifiers",
                        "functions", "doc")}
for name in ("toctree", "kernel-doc"):
    directives.register_directive(name, Ignored)
with open(sys.argv[1], encoding="utf-8") as f:
    text = f.read()
try:
    publish_doctree(text, source_path=sys.argv[1],
                    settings_overrides={"halt_level": 2, "report_level": 5,
                                        "raw_enabled": False})
except Exception as e:  # docutils.utils.SystemMessage at halt_level
    sys.exit(str(e))
PY
}
if python3 -c 'import docutils' 2>/dev/null; then
	for f in Documentation/*.rst; do
		if report=$(rst_check "$f" 2>&1); then
			tap_ok "docutils: $f"
		else
			tap_not_ok "docutils: $f"
			tap_diag <<<"$report"
		fi
	done
else
	tap_skip "docutils" "python3-docutils is not installed (tools/dev/install-deps.sh)"
fi

tap_plan
tap_totals
((TAP_FAIL == 0))
