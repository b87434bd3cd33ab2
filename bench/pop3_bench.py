#!/usr/bin/python3
"""pop3_bench.py: POP3 RETR download speed of mimecodec beside curl, mpop,
Python's poplib and a raw read, from a real Dovecot, in one run.

Driven by scripts/bench_pop3.sh, which builds, starts the servers and passes
their env.sh values in the environment (MC_POP3_PORT, MC_POP3S_PORT,
MC_MAILSRV_CA, MC_MAILSRV_MAILDIR). Usage:

  pop3_bench.py --build DIR [--size-mib 64] [--runs 3] [--work DIR]
                [--out bench/RESULTS_POP3.md] [--json FILE] [--command TEXT]

One message of --size-mib MiB is put into bob's Maildir (as a file, the way
a delivery agent would leave it), then for each mode (plain, STLS, POP3S)
each tool downloads it --runs times: the best time gives MB/s (10^6 bytes
of the RETR response, CRLF line ends, per second of the whole process:
connect, login, transfer, storage, exit), and /usr/bin/time -f %M the peak
RSS (the largest of the runs). The runs go in rounds of every tool once, so a
burst of load on a shared machine hits every tool alike. Every tool's
output size is checked.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import time

USER, PASSWORD = "bob", "bob-pw"
HOST = "127.0.0.1"
MODES = ("plain", "stls", "pop3s")
TOOLS = ("mimecodec", "curl", "mpop", "poplib", "raw")

POPLIB = r"""
import poplib, ssl, sys
host, port, mode, user, pw, ca, out = sys.argv[1:8]
ctx = ssl.create_default_context(cafile=ca)
p = poplib.POP3_SSL(host, int(port), context=ctx) if mode == "pop3s" else poplib.POP3(host, int(port))
if mode == "stls":
    p.stls(context=ctx)
p.user(user); p.pass_(pw)
resp, lines, octets = p.retr(1)
with open(out, "wb") as f:
    f.write(b"\r\n".join(lines) + b"\r\n")
p.quit()
"""


def die(msg):
    sys.exit("pop3_bench.py: " + msg)


def make_message(maildir, size):
    """A MIME message of about `size` bytes with LF line ends (as Maildir
    stores them): a text part with lines that start with a dot (stuffed on
    the wire) and a base64 attachment of 76-column lines. Returns the size
    of the RETR body with CRLF line ends."""
    for sub in ("new", "cur", "tmp"):
        d = os.path.join(maildir, sub)
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
    head = (b"From: alice@example.test\nTo: bob@example.test\nSubject: pop3 bench\n"
            b"Message-ID: <pop3-bench@example.test>\nDate: Thu, 03 Dec 2026 12:00:00 +0000\n"
            b"MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"b\"\n\n"
            b"--b\nContent-Type: text/plain\n\nA line.\n.a line that starts with a dot\n"
            b"..two dots\n.\nend of text\n--b\nContent-Type: application/octet-stream\n"
            b"Content-Transfer-Encoding: base64\n\n")
    tail = b"--b--\n"
    import base64
    import random
    rnd = random.Random(6)
    raw_line = 57  # 57 bytes -> 76 base64 characters
    nlines = (size - len(head) - len(tail)) // 77
    block = bytes(rnd.getrandbits(8) for _ in range(raw_line * 1024))
    enc = base64.encodebytes(block)  # 76-column lines, LF
    body = bytearray()
    while len(body) < nlines * 77:
        body += enc
    del body[nlines * 77:]
    data = head + bytes(body) + tail
    lf = data.count(b"\n")
    crlf_size = len(data) + lf
    stuffed = sum(1 for ln in data.split(b"\n") if ln.startswith(b"."))
    tmp = os.path.join(maildir, "tmp", "bench")
    with open(tmp, "wb") as f:
        f.write(data)
    name = "1700000000.M1P1.bench,S=%d,W=%d:2," % (len(data), crlf_size)
    dst = os.path.join(maildir, "cur", name)
    os.rename(tmp, dst)
    st = os.stat(maildir)
    os.chown(dst, st.st_uid, st.st_gid)
    return crlf_size, stuffed


def server_cpu(pid):
    """CPU seconds of the Dovecot master's reaped children (the pop3 process
    and the pop3-login process of each finished session: fields cutime and
    cstime of /proc/PID/stat), or None."""
    if not pid:
        return None
    try:
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def run_timed(cmd, tf, server_pid=None):
    """(wall s, peak RSS KiB, client CPU s, server CPU s or None, stdout)"""
    s0 = server_cpu(server_pid)
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-f", "%M %U %S", "-o", tf] + cmd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        die("%s failed (%d): %s" % (" ".join(cmd), r.returncode,
                                    r.stderr.decode(errors="replace")[-800:]))
    with open(tf) as f:
        v = f.read().split()[-3:]
    s1 = None
    if s0 is not None:  # the session's server processes exit after the client
        for _ in range(20):
            time.sleep(0.05)
            s1 = server_cpu(server_pid)
            if s1 is not None and s1 > s0 and server_cpu(server_pid) == s1:
                break
    scpu = s1 - s0 if s0 is not None and s1 is not None else None
    return dt, int(v[0]), float(v[1]) + float(v[2]), scpu, r.stdout.decode(errors="replace")


def files_in(d):
    out = []
    for sub in ("new", "cur"):
        p = os.path.join(d, sub)
        if os.path.isdir(p):
            out += [os.path.join(p, f) for f in os.listdir(p)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--size-mib", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--work", default="/tmp/mc-pop3-bench")
    ap.add_argument("--out", default=None)
    ap.add_argument("--json", default=None)
    ap.add_argument("--command", default="scripts/bench_pop3.sh")
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--from-json", default=None,
                    help="only rewrite --out from the JSON of an earlier run")
    a = ap.parse_args()
    if a.from_json:
        with open(a.from_json) as f:
            doc = json.load(f)
        modes = [m for m in MODES if m in doc["results"]]
        tools = [t for t in TOOLS if all(t in doc["results"][m] for m in modes)]
        write_md(a.out or "bench/RESULTS_POP3.md", doc, modes, tools)
        return

    env = os.environ
    try:
        ports = {"plain": env["MC_POP3_PORT"], "stls": env["MC_POP3_PORT"],
                 "pop3s": env["MC_POP3S_PORT"]}
        ca = env["MC_MAILSRV_CA"]
        maildir = os.path.join(env["MC_MAILSRV_MAILDIR"], USER, "Maildir")
    except KeyError as e:
        die("missing %s: source the mailservers env.sh first" % e)
    mc = os.path.join(a.build, "mimecodec")
    raw = os.path.join(a.build, "bench", "pop3_raw")
    for exe in (mc, raw):
        if not os.access(exe, os.X_OK):
            die("%s is not built" % exe)
    tools = [t for t in a.tools.split(",") if t]
    modes = [m for m in a.modes.split(",") if m]
    for t in tools:
        if t == "curl" and not shutil.which("curl"):
            die("curl is not installed (apt-get install curl)")
        if t == "mpop" and not shutil.which("mpop"):
            die("mpop is not installed (apt-get install mpop)")

    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    pwfile = os.path.join(a.work, "password")
    with open(pwfile, "w") as f:
        f.write(PASSWORD + "\n")
    os.chmod(pwfile, 0o600)
    octets, stuffed = make_message(maildir, a.size_mib << 20)
    print("message: %d octets on the wire (CRLF, %d dot-stuffed lines), in %s" %
          (octets, stuffed, maildir), flush=True)

    seq = [0]

    def fresh(name):
        seq[0] += 1
        p = os.path.join(a.work, "%s-%d" % (name, seq[0]))
        return p

    def command(tool, mode):
        """(argv, output path or Maildir, kind) for one run."""
        port = ports[mode]
        if tool == "mimecodec":
            md, state = fresh("md"), fresh("state")
            if mode == "plain":  # the CLI never sends credentials without TLS
                return [raw, "lib", HOST, port, "plain", USER, PASSWORD, md, state], md, "maildir"
            url = "%s://%s:%s" % ("pop3s" if mode == "pop3s" else "pop3", HOST, port)
            return [mc, "fetch", "--server", url, "--user", USER, "--password-file", pwfile,
                    "--cafile", ca, "--maildir", md, "--keep", "--state", state], md, "maildir"
        if tool == "curl":
            out = fresh("curl.eml")
            url = "%s://%s:%s/1" % ("pop3s" if mode == "pop3s" else "pop3", HOST, port)
            cmd = ["curl", "-sS", "--fail", "-u", "%s:%s" % (USER, PASSWORD), "-o", out]
            if mode != "plain":
                cmd += ["--cacert", ca]
            if mode == "stls":
                cmd += ["--ssl-reqd"]
            return cmd + [url], out, "file"
        if tool == "mpop":
            md, conf = fresh("mpop-md"), fresh("mpoprc")
            for sub in ("new", "cur", "tmp"):
                os.makedirs(os.path.join(md, sub))
            with open(conf, "w") as f:
                f.write("account bench\nhost %s\nport %s\n" % (HOST, port))
                f.write("tls %s\ntls_starttls %s\ntls_trust_file %s\n" %
                        ("off" if mode == "plain" else "on", "on" if mode == "stls" else "off",
                         ca))
                f.write("auth user\nuser %s\npassword %s\nkeep on\nonly_new off\n"
                        "received_header off\nuidls_file %s\ndelivery maildir %s\n" %
                        (USER, PASSWORD, fresh("uidls"), md))
            os.chmod(conf, 0o600)
            return ["mpop", "--quiet", "-C", conf, "bench"], md, "maildir"
        if tool == "poplib":
            out = fresh("poplib.eml")
            return ["/usr/bin/python3", "-c", POPLIB, HOST, port, mode, USER, PASSWORD, ca,
                    out], out, "file"
        if tool == "raw":
            m = {"plain": "plain", "stls": "stls", "pop3s": "tls"}[mode]
            return [raw, "raw", HOST, port, m, USER, PASSWORD, "1", ca], None, "raw"
        die("unknown tool " + tool)

    def check(tool, kind, out, stdout):
        if kind == "raw":
            got = int(stdout.split()[0])
            if got < octets:
                die("raw read got %d bytes, expected at least %d" % (got, octets))
            return
        paths = [out] if kind == "file" else files_in(out)
        if len(paths) != 1:
            die("%s: expected one message in %s, found %d" % (tool, out, len(paths)))
        size = os.path.getsize(paths[0])
        # curl, poplib, mimecodec keep CRLF; mpop writes LF line ends
        ok = size == octets if tool != "mpop" else abs(size - octets) <= octets // 2
        if not ok:
            die("%s stored %d bytes, expected %d" % (tool, size, octets))

    # one untimed run so that Dovecot's index and the page cache are warm for all
    dpid = env.get("MC_DOVECOT_PID")
    for mode in modes:
        cmd, out, kind = command("raw", mode)
        run_timed(cmd, os.path.join(a.work, "time"))
    load0 = os.getloadavg()[0]
    results = {}
    for mode in modes:
        # rounds of every tool once, so that a burst of load on this shared
        # machine slows one run of every tool, not all runs of one tool
        best, rss = {}, {}
        for _ in range(a.runs):
            for tool in tools:
                cmd, out, kind = command(tool, mode)
                dt, kib, ccpu, scpu, stdout = run_timed(cmd, os.path.join(a.work, "time"), dpid)
                check(tool, kind, out, stdout)
                if out:
                    shutil.rmtree(out, ignore_errors=True) if os.path.isdir(out) else os.unlink(out)
                if tool not in best or dt < best[tool][0]:
                    best[tool] = (dt, ccpu, scpu)
                rss[tool] = max(rss.get(tool, 0), kib)
        for tool in tools:
            dt, ccpu, scpu = best[tool]
            mbs = octets / dt / 1e6
            results.setdefault(mode, {})[tool] = {"seconds": dt, "mb_s": mbs,
                                                  "rss_kib": rss[tool], "client_cpu_s": ccpu,
                                                  "server_cpu_s": scpu}
            print("%-6s %-10s %8.1f MB/s  %7.1f MiB peak RSS  %5.2f s wall, CPU: client %.2f s,"
                  " Dovecot %s s" % (mode, tool, mbs, rss[tool] / 1024, dt, ccpu,
                                     "%.2f" % scpu if scpu is not None else "?"), flush=True)
    shutil.rmtree(a.work, ignore_errors=True)

    doc = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
           "command": a.command, "octets": octets, "runs": a.runs, "results": results,
           "load": [round(load0, 1), round(os.getloadavg()[0], 1)], "cores": os.cpu_count(),
           "machine": "%s, %d cores, %s" % (platform.processor() or platform.machine(),
                                            os.cpu_count(), platform.release())}
    if a.json:
        with open(a.json, "w") as f:
            json.dump(doc, f, indent=1)
    if a.out:
        write_md(a.out, doc, modes, tools)
        print("wrote " + a.out)


def write_md(path, doc, modes, tools):
    res = doc["results"]
    names = {"plain": "plain", "stls": "STLS", "pop3s": "POP3S"}
    lines = ["# POP3 download: mimecodec beside curl, mpop, poplib and a raw read", "",
             "Measured %s on %s, one run: `%s`." % (doc["date"], doc["machine"], doc["command"]),
             "",
             "One message of %d octets (RETR body with CRLF line ends; a 64 MiB base64 "
             "attachment plus a text part with dot-stuffed lines) from Dovecot on 127.0.0.1, "
             "user/password login. MB/s = 10^6 octets per second of the whole process "
             "(connect, login, RETR, storage, exit), best of %d runs taken in interleaved rounds "
             "(every tool once per round); peak RSS is "
             "`/usr/bin/time -f %%M`, the largest of the runs." % (doc["octets"], doc["runs"]),
             "", "| tool | " + " | ".join("%s MB/s | %s RSS MiB" % (names[m], names[m])
                                         for m in modes) + " |",
             "|---|" + "---:|---:|" * len(modes)]
    for t in tools:
        row = "| %s |" % t
        for m in modes:
            r = res[m][t]
            row += " %.0f | %.1f |" % (r["mb_s"], r["rss_kib"] / 1024)
        lines.append(row)
    if all(res[m][t].get("server_cpu_s") is not None for m in modes for t in tools):
        lines += ["", "CPU seconds of the best run: client (user+sys of the tool) / Dovecot "
                  "(its pop3 process, and with TLS its pop3-login process, which does the TLS "
                  "and relays to pop3: the master's reaped children) / wall:", "",
                  "| tool | " + " | ".join(names[m] for m in modes) + " |",
                  "|---|" + "---:|" * len(modes)]
        for t in tools:
            lines.append("| %s | " % t + " | ".join(
                "%.2f / %.2f / %.2f" % (res[m][t]["client_cpu_s"], res[m][t]["server_cpu_s"],
                                        res[m][t]["seconds"]) for m in modes) + " |")
    lines += ["", "Ratios (MB/s over MB/s, same run):", "",
              "| | " + " | ".join(names[m] for m in modes) + " |", "|---|" + "---:|" * len(modes)]
    for t in tools:
        if t != "curl" and "curl" in tools:
            lines.append("| %s / curl | " % t + " | ".join(
                "%.2f" % (res[m][t]["mb_s"] / res[m]["curl"]["mb_s"]) for m in modes) + " |")
    for t in tools:
        if t != "raw" and "raw" in tools:
            lines.append("| %s / raw read | " % t + " | ".join(
                "%.2f" % (res[m][t]["mb_s"] / res[m]["raw"]["mb_s"]) for m in modes) + " |")
    if "raw" in tools and "curl" in tools and "mimecodec" in tools:
        ceil = ", ".join("%s %.2f" % (names[m], res[m]["raw"]["mb_s"] / res[m]["curl"]["mb_s"])
                         for m in modes)
        mine = ", ".join("%s %.2f" % (names[m], res[m]["mimecodec"]["mb_s"] /
                                      res[m]["raw"]["mb_s"]) for m in modes)
        lines += ["", "Reading: a client can go no faster than the raw read, which only "
                  "receives. 2x curl would need raw / curl >= 2; this run has raw / curl = " +
                  ceil + ". Where it is below 2, Dovecot (one pop3 process per session that "
                  "converts the Maildir's LF to CRLF, dot-stuffs and, with TLS, encrypts) is "
                  "the bound, not the client. mimecodec / raw = " + mine + ": what is left "
                  "between mimecodec and the ceiling is its storage (write, fsync of the "
                  "message, state journal, rename, fsync of new/) and its login dialogue "
                  "(CAPA, STLS, LIST+UIDL)."]
        if all(res[m]["raw"].get("server_cpu_s") for m in modes):
            issue = {"plain": 231, "stls": 151, "pop3s": 113}  # curl, issue #6, idle machine
            ncpu = doc.get("cores", 2)
            parts = []
            for m in modes:
                sc, cc0 = res[m]["raw"]["server_cpu_s"], res[m]["raw"]["client_cpu_s"]
                # plain: one pop3 process; TLS: pop3 and pop3-login may share the cores;
                # either way server plus the least client cannot beat ncpu cores
                floor = max(sc if m == "plain" else 0, (sc + cc0) / ncpu)
                parts.append("%s %.0f MB/s (Dovecot %.2f + reader %.2f CPU s; 2x curl: %d in "
                             "the issue, %.0f in this run)" %
                             (names[m], doc["octets"] / floor / 1e6, sc, cc0, 2 * issue[m],
                              2 * res[m]["curl"]["mb_s"]))
            lines += ["", "The same from CPU time, which the load does not change: the raw "
                      "read's session costs Dovecot (its pop3 process and, with TLS, its "
                      "pop3-login process) and the reader the CPU seconds in brackets, so with "
                      "the %d cores to itself no client could pass: " % ncpu +
                      "; ".join(parts) + ". Wherever that ceiling is under 2x curl (the "
                      "issue's idle-machine figures), the target is out of reach for any "
                      "client of this Dovecot on this machine."]
            cc = ", ".join("%s %.2f / %.2f s" % (names[m], res[m]["mimecodec"]["client_cpu_s"],
                                                res[m]["curl"]["client_cpu_s"]) for m in modes)
            lines += ["", "Client CPU per message, mimecodec (including its Maildir write and "
                      "fsync) / curl (a plain file write): " + cc + "."]
    if "load" in doc:
        lines += ["", "Load average (2 cores, shared with other work) at the start and the end "
                  "of the run: %.1f and %.1f; single runs vary by up to 2x under such load, "
                  "hence the interleaved best-of." % tuple(doc["load"])]
    lines += ["", "What each tool does:", "",
              "- mimecodec: `mimecodec fetch --keep --state FRESH --maildir FRESH` for STLS and "
              "POP3S (CAPA, STLS, login, LIST+UIDL, RETR, Maildir tmp/ write, fsync, state "
              "journal fsync, rename into new/, fsync new/, QUIT). Plain: the same "
              "`mc_pop3_fetch` through `bench/pop3_raw lib` with MC_POP3_PLAINTEXT and "
              "MC_POP3_ALLOW_PLAINTEXT_AUTH, because the CLI refuses to send credentials "
              "without TLS (by design).",
              "- curl: `curl pop3://.../1 -o FILE` (`--ssl-reqd` for STLS, `pop3s://`); no "
              "fsync.",
              "- mpop: a generated config (`auth user`, `keep on`, `only_new off`, a fresh "
              "`uidls_file`) delivering to a fresh Maildir (mpop stores LF line ends).",
              "- poplib: Python's `poplib` `retr(1)` (the whole message as a list of lines in "
              "memory), written to a file.",
              "- raw: `bench/pop3_raw raw`: USER/PASS, RETR, 1 MiB reads discarded until "
              "CRLF.CRLF. No unstuffing, no storage: Dovecot's sending speed plus the "
              "kernel's and TLS's receive cost, the ceiling for any client.",
              ""]
    with open(path, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
