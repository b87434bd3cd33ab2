#!/usr/bin/python3
"""`mimecodec compose` read back by Python's email package (policy default
and compat32): the same parts in the same order, the same decoded bodies
(text with CRLF line ends, attachments byte for byte), the same file names
(non-ASCII and long ones included), the same decoded headers (Subject,
From, To, Cc, extra fields), no defects; --size equals the output length;
every line at most 78 characters plus CRLF; header injection through any
option is refused with `mimecodec: compose: ...` and a non-zero exit; a
large attachment streams in bounded memory.
Usage: test_compose_roundtrip.py /path/to/mimecodec
Prints "N passed, N failed" and exits non-zero on any failure."""
import email
import email.header
import email.policy
import email.utils
import os
import random
import re
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


def compose(args):
    return subprocess.run([EXE, "compose"] + args, capture_output=True)


def canon_text(b):
    """LF not preceded by CR becomes CRLF (what the composer promises)."""
    out = bytearray()
    prev = None
    for c in b:
        if c == 0x0A and prev != 0x0D:
            out += b"\r"
        out.append(c)
        prev = c
    return bytes(out)


def lines_ok(msg):
    for line in msg.split(b"\n")[:-1]:
        if not line.endswith(b"\r") or len(line) - 1 > 78:
            return False
    return len(msg.split(b"\n")[-1]) <= 78


def decode_compat(value):
    """compat32 keeps the folding: unfold (RFC 5322 2.2.3), then decode."""
    value = re.sub(r"\r?\n(?=[ \t])", "", str(value))
    return str(email.header.make_header(email.header.decode_header(value)))


def leaves(msg):
    return [p for p in msg.walk() if not p.is_multipart()]


rng = random.Random(20261122)
tmp = tempfile.mkdtemp(prefix="mc_compose_py_")


def write(name, data):
    path = os.path.join(tmp, name)
    with open(path, "wb") as f:
        f.write(data)
    return path


TEXTS = [
    b"Hello,\nplain ASCII text.\n",
    "Grüße aus Köln, café crème.\nSecond line.\n".encode(),
    "日本語のテキストです。\n" .encode() * 20,
    b"x" * 200 + b"\n" + b"trailing spaces   \n" + b"From the start\n.\n",
    b"no final newline",
    b"",
]
HTMLS = [
    b"<html><body><p>Hello</p></body></html>\n",
    "<p>Ünïcödé <b>HTML</b> with a long line ".encode() * 10 + b"\n",
]
NAMES = [
    "report.pdf",
    "résumé.docx",
    "日本語のファイル名.txt",
    "a very long attachment file name that needs rfc 2231 continuation lines.tar.gz",
    "emoji 😀 and spaces.bin",
    "plain.txt",
]
CONTENTS = [
    lambda: bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 5000))),
    lambda: b"ascii line with crlf\r\n" * rng.randrange(1, 50),
    lambda: b"unix text\n" * rng.randrange(1, 50),
    lambda: "mostly ascii text with a few accents: é\r\n".encode() * rng.randrange(1, 40),
    lambda: b"",
]
SUBJECTS = [
    "Hello",
    "Grüße — ein Betreff",
    "A long subject line that must be folded because it goes on past seventy-eight columns for sure",
    "日本語の件名 とても長い件名です 日本語の件名 とても長い件名です",
]
FROMS = [
    ("", "alice@example.com"),
    ("Alice Example", "alice@example.com"),
    ("Jörg Müller", "joerg@example.de"),
]
TOS = [
    ("", "bob@example.org"),
    ("Doe, John", "john@example.org"),
    ("Ĉarlie Ŝmith with a rather long display name indeed", "charlie@example.net"),
]


def fmt_addr(name, addr):
    return "%s <%s>" % (name, addr) if name else addr


def addr_ok(got, want, compat):
    if compat:
        got = [(decode_compat(n), a) for n, a in email.utils.getaddresses([got])]
    else:
        got = [(a.display_name, a.addr_spec) for a in got.addresses]
    return got == want


for case in range(60):
    args = []
    frm = rng.choice(FROMS)
    tos = rng.sample(TOS, rng.randrange(1, 4))
    ccs = rng.sample(TOS, rng.randrange(0, 3))
    subject = rng.choice(SUBJECTS)
    args += ["--from", fmt_addr(*frm), "--subject", subject]
    for t in tos:
        args += ["--to", fmt_addr(*t)]
    for t in ccs:
        args += ["--cc", fmt_addr(*t)]
    text = rng.choice(TEXTS) if rng.random() < 0.8 else None
    html = rng.choice(HTMLS) if rng.random() < 0.5 else None
    if text is not None:
        if rng.random() < 0.5 and b"\0" not in text and text:
            try:
                args += ["--text", text.decode()]
            except UnicodeDecodeError:
                args += ["--text-file", write("t%d.txt" % case, text)]
        else:
            args += ["--text-file", write("t%d.txt" % case, text)]
    if html is not None:
        args += ["--html-file", write("h%d.html" % case, html)]
    atts = []
    for k in range(rng.randrange(0, 4)):
        name = NAMES[(case + k) % len(NAMES)]
        data = rng.choice(CONTENTS)()
        sub = os.path.join(tmp, "c%d_%d" % (case, k))
        os.makedirs(sub, exist_ok=True)
        path = os.path.join(sub, name)
        with open(path, "wb") as f:
            f.write(data)
        args += ["--attach", path]
        atts.append((name, data))
    args += ["--header", "X-Case: case %d — ünïcode" % case]
    out = os.path.join(tmp, "m%d.eml" % case)
    r = compose(args + ["-o", out])
    check(r.returncode == 0 and r.stderr == b"", "case %d: exit %d %r" % (case, r.returncode, r.stderr))
    if r.returncode:
        continue
    raw = open(out, "rb").read()
    s = compose(args + ["--size"])
    check(s.stdout.strip() == str(len(raw)).encode(), "case %d: --size %r != %d" % (case, s.stdout, len(raw)))
    check(lines_ok(raw), "case %d: a line over 78 columns or without CRLF" % case)
    s = compose(args)
    check(len(s.stdout) == len(raw), "case %d: stdout length" % case)

    want = []
    if text is None and html is None and not atts:
        text = b""
    if text is not None:
        want.append(("text/plain", None, canon_text(text)))
    if html is not None:
        want.append(("text/html", None, canon_text(html)))
    for name, data in atts:
        want.append((None, name, data))
    for compat in (False, True):
        pol = email.policy.compat32 if compat else email.policy.default
        m = email.message_from_bytes(raw, policy=pol)
        tag = "case %d %s" % (case, "compat32" if compat else "default")
        check(all(not p.defects for p in m.walk()), "%s: defects %r" % (tag, [p.defects for p in m.walk()]))
        got = leaves(m)
        check(len(got) == len(want), "%s: %d leaves, want %d" % (tag, len(got), len(want)))
        for (ctype, name, body), part in zip(want, got):
            if ctype:
                check(part.get_content_type() == ctype, "%s: type %s" % (tag, part.get_content_type()))
            check(part.get_filename() == name, "%s: filename %r != %r" % (tag, part.get_filename(), name))
            check(part.get_payload(decode=True) == body, "%s: body of %r differs" % (tag, name or ctype))
            if ctype and not compat:
                check(part.get_content() == body.decode(), "%s: get_content of %s" % (tag, ctype))
        subj = decode_compat(m["Subject"]) if compat else str(m["Subject"])
        check(subj == subject, "%s: subject %r" % (tag, subj))
        xc = decode_compat(m["X-Case"]) if compat else str(m["X-Case"])
        check(xc == "case %d — ünïcode" % case, "%s: X-Case %r" % (tag, xc))
        check(addr_ok(m["From"], [frm], compat), "%s: From %r" % (tag, str(m["From"])))
        check(addr_ok(m["To"], tos, compat), "%s: To %r" % (tag, str(m["To"])))
        if ccs:
            check(addr_ok(m["Cc"], ccs, compat), "%s: Cc %r" % (tag, str(m["Cc"])))
        check(m["MIME-Version"] == "1.0", "%s: MIME-Version" % tag)
        d = email.utils.parsedate_to_datetime(str(m["Date"]))
        check(d is not None and d.tzinfo is not None, "%s: Date" % tag)
        mid = str(m["Message-ID"])
        check(mid.startswith("<") and mid.endswith("@%s>" % frm[1].split("@")[1]), "%s: Message-ID %r" % (tag, mid))

# Header injection through every option that reaches a header.
base = ["--from", "a@example.com", "--to", "b@example.com", "--text", "x"]
for bad in ["x\r\nBcc: evil@example.com", "x\nBcc: evil@example.com", "x\rBcc: evil@example.com"]:
    for opt in (["--subject", bad], ["--to", "c@example.com" + bad], ["--cc", bad + "@example.com"],
                ["--from", "Name" + bad + " <a@example.com>"], ["--header", "X-A: " + bad]):
        r = compose(base + opt)
        check(r.returncode != 0 and r.stdout == b"" and r.stderr.startswith(b"mimecodec: compose: "),
              "injection %r accepted: %r" % (opt, r.stderr))
for opt in (["--to", "not-an-address"], ["--attach", "/nonexistent/file"], ["--bogus", "x"],
            ["--text", "a", "--text-file", "/etc/hostname"]):
    r = compose(base + opt)
    check(r.returncode != 0 and r.stderr.startswith(b"mimecodec: compose: "), "bad %r: %r" % (opt, r.stderr))
r = compose(["--to", "b@example.com"])
check(r.returncode != 0 and b"--from" in r.stderr, "missing --from")

# A large attachment streams: bounded memory, exact size, decodes back.
if os.environ.get("MC_CLI_SKIP_BIG") != "1":
    big = os.path.join(tmp, "big.bin")
    with open(big, "wb") as f:
        for i in range(48):
            f.write(os.urandom(1 << 20))
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    p = subprocess.Popen([EXE, "compose", "--from", "a@example.com", "--to", "b@example.com",
                          "--text", "big one", "--attach", big], stdout=subprocess.PIPE)
    total = 0
    head = b""
    while True:
        b = p.stdout.read(1 << 20)
        if not b:
            break
        if len(head) < 4096:
            head += b[:4096]
        total += len(b)
    p.wait()
    size = compose(["--from", "a@example.com", "--to", "b@example.com", "--text", "big one",
                    "--attach", big, "--size"]).stdout.strip()
    check(p.returncode == 0 and size == str(total).encode(), "big: size %r vs %d" % (size, total))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # The file is mapped by nobody: pread in chunks, so RSS stays small.
    check(peak < 64 * 1024 or peak == before, "big: peak RSS %d KiB" % peak)
    out = os.path.join(tmp, "big.eml")
    r = compose(["--from", "a@example.com", "--to", "b@example.com", "--attach", big, "-o", out])
    m = email.message_from_binary_file(open(out, "rb"), policy=email.policy.default)
    att = leaves(m)[-1]
    check(att.get_payload(decode=True) == open(big, "rb").read(), "big: attachment differs")

subprocess.run(["rm", "-rf", tmp])
print("%d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
