"""test_send_common.py: helpers shared by the send tests (not a test itself).

The tests take: MIMECODEC MAILSERVERS_SH STATE_DIR. The servers are started
by the ctest fixture (scripts/mailservers.sh start STATE_DIR); their ports
and CA come from `mailservers.sh env STATE_DIR`."""
import os
import re
import subprocess
import sys
import time


class T:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            self.failed += 1
            print("FAIL %s%s" % (what, ("\n    " + detail.replace("\n", "\n    ")) if detail else ""),
                  flush=True)
        return cond

    def end(self):
        print("%d passed, %d failed" % (self.passed, self.failed), flush=True)
        sys.exit(1 if self.failed else 0)


def load_env(sh, state):
    r = subprocess.run([sh, "env", state], capture_output=True, text=True)
    if r.returncode != 0:  # the servers are not up (e.g. not root): skipped
        print("mail servers not running: " + r.stderr.strip(), flush=True)
        sys.exit(77)
    out = r.stdout
    env = {}
    for m in re.finditer(r"(\w+)=(\S+)", out):
        env[m.group(1)] = m.group(2)
    return env


def run(mc, *args, timeout=120, stdin=None, env=None):
    t0 = time.monotonic()
    p = subprocess.run([mc, "send", *args], capture_output=True, timeout=timeout, input=stdin,
                       env=env)
    p.elapsed = time.monotonic() - t0
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def describe(p):
    return "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.out[-2000:], p.err[-3000:])


def wait_maildir(maildir, user, token, timeout=20.0):
    """Path of the delivered message in <user>'s Maildir containing token (bytes)."""
    d = os.path.join(maildir, user, "Maildir", "new")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        for name in sorted(os.listdir(d)):
            path = os.path.join(d, name)
            try:
                with open(path, "rb") as f:
                    head = f.read(1 << 16)
            except FileNotFoundError:
                continue
            if token in head:
                return path
        time.sleep(0.05)
    return None


def body_of(data):
    """The body after the header block (LF or CRLF line ends)."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        i = data.find(sep)
        if i >= 0:
            return data[i + len(sep):]
    return b""
