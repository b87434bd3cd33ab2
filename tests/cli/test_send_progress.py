#!/usr/bin/python3
"""test_send_progress.py: the progress bar of `mimecodec send` against a real
Postfix started by scripts/mailservers.sh. stderr is a pseudo-terminal (pty
module) or a pipe:

- a 6 MiB message, stderr a pty: the bar is drawn ("\\r[###...] NN% X MB/s"),
  reaches 100% and its line is ended by a newline; the message arrives;
- the same with stderr a pipe: nothing of the bar (stderr stays empty);
- --no-progress on a pty, a small message on a pty, --trace on a pty: no bar;
- --progress with stderr a pipe: the bar is forced;
- three 3 MiB messages over 2 connections on a pty: one bar for all of them.

usage: test_send_progress.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import os
import pty
import re
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, describe, load_env, run, wait_maildir  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
SMTP = env["MC_SMTP_PORT"]
t = T()
tmp = tempfile.mkdtemp(prefix="mc-progress-")
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("alice-pw\n")
BASE = ["--server", "smtp://127.0.0.1:" + SMTP, "--cafile", CA, "--user", "alice",
        "--password-file", pw, "--from", "alice@example.test", "--to", "carol@example.test"]
BAR = re.compile(rb"\r\[[#-]{30}\] +(\d+)% +[0-9.]+ MB/s")


def message(size):
    token = uuid.uuid4().hex.encode()
    line = b"x" * 76 + b"\r\n"
    head = (b"From: alice@example.test\r\nTo: carol@example.test\r\nSubject: progress " +
            token + b"\r\nMessage-ID: <" + token + b"@example.test>\r\n\r\n")
    path = os.path.join(tmp, token.decode() + ".eml")
    with open(path, "wb") as f:
        f.write(head + line * (size // len(line) + 1))
    return path, token


def run_pty(*args):
    """Runs send with stderr on a pty; returns (exit, stdout, everything the pty showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([mc, "send", *args], stdout=subprocess.PIPE, stderr=slave,
                         stdin=subprocess.DEVNULL)
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer of the pty is gone
            break
        if not chunk:
            break
        shown += chunk
    out = p.stdout.read()
    p.wait(timeout=300)
    os.close(master)
    return p.returncode, out.decode("utf-8", "replace"), shown


def delivered(token, name):
    m = wait_maildir(MAILDIR, "carol", token)
    t.check(m is not None, name + ": delivered")
    if m:
        os.unlink(m)


# ---- stderr a terminal: the bar -----------------------------------------------------
path, token = message(6 * 1024 * 1024)
rc, out, shown = run_pty(*BASE, "--eml", path)
t.check(rc == 0, "pty: exit 0", "%d %s %r" % (rc, out, shown[-500:]))
t.check("carol@example.test: accepted" in out, "pty: recipient on stdout", out)
bars = BAR.findall(shown)
t.check(len(bars) >= 1, "pty: the bar is drawn", repr(shown[-500:]))
t.check(bars and bars[-1] == b"100", "pty: the bar ends at 100%", repr(shown[-500:]))
pcts = [int(x) for x in bars]
t.check(pcts == sorted(pcts), "pty: the percentage never goes back", repr(pcts))
last = shown.rfind(b"\r[")
t.check(last >= 0 and re.match(rb"\r\[[^\r\n]*\r?\n", shown[last:]) is not None,
        "pty: the bar's line is ended by a newline", repr(shown[last:]))
t.check(b"MiB" in shown, "pty: sizes shown", repr(shown[-300:]))
delivered(token, "pty")

# ---- stderr a pipe: nothing of it ------------------------------------------------------
p = run(mc, *BASE, "--eml", path)
t.check(p.returncode == 0, "pipe: exit 0", describe(p))
t.check(p.err == "", "pipe: stderr empty (no bar)", repr(p.err[-300:]))
delivered(token, "pipe")

# ---- off: --no-progress, small messages, --trace ---------------------------------------
rc, out, shown = run_pty(*BASE, "--no-progress", "--eml", path)
t.check(rc == 0 and b"MB/s" not in shown and b"\r[" not in shown, "--no-progress: no bar",
        repr(shown[-300:]))
delivered(token, "--no-progress")
small, stoken = message(64 * 1024)
rc, out, shown = run_pty(*BASE, "--eml", small)
t.check(rc == 0 and b"MB/s" not in shown, "small message: no bar", repr(shown[-300:]))
delivered(stoken, "small")
rc, out, shown = run_pty(*BASE, "--trace", "--eml", small)
t.check(rc == 0 and b"> MAIL FROM" in shown and b"MB/s" not in shown, "--trace: no bar",
        repr(shown[-300:]))
delivered(stoken, "--trace")

# ---- forced on a pipe ------------------------------------------------------------------
p = run(mc, *BASE, "--progress", "--eml", small)
t.check(p.returncode == 0, "--progress: exit 0", describe(p))
bars = BAR.findall(p.stderr)
t.check(bars and bars[-1] == b"100" and p.stderr.endswith(b"\n"),
        "--progress on a pipe: bar to 100%, then a newline", repr(p.stderr[-300:]))
delivered(stoken, "--progress")

# ---- several messages over the queue: one bar ------------------------------------------
many = [message(3 * 1024 * 1024) for _ in range(3)]
args = []
for mp, _ in many:
    args += ["--eml", mp]
rc, out, shown = run_pty(*BASE, "--jobs", "2", *args)
t.check(rc == 0, "queue on a pty: exit 0", "%d %s %r" % (rc, out, shown[-500:]))
bars = BAR.findall(shown)
t.check(bars and bars[-1] == b"100", "queue: one bar to 100%", repr(shown[-500:]))
t.check(re.search(rb"[0-9.]+/9\.0 MiB", shown) is not None, "queue: the total is 9 MiB",
        repr(shown[-300:]))
t.check(b"3 messages over 2 connections at most: 3 to every recipient" in shown,
        "queue: summary after the bar", repr(shown[-500:]))
for mp, tk in many:
    delivered(tk, "queue " + os.path.basename(mp))

__import__("shutil").rmtree(tmp, ignore_errors=True)
t.end()
