#!/usr/bin/python3
"""test_fetch_stress.py: `mimecodec fetch` under load and under kill -9,
against the real Postfix (delivery) and Dovecot (POP3S) started by
scripts/mailservers.sh.

(a) 1,000 small distinct messages delivered on one SMTP connection are
    fetched in one run: each is in the Maildir exactly once (compared by the
    SHA-256 of its body: Postfix adds Received/Return-Path) and the server
    is empty afterwards.
(b) Rounds (up to 10, none started after 35 s) of 200 messages (every
    tenth 200-400 KiB, so a RETR takes time), each fetched by runs sent
    SIGKILL after a random 5-200 ms (seeded RNG, MC_STRESS_SEED) until one
    run completes cleanly. After every run each message is in the Maildir at
    most once and is in the Maildir or still on the server (never lost);
    after each clean run no tmp/ file is also in new/ (a kill between the
    link and the unlink leaves both names until the next run). After a final
    clean run each is in the Maildir exactly once and the server is empty.
    Stray tmp/ files (deliveries a kill cut short, never journalled) are
    reported.

usage: test_fetch_stress.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import hashlib
import os
import poplib
import random
import shutil
import signal
import smtplib
import ssl
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
POP3S = env["MC_POP3S_PORT"]
SMTP_NOTLS = env["MC_SMTP_NOTLS_PORT"]
USER = "carol"
SEED = int(os.environ.get("MC_STRESS_SEED", "20240611"))
N_SMALL = int(os.environ.get("MC_STRESS_SMALL", "1000"))
N_KILL = int(os.environ.get("MC_STRESS_KILL", "200"))
MAX_RUNS = 200  # over all rounds
ROUNDS = int(os.environ.get("MC_STRESS_ROUNDS", "10"))
BUDGET = 35  # seconds since the start: no new round after that
t = T()
tmp = tempfile.mkdtemp(prefix="mc-fetch-stress-")
pwfile = os.path.join(tmp, USER + ".pw")
with open(pwfile, "w") as f:
    f.write(USER + "-pw\n")
ARGS = ["--server", "pop3s://127.0.0.1:" + POP3S, "--user", USER, "--password-file", pwfile,
        "--cafile", CA]
T0 = time.monotonic()


def log(msg):
    print("[%5.1f s] %s" % (time.monotonic() - T0, msg), flush=True)


def fetch(md, timeout=300):
    p = subprocess.run([mc, "fetch", *ARGS, "--maildir", md], capture_output=True,
                       timeout=timeout)
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def describe(p):
    return "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.out[-2000:], p.err[-3000:])


def server_dir():
    return os.path.join(MAILDIR, USER, "Maildir")


def server_count():
    d = server_dir()
    return sum(len(os.listdir(os.path.join(d, s))) for s in ("new", "cur")
               if os.path.isdir(os.path.join(d, s)))


def server_stat():
    ctx = ssl.create_default_context(cafile=CA)
    s = poplib.POP3_SSL("127.0.0.1", int(POP3S), context=ctx, timeout=30)
    try:
        s.user(USER)
        s.pass_(USER + "-pw")
        return s.stat()[0]
    finally:
        s.quit()


def token_of(head):
    i = head.find(b"X-Stress-Token: ")
    return head[i + 16:i + 48] if i >= 0 else None


def server_tokens():
    """Tokens of the messages in the server's Maildir (Dovecot may rename a
    file from new/ to cur/ while we look: retried)."""
    for _ in range(5):
        try:
            out = []
            for sub in ("new", "cur"):
                d = os.path.join(server_dir(), sub)
                for name in os.listdir(d):
                    with open(os.path.join(d, name), "rb") as f:
                        out.append(token_of(f.read(4096)))
            return out
        except FileNotFoundError:
            time.sleep(0.05)
    raise RuntimeError("server Maildir kept changing")


def drain():
    """Empties the user's mailbox of what other tests left there."""
    if server_count():
        p = fetch(os.path.join(tmp, "drain-md"))
        t.check(p.returncode == 0 and server_count() == 0, "drained the mailbox", describe(p))


def deliver(bodies):
    """Sends each body through Postfix on one SMTP connection and waits until
    Dovecot has them all. Returns {token: body}."""
    before = server_count()
    msgs = {}
    s = smtplib.SMTP("127.0.0.1", int(SMTP_NOTLS), timeout=120)
    for b in bodies:
        token = uuid.uuid4().hex.encode()
        data = (b"From: alice@example.test\r\nTo: " + USER.encode() + b"@example.test\r\n"
                b"Subject: stress " + token + b"\r\nMessage-ID: <" + token +
                b"@example.test>\r\nX-Stress-Token: " + token + b"\r\n\r\n" + token +
                b"\r\n" + b)
        s.sendmail("alice@example.test", [USER + "@example.test"], data)
        msgs[token] = body_of(data)
    s.quit()
    end = time.monotonic() + 120
    while server_count() < before + len(bodies) and time.monotonic() < end:
        time.sleep(0.05)
    t.check(server_count() == before + len(bodies), "delivered %d to %s (%d there)"
            % (len(bodies), USER, server_count() - before))
    n = server_stat()
    t.check(n == before + len(bodies), "Dovecot's STAT shows all %d" % len(bodies),
            "STAT says %d" % n)
    return msgs


md_cache = {}  # Maildir file path -> (token, body hash): files in new/ never change


def maildir_scan(md):
    """{token: [body sha256, ...]} of the files in md/new."""
    out = {}
    d = os.path.join(md, "new")
    for name in os.listdir(d) if os.path.isdir(d) else []:
        path = os.path.join(d, name)
        if path not in md_cache:
            with open(path, "rb") as f:
                data = f.read()
            md_cache[path] = (token_of(data[:4096]), hashlib.sha256(body_of(data)).hexdigest())
        tok, h = md_cache[path]
        out.setdefault(tok, []).append(h)
    return out


def tmp_state(md):
    """(the files in tmp/, those of them also in new/)"""
    tdir, ndir = os.path.join(md, "tmp"), os.path.join(md, "new")
    stray = sorted(os.listdir(tdir)) if os.path.isdir(tdir) else []
    new = {n.rsplit(",S=", 1)[0] for n in os.listdir(ndir)} if os.path.isdir(ndir) else set()
    return stray, [n for n in stray if n in new]


def tmp_check(md, name):
    """Fails on a tmp/ file that is also in new/; returns the stray tmp/ files."""
    stray, both = tmp_state(md)
    t.check(not both, "%s: no tmp/ file also in new/" % name, repr(both[:5]))
    return stray


def check_exactly_once(md, msgs, name):
    got = maildir_scan(md)
    want = {tok: hashlib.sha256(b).hexdigest() for tok, b in msgs.items()}
    missing = [tok for tok in want if tok not in got]
    dup = [tok for tok in want if len(got.get(tok, [])) > 1]
    bad = [tok for tok in want if tok in got and any(h != want[tok] for h in got[tok])]
    extra = [tok for tok in got if tok not in want]
    t.check(not missing, "%s: every message in the Maildir (%d missing)" % (name, len(missing)),
            repr(missing[:5]))
    t.check(not dup, "%s: no message twice (%d duplicated)" % (name, len(dup)), repr(dup[:5]))
    t.check(not bad, "%s: bodies byte-identical (%d differ)" % (name, len(bad)), repr(bad[:5]))
    t.check(not extra, "%s: nothing else in the Maildir (%d)" % (name, len(extra)),
            repr(extra[:5]))
    t.check(server_count() == 0, "%s: the server is empty (%d left)" % (name, server_count()))


# ---- (a) 1,000 small messages in one run ---------------------------------------------
drain()
body = b"line one\r\n.leading dot\r\n..two dots\r\n.\r\nlast line\r\n"
t1 = time.monotonic()
msgs = deliver([b"small message %d\r\n" % i + body for i in range(N_SMALL)])
t_deliver = time.monotonic() - t1
md = os.path.join(tmp, "small-md")
t1 = time.monotonic()
p = fetch(md)
t_fetch = time.monotonic() - t1
t.check(p.returncode == 0 and ("%d fetched" % N_SMALL) in p.out
        and ("%d deleted" % N_SMALL) in p.out, "%d messages: fetched and deleted" % N_SMALL,
        describe(p))
check_exactly_once(md, msgs, "%d small" % N_SMALL)
t.check(tmp_check(md, "small") == [], "small: tmp/ empty")
log("(a) %d messages: delivered through Postfix in %.1f s, fetched over POP3S in %.1f s"
    % (N_SMALL, t_deliver, t_fetch))

# ---- (b) kill -9 at random moments ------------------------------------------------------
# Rounds of N_KILL messages: each round is fetched by runs killed after a
# random delay until one completes cleanly (a run fetches ~100 messages in
# 200 ms here, so one round alone would see only a few kills).
rng = random.Random(SEED)
md = os.path.join(tmp, "kill-md")
errlog = os.path.join(tmp, "fetch.err")
msgs = {}
runs = killed = rounds = 0
seen_stray = set()
seen_both = set()  # tmp/ files also in new/ after a kill
progress = []  # messages newly in the Maildir after each killed run
t_kill = 0.0
drain()
while rounds < ROUNDS and (rounds == 0 or time.monotonic() - T0 < BUDGET):
    rounds += 1
    bodies = []
    for i in range(N_KILL):
        if i % 10 == 5:  # 200-400 KiB: a RETR that takes a while
            n = rng.randrange(200, 400) * 1024 // 80
            bodies.append(b"".join(b"big %4d line %6d %s\r\n" % (i, k, b"x" * 60)
                                   for k in range(n)))
        else:
            bodies.append(b"kill message %d\r\n" % i + body)
    t1 = time.monotonic()
    msgs.update(deliver(bodies))
    log("(b) round %d: %d messages (%d large, %.1f MiB) delivered in %.1f s"
        % (rounds, N_KILL, N_KILL // 10, sum(map(len, bodies)) / 2**20, time.monotonic() - t1))
    clean = None
    t1 = time.monotonic()
    r0, k0 = runs, killed
    while runs < MAX_RUNS and clean is None:
        delay = rng.uniform(0.005, 0.200)
        before = len(maildir_scan(md))
        with open(errlog, "wb") as ef:
            p = subprocess.Popen([mc, "fetch", *ARGS, "--maildir", md],
                                 stdout=subprocess.DEVNULL, stderr=ef, stdin=subprocess.DEVNULL)
            runs += 1
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                # Not yet reaped, so the PID is still ours (at worst a zombie).
                os.kill(p.pid, signal.SIGKILL)
                killed += 1
            p.wait()
        if p.returncode == 0:
            clean = runs
        elif p.returncode != -signal.SIGKILL:
            with open(errlog, "rb") as ef:
                log("run %d: exit %d: %s" % (runs, p.returncode,
                                             ef.read().decode("utf-8", "replace")[-500:]))
        # the invariant after every run: in the Maildir at most once, and in
        # the Maildir or still on the server
        got = maildir_scan(md)
        if p.returncode == -signal.SIGKILL:
            progress.append(len(got) - before)
        on_server = set(server_tokens())
        lost = [tok for tok in msgs if tok not in got and tok not in on_server]
        dup = [tok for tok in msgs if len(got.get(tok, [])) > 1]
        if not t.check(not lost and not dup, "kill run %d: nothing lost (%d), nothing twice (%d)"
                       % (runs, len(lost), len(dup)), repr((lost[:3], dup[:3]))):
            break
        # a kill between the link into new/ and the unlink from tmp/ leaves
        # both names (the file's journal line lets the next run finish the
        # move); checked for after each clean run
        st, both = tmp_state(md)
        seen_stray.update(st)
        seen_both.update(both)
    t_kill += time.monotonic() - t1
    if clean:
        tmp_check(md, "round %d, after the clean run" % rounds)
    got = maildir_scan(md)
    log("(b) round %d: %d runs in %.1f s, %d killed, %s; %d of %d in the Maildir, %d on the server"
        % (rounds, runs - r0, time.monotonic() - t1, killed - k0,
           "run %d completed cleanly" % clean if clean else "none clean",
           sum(1 for tok in msgs if tok in got), len(msgs), server_count()))
    if clean is None:
        break
log("(b) %d rounds, %d runs, %d killed in %.1f s; messages newly in the Maildir per killed "
    "run: %s" % (rounds, runs, killed, t_kill, sorted(progress)))
t.check(killed > 0, "the fetcher was killed at least once")
tmp_check(md, "before the final run")
p = fetch(md)
t.check(p.returncode == 0, "final clean run: exit 0", describe(p))
log("(b) final run: %s" % (p.out.strip().splitlines() or ["(no output)"])[-1])
check_exactly_once(md, msgs, "after kill -9")
stray = tmp_check(md, "after the final run")
log("(b) stray tmp/ files: %d seen over the runs, %d left (deliveries cut short before "
    "their journal line: ignored by Maildir readers, never removed by fetch); killed between link and unlink (in tmp/ and new/, "
    "completed by the next run): %d" % (len(seen_stray), len(stray), len(seen_both)))
log("total %.1f s" % (time.monotonic() - T0))
shutil.rmtree(tmp, ignore_errors=True)
t.end()
