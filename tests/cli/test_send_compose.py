#!/usr/bin/python3
"""test_send_compose.py: `mimecodec send` composing the message from options
(--subject, --text, --cc, --attach ...) and streaming it into the real Postfix
started by scripts/mailservers.sh: delivered to every --to and --cc, text and
attachment byte-identical after parsing the Maildir copy (our parser and
Python's email package), over BDAT and DATA. Plus the provider table without
network (--print-server) and the usage errors.

usage: test_send_compose.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, describe, load_env, run, wait_maildir  # noqa: E402

mc, sh, state = sys.argv[1:4]
t = T()

# ---- provider table: no network -------------------------------------------------------
providers = {
    "a@gmail.com": "smtp://smtp.gmail.com:587",
    "A <a@GMail.com>": "smtp://smtp.gmail.com:587",
    "a@outlook.com": "smtp://smtp-mail.outlook.com:587",
    "a@hotmail.com": "smtp://smtp-mail.outlook.com:587",
    "a@live.com": "smtp://smtp-mail.outlook.com:587",
    "a@office365.com": "smtp://smtp.office365.com:587",
    "a@yahoo.com": "smtps://smtp.mail.yahoo.com:465",
    "a@163.com": "smtps://smtp.163.com:465",
    "a@126.com": "smtps://smtp.126.com:465",
    "a@qq.com": "smtps://smtp.qq.com:465",
}
for frm, want in providers.items():
    p = run(mc, "--from", frm, "--to", "b@example.test", "--print-server")
    t.check(p.returncode == 0 and p.out.strip() == want, "provider of %s is %s" % (frm, want),
            describe(p))
p = run(mc, "--server", "smtps://mx.example.test:2465", "--from", "a@gmail.com", "--to",
        "b@example.test", "--print-server")
t.check(p.returncode == 0 and p.out.strip() == "smtps://mx.example.test:2465",
        "--server wins over the table", describe(p))
p = run(mc, "--from", "a@example.test", "--to", "b@example.test", "--text", "x")
t.check(p.returncode == 2 and "--server" in p.err and "example.test" in p.err,
        "unknown domain: usage error asking for --server", describe(p))
p = run(mc, "--help")
t.check(p.returncode == 0 and "smtp-mail.outlook.com" in p.out and "--attach" in p.out,
        "--help lists the providers and the compose options", describe(p))
p = run(mc, "--server", "smtp://127.0.0.1:1", "--from", "a@example.test", "--to",
        "b@example.test", "--eml", "/dev/null", "--subject", "x")
t.check(p.returncode == 2 and "excludes" in p.err, "--eml with compose options refused",
        describe(p))
p = run(mc, "--server", "smtp://127.0.0.1:1", "--from", "a@example.test", "--to",
        "b@example.test")
t.check(p.returncode == 2 and "no message" in p.err, "no message: usage error", describe(p))
p = run(mc, "--server", "smtp://127.0.0.1:1", "--from", "a@example.test", "--to",
        "b@example.test", "--subject", "a\r\nBcc: evil@example.test")
t.check(p.returncode != 0 and "Bcc" not in p.out, "CRLF in --subject refused", describe(p))
p = run(mc, "--server", "smtp://127.0.0.1:1", "--from", "a@example.test", "--to",
        "Bob <b@example.test>\r\nRCPT TO:<c@example.test>", "--text", "x")
t.check(p.returncode != 0 and "accepted" not in p.out, "CRLF before <addr> in --to refused",
        describe(p))

# ---- delivered by the real Postfix --------------------------------------------------------
env = load_env(sh, state)
CA = env["MC_MAILSRV_CA"]
MAILDIR = env["MC_MAILSRV_MAILDIR"]
SMTP = env["MC_SMTP_PORT"]
tmp = tempfile.mkdtemp(prefix="mc-send-compose-")
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("alice-pw\n")
AUTH = ["--server", "smtp://127.0.0.1:" + SMTP, "--cafile", CA, "--user", "alice",
        "--password-file", pw]
text = "Hello Bob,\nGrüße, Привет, こんにちは.\n.a line starting with a dot\n"
html = os.path.join(tmp, "body.html")
with open(html, "w") as f:
    f.write("<p>Hello <b>Bob</b></p>\n")
small = os.path.join(tmp, "notes.txt")
with open(small, "wb") as f:
    f.write(b"plain text attachment\n.dot\n")
big = os.path.join(tmp, "payload.bin")
with open(big, "wb") as f:
    f.write(os.urandom(24 * 1024 * 1024 + 13))
files = {"notes.txt": small, "payload.bin": big}


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


for mode in ([], ["--no-chunking"]):
    name = "compose + send " + ("DATA" if mode else "BDAT")
    token = uuid.uuid4().hex
    p = run(mc, *AUTH, *mode, "--trace", "--from", "Alice Example <alice@example.test>",
            "--to", "bob@example.test", "--cc", "carol@example.test",
            "--subject", "compose test " + token + " ünïcode", "--text", text,
            "--html-file", html, "--attach", small, "--attach", big, timeout=300)
    t.check(p.returncode == 0, name + ": exit 0", describe(p))
    t.check("bob@example.test: accepted" in p.out and "carol@example.test: accepted" in p.out,
            name + ": To and Cc both envelope recipients", describe(p))
    t.check(" SIZE=" in p.err, name + ": SIZE= announced", describe(p))
    for user in ("bob", "carol"):
        m = wait_maildir(MAILDIR, user, token.encode(), timeout=60)
        if not t.check(m is not None, "%s: in %s's Maildir" % (name, user)):
            continue
        # the exact size the composer announced is what Postfix received (plus its headers)
        out = os.path.join(tmp, "x-" + user + token)
        x = subprocess.run([mc, "extract", "-o", out, m], capture_output=True)
        t.check(x.returncode == 0, name + ": extract ran", x.stderr.decode(errors="replace"))
        for fn, src in files.items():
            got = os.path.join(out, fn)
            t.check(os.path.exists(got) and sha(got) == sha(src),
                    "%s: %s byte-identical after our parser (%s)" % (name, fn, user))
        with open(m, "rb") as f:
            msg = email.message_from_binary_file(f, policy=email.policy.default)
        t.check(str(msg["From"]) == "Alice Example <alice@example.test>", name + ": From",
                str(msg["From"]))
        t.check("carol@example.test" in str(msg["Cc"]), name + ": Cc header", str(msg["Cc"]))
        t.check(token in str(msg["Subject"]) and "ünïcode" in str(msg["Subject"]),
                name + ": subject decoded", str(msg["Subject"]))
        body = msg.get_body(preferencelist=("plain",))
        t.check(body is not None and body.get_content().replace("\r\n", "\n") == text,
                name + ": text body intact (Python)")
        atts = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
        with open(big, "rb") as f:
            t.check(atts.get("payload.bin") == f.read(), name + ": attachment intact (Python)")
        os.unlink(m)
        shutil.rmtree(out, ignore_errors=True)

shutil.rmtree(tmp, ignore_errors=True)
t.end()
