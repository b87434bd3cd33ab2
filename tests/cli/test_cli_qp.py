#!/usr/bin/python3
"""CLI contract of `mimecodec qp` and `mimecodec transcode`, and interop with
Python's quopri/binascii: our encodings decode exactly with Python's decoder,
Python's encodings decode exactly with ours; every encoded line is at most 76
characters; errors go to stderr as `mimecodec: qp: ... at byte offset N` with
a non-zero exit; input streams from stdin in constant memory.
Usage: test_cli_qp.py /path/to/mimecodec
Prints "N passed, N failed" and exits non-zero on any failure."""
import base64
import binascii
import os
import quopri
import random
import subprocess
import sys
import tempfile

from pipe_rss import pipe_through

EXE = sys.argv[1]
HERE = os.path.dirname(os.path.abspath(__file__))
TEXTS = os.path.join(HERE, "..", "data", "text")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)


def run(cmd, args, data=b""):
    return subprocess.run([EXE, cmd] + args, input=data, capture_output=True)


def lines_ok(enc):
    for line in enc.split(b"\n"):
        line = line[:-1] if line.endswith(b"\r") else line
        if len(line) > 76 or line.endswith(b" ") or line.endswith(b"\t"):
            return False
    return True


def no_crlf(b):
    return b.replace(b"\r\n", b"\n")


# Constant memory: 64 MiB of random bytes through pipes each way; first,
# before the test's own data (see pipe_rss.py).
if os.environ.get("MC_CLI_SKIP_BIG") != "1":
    big = 64 << 20
    rcs, total, peak_kib = pipe_through(["head", "-c", str(big), "/dev/urandom"],
                                        [EXE, "qp", "--binary"], [EXE, "qp", "-d"])
    check(rcs == (0, 0) and total == big, "big pipe %d" % total)
    check(peak_kib < 96 * 1024, "peak RSS %d KiB for a %d MiB stream" % (peak_kib, big >> 20))

rng = random.Random(20261122)
tmp = tempfile.mkdtemp(prefix="mc-cli-qp-")
texts = []
for name in sorted(os.listdir(TEXTS)):
    if name.endswith(".txt"):
        with open(os.path.join(TEXTS, name), "rb") as f:
            texts.append((name, f.read()))
check(len(texts) >= 8, "text samples found: %d" % len(texts))
texts.append(("specials", b"a=b \n\t\nFrom x\n.\n.\r\n  \r\nend \t"))
texts.append(("long", b"x" * 300 + b"\n" + b"=" * 100 + b"\n" + "é".encode() * 90))
binaries = [("all256", bytes(range(256)) * 2), ("empty", b"")]
binaries += [("rand%d" % n, rng.randbytes(n)) for n in (1, 2, 75, 76, 77, 1000, 65537)]
binaries.append(("rand-big", rng.randbytes(3 << 20)))

# Text: ours -> Python's decoder (line breaks LF, or CRLF with --crlf).
for name, data in texts:
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    for src in (["-"], [path]):
        r = run("qp", src, data if src == ["-"] else b"")
        check(r.returncode == 0 and lines_ok(r.stdout), "encode %s %s" % (name, src))
        check(quopri.decodestring(r.stdout) == no_crlf(data), "quopri decodes ours: %s" % name)
    r = run("qp", ["--crlf", "--escape-dot", "--escape-from"], data)
    check(r.returncode == 0 and lines_ok(r.stdout), "encode crlf %s" % name)
    check(b"\n" not in r.stdout.replace(b"\r\n", b""), "only CRLF breaks %s" % name)
    check(quopri.decodestring(r.stdout) == no_crlf(data).replace(b"\n", b"\r\n"),
          "quopri decodes ours crlf: %s" % name)
    check(b"\nFrom " not in b"\n" + r.stdout and b"\n.\r" not in b"\n" + r.stdout,
          "dot/From escaped %s" % name)
    # Round trip through our decoder.
    r2 = run("qp", ["-d", "--strict"], r.stdout)
    check(r2.returncode == 0 and r2.stdout == no_crlf(data).replace(b"\n", b"\r\n"),
          "our round trip %s" % name)
    # Python's encodings (text; tabs quoted or not) -> our decoder.
    for qt in (False, True):
        theirs = quopri.encodestring(data, quotetabs=qt)
        r = run("qp", ["-d"], theirs)
        # Python's text mode writes every break like the first one.
        check(r.returncode == 0 and r.stdout == quopri.decodestring(theirs) and
              no_crlf(r.stdout) == no_crlf(data), "ours decodes quopri %s qt=%s" % (name, qt))
    theirs = binascii.b2a_qp(data, istext=True)
    r = run("qp", ["-d"], theirs)
    check(r.returncode == 0 and r.stdout == binascii.a2b_qp(theirs) and
          no_crlf(r.stdout) == no_crlf(data), "ours decodes b2a_qp %s" % name)

# Binary: exact bytes both ways.
for name, data in binaries:
    r = run("qp", ["--binary"], data)
    check(r.returncode == 0 and lines_ok(r.stdout), "encode binary %s" % name)
    check(quopri.decodestring(r.stdout) == data, "quopri decodes ours binary: %s" % name)
    check(binascii.a2b_qp(r.stdout) == data, "a2b_qp decodes ours binary: %s" % name)
    r2 = run("qp", ["-d", "--strict"], r.stdout)
    check(r2.returncode == 0 and r2.stdout == data, "our binary round trip %s" % name)
    theirs = binascii.b2a_qp(data, istext=False)
    r = run("qp", ["-d", "--strict"], theirs)
    check(r.returncode == 0 and r.stdout == data, "ours decodes b2a_qp binary %s" % name)
    # transcode: base64 -> QP binary -> base64 is the identity on the data.
    b64 = base64.encodebytes(data)
    q = run("transcode", ["--to", "qp", "--binary"], b64)
    check(q.returncode == 0 and quopri.decodestring(q.stdout) == data, "b64->qp %s" % name)
    b = run("transcode", ["--to", "base64", "--binary"], q.stdout)
    check(b.returncode == 0 and b.stdout == b64, "qp->b64 %s" % name)

# transcode, text: QP hard breaks are CRLF inside the base64, and back.
for name, data in texts:
    q = run("qp", [], data).stdout
    b = run("transcode", ["--to", "base64"], q)
    want = no_crlf(data).replace(b"\n", b"\r\n")
    check(b.returncode == 0 and base64.decodebytes(b.stdout) == want, "text qp->b64 %s" % name)
    check(all(len(l) <= 76 for l in b.stdout.split(b"\n")), "b64 76 columns %s" % name)
    bc = run("transcode", ["--to=base64", "--crlf", "--text"], q)
    check(bc.stdout == b.stdout.replace(b"\n", b"\r\n"), "text qp->b64 crlf %s" % name)
    back = run("transcode", ["--to", "qp"], b.stdout)
    check(back.returncode == 0 and quopri.decodestring(back.stdout) == no_crlf(data),
          "text b64->qp %s" % name)

# Errors: exit 1, message naming the offset, data before the bad byte kept.
r = run("qp", ["-d", "--strict"], b"abc=4xdef")
check(r.returncode == 1 and r.stdout == b"abc", "strict bad escape exit/out")
check(r.stderr.decode().startswith("mimecodec: qp: stdin: invalid escape sequence") and
      r.stderr.decode().rstrip().endswith("at byte offset 3"), "bad escape message: %r" % r.stderr)
r = run("qp", ["-d", "--strict"], b"ab\rcd")
check(r.returncode == 1 and b"(byte 0x0d) at byte offset 2" in r.stderr, "lone CR: %r" % r.stderr)
r = run("qp", ["-d"], b"abc=4xdef=\n")
check(r.returncode == 0 and r.stdout == b"abc=4xdef", "lenient passes bad escapes")
r = run("qp", ["-d", "--strict"], b"A" * 200000 + b"=ZZ")
check(r.returncode == 1 and b"offset 200000" in r.stderr, "offset past a chunk: %r" % r.stderr)
r = run("transcode", ["--to", "qp", "--strict"], b"Zm9v!")
check(r.returncode == 1 and r.stderr.startswith(b"mimecodec: transcode: ") and
      b"offset 4" in r.stderr, "transcode error: %r" % r.stderr)
r = run("transcode", [])
check(r.returncode == 2 and b"--to" in r.stderr, "transcode needs --to")
r = run("transcode", ["--to", "uu"])
check(r.returncode == 2 and b"unknown encoding" in r.stderr, "transcode bad --to")
r = run("qp", ["-x"])
check(r.returncode == 2 and r.stderr.startswith(b"mimecodec: qp: unknown option"), "bad opt")
r = run("qp", [os.path.join(tmp, "does-not-exist")])
check(r.returncode == 1 and b"No such file" in r.stderr, "missing file")
r = run("qp", ["a", "b"])
check(r.returncode == 2 and b"extra operand" in r.stderr, "two files")
r = run("qp", ["--help"])
check(r.returncode == 0 and b"--binary" in r.stdout, "help")

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
