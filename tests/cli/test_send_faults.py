#!/usr/bin/python3
"""test_send_faults.py: `mimecodec send` against tests/servers/faultsrv.py:
STARTTLS not offered while credentials are set, bytes injected after the
STARTTLS go-ahead, 421 and 451 mid-session (retried, delivered once), 550 (not
retried), connection dropped in DATA (retried, delivered once), retries
exhausted, slow replies (timeout), over-long reply lines, and an implicit-TLS
certificate issued to another host. The fault server uses the test CA made by
scripts/mailservers.sh.

usage: test_send_faults.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import atexit
import hashlib
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, describe, load_env, run  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
SRV = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "servers", "faultsrv.py")
t = T()
tmp = tempfile.mkdtemp(prefix="mc-faults-")
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("s3cret-pw\n")
BODY = b"From: a@example.test\r\nSubject: fault\r\n\r\n" + b"".join(
    b"line %d\r\n.dot %d\r\n" % (i, i) for i in range(200))
eml = os.path.join(tmp, "m.eml")
with open(eml, "wb") as f:
    f.write(BODY)
WANT = hashlib.sha256(BODY).hexdigest()


class Server:
    count = 0

    def __init__(self, mode, cert=None, key=None, delay=None, chunking=False):
        Server.count += 1
        self.log = os.path.join(tmp, "%s-%d.log" % (mode, Server.count))
        args = ["/usr/bin/python3", SRV, "--mode", mode, "--log", self.log,
                "--cert", cert or env["MC_MAILSRV_CERT"], "--key", key or env["MC_MAILSRV_KEY"]]
        if delay:
            args += ["--delay", str(delay)]
        if chunking:
            args += ["--chunking"]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
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
            self.p.kill()  # by the PID we started
        self.p.wait()
        self.p.stdout.close()


def send(srv, *extra, scheme="smtp", auth=True, retries="3", env=None):
    args = ["--server", "%s://127.0.0.1:%s" % (scheme, srv.port), "--cafile", CA,
            "--retries", retries, "--backoff", "20", "--timeout", "5",
            "--from", "a@example.test", "--to", "b@example.test", "--eml", eml, "--trace"]
    if auth:
        args += ["--user", "a", "--password-file", pw]
    return run(mc, *args, *extra, env=env)


def deliveries(ev):
    return [e for e in ev if e.startswith("DELIVERED")]


def conns(ev):
    return sum(1 for e in ev if e.startswith("CONN"))


# ---- STARTTLS not offered while credentials are set ----------------------------------
s = Server("nostarttls")
p = send(s)
ev = s.events()
t.check(p.returncode == 1 and "STARTTLS" in p.err, "no STARTTLS + credentials: refused",
        describe(p))
t.check(not any(" AUTH" in e or "s3cret" in e for e in ev), "no STARTTLS: AUTH never sent",
        "\n".join(ev))
t.check(conns(ev) == 1, "no STARTTLS: not retried")
p = send(s, auth=False)
t.check(p.returncode == 0 and len(deliveries(s.events())) == 1,
        "no STARTTLS, no credentials: sent in the clear", describe(p))
p = send(s, "--require-tls", auth=False)
t.check(p.returncode == 1 and len(deliveries(s.events())) == 1,
        "no STARTTLS, --require-tls: refused", describe(p))
s.stop()

# ---- bytes injected after the STARTTLS go-ahead --------------------------------------
s = Server("inject")
p = send(s)
ev = s.events()
t.check(p.returncode == 0, "injection: delivered", describe(p))
i = ev.index("TLS 1") if "TLS 1" in ev else -1
t.check(i >= 0 and ev[i + 1].startswith("CMD 1 EHLO"), "injection: EHLO again after TLS",
        "\n".join(ev))
t.check("INJECTED" not in p.err and "discarded" in p.err,
        "injection: injected lines discarded, never read as a reply", describe(p))
t.check([e.split()[2] for e in deliveries(ev)] == [WANT], "injection: body intact")
s.stop()

# ---- 421 / 451 mid-session: retried, delivered once -------------------------------------
for mode in ("421", "451"):
    s = Server(mode)
    p = send(s)
    ev = s.events()
    t.check(p.returncode == 0, mode + ": retried and delivered", describe(p))
    t.check(conns(ev) == 2 and len(deliveries(ev)) == 1, mode + ": 2 connections, 1 delivery",
            "\n".join(ev[-20:]))
    t.check("retry 1 of 3" in p.err, mode + ": retry traced", describe(p))
    s.stop()

s = Server("421always")
p = send(s, retries="2")
ev = s.events()
t.check(p.returncode == 1 and conns(ev) == 3 and "421" in p.err and "after 3 attempts" in p.err,
        "421 every time: 1 + 2 retries, then fail with the reply", describe(p))
s.stop()

s = Server("550mail")
p = send(s)
ev = s.events()
t.check(p.returncode == 1 and conns(ev) == 1 and "550 5.7.1" in p.err,
        "550: not retried, reply reported", describe(p))
s.stop()

# ---- connection dropped in DATA: retried, delivered exactly once ----------------------------
for chunking in (False, True):
    name = "drop in " + ("BDAT" if chunking else "DATA")
    s = Server("dropdata", chunking=chunking)
    p = send(s)
    ev = s.events()
    t.check(p.returncode == 0, name + ": delivered after retry", describe(p))
    t.check(conns(ev) == 2 and [e.split()[2] for e in deliveries(ev)] == [WANT],
            name + ": exactly one intact delivery", "\n".join(ev[-10:]))
    c2 = [e for e in ev if e.startswith("CMD 2 ")]
    t.check(any("BDAT" in e for e in c2) == chunking and (chunking or "CMD 2 DATA" in c2),
            name + ": the intended command was used", "\n".join(c2))
    s.stop()

# ---- slow replies: timeout --------------------------------------------------------------------
s = Server("slow", delay=4)
p = send(s, "--timeout", "1", retries="0")
t.check(p.returncode == 1 and "timed out" in p.err and p.elapsed < 3.5,
        "slow greeting: timed out after ~1 s (%.1f s)" % p.elapsed, describe(p))
s.stop()

# ---- over-long reply line -------------------------------------------------------------------
s = Server("longline")
p = send(s, auth=False)
t.check(p.returncode == 1 and "longer than" in p.err and conns(s.events()) == 1,
        "over-long reply line: refused, not retried", describe(p))
s.stop()

# ---- implicit TLS with another host's certificate (same CA) -------------------------------
s = Server("tls", cert=env["MC_MAILSRV_OTHER_CERT"], key=env["MC_MAILSRV_OTHER_KEY"])
p = send(s, scheme="smtps")
ev = s.events()
t.check(p.returncode == 1 and "certificate" in p.err, "other host's certificate: refused",
        describe(p))
t.check(not any(" AUTH" in e for e in ev), "other host's certificate: no AUTH")
p = send(s, "--insecure", scheme="smtps", auth=False)
t.check(p.returncode == 0 and "NOT verified" in p.err, "--insecure: accepted, said so",
        describe(p))
s.stop()

# ---- OpenSSL that cannot be loaded (smtp_pop/tls_api.c loads it on first use) ----
s = Server("tls")
for lib, why in (("/nonexistent/libssl.so.3", "OpenSSL not available: /nonexistent/libssl.so.3"),
                 ("libc.so.6", "OpenSSL not usable: libc.so.6 has no BIO_clear_flags")):
    p = send(s, scheme="smtps", env=dict(os.environ, MIMECODEC_LIBSSL=lib))
    t.check(p.returncode == 1 and why in p.err, "unloadable OpenSSL (%s): refused, said why" % lib,
            describe(p))
t.check(deliveries(s.events()) == [] and not any(" AUTH" in e for e in s.events()),
        "unloadable OpenSSL: nothing sent")
p = send(s, scheme="smtps", auth=False, env=dict(os.environ, MIMECODEC_LIBSSL=""))
t.check(p.returncode == 0 and len(deliveries(s.events())) == 1,
        "MIMECODEC_LIBSSL empty: the default libssl.so.3", describe(p))
s.stop()
__import__("shutil").rmtree(tmp, ignore_errors=True)
t.end()
