#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TAP tests of leak-check.py: which kmemleak reports it excuses."""
import importlib.util
import os

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location(
    'leak_check', os.path.join(HERE, 'leak-check.py'))
lc = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lc)

# Shape of a report from the soak on the debug kernel: iscsid's endpoint,
# allocated through two modules that were unloaded before the scan.
REPORT = '''unreferenced object 0xffff888014762000 (size 2048):
  comm "iscsid", pid 201, jiffies 4295066825
  hex dump (first 32 bytes):
    00 cc 69 19 80 88 ff ff 08 70 67 11 80 88 ff ff  ..i......pg.....
  backtrace:
    [<ffffffff969e3aad>] __kmalloc+0x4d/0x160
    [<ffffffffc07cb442>] 0xffffffffc07cb442
    [<ffffffffc0846b7f>] 0xffffffffc0846b7f
    [<ffffffffc07cf744>] 0xffffffffc07cf744
    [<ffffffff97b24659>] netlink_unicast+0x5c9/0x9c0
'''
MODS = '''scsi_transport_iscsi 90112 0xffffffffc07c0000
ib_iser 61440 0xffffffffc0840000
iser_target 131072 0xffffffffc0900000
'''
KNOWN = lc.parse_known('# c\nscsi_transport_iscsi libiscsi ib_iser\tinitiator\n')

results = []


def check(name, text, mods, want_ok):
    got = lc.verdicts(lc.parse_reports(text), lc.parse_modules(mods), KNOWN)
    ok = len(got) == 1 and got[0][0] == want_ok
    results.append((ok, name, got))


check('initiator modules only: excused', REPORT, MODS, True)
check('no module addresses recorded: not excused', REPORT, '', False)
check('a frame in no recorded module: not excused',
      REPORT.replace('c0846b7f', 'c0a46b7f'), MODS, False)
check('a frame in iser_target: not excused',
      REPORT.replace('c0846b7f', 'c0906b7f'), MODS, False)
check('a resolved frame in [iser_target]: not excused',
      REPORT.replace('netlink_unicast+0x5c9/0x9c0',
                     'iser_rx_done+0x10/0x80 [iser_target]'), MODS, False)
check('core kernel frames only: not excused',
      '\n'.join(line for line in REPORT.splitlines()
                if '0xffffffffc' not in line) + '\n', MODS, False)
check('module listed with address 0 (kptr_restrict): not excused', REPORT,
      MODS.replace('0xffffffffc07c0000', '0x0000000000000000'), False)

two = lc.parse_reports(REPORT + REPORT.replace('c0846b7f', 'c0906b7f'))
results.append((len(two) == 2, 'two reports are parsed apart', two))

for i, (ok, name, got) in enumerate(results, 1):
    print(f'{"ok" if ok else "not ok"} {i} leak-check: {name}')
    if not ok:
        print(f'# got {got!r}')
print(f'1..{len(results)}')
