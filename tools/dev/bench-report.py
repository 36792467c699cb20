#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Summarise a benchmark run of tests/guest/bench.sh.

Reads bench.jsonl and the raw fio JSON reports the guest wrote, prints a
table of medians (with min and max) per workload and transport and the
ratios ours/ib_isert, ours/tcm_loop and, when "nostats" ran (iser_target
loaded with stats=0), ours/nostats: what the statistics cost, and when
"srq" ran (use_srq=1), srq/ours: what the shared receive queue changes. Writes the
same as JSON. With a second directory (tests/guest/bench-mem.sh's), also
the target's own kernel memory per idle connection, per queue depth, and
its ratio ours/ib_isert.
Exit status 1 if any expected figure is missing.
"""

import json
import os
import statistics
import sys

NAMES = {"ours": "iser_target", "stock": "ib_isert", "tcp": "iSCSI/TCP",
         "loop": "tcm_loop", "nostats": "iser_target stats=0",
         "srq": "iser_target use_srq=1"}


def load(outdir):
    runs, mem = [], {}
    with open(os.path.join(outdir, "bench.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("workload") == "mem-per-idle-conn":
                mem[rec["transport"]] = {k: rec.get(k) for k in
                                         ("kib", "slab_kib", "vmalloc_kib")}
                continue
            with open(os.path.join(outdir, rec["fio"])) as fr:
                job = json.load(fr)["jobs"][0]
            r, w = job["read"], job["write"]
            ios = r["total_ios"] + w["total_ios"]
            lat = [x["clat_ns"]["mean"] for x in (r, w) if x["total_ios"]]
            runs.append({
                "transport": rec["transport"], "workload": rec["workload"],
                "round": rec["round"], "iops": r["iops"] + w["iops"],
                "mib_s": (r["bw_bytes"] + w["bw_bytes"]) / 1048576,
                "lat_us": sum(lat) / len(lat) / 1000 if lat else None,
                "cpu_us_per_io": (rec["busy_jiffies"] / rec["hz"] * 1e6 / ios
                                  if ios else None),
                "ios": ios})
    return runs, mem


def load_target_mem(memdir):
    """{cmdsn_depth: {transport: {kib, slab_kib, vmalloc_kib, top_slabs}}}
    from bench-mem.sh's bench.jsonl."""
    tmem = {}
    with open(os.path.join(memdir, "bench.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("workload") != "target-mem-per-idle-conn":
                continue
            tmem.setdefault(str(rec["cmdsn_depth"]), {})[rec["transport"]] = {
                k: rec.get(k) for k in ("kib", "slab_kib", "vmalloc_kib", "top_slabs")}
    return tmem


def unit_key(workload):
    """The figure a workload is judged by: latency at QD1, throughput for
    sequential transfers, IOPS otherwise."""
    if workload.endswith("qd1"):
        return "lat_us"
    return "mib_s" if workload.startswith("seq-") else "iops"


def fmt_cell(s, key, width=0):
    """A figure's median (right-aligned in @width) [min-max], to one
    decimal in MiB/s, whole otherwise; "-" when it is missing."""
    if not s:
        return "-"
    p = 1 if key == "mib_s" else 0
    return f"{s['median']:>{width}.{p}f} [{s['min']:.{p}f}-{s['max']:.{p}f}]"


def fmt_ratio(v):
    return f"{v:.2f}" if v is not None else "-"


def stats(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values),
            "max": max(values), "n": len(values)}


def write_markdown(path, workloads, transports, summary, ratios, mem, memr,
                   tmem, tmemr):
    """The same table in Markdown, as the README's Performance section
    shows it."""
    units = {"lat_us": "latency us", "mib_s": "MiB/s", "iops": "IOPS"}
    with open(path, "w") as f:
        f.write("| workload | unit | " +
                " | ".join(NAMES.get(t, t) for t in transports) +
                " | ours/ib_isert | ours/tcm_loop | CPU per I/O ours/ib_isert |\n")
        f.write("| --- " * (len(transports) + 5) + "|\n")
        for wl in workloads:
            key = unit_key(wl)
            cells = [fmt_cell(summary[wl][tr][key], key) for tr in transports]
            f.write(f"| {wl} | {units[key]} | " + " | ".join(cells) +
                    f" | {fmt_ratio(ratios[wl][key]['ours/ib_isert'])}"
                    f" | {fmt_ratio(ratios[wl][key]['ours/tcm_loop'])}"
                    f" | {fmt_ratio(ratios[wl]['cpu_us_per_io']['ours/ib_isert'])} |\n")
        if mem:
            f.write("\nKernel memory per idle connection, target and initiator in "
                    "one guest (KiB: all, slab, vmalloc): " +
                    "; ".join(f"{NAMES.get(t, t)} {v['kib']}, {v['slab_kib']}, "
                              f"{v['vmalloc_kib']}" for t, v in mem.items()) +
                    (f"; ours/ib_isert {memr:.2f}" if memr is not None else "") + ".\n")
        for depth, per in tmem.items():
            f.write(f"\nKernel memory per idle connection, target alone (two guests, "
                    f"CmdSN window {depth}; KiB: all, slab, vmalloc): " +
                    "; ".join(f"{NAMES.get(t, t)} {v['kib']}, {v['slab_kib']}, "
                              f"{v['vmalloc_kib']}" for t, v in per.items()) +
                    "".join(f"; {k} {r:.2f}" for k, r in tmemr[depth].items()
                            if r is not None) + ".\n")


def main():
    outdir, jsonout = sys.argv[1], sys.argv[2]
    transports = sys.argv[3].split()
    rounds = int(sys.argv[4])
    memdir = sys.argv[5] if len(sys.argv) > 5 else None
    runs, mem = load(outdir)
    tmem = load_target_mem(memdir) if memdir else {}
    workloads = []
    for r in runs:
        if r["workload"] not in workloads:
            workloads.append(r["workload"])

    summary, missing = {}, []
    for wl in workloads:
        summary[wl] = {}
        for tr in transports:
            sel = [r for r in runs if r["workload"] == wl and r["transport"] == tr]
            if len(sel) != rounds or any(r["ios"] == 0 for r in sel):
                missing.append(f"{wl}/{tr}: {len(sel)} of {rounds} rounds")
            summary[wl][tr] = {k: stats([r[k] for r in sel])
                               for k in ("iops", "mib_s", "lat_us", "cpu_us_per_io")}

    def med(wl, tr, key):
        s = summary[wl].get(tr, {}).get(key)
        return s["median"] if s else None

    def ratio(a, b):
        return a / b if a is not None and b else None

    ratios = {}
    for wl in workloads:
        ratios[wl] = {}
        for key in ("iops", "mib_s", "lat_us", "cpu_us_per_io"):
            ratios[wl][key] = {
                "ours/ib_isert": ratio(med(wl, "ours", key), med(wl, "stock", key)),
                "ours/tcm_loop": ratio(med(wl, "ours", key), med(wl, "loop", key)),
                "ours/nostats": ratio(med(wl, "ours", key), med(wl, "nostats", key)),
                "srq/ours": ratio(med(wl, "srq", key), med(wl, "ours", key))}
    memr = ratio(mem.get("ours", {}).get("kib"), mem.get("stock", {}).get("kib"))
    for tr in ("ours", "stock", "srq"):
        if tr in transports and tr not in mem:
            missing.append(f"memory per idle connection/{tr}")
    tmemr = {d: {f"{tr}/ib_isert": ratio(per.get(tr, {}).get("kib"),
                                         per.get("stock", {}).get("kib"))
                 for tr in ("ours", "srq")}
             for d, per in tmem.items()}
    if memdir:
        if not tmem:
            missing.append("target-only memory per idle connection")
        for d, per in tmem.items():
            missing += [f"target-only memory per idle connection/{tr}/depth {d}"
                        for tr in ("ours", "srq", "stock") if tr not in per]

    head = f"{'workload':<22}" + "".join(f"{NAMES.get(t, t):>24}" for t in transports) \
        + f"{'ours/isert':>11}{'ours/loop':>10}{'cpu ratio':>10}" \
        + (f"{'stats cost':>11}" if "nostats" in transports else "") \
        + (f"{'srq/ours':>9}" if "srq" in transports else "")
    print("median [min-max] per transport: latency in us for QD1, MiB/s for "
          "sequential, IOPS otherwise; "
          "ratios of medians (cpu: us per I/O, ours/ib_isert; stats cost: "
          "ours/nostats of the same figure; srq/ours: with use_srq=1 over without)")
    print(head)
    for wl in workloads:
        key = unit_key(wl)
        cells = "".join(fmt_cell(summary[wl][tr][key], key, 10).rjust(24)
                        for tr in transports)
        ri = ratios[wl][key]["ours/ib_isert"]
        rl = ratios[wl][key]["ours/tcm_loop"]
        rc = ratios[wl]["cpu_us_per_io"]["ours/ib_isert"]
        rs = ratios[wl][key]["ours/nostats"]
        rq = ratios[wl][key]["srq/ours"]
        print(f"{wl:<22}{cells}"
              f"{fmt_ratio(ri):>11}{fmt_ratio(rl):>10}{fmt_ratio(rc):>10}"
              + (f"{fmt_ratio(rs):>11}" if "nostats" in transports else "")
              + (f"{fmt_ratio(rq):>9}" if "srq" in transports else ""))
    for t, v in mem.items():
        print(f"kernel memory per idle connection, target and initiator "
              f"({NAMES.get(t, t)}): {v['kib']} KiB, of which slab "
              f"{v['slab_kib']} KiB and vmalloc (rxe queues) {v['vmalloc_kib']} KiB")
    if memr is not None:
        print(f"memory per idle connection ours/ib_isert: {memr:.2f}")
    for d, per in tmem.items():
        for t, v in per.items():
            print(f"kernel memory per idle connection, target alone, CmdSN window "
                  f"{d} ({NAMES.get(t, t)}): {v['kib']} KiB, of which slab "
                  f"{v['slab_kib']} KiB and vmalloc {v['vmalloc_kib']} KiB; "
                  f"grew most: {v['top_slabs']}")
        for k, r in tmemr[d].items():
            if r is not None:
                print(f"target memory per idle connection {k}, depth {d}: {r:.2f}")

    write_markdown(os.path.splitext(jsonout)[0] + ".md", workloads, transports,
                   summary, ratios, mem, memr, tmem, tmemr)
    with open(jsonout, "w") as f:
        json.dump({"transports": transports, "rounds": rounds,
                   "summary": summary, "ratios": ratios,
                   "mem_per_idle_conn_kib": mem,
                   "mem_ratio_ours_isert": memr,
                   "target_mem_per_idle_conn_kib": tmem,
                   "target_mem_ratio_ours_isert": tmemr, "runs": runs}, f, indent=1)
    if missing:
        print("missing figures: " + "; ".join(missing), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
