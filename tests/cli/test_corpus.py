#!/usr/bin/python3
"""Conformance of `mimecodec parse --json` with Python's email package on the
corpus (tests/data/corpus/, expectations in tests/data/expected/ made by
tests/make_expected.py). For every message: the parse succeeds (no crash, no
sanitizer report: stderr must be empty), every span lies inside the input,
and the leaf parts (path, content type, decoded length and SHA-256) equal
Python's, unless the message is listed in tests/data/KNOWN_DIFFERENCES.md
with the reason. A listed message that no longer differs fails too, so the
list stays exact. mbox files are parsed with --mbox (crash test only).

Usage: test_corpus.py /path/to/mimecodec [--report]
  --report: print every difference (for writing KNOWN_DIFFERENCES.md).
Prints "N passed, N failed"."""
import json
import os
import re
import subprocess
import sys

EXE = sys.argv[1]
REPORT = "--report" in sys.argv
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
CORPUS = os.path.join(DATA, "corpus")
EXPECTED = os.path.join(DATA, "expected")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)
    return cond


def known_differences():
    """`- `source/path`: reason` lines of KNOWN_DIFFERENCES.md."""
    known = {}
    with open(os.path.join(DATA, "KNOWN_DIFFERENCES.md"), encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^- `([^`]+)`: (.+)$", line.rstrip("\n"))
            if m:
                known[m.group(1)] = m.group(2)
    return known


def leaves(parts):
    """Entities not followed by one of their descendants (see mime.h paths)."""
    out = []
    for i, p in enumerate(parts):
        nxt = parts[i + 1]["path"] if i + 1 < len(parts) else None
        path = p["path"]
        if nxt is not None and (path == "" or nxt == path or nxt.startswith(path + ".")):
            continue
        out.append(p)
    return out


def run(args):
    return subprocess.run([EXE] + args, capture_output=True)


def main():
    known = known_differences()
    differing = {}
    for dirpath, _, files in os.walk(CORPUS):
        for f in sorted(files):
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, CORPUS)
            size = os.path.getsize(full)
            if rel.startswith("mimekit/mbox/"):
                r = run(["parse", "--json", "--mbox", full])
                check(r.returncode == 0 and not r.stderr, "mbox %s: %s" % (rel, r.stderr[-300:]))
                continue
            r = run(["parse", "--json", full])
            if not check(r.returncode == 0 and not r.stderr,
                         "parse %s: rc %d %s" % (rel, r.returncode, r.stderr[-2000:])):
                continue
            obj = json.loads(r.stdout)
            ok = all(0 <= p["body_offset"] <= size and p["body_offset"] + p["body_length"] <= size
                     for p in obj["parts"])
            check(ok and obj["parts"] and obj["parts"][0]["path"] == "", "spans of %s" % rel)
            with open(os.path.join(EXPECTED, rel + ".json")) as fh:
                exp = json.load(fh)["leaves"]
            ours = [{k: p[k] for k in ("path", "content_type", "decoded_length",
                                       "decoded_sha256")} for p in leaves(obj["parts"])]
            if ours != exp:
                differing[rel] = (ours, exp)
    for rel, (ours, exp) in sorted(differing.items()):
        if rel in known:
            passed_known = True
        else:
            passed_known = False
        check(passed_known, "%s differs from Python and is not in KNOWN_DIFFERENCES.md" % rel)
        if REPORT or not passed_known:
            ep = {p["path"]: p for p in exp}
            op = {p["path"]: p for p in ours}
            for path in sorted(set(ep) | set(op)):
                a, b = op.get(path), ep.get(path)
                if a != b:
                    print("  %s [%s] ours=%s python=%s" % (
                        rel, path,
                        a and (a["content_type"], a["decoded_length"], a["decoded_sha256"][:8]),
                        b and (b["content_type"], b["decoded_length"], b["decoded_sha256"][:8])),
                        file=sys.stderr)
    for rel in sorted(known):
        check(rel in differing, "%s is in KNOWN_DIFFERENCES.md but agrees now" % rel)
    total = sum(1 for d, _, fs in os.walk(CORPUS) for f in fs
                if not os.path.relpath(os.path.join(d, f), CORPUS).startswith("mimekit/mbox/"))
    print("corpus: %d messages, %d agree with Python, %d known differences" % (
        total, total - len(differing), len(differing)))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
