#!/usr/bin/python3
"""CLI contract of `mimecodec parse` and `mimecodec extract`: the exact JSON
fields of DESIGN.md, stdin and file input, error messages, and extract's file
name sanitising (no directories, no "..", no leading dot, no control bytes,
unique names, part-<path>.<ext> for unnamed parts).
Usage: test_cli_parse.py /path/to/mimecodec. Prints "N passed, N failed"."""
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile

EXE = sys.argv[1]
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)


def run(args, data=b""):
    return subprocess.run([EXE] + args, input=data, capture_output=True)


ATT = bytes(range(256)) * 3
MSG = (b"From: A <a@example.org>\r\nTo: b@example.org\r\n"
       b"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
       b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
       b"preamble\r\n--XX\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nhello\r\n"
       b"--XX\r\nContent-Type: application/octet-stream\r\n"
       b"Content-Transfer-Encoding: base64\r\n"
       b"Content-Disposition: attachment; filename=\"../../etc/passwd\"\r\n\r\n"
       + base64.encodebytes(ATT).replace(b"\n", b"\r\n") +
       b"--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\".hidden\x01\"\r\n\r\nh1\r\n"
       b"--XX\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\".hidden\x01\"\r\n\r\nh2\r\n"
       b"--XX\r\nContent-Type: image/png\r\nContent-Disposition: attachment;\r\n"
       b" filename*=utf-8''%E2%82%AC.png\r\n\r\npng\r\n"
       b"--XX\r\nContent-Type: text/html\r\n\r\n<p>x</p>\r\n--XX--\r\n")

tmp = tempfile.mkdtemp(prefix="mc-parse-")
path = os.path.join(tmp, "m.eml")
with open(path, "wb") as f:
    f.write(MSG)

# ---- parse --json: exact fields, from a file and from stdin
for src, data in (([path], b""), (["-"], MSG)):
    r = run(["parse", "--json"] + src, data)
    check(r.returncode == 0 and r.stderr == b"", "parse --json %s" % src)
    obj = json.loads(r.stdout)
    check(sorted(obj) == ["headers", "parts"], "top-level keys")
    for h in obj["headers"]:
        check(sorted(h) == ["decoded", "name", "value"], "header keys %s" % h)
    subj = [h for h in obj["headers"] if h["name"] == "Subject"][0]
    check(subj["value"] == "=?utf-8?q?caf=C3=A9?=" and subj["decoded"] == "caf\u00e9", "subject %s" % subj)
    keys = ["body_length", "body_offset", "charset", "content_type", "decoded_length",
            "decoded_sha256", "disposition", "encoding", "filename", "path"]
    for p in obj["parts"]:
        check(sorted(p) == keys, "part keys %s" % sorted(p))
    parts = {p["path"]: p for p in obj["parts"]}
    check([p["path"] for p in obj["parts"]] == ["", "1", "2", "3", "4", "5", "6"], "paths")
    check(parts[""]["content_type"] == "multipart/mixed", "root type")
    check(parts["1"]["charset"] == "utf-8" and parts["1"]["encoding"] == "7bit", "part 1")
    p1 = parts["1"]
    check(MSG[p1["body_offset"]:p1["body_offset"] + p1["body_length"]] == b"hello", "body span")
    check(parts["2"]["decoded_sha256"] == hashlib.sha256(ATT).hexdigest() and
          parts["2"]["decoded_length"] == len(ATT), "base64 attachment decoded")
    check(parts["2"]["disposition"] == "attachment" and
          parts["2"]["filename"] == "../../etc/passwd", "raw filename in JSON")
    check(parts["5"]["filename"] == "\u20ac.png", "RFC 2231 filename %r" % parts["5"]["filename"])
    check(parts["6"]["filename"] is None and parts["6"]["charset"] is None, "nulls")

# ---- human-readable tree
r = run(["parse", path])
check(r.returncode == 0 and b"multipart/mixed" in r.stdout and b"application/octet-stream" in r.stdout,
      "tree output")

# ---- extract: sanitised, unique names
out = os.path.join(tmp, "out")
r = run(["extract", "-o", out, path])
check(r.returncode == 0, "extract rc %s" % r.stderr)
names = sorted(os.listdir(out))
check(names == sorted(["part-1.txt", "passwd", "hidden", "hidden-1", "\u20ac.png", "part-6.html"]),
      "extracted names %s" % names)
with open(os.path.join(out, "passwd"), "rb") as f:
    check(f.read() == ATT, "extracted attachment bytes")
with open(os.path.join(out, "hidden-1"), "rb") as f:
    check(f.read() == b"h2", "second duplicate")
check(not os.path.exists(os.path.join(tmp, "etc")), "no traversal")
# extracting again never overwrites: every name gets a suffix
r = run(["extract", "-o", out, path])
check(r.returncode == 0 and len(os.listdir(out)) == 12, "second extract adds files")

# ---- errors
r = run(["parse", os.path.join(tmp, "missing.eml")])
check(r.returncode != 0 and r.stderr.startswith(b"mimecodec: parse: "), "missing file")
r = run(["parse", "--bogus", path])
check(r.returncode != 0 and r.stderr.startswith(b"mimecodec: parse: "), "bad option")
r = run(["extract", "-o", path, path])
check(r.returncode != 0 and r.stderr.startswith(b"mimecodec: extract: "), "output not a directory")
r = run(["parse", "--json", "-"], b"")
check(r.returncode == 0 and json.loads(r.stdout)["parts"][0]["path"] == "", "empty input")

# ---- mbox
mbox = b"From a@b Mon Jan 1 00:00:00 2024\nSubject: one\n\nbody1\n\nFrom c@d Mon Jan 1 00:00:00 2024\nSubject: two\n\nbody2\n"
r = run(["parse", "--json", "--mbox", "-"], mbox)
check(r.returncode == 0 and r.stdout.count(b'"headers"') == 2, "mbox: two messages")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
