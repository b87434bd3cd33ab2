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
import signal
import subprocess
import sys
import tempfile

from pipe_rss import pipe_through

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


# Constant memory: 192 MiB streamed through a pipe each way; the peak RSS of
# the children must not grow with the input (ASan builds carry ~tens of MiB).
# First, before the test's own data: see pipe_rss.py.
if os.environ.get("MC_CLI_SKIP_BIG") != "1":
    big = 192 << 20
    rcs, total, peak_kib = pipe_through(
        ["head", "-c", str(big), "/dev/zero"], [EXE, "base64"], [EXE, "base64", "-d"],
        lambda b, at: check(b.count(0) == len(b), "zeros back") if at == 0 else None)
    check(rcs == (0, 0) and total == big, "big pipe %d" % total)
    check(peak_kib < 96 * 1024, "peak RSS %d KiB for a %d MiB stream" % (peak_kib, big >> 20))

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

# A large regular file is encoded by several threads, each taking chunks of
# whole lines and writing them in file order (cmd_base64.c); the output must be
# the sequential one for every worker count (MIMECODEC_THREADS; 1 is the
# sequential loop), line width, line break and a tail after the last chunk.
par = rng.randbytes((7 << 20) + 12345)
par_path = os.path.join(tmp, "par")
with open(par_path, "wb") as f:
    f.write(par)
for wrap in ([], ["-w", "0"], ["-w", "7"], ["-w", "1"], ["-w", "100"]):
    ref = coreutils(wrap, par)
    refs = {(): ref, ("--crlf",): ref.replace(b"\n", b"\r\n")}
    if wrap == ["-w", "0"]:
        refs[("--url", "--no-pad")] = base64.urlsafe_b64encode(par).rstrip(b"=")
    for extra, want in refs.items():
        for threads in ("1", "2", "3", "8"):
            env = dict(os.environ, MIMECODEC_THREADS=threads)
            r = run(wrap + list(extra) + [par_path], env=env)
            check(r.returncode == 0 and r.stdout == want,
                  "parallel encode %s %s threads=%s" % (wrap, extra, threads))
# Whole chunks only (no tail) and a file opened at an offset (stdin < file
# after a read: the parallel path must start where the file offset is).
whole = par[:192 * 1024 * 24]
with open(par_path, "wb") as f:
    f.write(whole)
r = run(["-w", "0", par_path], env=dict(os.environ, MIMECODEC_THREADS="2"))
check(r.stdout == base64.b64encode(whole), "parallel encode, no tail")
with open(par_path, "rb", buffering=0) as f:
    os.lseek(f.fileno(), 1000, os.SEEK_SET)
    r = subprocess.run([EXE, "base64", "-w", "0"], stdin=f, capture_output=True,
                       env=dict(os.environ, MIMECODEC_THREADS="2"))
check(r.stdout == base64.b64encode(whole[1000:]), "encode from an opened file's offset")
# A write error stops every worker: one message, exit 1.
with open("/dev/full", "wb") as full:
    r = subprocess.run([EXE, "base64", par_path], stdout=full, stderr=subprocess.PIPE,
                       env=dict(os.environ, MIMECODEC_THREADS="3"))
check(r.returncode == 1 and r.stderr.count(b"\n") == 1 and
      b"mimecodec: base64: write error: No space left on device" in r.stderr,
      "write error in parallel: %r" % r.stderr)

# Into a regular file the output's disk space is reserved first, past the end
# of the file and without changing its size (cli_out_reserve); the file must
# hold exactly the output, whether new, appended to, or written from an offset
# inside it, and a failed run must give back what it reserved.
whole_b64 = coreutils([], whole)
out_path = os.path.join(tmp, "out")


def encode_into(path, mode, limit=None):
    def limited():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    with open(path, mode) as f:
        return subprocess.run([EXE, "base64", par_path], stdout=f, stderr=subprocess.PIPE,
                              preexec_fn=limited if limit else None,
                              env=dict(os.environ, MIMECODEC_THREADS="2"))


def disk_bytes(path):
    return os.stat(path).st_blocks * 512


r = encode_into(out_path, "wb")
with open(out_path, "rb") as f:
    got = f.read()
check(r.returncode == 0 and got == whole_b64, "encode into a new file")
check(disk_bytes(out_path) < len(whole_b64) + (256 << 10),
      "no space left reserved after the output: %d for %d" % (disk_bytes(out_path), len(whole_b64)))
with open(out_path, "wb") as f:
    f.write(b"first line\n")
r = encode_into(out_path, "ab")
with open(out_path, "rb") as f:
    check(r.returncode == 0 and f.read() == b"first line\n" + whole_b64, "encode appended to a file")
# The writer's writes end on 256 KiB boundaries of the file, whatever the slot
# lengths (cli/b64_par.c): traced with strace, every writev ends at a multiple
# of 256 KiB of the file offset, also when appending at 11, but in the stretch
# after the last boundary (the last slot, the sequential tail, the final group).
def write_ends(start, mode):
    trace = os.path.join(tmp, "trace")
    with open(out_path, mode) as f:
        r = subprocess.run(["strace", "-f", "-qq", "-e", "trace=writev", "-o", trace,
                            EXE, "base64", par_path], stdout=f,
                           # LeakSanitizer refuses to run under ptrace
                           env=dict(os.environ, MIMECODEC_THREADS="2", ASAN_OPTIONS=(
                               os.environ.get("ASAN_OPTIONS", "") + ":detect_leaks=0")))
    ends, pos = [], start
    with open(trace) as f:
        for line in f:
            if "writev(1," in line and "= " in line:
                pos += int(line.rsplit("= ", 1)[1].split()[0])
                ends.append(pos)
    return r.returncode, ends


for start, mode in ((0, "wb"), (11, "ab")):
    with open(out_path, "wb") as f:
        f.write(b"first line\n"[:start])
    rc, ends = write_ends(start, mode)
    total = start + len(whole_b64)
    last = total - total % (256 << 10)  # past it: the last slot, the tail, final
    check(rc == 0 and len(ends) >= 4 and ends[-1] == total and
          all(e % (256 << 10) == 0 or e > last for e in ends),
          "writes end on 256 KiB boundaries from %d: rc %d, off-boundary %s of %d" % (
              start, rc, [e for e in ends if e % (256 << 10) and e <= last], total))
old = b"x" * (len(whole_b64) + 5000)
with open(out_path, "wb") as f:
    f.write(old)
r = encode_into(out_path, "r+b")  # from offset 0 of a longer file: the rest stays
with open(out_path, "rb") as f:
    check(r.returncode == 0 and f.read() == whole_b64 + old[len(whole_b64):],
          "encode over the start of a longer file")
os.unlink(out_path)
# The writes end at 256 KiB boundaries of the file: a limit between two makes
# one come up short (its head written) before the next fails with EFBIG.
limit = (3 << 20) + 1000
r = encode_into(out_path, "wb", limit=limit)
check(r.returncode == 1 and b"write error: File too large" in r.stderr and
      os.path.getsize(out_path) == limit, "write error into a file: %r" % r.stderr)
with open(out_path, "rb") as f:
    check(f.read() == whole_b64[:limit], "what was written before the write error")
check(disk_bytes(out_path) < limit + (256 << 10),
      "reserved space given back after a failed write: %d" % disk_bytes(out_path))
os.unlink(out_path)

# Parallel decode: each chunk is decoded from a line start as if a quantum
# started there and decoded again when the chunk before it did not end clean.
# Whatever the input, every thread count must give the sequential result:
# the same bytes out, the same message, the same exit code.
blob = rng.randbytes((9 << 19) + 2)  # 4.5 MiB + 2: padding at the end
enc76 = base64.encodebytes(blob)
one = base64.b64encode(blob)
cases = {
    "lf76": enc76,
    "crlf76": enc76.replace(b"\n", b"\r\n"),
    "oneline": one,
    "w7": b"\n".join(one[i:i + 7] for i in range(0, len(one), 7)) + b"\n",
    # a first line of 75: every later line start is off the quantum grid
    "shifted": one[:75] + b"\n" + b"\n".join(one[i:i + 76] for i in range(75, len(one), 76)),
    # two encodings back to back: padding in the middle (lenient modes go on)
    "concat": base64.encodebytes(blob[:2500001]) + base64.encodebytes(blob[2500001:]),
    "badchar": enc76[:5000001] + b"!" + enc76[5000002:],
    "garbage": b"".join(enc76[i:i + 1000] + b"*%" for i in range(0, len(enc76), 1000)),
}
for name, data in cases.items():
    with open(par_path, "wb") as f:
        f.write(data)
    for mode in ([], ["--strict"], ["-i"]):
        seq = run(["-d"] + mode + [par_path], env=dict(os.environ, MIMECODEC_THREADS="1"))
        for threads in ("2", "3"):
            r = run(["-d"] + mode + [par_path], env=dict(os.environ, MIMECODEC_THREADS=threads))
            check((r.returncode, r.stdout, r.stderr) == (seq.returncode, seq.stdout, seq.stderr),
                  "parallel decode %s %s threads=%s: rc %d/%d %r/%r" % (
                      name, mode, threads, r.returncode, seq.returncode, r.stderr[:200],
                      seq.stderr[:200]))
        if name in ("lf76", "crlf76", "oneline", "w7", "shifted") and mode != ["--strict"]:
            check(seq.returncode == 0 and seq.stdout == blob, "decode %s %s" % (name, mode))
with open(par_path, "wb") as f:
    f.write(cases["badchar"])
r = run(["-d", par_path], env=dict(os.environ, MIMECODEC_THREADS="2"))
check(r.returncode == 1 and r.stdout == blob[:5000001 // 77 * 57 + (5000001 % 77) // 4 * 3] and
      r.stderr.endswith(b"invalid character in encoded input (byte 0x21) at byte offset 5000001\n"),
      "parallel decode error: %r" % r.stderr)
os.unlink(par_path)

print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
