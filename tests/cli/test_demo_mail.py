#!/usr/bin/python3
"""test_demo_mail.py: `mimecodec demo` with its mail stage on a small size
against the real Postfix + Dovecot of the mailservers fixture: the verdict
line says PASS, the table has every stage, the JSON agrees, and a wrong
password gives the FAIL verdict with a non-zero exit.

usage: test_demo_mail.py MIMECODEC MAILSERVERS_SH STATE_DIR"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_send_common import T, load_env  # noqa: E402

mc, sh, state = sys.argv[1:4]
env = load_env(sh, state)
t = T()
tmp = tempfile.mkdtemp(prefix="mc-demo-")
pw = os.path.join(tmp, "pw")
with open(pw, "w") as f:
    f.write("bob-pw\n")
bad = os.path.join(tmp, "bad")
with open(bad, "w") as f:
    f.write("wrong\n")
js = os.path.join(tmp, "demo.json")
base = [mc, "demo", "--size-mib", "8", "--smtp", "smtp://127.0.0.1:" + env["MC_SMTP_PORT"],
        "--pop3", "pop3://127.0.0.1:" + env["MC_POP3_PORT"], "--user", "bob@example.test",
        "--cafile", env["MC_MAILSRV_CA"]]
p = subprocess.run(base + ["--password-file", pw, "--json", js], capture_output=True, text=True,
                   timeout=600)
desc = "exit %d\nstdout: %s\nstderr: %s" % (p.returncode, p.stdout[-4000:], p.stderr[-2000:])
t.check(p.returncode == 0, "demo: exit 0", desc)
t.check("every round trip is byte-identical" in p.stdout, "codec stage ran", desc)
t.check("demo: PASS: the 8 MiB attachment" in p.stdout, "verdict line PASS", desc)
for stage in ("compose + SMTP send (STARTTLS, AUTH)", "POP3 fetch (STLS)",
              "mmap + parse", "decode base64 attachment", "sha256 of the extracted file"):
    t.check(stage in p.stdout, "table row: " + stage, desc)
t.check("AUTH PLAIN" in p.stdout, "authenticated", desc)
try:
    with open(js) as f:
        j = json.load(f)
    t.check(j["ok"] is True and j["size_mib"] == 8 and len(j["stages"]) >= 8,
            "JSON figures", json.dumps(j)[:500])
    # the codec stage (a child process) hands its figures back for the JSON
    ks = j.get("kernels", [])
    t.check(j.get("memcpy_gb_s", 0) > 0 and any(k.get("kernel") == "scalar" for k in ks)
            and len(ks) % 2 == 0 and all(k["encode_gb_s"] > 0 and k["decode_gb_s"] > 0
                                          for k in ks),
            "JSON kernel figures beside memcpy", json.dumps(ks)[:500])
except (OSError, ValueError, KeyError, TypeError) as e:
    t.check(False, "JSON written", str(e))

p = subprocess.run(base + ["--password-file", bad], capture_output=True, text=True, timeout=600)
t.check(p.returncode != 0 and "demo: FAIL" in p.stdout and "wrong" not in p.stderr,
        "wrong password: FAIL verdict, exit non-zero, no secret printed",
        "exit %d\n%s\n%s" % (p.returncode, p.stdout[-1500:], p.stderr[-1500:]))

p = subprocess.run([mc, "demo", "--size-mib", "1"], capture_output=True, text=True, timeout=600)
t.check(p.returncode == 0 and "mail stage skipped" in p.stdout and "scripts/demo.sh" in p.stdout,
        "without servers: codec stage only, pointing to scripts/demo.sh", p.stdout[-1500:])
shutil.rmtree(tmp, ignore_errors=True)
t.end()
