#!/usr/bin/env bash
# Usage: stage-modules.sh KVER MODULE.ko
# Run depmod on the host for KVER's module tree plus MODULE.ko under
# updates/, in build/vm/modules/KVER, and print that directory. The guest
# then copies the resulting modules.* indexes instead of running depmod
# itself, which reads every module over 9p and takes minutes under TCG.
set -euo pipefail

kver=$1
ko=$2
tree=${ISER_MODROOT:-/}/lib/modules/$kver
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
stage=$repo/build/vm/modules/$kver
mods=$stage/lib/modules/$kver

rm -rf "$stage"
mkdir -p "$mods/updates"
# depmod follows the link, so the stock tree is read in place.
ln -s "$tree/kernel" "$mods/kernel"
cp "$tree"/modules.order "$tree"/modules.builtin* "$mods/"
cp "$ko" "$mods/updates/"
depmod -b "$stage" "$kver"
echo "$mods"
