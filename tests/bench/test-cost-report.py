#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TAP tests of cost-report.py: per-I/O figures, ratios, the spread
between rounds, the merge into an existing benchmark JSON, and a missing
round reported as a failure."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPORT = os.path.join(HERE, "..", "..", "tools", "dev", "cost-report.py")
EVENTS = ("post_send", "post_recv", "post_srq_recv", "recv_wr", "send_wqe", "cqe",
          "poll_cq", "req_notify", "comp_event_wq", "comp_event_softirq")

results = []


def check(name, ok, diag=""):
    results.append((bool(ok), name, diag))


def line(rnd, tr, wl, ios, **counts):
    rec = {"transport": tr, "workload": wl, "cost": 1, "round": rnd, "ios": ios}
    rec.update({e: counts.get(e, 0) for e in EVENTS})
    return json.dumps(rec) + "\n"


def run(lines, existing=None, rounds=2):
    d = tempfile.mkdtemp()
    out = os.path.join(d, "out")
    os.mkdir(out)
    with open(os.path.join(out, "bench.jsonl"), "w") as f:
        f.writelines(lines)
    js = os.path.join(d, "bench.json")
    if existing is not None:
        with open(js, "w") as f:
            json.dump(existing, f)
    p = subprocess.run([sys.executable, REPORT, out, js, "ours stock", str(rounds)],
                       capture_output=True, text=True, check=False)
    data = json.load(open(js)) if os.path.exists(js) else None
    md = open(os.path.join(d, "cost.md")).read() if os.path.exists(
        os.path.join(d, "cost.md")) else ""
    return p, data, md


WL = "rand-read-4k-qd1"
good = [
    # ours: 2 doorbells (1 send + 1 recv), 3 CQEs per I/O in both rounds.
    line(1, "ours", WL, 1000, post_send=1000, post_recv=1000, cqe=3000, send_wqe=2000,
         recv_wr=1000, poll_cq=1500, req_notify=500, comp_event_wq=400,
         comp_event_softirq=100),
    line(2, "ours", WL, 1000, post_send=1000, post_recv=1000, cqe=3000, send_wqe=2000,
         recv_wr=1000, poll_cq=1500, req_notify=500, comp_event_wq=500),
    # ib_isert: 4 doorbells per I/O; 4 CQEs, one round 1 % higher.
    line(1, "stock", WL, 1000, post_send=2000, post_recv=2000, cqe=4000, send_wqe=2000,
         recv_wr=1000, poll_cq=2000, req_notify=1000, comp_event_wq=1000),
    line(2, "stock", WL, 1000, post_send=2000, post_recv=2000, cqe=4040, send_wqe=2000,
         recv_wr=1000, poll_cq=2000, req_notify=1000, comp_event_wq=1000),
]
p, data, md = run(good, existing={"ratios": {WL: {"iops": {"ours/ib_isert": 1.1}}},
                                  "summary": {"kept": 1}})
check("exit status 0 when every figure is there", p.returncode == 0, p.stderr)
per = data["cost"]["per_io"][WL]
check("doorbells per I/O sum the send and receive posts", per["ours"]["doorbells"] == 2.0
      and per["stock"]["doorbells"] == 4.0, per)
check("completion events sum both poll contexts", per["ours"]["events"] == 0.5, per)
check("the median of two rounds is their mean", abs(per["stock"]["completions"] - 4.02) < 1e-9,
      per["stock"])
r = data["ratios"][WL]
check("ratio ours/ib_isert under ratios[workload][metric_per_io]",
      r["doorbells_per_io"]["ours/ib_isert"] == 0.5, r)
check("wall-clock ratios and other keys kept", r["iops"]["ours/ib_isert"] == 1.1
      and data["summary"] == {"kept": 1}, data.keys())
sp = data["cost"]["spread_between_rounds"][WL]
check("spread between rounds: 40/4020 for ib_isert's completions",
      abs(sp["stock"]["completions"] - 40 / 4020) < 1e-9, sp["stock"])
check("largest spread found", abs(data["cost"]["max_spread"] - 40 / 4020) < 1e-9,
      data["cost"]["max_spread"])
check("Markdown row with figures and ratio", f"| {WL} | 2.00 / 4.00 (0.50) |" in md, md)
p, data, _ = run(good[:3])
check("a missing round fails", p.returncode == 1 and "stock: 1 of 2" in p.stderr, p.stderr)
check("and the JSON is still written", data is not None and "cost" in data)

# Instruction counts: a kallsyms dump and one insn-count report per run.
SYMS = """ffffffff81000000 T foo
ffffffffc0100000 t iser_rx_done	[iser_target]
ffffffffc0100100 t iser_tx_done	[iser_target]
ffffffffc0200000 t isert_recv_done	[ib_isert]
ffffffffc0300000 T ib_process_cq_direct	[ib_core]
ffffffffc0400000 t rxe_post_send	[rdma_rxe]
"""


def insn_run(reports, lost=0):
    d = tempfile.mkdtemp()
    out = os.path.join(d, "out")
    os.makedirs(os.path.join(out, "target"))
    lines = []
    for i, (tr, body) in enumerate(reports):
        with open(os.path.join(out, "target", f"kallsyms.{tr}"), "w") as f:
            f.write(SYMS)
        with open(os.path.join(out, "target", f"insn.{i}"), "w") as f:
            f.write(body + f"user 20\nlost {lost}\nslots 9\n")
        rec = json.loads(line(1, tr, WL, 10))
        rec.update(insn=f"target/insn.{i}", kallsyms=f"target/kallsyms.{tr}")
        lines.append(json.dumps(rec) + "\n")
    with open(os.path.join(out, "bench.jsonl"), "w") as f:
        f.writelines(lines)
    js = os.path.join(d, "bench.json")
    p = subprocess.run([sys.executable, REPORT, out, js, "ours stock", "1"],
                       capture_output=True, text=True, check=False)
    return p, (json.load(open(js)) if os.path.exists(js) else None)


OURS = ("ffffffff81000010 100\nffffffffc0100004 40\nffffffffc0100104 10\n"
        "ffffffffc0300000 20\nffffffffc0400008 10\ntotal 200\n")
STOCK = ("ffffffff81000010 100\nffffffffc0200000 100\nffffffffc0300000 20\n"
         "total 240\n")
p, data = insn_run([("ours", OURS), ("stock", STOCK)])
check("instruction counts accepted", p.returncode == 0, p.stderr)
per = data["cost"]["per_io"][WL] if data else {"ours": {}, "stock": {}}
check("guest instructions per I/O are the report's total over the I/Os",
      per["ours"].get("guest_insn") == 20.0 and per["stock"].get("guest_insn") == 24.0, per)
check("module instructions: the transport's own symbols only",
      per["ours"].get("module_insn") == 5.0 and per["stock"].get("module_insn") == 10.0, per)
check("stack instructions add ib_core and rdma_rxe",
      per["ours"].get("stack_insn") == 8.0 and per["stock"].get("stack_insn") == 12.0, per)
check("ratio module_insn_per_io ours/ib_isert",
      data and data["ratios"][WL]["module_insn_per_io"]["ours/ib_isert"] == 0.5,
      data and data["ratios"][WL])
prof = data["cost"]["profile"][WL]["ours"] if data else {}
check("profile: the module's functions, busiest first",
      list(prof.get("functions", {}).items()) ==
      [("iser_rx_done [iser_target]", 4.0), ("iser_tx_done [iser_target]", 1.0)], prof)
p, _ = insn_run([("ours", OURS), ("stock", STOCK)], lost=3)
check("a report with lost counts is refused", p.returncode != 0 and "3 lost" in p.stderr,
      p.stderr[-300:])

print("TAP version 13")
print(f"1..{len(results)}")
for i, (ok, name, diag) in enumerate(results, 1):
    print(f"{'ok' if ok else 'not ok'} {i} cost-report: {name}")
    if not ok:
        print(f"# {diag}")
sys.exit(0 if all(ok for ok, _, _ in results) else 1)
