#!/usr/bin/python3
"""test_fetch_dovecot.py: `mimecodec fetch` against the real Dovecot (and
Postfix for delivery) started by scripts/mailservers.sh, and against
tests/servers/pop3fault.py: STLS and POP3S with the bodies in the Maildir
byte-identical to what was sent (Postfix adds Received/Return-Path: bodies
are compared), --keep leaves mail on the server and a second run fetches
nothing, the state makes a later run without --keep only delete, --json,
wrong password, wrong host certificate, credentials refused without STLS,
a connection dropped mid-RETR or at QUIT deletes nothing and the next run
fetches each message exactly once, and a 64 MiB message in constant memory.

usage: test_fetch_dovecot.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import atexit
import hashlib
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, body_of, load_env  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
POP3, POP3S = env["MC_POP3_PORT"], env["MC_POP3S_PORT"]
SMTP_NOTLS = env["MC_SMTP_NOTLS_PORT"]
SRV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers", "pop3fault.py")
t = T()
tmp = tempfile.mkdtemp(prefix="mc-fetch-")


def secret(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text + "\n")
    return p


PW = {u: secret(u + ".pw", u + "-pw") for u in ("alice", "bob", "carol")}
BADPW = secret("bad.pw", "wrong-password")


def fetch(*args, timeout=300, prefix=()):
    t0 = time.monotonic()
    p = subprocess.run([*prefix, mc, "fetch", *args], capture_output=True, timeout=timeout)
    p.elapsed = time.monotonic() - t0
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def describe(p):
    return "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.out[-2000:], p.err[-3000:])


def server_count(user):
    d = os.path.join(MAILDIR, user, "Maildir")
    return sum(len(os.listdir(os.path.join(d, s))) for s in ("new", "cur"))


def deliver(user, bodies):
    """Sends each body to user through Postfix; waits until Dovecot's Maildir has them."""
    before = server_count(user)
    msgs = []
    s = smtplib.SMTP("127.0.0.1", int(SMTP_NOTLS), timeout=60)
    for b in bodies:
        token = uuid.uuid4().hex.encode()
        data = (b"From: alice@example.test\r\nTo: " + user.encode() + b"@example.test\r\n"
                b"Subject: fetch " + token + b"\r\nMessage-ID: <" + token +
                b"@example.test>\r\n\r\n" + b)
        s.sendmail("alice@example.test", [user + "@example.test"], data)
        msgs.append((token, data))
    s.quit()
    end = time.monotonic() + 60
    while server_count(user) < before + len(bodies) and time.monotonic() < end:
        time.sleep(0.05)
    t.check(server_count(user) == before + len(bodies), "delivered to %s" % user)
    return msgs


def maildir_files(md):
    d = os.path.join(md, "new")
    out = {}
    for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            out[name] = f.read()
    return out


def check_bodies(md, msgs, name):
    files = maildir_files(md)
    for token, data in msgs:
        hits = [n for n, c in files.items() if token in c[:4096]]
        t.check(len(hits) == 1, "%s: message %s in the Maildir exactly once (%d)"
                % (name, token.decode()[:8], len(hits)))
        if hits:
            got = files[hits[0]]
            t.check(body_of(got) == body_of(data), "%s: body byte-identical" % name,
                    "got %r\nwant %r" % (body_of(got)[:200], body_of(data)[:200]))
            size = int(hits[0].rsplit(",S=", 1)[1])
            t.check(size == len(got), "%s: S= is the file size" % name)
            t.check(b"Received: " in got, "%s: server headers kept" % name)
    t.check(os.listdir(os.path.join(md, "tmp")) == [], "%s: tmp/ empty" % name)


DOTS = b".\r\n..\r\n.x\r\n...y\r\nmiddle . line\r\n.\r\n.\r\nlast\r\n"
AUTH = ["--user", "bob", "--password-file", PW["bob"], "--cafile", CA]

# ---- STLS with --keep, twice; then POP3S without --keep only deletes -------------------
md = os.path.join(tmp, "bob-md")
msgs = deliver("bob", [b"hello %d\r\n" % i + DOTS for i in range(5)])
n0 = server_count("bob")
p = fetch("--server", "pop3://127.0.0.1:" + POP3, *AUTH, "--maildir", md, "--keep", "--json",
          "--trace")
t.check(p.returncode == 0, "STLS --keep: exit 0", describe(p))
t.check("TLS established" in p.err and "certificate verified" in p.err and "> STLS" in p.err,
        "STLS: upgraded and verified", describe(p))
t.check("bob-pw" not in p.err and "> AUTH PLAIN <redacted>" in p.err,
        "STLS: password not in the trace", describe(p))
t.check("> LIST\n> UIDL\n" in p.err, "PIPELINING: LIST and UIDL in one write", describe(p))
ev = [json.loads(l) for l in p.out.splitlines()]
t.check(ev and ev[-1]["event"] == "summary" and ev[-1]["fetched"] == n0
        and ev[-1]["deleted"] == 0, "STLS --keep: summary", p.out)
t.check(sum(e["event"] == "fetched" for e in ev) == n0, "--json: one line per message", p.out)
check_bodies(md, msgs, "STLS")
t.check(server_count("bob") == n0, "--keep: still on the server")

p = fetch("--server", "pop3://127.0.0.1:" + POP3, *AUTH, "--maildir", md, "--keep", "--json")
ev = [json.loads(l) for l in p.out.splitlines()]
t.check(p.returncode == 0 and ev[-1]["fetched"] == 0 and ev[-1]["skipped"] == n0,
        "--keep twice: the second run fetches nothing", describe(p))
t.check(len(maildir_files(md)) == n0, "--keep twice: no duplicates")

p = fetch("--server", "pop3s://127.0.0.1:" + POP3S, *AUTH, "--maildir", md, "--json")
ev = [json.loads(l) for l in p.out.splitlines()]
t.check(p.returncode == 0 and ev[-1]["fetched"] == 0 and ev[-1]["deleted"] == n0
        and ev[-1]["committed"], "POP3S after --keep: only deletes", describe(p))
t.check(server_count("bob") == 0, "deleted from the server after QUIT")
t.check(len(maildir_files(md)) == n0, "still exactly once in the Maildir")

# ---- POP3S without --keep on new mail ------------------------------------------------
msgs = deliver("bob", [b"second batch %d\r\n" % i + DOTS for i in range(3)])
p = fetch("--server", "pop3s://127.0.0.1:" + POP3S, *AUTH, "--maildir", md)
t.check(p.returncode == 0 and "3 fetched" in p.out and "3 deleted" in p.out,
        "POP3S: fetched and deleted", describe(p))
check_bodies(md, msgs, "POP3S")
t.check(server_count("bob") == 0, "POP3S: server empty")

# ---- refusals ----------------------------------------------------------------------------
deliver("alice", [b"stays\r\n"])
alice_before = server_count("alice")
md_a = os.path.join(tmp, "alice-md")
p = fetch("--server", "pop3s://127.0.0.1:" + POP3S, "--user", "alice", "--password-file", BADPW,
          "--cafile", CA, "--maildir", md_a)
t.check(p.returncode == 1 and "AUTH" in p.err, "wrong password: exit 1 at AUTH", describe(p))
p = fetch("--server", "pop3s://localhost:" + POP3S, "--user", "alice", "--password-file",
          PW["alice"], "--cafile", CA, "--maildir", md_a)
t.check(p.returncode == 1 and "certificate" in p.err and "mismatch" in p.err.lower(),
        "wrong host name: certificate refused", describe(p))
p = fetch("--server", "pop3://127.0.0.1:" + POP3, "--user", "alice", "--password-file",
          PW["alice"], "--maildir", md_a)
t.check(p.returncode == 1 and "certificate" in p.err,
        "unknown CA (system store): certificate refused", describe(p))
t.check(server_count("alice") == alice_before and not maildir_files(md_a),
        "refusals fetched nothing")


class Fault:
    def __init__(self, mode, count=5):
        self.log = os.path.join(tmp, "pop3fault-%s.log" % mode)
        self.p = subprocess.Popen(["/usr/bin/python3", SRV, "--mode", mode, "--log", self.log,
                                   "--cert", env["MC_MAILSRV_CERT"], "--key",
                                   env["MC_MAILSRV_KEY"], "--count", str(count)],
                                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        # Killed at exit whatever happens: a server left running would keep
        # ctest's output pipe open and hang the run until its timeout.
        atexit.register(self.stop)
        line = self.p.stdout.readline().decode()
        assert line.startswith("PORT "), line
        self.port = line.split()[1]

    def events(self):
        with open(self.log) as f:
            return f.read().splitlines()

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()  # the PID we started
        self.p.wait()


f = Fault("nostls")
p = fetch("--server", "pop3://127.0.0.1:" + f.port, "--user", "bob", "--password-file",
          PW["bob"], "--maildir", os.path.join(tmp, "nostls-md"))
cmds = [e for e in f.events() if e.startswith("CMD")]
f.stop()
t.check(p.returncode == 1 and "STLS" in p.err, "no STLS offered: refused", describe(p))
t.check(cmds == ["CMD 1 CAPA"], "no STLS offered: no credentials sent", repr(cmds))

for mode in ("dropretr", "dropquit"):
    f = Fault(mode)
    mdf = os.path.join(tmp, mode + "-md")
    args = ["--server", "pop3s://127.0.0.1:" + f.port, "--user", "bob", "--password-file",
            PW["bob"], "--cafile", CA, "--maildir", mdf]
    p1 = fetch(*args)
    t.check(p1.returncode == 1, mode + ": first run fails", describe(p1))
    t.check(not any(e.startswith("DELETED") for e in f.events()),
            mode + ": nothing deleted by the broken session")
    p2 = fetch(*args, "--json")
    t.check(p2.returncode == 0, mode + ": second run succeeds", describe(p2))
    ev = [json.loads(l) for l in p2.out.splitlines()]
    files = maildir_files(mdf)
    want = {hashlib.sha256(
        subprocess.run(["/usr/bin/python3", "-c",
                        "import sys; sys.path.insert(0, %r); import pop3fault; "
                        "sys.stdout.buffer.write(pop3fault.message(%d))"
                        % (os.path.dirname(SRV), k)], capture_output=True).stdout).hexdigest()
        for k in range(1, 6)}
    got = [hashlib.sha256(c).hexdigest() for c in files.values()]
    t.check(sorted(got) == sorted(want), mode + ": every message exactly once, byte-identical",
            "%d files" % len(files))
    t.check(sum(e.startswith("DELETED") for e in f.events()) == 5,
            mode + ": all deleted after the clean run", "\n".join(f.events()[-12:]))
    if mode == "dropquit":
        t.check(ev[-1]["fetched"] == 0 and ev[-1]["skipped"] == 5,
                "dropquit: the second run fetches nothing again", p2.out)
    f.stop()

# ---- 64 MiB in constant memory ----------------------------------------------------------
big = b"".join(b"%08d %s\r\n" % (i, b"0123456789abcdef" * 4 + b".x") for i in range(900000))
big += b".starts with a dot\r\n"
msgs = deliver("carol", [big])
mdc = os.path.join(tmp, "carol-md")
# The peak RSS through /usr/bin/time: a child forked from this (big) Python
# process would count the parent's pages it had before exec.
timer = ["/usr/bin/time", "-f", "MAXRSS %M"] if os.access("/usr/bin/time", os.X_OK) else []
p = fetch("--server", "pop3s://127.0.0.1:" + POP3S, "--user", "carol", "--password-file",
          PW["carol"], "--cafile", CA, "--maildir", mdc, prefix=timer)
t.check(p.returncode == 0, "64 MiB: exit 0", describe(p))
check_bodies(mdc, msgs, "64 MiB")
rss = [int(l.split()[1]) for l in p.err.splitlines() if l.startswith("MAXRSS ")]
print("64 MiB fetch: %.1f s, peak RSS %s KiB" % (p.elapsed, rss[0] if rss else "?"), flush=True)
if rss:
    t.check(rss[0] < 48 * 1024, "64 MiB: fetched in constant memory (%d KiB)" % rss[0])
shutil.rmtree(tmp, ignore_errors=True)
t.end()
