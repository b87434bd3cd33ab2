#!/usr/bin/python3
"""coverage.py BUILD_DIR [DIR=MIN%]...: line coverage per source directory from
the gcov data of a --coverage build after its tests ran. Prints a table per
file and per directory; exits 1 if a directory is under its minimum.
Example: scripts/coverage.py build/coverage codec=90 mime=85"""
import glob
import os
import re
import subprocess
import sys

build = os.path.abspath(sys.argv[1])
mins = dict(a.split("=") for a in sys.argv[2:])
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
totals = {}
rows = []
for d in mins:
    for src in sorted(glob.glob(os.path.join(root, d, "*.c"))):
        if os.path.basename(src).startswith("gen_"):
            continue  # build tools, not library code
        objs = glob.glob(os.path.join(build, "CMakeFiles", "*", d,
                                      os.path.basename(src) + ".gcda"))
        if not objs:
            notes = glob.glob(os.path.join(build, "CMakeFiles", "*", d,
                                           os.path.basename(src) + ".gcno"))
            if notes:  # built but never run: a failure
                rows.append((d, os.path.basename(src), 0, None))
            continue  # not built for this machine (another ISA)
        out = subprocess.run(["gcov", "-n", objs[0]], capture_output=True, text=True,
                             cwd=build).stdout
        m = re.search(r"File '[^']*%s'\nLines executed:([0-9.]+)%% of ([0-9]+)"
                      % re.escape(os.path.basename(src)), out)
        if not m:
            continue
        pct, n = float(m.group(1)), int(m.group(2))
        hit = round(pct * n / 100)
        rows.append((d, os.path.basename(src), hit, n))
        t = totals.setdefault(d, [0, 0])
        t[0] += hit
        t[1] += n
fail = False
for d, f, hit, n in rows:
    print("  %-8s %-28s %s" % (d, f, "not run" if n is None else
                                 "%5.1f%% of %d lines" % (100.0 * hit / max(n, 1), n)))
for d, want in mins.items():
    hit, n = totals.get(d, [0, 0])
    pct = 100.0 * hit / max(n, 1)
    ok = pct >= float(want) and not any(r[0] == d and r[3] is None for r in rows)
    fail |= not ok
    print("coverage %s/: %.1f%% of %d lines (minimum %s%%) %s" % (d, pct, n, want,
                                                                  "ok" if ok else "BELOW"))
sys.exit(1 if fail else 0)
