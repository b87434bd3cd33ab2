#!/usr/bin/python3
"""Python's binascii quoted-printable codec on the inputs of bench/bench_qp.c,
for issue 3's reference column (Python about 0.08 GB/s encode and 0.9 decode
of English-like text at 1 MiB).

The text input is the same bytes as bench_qp.c's text_input() (the same
xorshift64 word picker); the binary input is random bytes of the same size
(Python's Random(1), not mc_bench_random(): random is random to a QP codec).
Encode is binascii.b2a_qp (istext=True for text, False for binary: CR and LF
escaped, like MC_QP_BINARY); decode is binascii.a2b_qp of that encoding.
GB/s are 10^9 bytes of input per second (raw bytes for encode, the encoded
text for decode), best of 5 runs of at least 0.2 s each.

Usage: qp_python.py [--out FILE.json]   (prints the JSON on stdout otherwise)"""
import binascii
import json
import random
import sys
import time

SIZES = (4096, 65536, 1 << 20)
MAX = 1 << 20
WORDS = [b"the", b"mail", b"server", b"message", b"attachment", b"of", b"and", b"to",
         b"with", b"encoding", b"line", b"header", b"body", b"a", b"is", b"for",
         b"which", b"quoted", b"print", b"able", b"data", b"from", b"that", b"will"]
ACCENTS = [b"\xc3\xa9", b"\xc3\xbc", b"\xe2\x80\x94", b"\xc3\xb1"]
M64 = (1 << 64) - 1


def text_input():
    """bench_qp.c's text_input(), byte for byte."""
    x = 0x9E3779B97F4A7C15
    out = bytearray()
    col, limit = 0, 60
    while len(out) < MAX:
        x ^= (x << 13) & M64
        x ^= x >> 7
        x ^= (x << 17) & M64
        w = ACCENTS[x % 4] if x % 97 < 9 else WORDS[(x >> 8) % 24]
        if len(out) + len(w) + 1 > MAX:
            break
        out += w
        col += len(w)
        if col > limit:
            out += b"\n"
            col = 0
            limit = 40 + (x >> 20) % 70
        else:
            out += b" "
            col += 1
    out += b"\n" * (MAX - len(out))
    return bytes(out)


def rate(fn, arg, nbytes):
    best = 0.0
    for _ in range(5):
        loops, start = 0, time.perf_counter()
        while True:
            fn(arg)
            loops += 1
            took = time.perf_counter() - start
            if took >= 0.2:
                break
        best = max(best, loops * nbytes / took / 1e9)
    return best


def main():
    inputs = {"text": (text_input(), True),
              "binary": (random.Random(1).randbytes(MAX), False)}
    res = {"tool": "python3 binascii", "version": sys.version.split()[0], "gbs": {}}
    for name, (data, istext) in inputs.items():
        for n in SIZES:
            raw = data[:n]
            enc = binascii.b2a_qp(raw, istext=istext)
            assert binascii.a2b_qp(enc) == raw or istext, "binary QP round trip failed"
            res["gbs"]["encode/%s/%d" % (name, n)] = rate(
                lambda d: binascii.b2a_qp(d, istext=istext), raw, n)
            res["gbs"]["decode/%s/%d" % (name, n)] = rate(binascii.a2b_qp, enc, len(enc))
    text = json.dumps(res, indent=1)
    if "--out" in sys.argv:
        with open(sys.argv[sys.argv.index("--out") + 1], "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
