#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TAP tests of cost-lines.py on a small object file built here: counts
mapped from guest addresses back to the file's functions and lines,
other modules and user space left out, a missing run refused."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "tools", "dev", "cost-lines.py")
BASE = 0xffffffffc0a00000
SRC = """int third(int x)
{
	return x * 3;
}

int twice(int x)
{
	return x + x;
}
"""

results = []


def check(name, ok, diag=""):
    results.append((bool(ok), name, diag))


def syms(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    return {p[2]: int(p[0], 16) for p in (line.split() for line in out.splitlines())
            if len(p) == 3 and p[1] in "tT"}


def run(d, *args):
    return subprocess.run([sys.executable, TOOL, os.path.join(d, "out"), *args],
                          capture_output=True, text=True, check=False)


def main():
    if not shutil.which("gcc") or not shutil.which("addr2line"):
        print("1..0 # SKIP gcc or addr2line is not installed")
        return 0
    d = tempfile.mkdtemp()
    src = os.path.join(d, "fake.c")
    obj = os.path.join(d, "fake.o")
    with open(src, "w", encoding="utf-8") as f:
        f.write(SRC)
    subprocess.run(["gcc", "-g", "-O1", "-c", "-o", obj, src], check=True)
    s = syms(obj)
    out = os.path.join(d, "out")
    os.makedirs(os.path.join(out, "target"))
    # The module loaded at BASE; another module's function right after it.
    with open(os.path.join(out, "target", "kallsyms.ours"), "w", encoding="utf-8") as f:
        for name, addr in sorted(s.items(), key=lambda kv: kv[1]):
            f.write(f"{BASE + addr:016x} t {name}\t[fakemod]\n")
        f.write(f"{BASE + 0x10000:016x} t elsewhere\t[othermod]\n")
    # 100 I/Os: third's first instruction ran 300 times, twice's 100,
    # another module's 5000, user space 9999.
    with open(os.path.join(out, "target", "insn.ours-1-w"), "w", encoding="utf-8") as f:
        f.write("user 9999\ntotal 99999\n")
        f.write(f"{BASE + s['third']:016x} 300\n")
        f.write(f"{BASE + s['twice']:016x} 100\n")
        f.write(f"{BASE + 0x10000:016x} 5000\n")
        f.write("lost 0\n")
    with open(os.path.join(out, "bench.jsonl"), "w", encoding="utf-8") as f:
        f.write(json.dumps({"transport": "ours", "workload": "w", "cost": 1, "round": 1,
                            "ios": 100, "insn": "target/insn.ours-1-w",
                            "kallsyms": "target/kallsyms.ours"}) + "\n")

    p = run(d, "ours", "w", obj, "fakemod", "--by", "function")
    lines = p.stdout.splitlines()
    check("by function: exit 0", p.returncode == 0, p.stderr)
    check("by function: 4.0 instructions per I/O of the module alone",
          lines and lines[0] == "fakemod, ours, w: 4.0 instructions per I/O (100 I/Os)",
          p.stdout)
    check("by function: third 3.0 first, twice 1.0 next",
          [ln.split() for ln in lines[1:]] == [["3.0", "third"], ["1.0", "twice"]], p.stdout)

    p = run(d, "ours", "w", obj, "fakemod")
    rows = [ln.split() for ln in p.stdout.splitlines()[1:]]
    # The first instruction is on the function's opening line or its body's.
    check("by line: each count on a line of its function",
          p.returncode == 0 and len(rows) == 2 and
          rows[0][:2] == ["3.0", "third"] and rows[0][2] in ("fake.c:2", "fake.c:3") and
          rows[1][:2] == ["1.0", "twice"] and rows[1][2] in ("fake.c:7", "fake.c:8"),
          p.stdout + p.stderr)

    p = run(d, "ours", "nope", obj, "fakemod")
    check("a workload that did not run: exit 1 with its name",
          p.returncode == 1 and "no counted run of ours nope" in p.stderr, p.stderr)
    p = run(d, "ours", "w", obj, "absent")
    check("a module that was not loaded: exit 1",
          p.returncode == 1 and "absent is not in" in p.stderr, p.stderr)
    p = run(d, "ours", "w", os.path.join(d, "missing.ko"), "fakemod")
    check("a module file that is not there: exit 1 naming it, no traceback",
          p.returncode == 1 and "missing.ko" in p.stderr and "Traceback" not in p.stderr,
          p.stderr)
    shutil.rmtree(d)

    print(f"1..{len(results)}")
    failed = 0
    for i, (ok, name, diag) in enumerate(results, 1):
        print(f"{'ok' if ok else 'not ok'} {i} cost-lines: {name}")
        if not ok:
            failed += 1
            for ln in diag.splitlines():
                print(f"# {ln}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
