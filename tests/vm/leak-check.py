#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Attribute kmemleak reports to modules and excuse the listed ones.

Usage: leak-check.py KMEMLEAK MODULES [KNOWN]

KMEMLEAK is /sys/kernel/debug/kmemleak as the guest read it after the
suite. The suite has unloaded its modules by then, so their frames in a
backtrace are bare addresses. MODULES holds "name size address" for every
module the guest had loaded (sampled each second by guest-init.sh), which
maps such an address back to its module. A report is excused when every
one of its module frames falls in a module of one line of KNOWN
(default: known-leaks.txt beside this script), and no frame is left
unattributed. Prints one line per report; exits 1 if any is not excused.
"""
import os
import re
import sys

FRAME = re.compile(r'\[<([0-9a-f]+)>\]\s+(\S+)(?:\s+\[(\w+)\])?')


def parse_reports(text):
    """Split kmemleak output into reports: (first line, comm, frames)."""
    reports = []
    for block in re.split(r'(?m)^(?=unreferenced object )', text):
        if not block.startswith('unreferenced object '):
            continue
        first = block.splitlines()[0].strip()
        comm = re.search(r'comm "([^"]*)"', block)
        frames = [(int(a, 16), sym, mod)
                  for a, sym, mod in FRAME.findall(block)]
        reports.append((first, comm.group(1) if comm else '?', frames))
    return reports


def parse_modules(text):
    """(name, start, end) of every module load seen, address known."""
    mods = set()
    for line in text.splitlines():
        f = line.split()
        if len(f) != 3 or not f[1].isdigit():
            continue
        start = int(f[2], 16)
        if start:
            mods.add((f[0], start, start + int(f[1])))
    return mods


def parse_known(text):
    """[(set of modules, why)] from KNOWN's non-comment lines."""
    known = []
    for line in text.splitlines():
        if line.startswith('#') or '\t' not in line:
            continue
        names, why = line.split('\t', 1)
        known.append((set(names.split()), why))
    return known


def attribute(frames, mods):
    """Modules a report's frames run in, and whether any is unknown."""
    names, unknown = set(), False
    for addr, sym, mod in frames:
        if mod:
            names.add(mod)
        elif sym.startswith('0x'):
            hits = {n for n, lo, hi in mods if lo <= addr < hi}
            if hits:
                names |= hits
            else:
                unknown = True
    return names, unknown


def verdicts(reports, mods, known):
    """(excused?, line) for each report."""
    out = []
    for first, comm, frames in reports:
        names, unknown = attribute(frames, mods)
        if names:
            where = ' '.join(sorted(names))
        else:
            where = 'unrecorded modules' if unknown else 'the core kernel'
        why = None
        if names and not unknown:
            why = next((w for k, w in known if names <= k), None)
        if why:
            out.append((True, f'excused: {first} comm {comm} in {where}: {why}'))
        else:
            extra = ', an address in no known module' if unknown else ''
            out.append((False, f'leak: {first} comm {comm} in {where}{extra}'))
    return out


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    known_path = argv[3] if len(argv) > 3 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'known-leaks.txt')
    with open(argv[1], encoding='utf-8', errors='replace') as f:
        reports = parse_reports(f.read())
    mods = set()
    if os.path.exists(argv[2]):
        with open(argv[2], encoding='utf-8') as f:
            mods = parse_modules(f.read())
    with open(known_path, encoding='utf-8') as f:
        known = parse_known(f.read())
    bad = 0
    for ok, line in verdicts(reports, mods, known):
        print(line)
        bad += not ok
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
