#!/usr/bin/python3
"""pop3fault.py: a scripted POP3 server for the fetch tests: it holds --count
generated messages in memory across connections and misbehaves on purpose.
It listens on 127.0.0.1 (port 0 = any free port), prints "PORT <n>" once
listening, and appends one line per event to --log:

  CONN <n>            connection n (1, 2, ...) accepted
  CMD <n> <line>      a command line received (secrets included: the tests
                      check that none arrive without TLS)
  TLS <n>             TLS started
  DELETED <uid>       a message removed at a committed QUIT
  CLOSED <n>

Modes:
  nostls     plaintext, offers USER and SASL PLAIN but not STLS
  dropretr   implicit TLS; connection 1 closes in the middle of RETR 2
  dropquit   implicit TLS; connection 1 closes at QUIT without committing
  ok         implicit TLS, well-behaved
Message k (1-based) has UID "fault-<k>" and a body with lines starting with
dots; it is fetched byte for byte as generated (CRLF line ends).

Requires only the standard library; run it with /usr/bin/python3.
"""
import argparse
import socket
import ssl
import sys
import threading


def message(k):
    lines = [b"From: fault@example.test", b"To: bob@example.test",
             b"Subject: fault message %d" % k, b"", b"body of %d" % k, b".leading dot",
             b"..two dots", b"."]
    lines += [b"line %d of %d %s" % (i, k, b"x" * 60) for i in range(300)]
    return b"\r\n".join(lines) + b"\r\n"


class Store:
    def __init__(self, n):
        self.lock = threading.Lock()
        self.msgs = [("fault-%d" % k, message(k)) for k in range(1, n + 1)]


def stuff(data):
    out = []
    for line in data.split(b"\r\n")[:-1]:
        out.append(b"." + line if line.startswith(b".") else line)
    return b"\r\n".join(out) + b"\r\n.\r\n"


def session(c, n, a, ctx, store, ev):
    buf = b""
    tls = a.mode != "nostls"
    if tls:
        c = ctx.wrap_socket(c, server_side=True)
        ev("TLS %d" % n)

    def line():
        nonlocal buf
        while b"\n" not in buf:
            d = c.recv(65536)
            if not d:
                raise EOFError
            buf += d
        l, buf = buf.split(b"\n", 1)
        return l.rstrip(b"\r")

    with store.lock:
        view = list(store.msgs)  # the maildrop as of this session
    marked = set()
    c.sendall(b"+OK fault POP3 ready\r\n")
    authed = False
    while True:
        l = line()
        ev("CMD %d %s" % (n, l.decode("latin-1")))
        u = l.split(b" ")
        cmd = u[0].upper()
        if cmd == b"CAPA":
            caps = [b"TOP", b"UIDL", b"USER", b"PIPELINING", b"SASL PLAIN"]
            c.sendall(b"+OK\r\n" + b"".join(x + b"\r\n" for x in caps) + b".\r\n")
        elif cmd == b"USER":
            c.sendall(b"+OK\r\n")
        elif cmd in (b"PASS", b"AUTH"):
            authed = True
            c.sendall(b"+OK logged in\r\n")
        elif not authed:
            c.sendall(b"-ERR log in first\r\n")
        elif cmd == b"STAT":
            c.sendall(b"+OK %d %d\r\n" % (len(view), sum(len(m) for _, m in view)))
        elif cmd == b"LIST":
            c.sendall(b"+OK\r\n" + b"".join(b"%d %d\r\n" % (i + 1, len(m))
                                            for i, (_, m) in enumerate(view)) + b".\r\n")
        elif cmd == b"UIDL":
            c.sendall(b"+OK\r\n" + b"".join(b"%d %s\r\n" % (i + 1, uid.encode())
                                            for i, (uid, _) in enumerate(view)) + b".\r\n")
        elif cmd == b"RETR":
            k = int(u[1])
            data = stuff(view[k - 1][1])
            if a.mode == "dropretr" and n == 1 and k == 2:
                c.sendall(b"+OK\r\n" + data[:len(data) // 2])
                return
            c.sendall(b"+OK %d octets\r\n" % len(view[k - 1][1]) + data)
        elif cmd == b"DELE":
            marked.add(int(u[1]))
            c.sendall(b"+OK marked\r\n")
        elif cmd == b"RSET":
            marked.clear()
            c.sendall(b"+OK\r\n")
        elif cmd == b"NOOP":
            c.sendall(b"+OK\r\n")
        elif cmd == b"QUIT":
            if a.mode == "dropquit" and n == 1:
                return
            gone = {view[k - 1][0] for k in marked}
            with store.lock:
                store.msgs = [m for m in store.msgs if m[0] not in gone]
            for uid in sorted(gone):
                ev("DELETED %s" % uid)
            c.sendall(b"+OK bye\r\n")
            return
        else:
            c.sendall(b"-ERR unknown command\r\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--count", type=int, default=5)
    a = ap.parse_args()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(a.cert, a.key)
    logf = open(a.log, "a")
    lock = threading.Lock()

    def ev(text):
        with lock:
            logf.write(text + "\n")
            logf.flush()

    store = Store(a.count)
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    print("PORT %d" % ls.getsockname()[1], flush=True)
    n = 0
    while True:
        s, _ = ls.accept()
        n += 1

        def run(s=s, n=n):
            ev("CONN %d" % n)
            try:
                session(s, n, a, ctx, store, ev)
            except (EOFError, OSError, ssl.SSLError, ValueError, IndexError):
                pass
            finally:
                try:
                    s.close()
                except OSError:
                    pass
                ev("CLOSED %d" % n)
        threading.Thread(target=run, daemon=True).start()


if __name__ == "__main__":
    sys.exit(main())
