#!/usr/bin/python3
"""test_send_postfix.py: `mimecodec send` against a real Postfix (+ Dovecot
SASL) started by scripts/mailservers.sh: plain, STARTTLS and implicit TLS,
AUTH PLAIN and LOGIN, wrong password, wrong host name, credentials refused
without TLS, several recipients with one refused, lines starting with '.',
bare LF line ends (Postfix here rejects bare LF: the client must send CRLF),
and a 64 MiB message whose body and attachment arrive byte-identical.

usage: test_send_postfix.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import base64
import hashlib
import os
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, body_of, describe, load_env, run, wait_maildir  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
SMTP, SMTPS, NOTLS = env["MC_SMTP_PORT"], env["MC_SMTPS_PORT"], env["MC_SMTP_NOTLS_PORT"]
t = T()
tmp = tempfile.mkdtemp(prefix="mc-send-")
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("alice-pw\n")
badpw = os.path.join(tmp, "badpw")
with open(badpw, "w") as f:
    f.write("not-the-password\n")


def message(body, crlf=True, extra_headers=b""):
    token = uuid.uuid4().hex.encode()
    nl = b"\r\n" if crlf else b"\n"
    head = nl.join([b"From: alice@example.test", b"To: bob@example.test",
                    b"Subject: test " + token, b"Message-ID: <" + token + b"@example.test>"])
    data = head + nl + extra_headers + nl + body
    path = os.path.join(tmp, token.decode() + ".eml")
    with open(path, "wb") as f:
        f.write(data)
    return path, token, data


def delivered(user, token, name):
    p = wait_maildir(MAILDIR, user, token)
    t.check(p is not None, "%s: message in %s's Maildir" % (name, user))
    return p


AUTH = ["--cafile", CA, "--user", "alice", "--password-file", pw]

# ---- plain, STARTTLS, implicit TLS (IPv4 and IPv6), PLAIN and LOGIN ----------------
cases = [
    ("plain, no TLS offered, no credentials", ["--server", "smtp://127.0.0.1:" + NOTLS], ""),
    ("STARTTLS + AUTH PLAIN", ["--server", "smtp://127.0.0.1:" + SMTP] + AUTH, "PLAIN"),
    ("STARTTLS + AUTH LOGIN", ["--server", "smtp://127.0.0.1:" + SMTP, "--auth", "login"] + AUTH,
     "LOGIN"),
    ("implicit TLS + AUTH PLAIN", ["--server", "smtps://127.0.0.1:" + SMTPS] + AUTH, "PLAIN"),
    ("implicit TLS over IPv6 + AUTH LOGIN",
     ["--server", "smtps://[::1]:" + SMTPS, "--auth", "login"] + AUTH, "LOGIN"),
    ("STARTTLS, no credentials, DATA", ["--server", "smtp://127.0.0.1:" + SMTP, "--cafile", CA,
                                        "--no-chunking", "--no-pipelining"], ""),
]
for name, args, mech in cases:
    path, token, _ = message(b"hello from " + name.encode() + b"\r\n")
    p = run(mc, *args, "--trace", "--from", "alice@example.test", "--to", "bob@example.test",
            "--eml", path)
    t.check(p.returncode == 0, name + ": exit 0", describe(p))
    t.check("bob@example.test: accepted" in p.out, name + ": recipient reported", describe(p))
    if mech:
        t.check("* authenticated with " + mech in p.err, name + ": " + mech + " used", describe(p))
        t.check("alice-pw" not in p.err and base64.b64encode(b"alice-pw").decode() not in p.err
                and base64.b64encode(b"\0alice\0alice-pw").decode() not in p.err,
                name + ": no secret in the trace")
        t.check("TLS established" in p.err and "certificate verified" in p.err,
                name + ": TLS verified", describe(p))
    delivered("bob", token, name)

# ---- failures that must not deliver --------------------------------------------------
path, token, _ = message(b"never\r\n")
p = run(mc, "--server", "smtp://127.0.0.1:" + SMTP, "--cafile", CA, "--user", "alice",
        "--password-file", badpw, "--retries", "3", "--backoff", "10",
        "--from", "alice@example.test", "--to", "bob@example.test", "--eml", path)
t.check(p.returncode == 1, "wrong password: exit 1", describe(p))
t.check("535" in p.err and "after 1 attempt" in p.err, "wrong password: 535, not retried",
        describe(p))

p = run(mc, "--server", "smtps://localhost:" + SMTPS, *AUTH, "--from", "alice@example.test",
        "--to", "bob@example.test", "--eml", path)
t.check(p.returncode == 1, "wrong host name: exit 1", describe(p))
t.check("certificate" in p.err and "mismatch" in p.err.lower(),
        "wrong host name: certificate refused", describe(p))

p = run(mc, "--server", "smtps://127.0.0.1:" + SMTPS, "--user", "alice", "--password-file", pw,
        "--from", "alice@example.test", "--to", "bob@example.test", "--eml", path)
t.check(p.returncode == 1 and "certificate" in p.err,
        "unknown CA (system store): certificate refused", describe(p))

p = run(mc, "--server", "smtp://127.0.0.1:" + NOTLS, *AUTH, "--trace",
        "--from", "alice@example.test", "--to", "bob@example.test", "--eml", path)
t.check(p.returncode == 1 and "STARTTLS" in p.err and "> AUTH" not in p.err,
        "credentials without STARTTLS: refused, AUTH never sent", describe(p))

p = run(mc, "--server", "smtp://127.0.0.1:" + SMTP, *AUTH, "--from", "alice@example.test",
        "--to", "bob@example.test\r\nRCPT TO:<carol@example.test>", "--eml", path)
t.check(p.returncode == 1 and "invalid recipient" in p.err, "CRLF in --to refused", describe(p))

# ---- several recipients, one refused ----------------------------------------------
path, token, _ = message(b"to three\r\n")
p = run(mc, "--server", "smtp://127.0.0.1:" + SMTP, *AUTH, "--from", "alice@example.test",
        "--to", "bob@example.test", "--to", "nobody@example.test", "--to", "carol@example.test",
        "--eml", path)
t.check(p.returncode == 3, "one of three refused: exit 3", describe(p))
t.check("nobody@example.test: refused (550 5.1.1" in p.out, "refused recipient reported with code",
        describe(p))
t.check(p.out.count(": accepted") == 2, "two accepted", describe(p))
delivered("bob", token, "partial")
delivered("carol", token, "partial")

# ---- dots and bare line ends, DATA and BDAT ------------------------------------------
dots = b".\r\n..\r\n.x\r\n...y\r\nmiddle . line\r\n.\r\n.\r\nlast\r\n"
for mode in ([], ["--no-chunking"]):
    name = "dot lines " + ("DATA" if mode else "BDAT")
    path, token, _ = message(dots)
    p = run(mc, "--server", "smtp://127.0.0.1:" + SMTP, *AUTH, *mode, "--from",
            "alice@example.test", "--to", "bob@example.test", "--eml", path)
    t.check(p.returncode == 0, name + ": exit 0", describe(p))
    m = delivered("bob", token, name)
    if m:
        with open(m, "rb") as f:
            got = body_of(f.read())
        t.check(got == dots.replace(b"\r\n", b"\n"), name + ": body intact",
                "got %r" % got[:200])

name = "bare LF message"
path, token, _ = message(b"line one\nline two\n.dot\n", crlf=False)
p = run(mc, "--server", "smtp://127.0.0.1:" + SMTP, *AUTH, "--no-chunking", "--from",
        "alice@example.test", "--to", "bob@example.test", "--eml", path)
t.check(p.returncode == 0, name + ": accepted (sent as CRLF)", describe(p))
m = delivered("bob", token, name)
if m:
    with open(m, "rb") as f:
        t.check(body_of(f.read()) == b"line one\nline two\n.dot\n", name + ": body intact")

# ---- 64 MiB: body and attachment byte-identical ----------------------------------------
raw = os.urandom(48 * 1024 * 1024)
b64 = base64.encodebytes(raw).replace(b"\n", b"\r\n")  # 76 columns
big_body = (b"--BOUNDARY\r\nContent-Type: text/plain\r\n\r\n.leading dot\r\n"
            b"--BOUNDARY\r\nContent-Type: application/octet-stream\r\n"
            b"Content-Transfer-Encoding: base64\r\n"
            b"Content-Disposition: attachment; filename=\"big.bin\"\r\n\r\n" + b64 +
            b"--BOUNDARY--\r\n")
hdr = b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\r\n"
path, token, data = message(big_body, extra_headers=hdr)
t.check(len(data) >= 64 * 1024 * 1024, "big message is at least 64 MiB (%d)" % len(data))
p = run(mc, "--server", "smtp://127.0.0.1:" + SMTP, *AUTH, "--from", "alice@example.test",
        "--to", "carol@example.test", "--eml", path, timeout=300)
t.check(p.returncode == 0, "64 MiB: exit 0", describe(p))
m = delivered("carol", token, "64 MiB")
if m:
    with open(m, "rb") as f:
        got = f.read()
    t.check(body_of(got) == big_body.replace(b"\r\n", b"\n"), "64 MiB: body byte-identical")
    out = os.path.join(tmp, "x")
    x = __import__("subprocess").run([mc, "extract", "-o", out, m], capture_output=True)
    ok = x.returncode == 0 and os.path.exists(os.path.join(out, "big.bin"))
    t.check(ok, "64 MiB: extract ran", x.stderr.decode(errors="replace"))
    if ok:
        with open(os.path.join(out, "big.bin"), "rb") as f:
            t.check(hashlib.sha256(f.read()).digest() == hashlib.sha256(raw).digest(),
                    "64 MiB: extracted attachment sha256 equal")
    os.unlink(m)
os.unlink(path)
__import__("shutil").rmtree(tmp, ignore_errors=True)
t.end()
