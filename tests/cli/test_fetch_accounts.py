#!/usr/bin/python3
"""test_fetch_accounts.py: `mimecodec fetch --config FILE` against the real
Dovecot started by scripts/mailservers.sh: alice, bob and carol (POP3S,
STLS, one with keep) fetched in parallel into separate Maildirs, each
message exactly once in its own Maildir; --json lines carry the account; a
second run fetches nothing; one account with a wrong password fails (exit 1)
without stopping the others; bad config lines are refused with FILE:LINE
(exit 2) before anything is fetched.

usage: test_fetch_accounts.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
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
from test_send_common import T, load_env  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
POP3, POP3S = env["MC_POP3_PORT"], env["MC_POP3S_PORT"]
SMTP_NOTLS = env["MC_SMTP_NOTLS_PORT"]
t = T()
tmp = tempfile.mkdtemp(prefix="mc-fetch-accounts-")
USERS = ("alice", "bob", "carol")


def secret(name, text):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write(text + "\n")
    return p


PW = {u: secret(u + ".pw", u + "-pw") for u in USERS}
BADPW = secret("bad.pw", "wrong-password")


def run(*args):
    p = subprocess.run([mc, "fetch", *args], capture_output=True, timeout=300)
    p.out = p.stdout.decode("utf-8")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def describe(p):
    return "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.out[-3000:], p.err[-3000:])


def server_count(user):
    d = os.path.join(MAILDIR, user, "Maildir")
    return sum(len(os.listdir(os.path.join(d, s))) for s in ("new", "cur"))


def deliver(user, n):
    before = server_count(user)
    tokens = []
    s = smtplib.SMTP("127.0.0.1", int(SMTP_NOTLS), timeout=60)
    for i in range(n):
        tok = uuid.uuid4().hex
        data = ("From: alice@example.test\r\nTo: %s@example.test\r\nSubject: %s %d\r\n"
                "Message-ID: <%s@example.test>\r\n\r\nbody %s\r\n" % (user, user, i, tok, tok))
        s.sendmail("alice@example.test", [user + "@example.test"], data.encode())
        tokens.append(tok)
    s.quit()
    end = time.monotonic() + 60
    while server_count(user) < before + n and time.monotonic() < end:
        time.sleep(0.05)
    t.check(server_count(user) == before + n, "delivered to %s" % user)
    return tokens


def maildir_tokens(md):
    d = os.path.join(md, "new")
    out = []
    for name in os.listdir(d) if os.path.isdir(d) else []:
        with open(os.path.join(d, name), "rb") as f:
            data = f.read()
        out += [l.split()[1].decode() for l in data.splitlines() if l.startswith(b"body ")]
    return out


def config(name, lines):
    p = os.path.join(tmp, name)
    with open(p, "w") as f:
        f.write("".join(l + "\n" for l in lines))
    return p


# whatever earlier tests left in the mailboxes goes first
for u in USERS:
    p = run("--server", "pop3s://127.0.0.1:" + POP3S, "--user", u, "--password-file", PW[u],
            "--cafile", CA, "--maildir", os.path.join(tmp, "drain-" + u))
    t.check(p.returncode == 0 and server_count(u) == 0, "%s drained" % u, describe(p))

# ---- three accounts at once ------------------------------------------------------------
tokens = {u: deliver(u, 4) for u in USERS}
md = {u: os.path.join(tmp, "md-" + u) for u in USERS}
acc = {"alice": "alice@127.0.0.1:" + POP3S, "bob": "bob@127.0.0.1:" + POP3,
       "carol": "carol@127.0.0.1:" + POP3S}
cfg = config("accounts", [
    "# server                 user   password-file  maildir  [keep]",
    "pop3s://127.0.0.1:%s alice %s %s" % (POP3S, PW["alice"], md["alice"]),
    "",
    "  pop3://127.0.0.1:%s\tbob  %s   %s  " % (POP3, PW["bob"], md["bob"]),
    "pop3s://127.0.0.1:%s carol %s %s keep" % (POP3S, PW["carol"], md["carol"]),
])
p = run("--config", cfg, "--cafile", CA, "--json", "--parsers", "2")
t.check(p.returncode == 0, "--config: exit 0", describe(p))
ev = [json.loads(l) for l in p.out.splitlines()]
sums = {e["account"]: e for e in ev if e["event"] == "summary"}
t.check(sorted(sums) == sorted(acc.values()), "one summary per account", repr(sorted(sums)))
for u in USERS:
    s = sums.get(acc[u], {})
    t.check(s.get("fetched") == 4 and s.get("status") == "MC_OK",
            "%s: 4 fetched" % u, json.dumps(s))
    got = maildir_tokens(md[u])
    t.check(sorted(got) == sorted(tokens[u]), "%s: each message exactly once in its Maildir" % u,
            "got %r\nwant %r" % (sorted(got), sorted(tokens[u])))
    lines = [e for e in ev if e["event"] == "fetched" and e["account"] == acc[u]]
    t.check(sorted(e["message_id"].split("@")[0] for e in lines) == sorted(tokens[u]),
            "%s: --json lines name the account" % u)
    t.check(os.listdir(os.path.join(md[u], "tmp")) == [], "%s: tmp/ empty" % u)
    # the summary of an account follows all of its message lines
    last = max(i for i, e in enumerate(ev) if e["account"] == acc[u])
    t.check(ev[last]["event"] == "summary", "%s: its summary after its messages" % u)
t.check(server_count("alice") == 0 and server_count("bob") == 0, "deleted from the server")
t.check(server_count("carol") == 4, "keep: carol's mail stays")

p = run("--config", cfg, "--cafile", CA)
t.check(p.returncode == 0, "second run: exit 0", describe(p))
for u in USERS:
    t.check(acc[u] + ": " in p.out, "plain output names %s" % u, p.out)
t.check("0 fetched" in p.out and "4 already fetched" in p.out and " 1 fetched" not in p.out,
        "second run fetches nothing", p.out)
t.check(all(len(maildir_tokens(md[u])) == 4 for u in USERS), "second run: no duplicates")

# ---- one account fails, the others still fetch ----------------------------------------
more = {u: deliver(u, 2) for u in ("alice", "bob")}
cfg2 = config("accounts-bad-pw", [
    "pop3s://127.0.0.1:%s alice %s %s" % (POP3S, PW["alice"], md["alice"]),
    "pop3s://127.0.0.1:%s bob %s %s" % (POP3S, BADPW, md["bob"]),
])
p = run("--config", cfg2, "--cafile", CA, "--json")
t.check(p.returncode == 1, "one account refused: exit 1", describe(p))
ev = [json.loads(l) for l in p.out.splitlines()]
sums = {e["account"]: e for e in ev if e["event"] == "summary"}
t.check(sums.get("alice@127.0.0.1:" + POP3S, {}).get("fetched") == 2, "alice still fetched",
        p.out)
t.check(sums.get("bob@127.0.0.1:" + POP3S, {}).get("status") == "MC_EAUTH",
        "bob: the error in his summary", p.out)
t.check("bob@127.0.0.1:%s: " % POP3S in p.err, "bob: the error on stderr names him", p.err)
t.check(sorted(maildir_tokens(md["alice"])) == sorted(tokens["alice"] + more["alice"]),
        "alice: exactly once")
t.check(server_count("bob") == 2, "bob's mail untouched")

# ---- bad config files -------------------------------------------------------------------
bad = [
    (["pop3s://127.0.0.1:1 alice %s" % PW["alice"]], ":1:", "three fields"),
    (["# c", "pop3s://127.0.0.1:1 alice %s %s kept" % (PW["alice"], md["alice"])], ":2:",
     "bad fifth field"),
    (["", "", "imap://127.0.0.1:1 alice %s %s" % (PW["alice"], md["alice"])], ":3:",
     "bad server"),
    (["pop3s://127.0.0.1:1 a %s %s keep extra" % (PW["alice"], md["alice"])], ":1:",
     "six fields"),
    (["# only a comment"], "no accounts", "no accounts"),
]
for i, (lines, where, what) in enumerate(bad):
    c = config("bad%d" % i, lines)
    p = run("--config", c, "--cafile", CA)
    t.check(p.returncode == 2 and (c + where if where.startswith(":") else where) in p.err
            and p.out == "", "config %s: refused with FILE:LINE" % what, describe(p))
p = run("--config", os.path.join(tmp, "missing"), "--cafile", CA)
t.check(p.returncode == 1 and "missing" in p.err, "missing config: exit 1", describe(p))
p = run("--config", cfg, "--user", "bob")
t.check(p.returncode == 2 and "--config" in p.err, "--config with --user: usage", describe(p))
c = config("badpw", ["pop3s://127.0.0.1:%s alice %s %s" % (POP3S, tmp + "/nope.pw", md["alice"])])
p = run("--config", c, "--cafile", CA)
t.check(p.returncode == 1 and c + ":1:" in p.err, "unreadable password file: FILE:LINE",
        describe(p))
t.check(server_count("bob") == 2, "bad configs fetched nothing")

# leave the mailboxes empty for the next test
for u in USERS:
    run("--server", "pop3s://127.0.0.1:" + POP3S, "--user", u, "--password-file", PW[u],
        "--cafile", CA, "--maildir", os.path.join(tmp, "drain-" + u))
shutil.rmtree(tmp, ignore_errors=True)
t.end()
