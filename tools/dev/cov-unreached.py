#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Usage: cov-unreached.py TRACEFILE

What the suites never reached, from an lcov tracefile (tools/dev/coverage.sh
writes build/coverage/unreached.txt with it): per source file, the
functions never entered, then each run of unreached lines in a function
that was entered, with that function's name and the run's first line. A
run ends where a reached line comes between. Counts are added up over the
tracefile's test names (one per suite).
"""
import collections
import sys


def main():
    lines = collections.defaultdict(lambda: collections.defaultdict(int))
    funcs = collections.defaultdict(dict)
    calls = collections.defaultdict(lambda: collections.defaultdict(int))
    cur = None
    with open(sys.argv[1]) as f:
        for rec in f:
            rec = rec.strip()
            if rec.startswith('SF:'):
                cur = rec[3:]
            elif rec.startswith('DA:'):
                no, hits = rec[3:].split(',')[:2]
                lines[cur][int(no)] += int(hits)
            elif rec.startswith('FN:'):
                no, name = rec[3:].split(',', 1)
                funcs[cur][name] = int(no)
            elif rec.startswith('FNDA:'):
                hits, name = rec[5:].split(',', 1)
                calls[cur][name] += int(hits)
    for path in sorted(lines):
        with open(path) as f:
            text = f.read().split('\n')
        starts = sorted((no, name) for name, no in funcs[path].items())

        def owner(no):
            name = '(file scope)'
            for start, fname in starts:
                if start <= no:
                    name = fname
            return name

        never = sorted(n for n in funcs[path] if not calls[path][n])
        dark = sorted(n for n, hits in lines[path].items() if not hits)
        print(f'{path}: {len(dark)} of {len(lines[path])} lines unreached')
        if never:
            print('  functions never entered: ' + ', '.join(never))
        run = []
        for no in dark + [None]:
            if run and no is not None and owner(no) == owner(run[0]) and \
               all(lines[path].get(k, 0) == 0 for k in range(run[-1], no)):
                run.append(no)
                continue
            if run and owner(run[0]) not in never:
                print(f'  {owner(run[0])}: line {run[0]}, {len(run)} '
                      f'unreached: {text[run[0] - 1].strip()[:72]}')
            run = [no]


if __name__ == '__main__':
    main()
