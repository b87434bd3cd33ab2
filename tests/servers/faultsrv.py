#!/usr/bin/python3
"""faultsrv.py: a scripted SMTP server that does what real servers rarely do,
for the send tests. One mode per process; it listens on 127.0.0.1 (port 0 =
any free port), prints "PORT <n>" on stdout once listening, and appends one
line per event to --log:

  CONN <n>              connection n (1, 2, ...) accepted
  CMD <n> <line>        a command line received (AUTH payloads kept: tests
                        check that they never arrive in the clear)
  TLS <n>               TLS started on connection n
  DELIVERED <n> <sha256 of the body as received, after un-dot-stuffing>
  CLOSED <n>

Modes:
  ok          a well-behaved server: STARTTLS, AUTH PLAIN LOGIN (any password)
  nostarttls  offers AUTH but no STARTTLS
  inject      after "220 Ready to start TLS" sends two more plaintext lines in
              the same write (CVE-2021-22947 style response injection)
  421         connection 1: 421 to MAIL FROM; later connections: ok
  421always   421 to MAIL FROM on every connection
  451         connection 1: 451 to RCPT TO; later connections: ok
  550mail     550 to MAIL FROM on every connection
  dropdata    connection 1: closes after 1000 bytes of DATA; later: ok
  slow        waits --delay seconds before the greeting
  longline    answers EHLO with a 10000-byte line
  tls         implicit TLS from the first byte (with --cert: e.g. another host's)
--chunking adds CHUNKING (BDAT; dropdata then drops in the BDAT data).

Requires only the standard library; run it with /usr/bin/python3.
"""
import argparse
import hashlib
import socket
import ssl
import sys
import threading
import time


class Conn:
    def __init__(self, sock, n, args, log):
        self.s = sock
        self.n = n
        self.a = args
        self.log = log
        self.buf = b""

    def ev(self, text):
        with self.log["lock"]:
            self.log["f"].write(text + "\n")
            self.log["f"].flush()

    def send(self, b):
        self.s.sendall(b)

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        l, self.buf = self.buf.split(b"\n", 1)
        return l.rstrip(b"\r")

    def starttls(self, ctx):
        self.buf = b""  # what a server has buffered is not for after TLS either
        self.s = ctx.wrap_socket(self.s, server_side=True)
        self.ev("TLS %d" % self.n)


def ehlo_lines(tls, mode, chunking):
    caps = [b"fault.example.test", b"PIPELINING", b"SIZE 200000000", b"8BITMIME",
            b"ENHANCEDSTATUSCODES"]
    if chunking:
        caps.append(b"CHUNKING")
    if not tls and mode not in ("nostarttls",):
        caps.append(b"STARTTLS")
    if tls or mode == "nostarttls":
        caps.append(b"AUTH PLAIN LOGIN")
    return b"".join(b"250" + (b"-" if i < len(caps) - 1 else b" ") + c + b"\r\n"
                    for i, c in enumerate(caps))


def session(c, ctx):
    a = c.a
    mode = a.mode
    first = c.n == 1
    tls = False
    if mode == "tls":
        c.starttls(ctx)
        tls = True
    if mode == "slow":
        time.sleep(a.delay)
    c.send(b"220 fault.example.test ESMTP\r\n")
    rcpts = 0
    bdat = b""
    while True:
        l = c.line()
        c.ev("CMD %d %s" % (c.n, l.decode("latin-1")))
        u = l.upper()
        if u.startswith(b"EHLO"):
            if mode == "longline":
                c.send(b"250 " + b"x" * 10000 + b"\r\n")
            else:
                c.send(ehlo_lines(tls, mode, a.chunking))
        elif u.startswith(b"HELO"):
            c.send(b"250 fault.example.test\r\n")
        elif u == b"STARTTLS":
            if mode == "inject":
                c.send(b"220 2.0.0 Ready to start TLS\r\n250-INJECTED\r\n250 AUTH PLAIN\r\n")
            else:
                c.send(b"220 2.0.0 Ready to start TLS\r\n")
            c.starttls(ctx)
            tls = True
        elif u.startswith(b"AUTH"):
            parts = l.split()
            if len(parts) >= 2 and parts[1].upper() == b"LOGIN":
                c.send(b"334 VXNlcm5hbWU6\r\n")
                c.ev("CMD %d %s" % (c.n, c.line().decode("latin-1")))
                c.send(b"334 UGFzc3dvcmQ6\r\n")
                c.ev("CMD %d %s" % (c.n, c.line().decode("latin-1")))
            c.send(b"235 2.7.0 ok\r\n")
        elif u.startswith(b"MAIL FROM:"):
            rcpts = 0
            if mode == "421always" or (mode == "421" and first):
                c.send(b"421 4.3.2 shutting down\r\n")
                return
            if mode == "550mail":
                c.send(b"550 5.7.1 sender not welcome\r\n")
            else:
                c.send(b"250 2.1.0 ok\r\n")
        elif u.startswith(b"RCPT TO:"):
            if mode == "451" and first:
                c.send(b"451 4.3.0 try again later\r\n")
            else:
                rcpts += 1
                c.send(b"250 2.1.5 ok\r\n")
        elif u == b"DATA":
            if not rcpts:
                c.send(b"554 5.5.1 no valid recipients\r\n")
                continue
            c.send(b"354 go ahead\r\n")
            h = hashlib.sha256()
            got = 0
            while True:
                d = c.line()
                got += len(d) + 2
                if mode == "dropdata" and first and got > 1000:
                    return
                if d == b".":
                    break
                if d.startswith(b"."):
                    d = d[1:]
                h.update(d + b"\r\n")
            c.ev("DELIVERED %d %s" % (c.n, h.hexdigest()))
            c.send(b"250 2.0.0 queued\r\n")
        elif u.startswith(b"BDAT "):
            # RFC 3030: BDAT <size> [LAST], then exactly <size> bytes
            parts = u.split()
            size = int(parts[1])
            data = c.buf[:size]
            c.buf = c.buf[size:]
            while len(data) < size:
                if mode == "dropdata" and first and len(bdat) + len(data) > 1000:
                    return
                d = c.s.recv(min(65536, size - len(data)))
                if not d:
                    raise EOFError
                data += d
            if mode == "dropdata" and first and len(bdat) + len(data) > 1000:
                return
            if not rcpts:
                c.send(b"554 5.5.1 no valid recipients\r\n")
                continue
            bdat += data
            if len(parts) > 2 and parts[2] == b"LAST":
                c.ev("DELIVERED %d %s" % (c.n, hashlib.sha256(bdat).hexdigest()))
                bdat = b""
                c.send(b"250 2.0.0 queued %d bytes\r\n" % size)
            else:
                c.send(b"250 2.0.0 %d bytes\r\n" % size)
        elif u == b"RSET":
            bdat = b""
            c.send(b"250 2.0.0 ok\r\n")
        elif u == b"QUIT":
            c.send(b"221 2.0.0 bye\r\n")
            return
        elif u == b"NOOP":
            c.send(b"250 2.0.0 ok\r\n")
        else:
            c.send(b"502 5.5.2 not implemented\r\n")


def handle(sock, n, args, ctx, log):
    c = Conn(sock, n, args, log)
    c.ev("CONN %d" % n)
    try:
        session(c, ctx)
    except (EOFError, OSError, ssl.SSLError):
        pass
    finally:
        try:
            c.s.close()
        except OSError:
            pass
        c.ev("CLOSED %d" % n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--delay", type=float, default=5.0)
    ap.add_argument("--chunking", action="store_true", help="offer CHUNKING (BDAT)")
    a = ap.parse_args()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    log = {"f": open(a.log, "a"), "lock": threading.Lock()}
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", a.port))
    ls.listen(16)
    print("PORT %d" % ls.getsockname()[1], flush=True)
    n = 0
    while True:
        s, _ = ls.accept()
        n += 1
        threading.Thread(target=handle, args=(s, n, a, ctx, log), daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
