#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise the exact per-I/O verbs counts of tests/guest/cost.sh.

Reads the guest's bench.jsonl (one line of event counts per round,
transport and workload), divides by the I/Os, and prints per workload the
figures of iser_target and ib_isert and their ratio; the spread between
rounds shows how exact the counts are. Merges the figures into a
benchmark JSON (created if missing): "cost" holds them, and
ratios[workload][METRIC_per_io]["ours/ib_isert"] their ratios (with
"nostats" among the transports, iser_target with stats=0, also
"nostats/ib_isert" and "ours/nostats"), beside the wall-clock ones.
Also writes the table in Markdown next to it (cost.md). Exit status 1 if a figure is missing.

usage: cost-report.py OUTDIR BENCH_JSON TRANSPORTS ROUNDS
"""

import bisect
import json
import os
import statistics
import sys

# metric: (what it means, the counted events it sums)
METRICS = {
    "doorbells": ("post calls (send and receive)",
                  ("post_send", "post_recv", "post_srq_recv")),
    "send_wrs": ("send work requests", ("send_wqe",)),
    "recv_wrs": ("receive work requests", ("recv_wr",)),
    "completions": ("completion queue entries", ("cqe",)),
    "polls": ("CQ polls", ("poll_cq",)),
    "rearms": ("CQ re-arms", ("req_notify",)),
    "events": ("completion events", ("comp_event_wq", "comp_event_softirq")),
}
# Instruction metrics, from the insn-count plugin's reports when cost.sh
# ran with it: the target guest's in all, the transport module's, and the
# module's with the RDMA stack it drives (ib_core, with rdma_rw and the CQ
# pool, and the provider).
INSN_METRICS = {
    "guest_insn": "instructions in the target's guest",
    "module_insn": "instructions in the transport module",
    "stack_insn": "instructions in the module, ib_core and rdma_rxe",
}
MODULE = {"ours": "iser_target", "srq": "iser_target", "nostats": "iser_target",
          "stock": "ib_isert"}
STACK = ("ib_core", "rdma_rxe")
NAMES = {"ours": "iser_target", "stock": "ib_isert", "srq": "iser_target use_srq=1",
         "nostats": "iser_target stats=0"}


def load_syms(path):
    """Sorted [(address, name, module)] of a kallsyms text dump."""
    syms = []
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            mod = parts[3].strip("[]") if len(parts) > 3 else "kernel"
            syms.append((int(parts[0], 16), parts[2], mod))
    syms.sort()
    return syms


def load_insn(path, syms):
    """({module: instructions}, {function [module]: instructions}, total):
    each kernel instruction address counted goes to the symbol at or below
    it; user space is "user". A report that lost counts is refused."""
    addrs = [a for a, _, _ in syms]
    by_mod, by_fn, total, lost = {}, {}, None, 0
    with open(path) as f:
        for line in f:
            key, val = line.split()
            if key == "total":
                total = int(val)
            elif key == "lost":
                lost = int(val)
            elif key == "user":
                by_mod["user"] = by_mod.get("user", 0) + int(val)
            elif key == "slots":
                continue
            else:
                i = bisect.bisect_right(addrs, int(key, 16)) - 1
                _, fn, mod = syms[i] if i >= 0 else (0, "?", "kernel")
                by_mod[mod] = by_mod.get(mod, 0) + int(val)
                by_fn[f"{fn} [{mod}]"] = by_fn.get(f"{fn} [{mod}]", 0) + int(val)
    if total is None or lost:
        raise ValueError(f"{path}: {'no total' if total is None else f'{lost} lost'}")
    return by_mod, by_fn, total


def load(outdir):
    """[(round, transport, workload, {metric: per I/O}, I/Os)], and the
    transport module's busiest functions per workload and transport
    (instructions per I/O, first round)."""
    recs, top, syms = [], {}, {}
    with open(os.path.join(outdir, "bench.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("cost") != 1:
                continue
            n, tr = rec["ios"], rec["transport"]
            per = {m: sum(rec[e] for e in events) / n
                   for m, (_, events) in METRICS.items()}
            if "insn" in rec:
                if rec["kallsyms"] not in syms:
                    syms[rec["kallsyms"]] = load_syms(os.path.join(outdir, rec["kallsyms"]))
                by_mod, by_fn, total = load_insn(os.path.join(outdir, rec["insn"]),
                                                 syms[rec["kallsyms"]])
                mod = by_mod.get(MODULE.get(tr, tr), 0)
                per["guest_insn"] = total / n
                per["module_insn"] = mod / n
                per["stack_insn"] = (mod + sum(by_mod.get(m, 0) for m in STACK)) / n
                if rec["round"] == 1:
                    fns = sorted(((c, fn) for fn, c in by_fn.items()
                                  if fn.endswith(f"[{MODULE.get(tr, tr)}]")), reverse=True)
                    top.setdefault(rec["workload"], {})[tr] = {
                        "modules": {m: c / n for m, c in sorted(by_mod.items(),
                                                                 key=lambda x: -x[1])},
                        "functions": {fn: c / n for c, fn in fns[:20]}}
            recs.append((rec["round"], tr, rec["workload"], per, n))
    return recs, top


def main():
    outdir, jsonout = sys.argv[1], sys.argv[2]
    transports = sys.argv[3].split()
    rounds = int(sys.argv[4])
    recs, top = load(outdir)
    metrics = dict((m, d) for m, (d, _) in METRICS.items())
    if all("guest_insn" in p for *_, p, _ in recs):
        metrics.update(INSN_METRICS)
    workloads = []
    for _, _, wl, *_ in recs:
        if wl not in workloads:
            workloads.append(wl)

    per_io, spread, missing = {}, {}, []
    for wl in workloads:
        per_io[wl], spread[wl] = {}, {}
        for tr in transports:
            sel = [p for _, t, w, p, _ in recs if t == tr and w == wl]
            if len(sel) != rounds:
                missing.append(f"{wl}/{tr}: {len(sel)} of {rounds} rounds")
            if not sel:
                continue
            per_io[wl][tr] = {m: statistics.median(p[m] for p in sel) for m in metrics}
            spread[wl][tr] = {}
            for m in metrics:
                vals = [p[m] for p in sel]
                med = per_io[wl][tr][m]
                spread[wl][tr][m] = (max(vals) - min(vals)) / med if med else 0.0
    max_spread = max((v for wl in spread.values() for tr in wl.values()
                      for v in tr.values()), default=0.0)

    def ratio(wl, m, a, b):
        x, y = per_io[wl].get(a, {}).get(m), per_io[wl].get(b, {}).get(m)
        return x / y if x is not None and y else None

    data = {}
    if os.path.exists(jsonout):
        with open(jsonout) as f:
            data = json.load(f)
    data["cost"] = {"what": metrics, "profile": top,
                    "ios_per_run": sorted({n for *_, n in recs}), "rounds": rounds,
                    "transports": transports, "per_io": per_io,
                    "spread_between_rounds": spread, "max_spread": max_spread}
    ratios = data.setdefault("ratios", {})
    for wl in workloads:
        for m in metrics:
            r = ratios.setdefault(wl, {}).setdefault(f"{m}_per_io", {})
            r["ours/ib_isert"] = ratio(wl, m, "ours", "stock")
            if "srq" in transports:
                r["srq/ib_isert"] = ratio(wl, m, "srq", "stock")
            # What the per-connection statistics cost.
            if "nostats" in transports:
                r["nostats/ib_isert"] = ratio(wl, m, "nostats", "stock")
                r["ours/nostats"] = ratio(wl, m, "ours", "nostats")
    with open(jsonout, "w") as f:
        json.dump(data, f, indent=1)

    def cell(wl, tr, m):
        v = per_io[wl].get(tr, {}).get(m)
        if v is None:
            return "-"
        return f"{v:.0f}" if v >= 100 else f"{v:.2f}"

    def rcell(wl, m):
        v = ratio(wl, m, "ours", "stock")
        return "-" if v is None else f"{v:.2f}"

    print(f"work on the target per I/O, exact counts (median of {rounds} rounds; "
          f"largest difference between rounds {max_spread * 100:.2f} %): "
          + ", ".join(f"{NAMES.get(t, t)}" for t in transports) + ", ours/ib_isert")
    for wl in workloads:
        print(wl)
        for m, desc in metrics.items():
            print(f"  {m:<12}" + "".join(f"{cell(wl, tr, m):>11}" for tr in transports)
                  + f"{rcell(wl, m):>8}   {desc}")
    md = os.path.join(os.path.dirname(jsonout) or ".", "cost.md")
    with open(md, "w") as f:
        f.write("| workload | " + " | ".join(
            f"{m} ours / ib_isert (ratio)" for m in metrics) + " |\n")
        f.write("| --- " * (len(metrics) + 1) + "|\n")
        for wl in workloads:
            f.write(f"| {wl} | " + " | ".join(
                f"{cell(wl, 'ours', m)} / {cell(wl, 'stock', m)} ({rcell(wl, m)})"
                for m in metrics) + " |\n")
    if missing:
        print("missing figures: " + "; ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
