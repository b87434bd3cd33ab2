#!/usr/bin/python3
"""test_send_queue.py: `mimecodec send --eml F1 --eml F2 ... --jobs N` (the send
queue) against a real Postfix started by scripts/mailservers.sh:

- 50 messages over 4 connections (STARTTLS + AUTH, BDAT): exit 0, every
  message reported accepted, the server queued exactly 50 messages (50
  distinct queue ids in the dialogue), each message is in the Maildir exactly
  once (by its unique Message-ID) with its body byte-identical;
- 5 messages, --jobs 1, DATA, no pipelining: one connection, RSET between
  messages, one QUIT;
- one message to two recipients, one refused, twice over 2 connections: exit 3;
- a missing file: nothing is sent, exit 1.

usage: test_send_queue.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import hashlib
import os
import re
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, body_of, describe, load_env, run  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
SMTP = env["MC_SMTP_PORT"]
t = T()
tmp = tempfile.mkdtemp(prefix="mc-sendq-")
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("alice-pw\n")
GREETING = r"(?m)^< 220 (?!2\.0\.0 )"  # not the reply to STARTTLS
AUTH = ["--server", "smtp://127.0.0.1:" + SMTP, "--cafile", CA, "--user", "alice",
        "--password-file", pw]


def message(i, size):
    """An .eml with a unique Message-ID; a body of about size bytes with dot lines."""
    token = uuid.uuid4().hex
    lines = [b".leading dot %d" % i, b"..two dots", b"plain line %d" % i]
    filler = hashlib.sha256(token.encode()).hexdigest().encode() * 2  # 128 bytes
    while sum(len(x) + 2 for x in lines) < size:
        lines.append(filler[: 40 + (len(lines) * 7) % 80])
    body = b"\r\n".join(lines) + b"\r\n"
    head = b"\r\n".join([b"From: alice@example.test", b"To: bob@example.test",
                         b"Subject: queue test %d" % i,
                         b"Message-ID: <" + token.encode() + b"@queue.example.test>"])
    path = os.path.join(tmp, "m%02d.eml" % i)
    with open(path, "wb") as f:
        f.write(head + b"\r\n\r\n" + body)
    return path, token.encode(), body


def maildir_files(user):
    out = []
    for sub in ("new", "cur"):
        d = os.path.join(MAILDIR, user, "Maildir", sub)
        if os.path.isdir(d):
            out += [os.path.join(d, n) for n in sorted(os.listdir(d))]
    return out


def find_tokens(user, tokens, timeout=60.0):
    """{token: [paths of messages whose Message-ID is <token@...>]} once every
    token is present (or the timeout passed)."""
    end = time.monotonic() + timeout
    while True:
        found = {tk: [] for tk in tokens}
        for path in maildir_files(user):
            try:
                with open(path, "rb") as f:
                    head = f.read(1 << 14)
            except FileNotFoundError:
                continue
            m = re.search(rb"(?im)^Message-ID:\s*<([0-9a-f]{32})@queue\.example\.test>", head)
            if m and m.group(1) in found:
                found[m.group(1)].append(path)
        if all(found.values()) or time.monotonic() > end:
            return found
        time.sleep(0.1)


# ---- 50 messages over 4 connections ---------------------------------------------------
msgs = [message(i, 200 + (i * 7919) % 60000) for i in range(50)]
args = []
for path, _, _ in msgs:
    args += ["--eml", path]
p = run(mc, *AUTH, "--jobs", "4", "--trace", "--from", "alice@example.test",
        "--to", "bob@example.test", *args, timeout=300)
t.check(p.returncode == 0, "50 messages, 4 jobs: exit 0", describe(p))
for path, _, _ in msgs:
    t.check(p.out.count(path + ": bob@example.test: accepted") == 1,
            "reported accepted once: " + os.path.basename(path), describe(p))
t.check("50 messages over 4 connections at most: 50 to every recipient, 0 to some, 0 to none"
        in p.err, "summary on stderr", describe(p))
queued = re.findall(r"(?m)^< 250 2\.0\.0 Ok: (?:\d+ bytes )?queued as (\w+)", p.err)
t.check(len(queued) == 50 and len(set(queued)) == 50,
        "the server queued exactly 50 messages (%d, %d distinct)" % (len(queued), len(set(queued))))
conns = len(re.findall(GREETING, p.err))
t.check(1 <= conns <= 4, "at most 4 connections (%d)" % conns)
t.check(p.err.count("> QUIT") == conns, "one QUIT per connection", describe(p))
t.check("alice-pw" not in p.err, "no secret in the trace")
found = find_tokens("bob", [tk for _, tk, _ in msgs])
for path, tk, body in msgs:
    name = os.path.basename(path)
    t.check(len(found[tk]) == 1, "%s: in the Maildir exactly once (%d)" % (name, len(found[tk])))
    if found[tk]:
        with open(found[tk][0], "rb") as f:
            got = body_of(f.read())
        t.check(got == body.replace(b"\r\n", b"\n"), name + ": body intact")
for paths in found.values():
    for m in paths:
        os.unlink(m)

# ---- 5 messages, one connection, RSET between, DATA without pipelining -----------------
few = [message(100 + i, 3000) for i in range(5)]
args = []
for path, _, _ in few:
    args += ["--eml", path]
p = run(mc, *AUTH, "--jobs", "1", "--no-chunking", "--no-pipelining", "--trace",
        "--from", "alice@example.test", "--to", "bob@example.test", *args)
t.check(p.returncode == 0, "5 messages, 1 job: exit 0", describe(p))
t.check(len(re.findall(GREETING, p.err)) == 1, "one connection", describe(p))
t.check(p.err.count("> RSET") == 4 and p.err.count("> QUIT") == 1,
        "RSET between messages, one QUIT", describe(p))
t.check(p.err.count("> DATA") == 5, "five DATA", describe(p))
found = find_tokens("bob", [tk for _, tk, _ in few])
t.check(all(len(v) == 1 for v in found.values()), "5 messages: each in the Maildir once",
        repr({k: len(v) for k, v in found.items()}))
for paths in found.values():
    for m in paths:
        os.unlink(m)

# ---- one recipient refused: exit 3 -------------------------------------------------
two = [message(200 + i, 500) for i in range(2)]
p = run(mc, *AUTH, "--jobs", "2", "--from", "alice@example.test", "--to", "carol@example.test",
        "--to", "nobody@example.test", "--eml", two[0][0], "--eml", two[1][0])
t.check(p.returncode == 3, "a refused recipient: exit 3", describe(p))
t.check(p.out.count(": nobody@example.test: refused (550") == 2 and
        p.out.count(": carol@example.test: accepted") == 2, "per message, per recipient",
        describe(p))
t.check("2 messages over 2 connections at most: 0 to every recipient, 2 to some, 0 to none"
        in p.err, "summary counts partial messages", describe(p))
found = find_tokens("carol", [x[1] for x in two])
t.check(all(len(v) == 1 for v in found.values()), "partial: carol got each once")
for paths in found.values():
    for m in paths:
        os.unlink(m)

# ---- a missing file: nothing sent ---------------------------------------------------
p = run(mc, *AUTH, "--jobs", "2", "--trace", "--from", "alice@example.test",
        "--to", "bob@example.test", "--eml", few[0][0], "--eml", os.path.join(tmp, "missing.eml"))
t.check(p.returncode == 1 and "missing.eml" in p.err and "> MAIL" not in p.err,
        "missing file: exit 1 before sending", describe(p))
p = run(mc, *AUTH, "--jobs", "0", "--from", "alice@example.test", "--to", "bob@example.test",
        "--eml", few[0][0])
t.check(p.returncode == 2 and "--jobs" in p.err, "--jobs 0: usage error", describe(p))
p = run(mc, *AUTH, "--from", "alice@example.test", "--to", "bob@example.test",
        "--eml", "-", "--eml", "-")
t.check(p.returncode == 2, "--eml - twice: usage error", describe(p))

__import__("shutil").rmtree(tmp, ignore_errors=True)
t.end()
