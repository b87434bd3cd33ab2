#!/usr/bin/python3
"""CLI contract of `mimecodec base64` against coreutils base64 and Python's
base64 module: same bytes out, errors on stderr as `mimecodec: base64: ...`
naming the byte offset with a non-zero exit, streaming from stdin in constant
memory. Usage: test_cli_base64.py /path/to/mimecodec
Prints "N passed, N failed" and exits non-zero on any failure."""
import base64
import os
import random
import resource
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


def run(args, data=b"", **kw):
    return subprocess.run([EXE, "base64"] + args, input=data, capture_output=True, **kw)


def coreutils(args, data):
    return subprocess.run(["base64"] + args, input=data, capture_output=True).stdout


rng = random.Random(20261122)
tmp = tempfile.mkdtemp(prefix="mc-cli-")
samples = [b"", b"f", b"fo", b"foo", b"foobar", bytes(range(256))]
samples += [rng.randbytes(n) for n in (1, 2, 3, 57, 58, 75, 76, 77, 1000, 65537)]
samples.append(rng.randbytes(3 << 20))

for i, data in enumerate(samples):
    path = os.path.join(tmp, "in%d" % i)
    with open(path, "wb") as f:
        f.write(data)
    for wrap in ([], ["-w", "0"], ["-w", "10"], ["-w", "1"], ["--wrap=76"], ["-w77"]):
        ref = coreutils(wrap, data)
        for src in (["-"], [path]):  # stdin (streamed) and a file (mmap)
            r = run(wrap + src, data if src == ["-"] else b"")
            check(r.returncode == 0 and r.stdout == ref, "encode %d %s %s" % (i, wrap, src))
    enc = base64.encodebytes(data)  # Python: 76 columns, LF
    check(run([], data).stdout == enc, "python encodebytes %d" % i)
    crlf = run(["--crlf"], data).stdout
    check(crlf == enc.replace(b"\n", b"\r\n"), "crlf %d" % i)
    url = run(["--url", "-w", "0", "--no-pad"], data).stdout
    check(url == base64.urlsafe_b64encode(data).rstrip(b"="), "url nopad %d" % i)
    for mode in ([], ["--strict"], ["-i"]):
        r = run(["-d"] + mode, enc)
        check(r.returncode == 0 and r.stdout == data, "decode %d %s" % (i, mode))
        r = run(["-d"] + mode, crlf)
        check(r.returncode == 0 and r.stdout == data, "decode crlf %d %s" % (i, mode))
    r = run(["-d", "--url", "--strict", "--no-pad"], url)
    check(r.returncode == 0 and r.stdout == data, "decode url %d" % i)
    if data:
        r = subprocess.run(["base64", "-d"], input=run([], data).stdout, capture_output=True)
        check(r.stdout == data, "coreutils decodes ours %d" % i)

# Errors: exit 1, message naming the offset, data before the bad byte kept.
r = run(["-d"], b"Zm9vYmFy!Zm9v")
check(r.returncode == 1, "bad char exit")
check(r.stdout == b"foobar", "data before bad byte kept")
check(r.stderr.decode().startswith("mimecodec: base64: stdin: invalid character") and
      "at byte offset 8" in r.stderr.decode(), "bad char message: %r" % r.stderr)
r = run(["-d", "--strict"], b"Zm9vYg")
check(r.returncode == 1 and b"padding" in r.stderr and b"offset 6" in r.stderr,
      "missing pad: %r" % r.stderr)
r = run(["-d", "--strict"], b"Zm9vYh==")
check(r.returncode == 1 and b"trailing bits" in r.stderr and b"offset 5" in r.stderr,
      "trailing bits: %r" % r.stderr)
r = run(["-d"], b"Zm9vYh==")
check(r.returncode == 0 and r.stdout == b"foob", "lenient trailing bits")
r = run(["-d", "-i"], b"Zm9v!!Ym\x00Fy")
check(r.returncode == 0 and r.stdout == b"foobar", "ignore garbage")
r = run(["-d"], b"QUJD" * 100000 + b"*")
check(r.returncode == 1 and b"offset 400000" in r.stderr, "offset past a chunk: %r" % r.stderr)
r = run(["-x"])
check(r.returncode == 2 and r.stderr.startswith(b"mimecodec: base64: unknown option"), "bad opt")
r = run(["-w", "abc"])
check(r.returncode == 2 and b"invalid number of columns" in r.stderr, "bad wrap")
r = run([os.path.join(tmp, "does-not-exist")])
check(r.returncode == 1 and b"No such file" in r.stderr, "missing file")
r = run(["a", "b"])
check(r.returncode == 2 and b"extra operand" in r.stderr, "two files")
r = run([tmp])
check(r.returncode == 1 and b"is a directory" in r.stderr, "directory")
r = subprocess.run([EXE, "nope"], capture_output=True)
check(r.returncode == 2 and b"unknown command" in r.stderr, "unknown command")

# Constant memory: 192 MiB streamed through a pipe each way; the peak RSS of
# the child must not grow with the input (ASan builds carry ~tens of MiB).
if os.environ.get("MC_CLI_SKIP_BIG") != "1":
    big = 192 << 20
    gen = subprocess.Popen(["head", "-c", str(big), "/dev/zero"], stdout=subprocess.PIPE)
    enc = subprocess.Popen([EXE, "base64"], stdin=gen.stdout, stdout=subprocess.PIPE)
    dec = subprocess.Popen([EXE, "base64", "-d"], stdin=enc.stdout, stdout=subprocess.PIPE)
    total = 0
    while True:
        b = dec.stdout.read(1 << 20)
        if not b:
            break
        check(b.count(0) == len(b), "zeros back") if total == 0 else None
        total += len(b)
    for p in (gen, enc, dec):
        p.wait()
    check(enc.returncode == 0 and dec.returncode == 0 and total == big, "big pipe %d" % total)
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    check(peak_kib < 96 * 1024, "peak RSS %d KiB for a %d MiB stream" % (peak_kib, big >> 20))

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
