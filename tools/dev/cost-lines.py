#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Exact instructions per I/O of one module, by source line or function.

make bench COST=1 leaves, for each transport and workload, the count of
every kernel instruction the target's guest ran (tools/dev/insn-count.c)
and the kernel's symbols at that time. This maps the module's addresses
back to its .ko and asks addr2line where each came from, inlined code
included, so that a change to the I/O path can be judged line by line.

Usage: cost-lines.py OUTDIR TRANSPORT WORKLOAD KO [MODULE] [--by line|function]
"""
import argparse
import bisect
import collections
import json
import os
import signal
import subprocess
import sys


def run_record(outdir, transport, workload):
    """The first round's record of TRANSPORT and WORKLOAD in bench.jsonl."""
    with open(os.path.join(outdir, "bench.jsonl"), encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("transport") == transport and rec.get("workload") == workload \
                    and rec.get("cost") and rec.get("insn"):
                return rec
    sys.exit(f"no counted run of {transport} {workload} in {outdir}/bench.jsonl")


def module_syms(kallsyms, module):
    """Sorted [(address, name)] of MODULE's text symbols in the guest."""
    syms = []
    with open(kallsyms, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) == 4 and p[3] == f"[{module}]":
                syms.append((int(p[0], 16), p[2]))
    syms.sort()
    return syms


def ko_syms(ko):
    """{name: (address, size)} of the text symbols in the module file."""
    out = subprocess.run(["nm", "-S", ko], capture_output=True, text=True,
                         check=True).stdout
    return {p[3]: (int(p[0], 16), int(p[1], 16))
            for p in (line.split() for line in out.splitlines())
            if len(p) == 4 and p[2] in "tT"}


def ko_counts(insn, syms, kosyms):
    """{address in the .ko: executions} of the module's counted instructions.

    An address past the end of the function before it (in another module
    loaded after this one, say) is not the module's.
    """
    starts = [a for a, _ in syms]
    counts = collections.Counter()
    with open(insn, encoding="utf-8") as f:
        for line in f:
            p = line.split()
            if len(p) != 2 or not all(c in "0123456789abcdef" for c in p[0]):
                continue
            addr = int(p[0], 16)
            i = bisect.bisect_right(starts, addr) - 1
            if i < 0 or syms[i][1] not in kosyms:
                continue
            start, size = kosyms[syms[i][1]]
            if addr - starts[i] < size:
                counts[start + addr - starts[i]] += int(p[1])
    return counts


def where(ko, addrs):
    """[(function, file:line)] for ADDRS, the innermost inlined frame."""
    out = subprocess.run(["addr2line", "-f", "-e", ko] + [hex(a) for a in addrs],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    res = []
    for i in range(len(addrs)):
        fn, loc = out[2 * i], out[2 * i + 1]
        loc = os.path.basename(loc.split(" (discriminator")[0])
        res.append((fn, loc))
    return res


def main():
    ap = argparse.ArgumentParser(description="A module's exact instructions per I/O "
                                 "from make bench COST=1, by source line or function.")
    ap.add_argument("outdir")
    ap.add_argument("transport")
    ap.add_argument("workload")
    ap.add_argument("ko")
    ap.add_argument("module", nargs="?", default="iser_target")
    ap.add_argument("--by", choices=("line", "function"), default="line")
    a = ap.parse_args()
    outdir, ko, module = a.outdir, a.ko, a.module
    if not os.path.isfile(ko):
        sys.exit(f"{ko}: no such module file (the .ko the run loaded)")
    by_function = a.by == "function"
    rec = run_record(outdir, a.transport, a.workload)
    syms = module_syms(os.path.join(outdir, rec["kallsyms"]), module)
    if not syms:
        sys.exit(f"{module} is not in {rec['kallsyms']}")
    counts = ko_counts(os.path.join(outdir, rec["insn"]), syms, ko_syms(ko))
    addrs = sorted(counts)
    totals = collections.Counter()
    for addr, (fn, loc) in zip(addrs, where(ko, addrs)):
        totals[fn if by_function else (fn, loc)] += counts[addr]
    ios = rec["ios"]
    print(f"{module}, {a.transport}, {a.workload}: {sum(counts.values()) / ios:.1f} "
          f"instructions per I/O ({ios} I/Os)")
    for key, n in totals.most_common():
        if n / ios < 0.05:
            break
        name = key if by_function else f"{key[0]:<28} {key[1]}"
        print(f"{n / ios:8.1f}  {name}")


if __name__ == "__main__":
    # Quietly, when piped into head.
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    main()
