#!/usr/bin/python3
"""test_fetch_loop.py: `mimecodec fetch --loop 1` against the real Dovecot
started by scripts/mailservers.sh: mail delivered while it runs is fetched
(by a later poll for a later delivery, each poll closing with a summary
line); SIGINT, and in a second run SIGTERM sent in the middle of a large
session, end it with exit status 0, no partial file in the Maildir (tmp/
empty, every file in new/ complete: S= is its size) and nothing lost
(every message is either in the Maildir or still on the server, never
both, never twice); a last run fetches the rest exactly once. Waits only
for conditions, with generous deadlines; nothing depends on timing.

usage: test_fetch_loop.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import json
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, load_env  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
POP3S = env["MC_POP3S_PORT"]
SMTP_NOTLS = env["MC_SMTP_NOTLS_PORT"]
t = T()
tmp = tempfile.mkdtemp(prefix="mc-fetch-loop-")
USER = "bob"
PW = os.path.join(tmp, "bob.pw")
with open(PW, "w") as f:
    f.write("bob-pw\n")
BASE = [mc, "fetch", "--server", "pop3s://127.0.0.1:" + POP3S, "--user", USER,
        "--password-file", PW, "--cafile", CA]
DEADLINE = 60.0


def server_dir():
    return os.path.join(MAILDIR, USER, "Maildir")


def server_count():
    return sum(len(os.listdir(os.path.join(server_dir(), s))) for s in ("new", "cur"))


def tokens_in(d, subdirs=("new",)):
    out = []
    for s in subdirs:
        p = os.path.join(d, s)
        for name in os.listdir(p) if os.path.isdir(p) else []:
            try:
                with open(os.path.join(p, name), "rb") as f:
                    data = f.read()
            except FileNotFoundError:  # Dovecot moved or deleted it meanwhile
                continue
            out += [l.split()[1].decode() for l in data.splitlines() if l.startswith(b"token ")]
    return out


def deliver(n, size=0):
    before = server_count()
    toks = []
    s = smtplib.SMTP("127.0.0.1", int(SMTP_NOTLS), timeout=60)
    for i in range(n):
        tok = uuid.uuid4().hex
        data = ("From: alice@example.test\r\nTo: %s@example.test\r\nSubject: loop %s\r\n\r\n"
                "token %s\r\n" % (USER, tok, tok)).encode() + (b"x" * 76 + b"\r\n") * (size // 78)
        s.sendmail("alice@example.test", [USER + "@example.test"], data)
        toks.append(tok)
    s.quit()
    wait_for(lambda: server_count() >= before + n, "delivered %d" % n)
    return toks


def wait_for(cond, what):
    end = time.monotonic() + DEADLINE
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.05)
    return t.check(cond(), "within %d s: %s" % (DEADLINE, what))


class Loop:
    """fetch --loop 1 --json in the background; its output lines collected."""

    def __init__(self, md):
        self.md = md
        self.lines = []
        self.err = b""
        self.p = subprocess.Popen(BASE + ["--maildir", md, "--loop", "1", "--json"],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.rt = threading.Thread(target=self.read, daemon=True)
        self.et = threading.Thread(target=self.read_err, daemon=True)
        self.rt.start()
        self.et.start()

    def read(self):
        for l in self.p.stdout:
            self.lines.append(json.loads(l.decode("utf-8")))

    def read_err(self):
        self.err = self.p.stderr.read()

    def events(self, kind):
        return [e for e in list(self.lines) if e["event"] == kind]

    def stop(self, sig):
        self.p.send_signal(sig)  # the PID we started
        try:
            rc = self.p.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            self.p.kill()
            rc = self.p.wait()
        self.rt.join(10)
        self.et.join(10)
        return rc

    def describe(self):
        return "lines: %r\nstderr: %s" % (self.lines[-10:], self.err.decode("utf-8", "replace")[-2000:])


def check_maildir(md, what):
    t.check(os.listdir(os.path.join(md, "tmp")) == [], "%s: no partial file in tmp/" % what)
    for name in os.listdir(os.path.join(md, "new")):
        size = int(name.rsplit(",S=", 1)[1].split(":")[0]) if ",S=" in name else -1
        t.check(size == os.path.getsize(os.path.join(md, "new", name)),
                "%s: %s is complete" % (what, name))


# whatever earlier tests left in the mailbox goes first
p = subprocess.run(BASE + ["--maildir", os.path.join(tmp, "drain")], capture_output=True,
                   timeout=300)
t.check(p.returncode == 0 and server_count() == 0, "mailbox drained", p.stderr.decode()[-500:])

# ---- SIGINT: two deliveries seen by two polls -------------------------------------------
md = os.path.join(tmp, "md-int")
lp = Loop(md)
first = deliver(2)
wait_for(lambda: sorted(tokens_in(md)) == sorted(first), "first delivery fetched")
wait_for(lambda: sum(e["fetched"] for e in lp.events("summary")) == 2, "its summary line")
polls_before = len(lp.events("summary"))
second = deliver(3)
wait_for(lambda: sorted(tokens_in(md)) == sorted(first + second), "second delivery fetched")
wait_for(lambda: sum(e["fetched"] for e in lp.events("summary")) == 5, "its summary line")
t.check(len(lp.events("summary")) > polls_before, "fetched by a later poll")
rc = lp.stop(signal.SIGINT)
t.check(rc == 0, "SIGINT: exit 0", "exit %s\n%s" % (rc, lp.describe()))
t.check(lp.events("summary") and lp.lines[-1]["event"] == "summary", "SIGINT: summary last",
        lp.describe())
t.check(len(lp.events("fetched")) == 5
        and {e["subject"].split()[1] for e in lp.events("fetched")} == set(first + second),
        "one --json line per message, with its subject", lp.describe())
check_maildir(md, "SIGINT")
local = tokens_in(md)
t.check(sorted(local) == sorted(first + second), "SIGINT: each message once in the Maildir")
wait_for(lambda: server_count() == 0, "SIGINT: deleted from the server")

# ---- SIGTERM in the middle of a large session ------------------------------------------
md = os.path.join(tmp, "md-term")
many = deliver(40, size=256 * 1024)
lp = Loop(md)
wait_for(lambda: lp.events("fetched") or lp.p.poll() is not None, "a first message fetched")
rc = lp.stop(signal.SIGTERM)
t.check(rc == 0, "SIGTERM: exit 0", "exit %s\n%s" % (rc, lp.describe()))
check_maildir(md, "SIGTERM")
local = tokens_in(md)
remote = tokens_in(server_dir(), ("new", "cur"))
print("SIGTERM: %d of %d fetched before the stop" % (len(local), len(many)), flush=True)
t.check(len(local) == len(set(local)), "SIGTERM: no message twice in the Maildir")
t.check(not set(local) & set(remote), "SIGTERM: nothing both fetched and left on the server",
        "%d local, %d remote" % (len(local), len(remote)))
t.check(sorted(local + remote) == sorted(many), "SIGTERM: nothing lost",
        "%d local + %d remote of %d" % (len(local), len(remote), len(many)))
t.check(len(lp.events("fetched")) == len(local), "SIGTERM: a --json line per fetched message",
        lp.describe())

p = subprocess.run(BASE + ["--maildir", md, "--json"], capture_output=True, timeout=300)
t.check(p.returncode == 0, "after SIGTERM: the next run succeeds", p.stderr.decode()[-500:])
t.check(sorted(tokens_in(md)) == sorted(many), "after SIGTERM: every message exactly once")
t.check(server_count() == 0, "after SIGTERM: the server is empty")
check_maildir(md, "after SIGTERM")

shutil.rmtree(tmp, ignore_errors=True)
t.end()
