#!/usr/bin/python3
"""smtp_bench_sinkcheck.py: checks bench/smtp_sink before it measures anything.

usage: smtp_bench_sinkcheck.py SINK_EXE

Starts the sink (plain, free port), and over one connection sends DATA
bodies whose terminator "\\r\\n.\\r\\n" is split at every position across
two writes, dot-stuffed bodies with dots that are not terminators, an empty body, and
BDAT chunks pipelined with their commands; checks every reply and that the
sink's log counts exactly the bytes sent. Exit 0 when all is right.
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def main():
    exe = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "sink.log")
        p = subprocess.Popen([exe, "--port", "0", "--log", log], stdout=subprocess.PIPE, text=True)
        try:
            port = int(re.match(r"port (\d+)", p.stdout.readline()).group(1))
            return run(port, log)
        finally:
            p.terminate()  # by PID
            p.wait(10)


def run(port, log):
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    fails = 0

    def reply():
        lines = []
        while True:
            ln = f.readline().decode()
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return lines

    def expect(code, what):
        nonlocal fails
        got = reply()
        if not got[-1].startswith(code):
            if fails < 5:
                print("sinkcheck: %s: expected %s, got %r" % (what, code, got))
            fails += 1

    expected = []  # (bytes, kind) per message, in order
    expect("220", "greeting")
    s.sendall(b"EHLO check\r\n")
    expect("250", "EHLO")
    bodies = [b"", b"a\r\n", b"\r\n".join([b"..x", b"y.", b"..", b"...", b".."]),
              b"line\r\n..dot\r\n.\r\rnot-end\r\n" * 50, os.urandom(3000).replace(b".", b"")]
    for body in bodies:
        # the body as sent: the client's CRLF after DATA counts as the terminator's start
        wire = body + b".\r\n" if body.endswith(b"\r\n") or not body else body + b"\r\n.\r\n"
        for cut in range(0, len(wire) + 1, max(1, len(wire) // 40) if len(wire) > 200 else 1):
            s.sendall(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\nDATA\r\n")
            expect("250", "MAIL")
            expect("250", "RCPT")
            expect("354", "DATA")
            s.sendall(wire[:cut])
            time.sleep(0.0005)
            s.sendall(wire[cut:])
            expect("250", "end of DATA (cut %d of %d)" % (cut, len(wire)))
            expected.append((len(wire), "data"))
    # BDAT, pipelined with the chunks
    chunks = [os.urandom(1000), b"\r\n.\r\n", os.urandom(70000)]
    s.sendall(b"MAIL FROM:<a@x>\r\nRCPT TO:<b@y>\r\n" +
              b"".join(b"BDAT %d%s\r\n" % (len(c), b" LAST" if i == len(chunks) - 1 else b"") + c
                       for i, c in enumerate(chunks)))
    for what in ("MAIL", "RCPT", "BDAT 1", "BDAT 2", "BDAT LAST"):
        expect("250", what)
    expected.append((sum(len(c) for c in chunks), "bdat"))
    s.sendall(b"RSET\r\nNOOP\r\nQUIT\r\n")
    expect("250", "RSET")
    expect("250", "NOOP")
    expect("221", "QUIT")
    s.close()
    time.sleep(0.1)
    with open(log) as fh:
        got = [(int(m.group(1)), m.group(2)) for m in
               re.finditer(r"message (\d+) bytes \((\w+)", fh.read())]
    if got != expected:
        print("sinkcheck: the sink's byte counts differ: %d messages logged, %d sent; first "
              "difference: %s" % (len(got), len(expected),
                                  next(((a, b) for a, b in zip(got, expected) if a != b), None)))
        fails += 1
    print("sinkcheck: %d messages, %s" % (len(expected), "ok" if not fails else "%d FAILED" % fails))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
