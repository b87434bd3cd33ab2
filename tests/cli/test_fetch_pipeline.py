#!/usr/bin/python3
"""test_fetch_pipeline.py: `mimecodec fetch --json` summaries against the real
Dovecot (mail delivered through the real Postfix) started by
scripts/mailservers.sh: messages composed here with Python's email package
(non-ASCII senders and subjects in several scripts and charsets, UTF-8,
ISO-2022-JP and KOI8-R bodies, RFC 2231 attachment names, nested
multiparts, an HTML-only message, a body longer than --text-max) come back
as one JSON line each whose sender, subject, text and attachments (names,
types, decoded sizes) are exactly what was sent; the summary line comes
last and counts them; the lines are valid UTF-8 JSON whatever the order.

usage: test_fetch_pipeline.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import json
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.policy import SMTP

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, load_env  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
POP3S = env["MC_POP3S_PORT"]
SMTP_NOTLS = env["MC_SMTP_NOTLS_PORT"]
t = T()
tmp = tempfile.mkdtemp(prefix="mc-fetch-pipeline-")
USER = "bob"
PW = os.path.join(tmp, "bob.pw")
with open(PW, "w") as f:
    f.write("bob-pw\n")
BASE = ["--server", "pop3s://127.0.0.1:" + POP3S, "--user", USER, "--password-file", PW,
        "--cafile", CA]


def fetch(*args):
    p = subprocess.run([mc, "fetch", *BASE, *args], capture_output=True, timeout=300)
    p.out = p.stdout.decode("utf-8")  # must be valid UTF-8
    p.err = p.stderr.decode("utf-8", "replace")
    return p


def describe(p):
    return "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.out[-3000:], p.err[-3000:])


def server_count(user):
    d = os.path.join(MAILDIR, user, "Maildir")
    return sum(len(os.listdir(os.path.join(d, s))) for s in ("new", "cur"))


def deliver(user, msgs):
    before = server_count(user)
    s = smtplib.SMTP("127.0.0.1", int(SMTP_NOTLS), timeout=60)
    for m in msgs:
        s.sendmail("alice@example.test", [user + "@example.test"], m.as_bytes(policy=SMTP))
    s.quit()
    end = time.monotonic() + 60
    while server_count(user) < before + len(msgs) and time.monotonic() < end:
        time.sleep(0.05)
    t.check(server_count(user) == before + len(msgs), "delivered to %s" % user)


# whatever earlier tests left in the mailbox goes first
p = fetch("--maildir", os.path.join(tmp, "drain"))
t.check(p.returncode == 0 and server_count(USER) == 0, "mailbox drained", describe(p))


def message(sender, subject, text=None, charset="utf-8", html=None, attach=(), html_only=False):
    m = EmailMessage()
    m["From"] = sender
    m["To"] = USER + "@example.test"
    m["Subject"] = subject
    m["Date"] = "Tue, 01 Dec 2026 10:00:00 +0100"
    m["Message-ID"] = "<%s@example.test>" % uuid.uuid4().hex
    if html_only:
        m.set_content(html, subtype="html")
    else:
        m.set_content(text, charset=charset)
        if html:
            m.add_alternative(html, subtype="html")
    for name, maintype, subtype, data in attach:  # base64: the bytes as they are
        m.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return m


PDF = bytes(range(256)) * 40 + b"%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + bytes((i * 7) % 256 for i in range(5000))
LONG = "".join("Zeile %04d: Größe ändert sich – ✓\n" % i for i in range(400))
cases = [
    # (message, expected from name, address, text, truncated, attachments)
    (message("Jürgen Müller <juergen@example.test>", "Grüße aus Köln ☕ – Bericht",
             "Hallo Bob,\nanbei der Bericht über Größen.\n\nGruß\nJürgen\n",
             html="<p>Hallo <b>Bob</b></p>\n",
             attach=[("Bericht für Köln.pdf", "application", "pdf", PDF)]),
     "Jürgen Müller", "juergen@example.test",
     "Hallo Bob,\nanbei der Bericht über Größen.\n\nGruß\nJürgen\n", False,
     [("Bericht für Köln.pdf", "application/pdf", len(PDF))]),
    (message("山田 太郎 <taro@example.test>", "日本語の件名です（テスト）",
             "こんにちは。\n添付ファイルを送ります。\n", charset="iso-2022-jp",
             attach=[("報告書.txt", "text", "plain", "一行目\n二行目\n".encode())]),
     "山田 太郎", "taro@example.test", "こんにちは。\n添付ファイルを送ります。\n", False,
     [("報告書.txt", "text/plain", len("一行目\n二行目\n".encode()))]),
    (message("Иван Петров <ivan@example.test>", "Привет, мир! Ελληνικά 🎉",
             "Добрый день!\nΚαλημέρα.\n", charset="utf-8",
             attach=[("картинка.png", "image", "png", PNG),
                     ("données.bin", "application", "octet-stream", b"\x00\x01" * 999)]),
     "Иван Петров", "ivan@example.test", "Добрый день!\nΚαλημέρα.\n", False,
     [("картинка.png", "image/png", len(PNG)),
      ("données.bin", "application/octet-stream", 1998)]),
    (message("plain@example.test", "Только HTML", html="<html><body>Ünïcödé</body></html>\n",
             html_only=True),
     None, "plain@example.test", "<html><body>Ünïcödé</body></html>\n", False, []),
]
# KOI8-R body: Python encodes it with the charset given
cases.append((message("\"Koi, Eight\" <koi@example.test>", "KOI8-R тело",
                      "Съешь же ещё этих мягких французских булок.\n", charset="koi8-r"),
              "Koi, Eight", "koi@example.test",
              "Съешь же ещё этих мягких французских булок.\n", False, []))
TEXT_MAX = 2000
cut = LONG.encode()[:TEXT_MAX].decode("utf-8", "ignore")
cases.append((message("Long <long@example.test>", "long body", LONG), "Long", "long@example.test",
              cut, True, []))
deliver(USER, [c[0] for c in cases])

md = os.path.join(tmp, "md")
p = fetch("--maildir", md, "--json", "--parsers", "3", "--text-max", str(TEXT_MAX))
t.check(p.returncode == 0, "--json: exit 0", describe(p))
lines = p.out.splitlines()
ev = []
for l in lines:
    try:
        ev.append(json.loads(l))
    except ValueError:
        t.check(False, "every line is one JSON object", l[:300])
t.check(ev and ev[-1]["event"] == "summary", "the summary comes last", p.out[-500:])
if ev:
    s = ev[-1]
    t.check(s["fetched"] == len(cases) and s["parsed"] == len(cases) and s["parse_failed"] == 0
            and s["account"] == "bob@127.0.0.1:" + POP3S and s["bytes"] > 0,
            "summary: counts and account", json.dumps(s))
got = {e["message_id"]: e for e in ev if e.get("event") == "fetched"}
t.check(len(got) == len(cases) and sum(e.get("event") == "fetched" for e in ev) == len(cases),
        "one line per message", p.out[:1000])
for m, name, addr, text, truncated, atts in cases:
    mid = m["Message-ID"].strip("<>")
    e = got.get(mid)
    what = m["Subject"]
    if not t.check(e is not None, "%s: line present" % what):
        continue
    t.check(e["from"] == {"name": name, "address": addr}, "%s: sender" % what, repr(e["from"]))
    t.check(e["subject"] == str(m["Subject"]), "%s: subject" % what, repr(e["subject"]))
    t.check(e["date"] == "Tue, 01 Dec 2026 10:00:00 +0100", "%s: date" % what, repr(e["date"]))
    t.check(e["text"] == text, "%s: text" % what, "got %r\nwant %r" % (e["text"], text))
    t.check(e["text_truncated"] is truncated, "%s: text_truncated" % what)
    t.check(e["text_type"] == ("text/html" if "HTML" in what else "text/plain"),
            "%s: text_type" % what, repr(e["text_type"]))
    want = [{"filename": a, "content_type": c, "size": n} for a, c, n in atts]
    t.check(e["attachments"] == want, "%s: attachments" % what,
            "got %r\nwant %r" % (e["attachments"], want))
    path = os.path.join(md, e["file"])
    t.check(e["file"].startswith("new/") and os.path.isfile(path)
            and os.path.getsize(path) == e["size"] and e["path"] == path,
            "%s: file and size" % what, repr(e))
t.check(len(os.listdir(os.path.join(md, "new"))) == len(cases), "Maildir: every message once")
t.check(server_count(USER) == 0, "deleted from the server")

# without --json the output is today's (no pipeline): one line per message and the counts
deliver(USER, [cases[0][0]])
p = fetch("--maildir", md)
t.check(p.returncode == 0 and "1 fetched" in p.out and not p.out.lstrip().startswith("{"),
        "plain fetch unchanged", describe(p))

shutil.rmtree(tmp, ignore_errors=True)
t.end()
