#!/usr/bin/python3
"""smtp_bench_smtplib.py: Python's smtplib sending one .eml, for bench/smtp_bench.py.

usage: smtp_bench_smtplib.py plain|starttls|implicit PORT EML [CAFILE USER PASSWORD]

Sends the file's bytes with SMTP.sendmail (which dot-stuffs them and uses
DATA), from a@x.test to b@y.test on 127.0.0.1; TLS modes verify against
CAFILE and log in with USER/PASSWORD. Exit 0 when the server accepted it.
"""
import smtplib
import ssl
import sys


def main():
    mode, port, eml = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(eml, "rb") as f:
        msg = f.read()
    ctx = None
    if mode != "plain":
        ctx = ssl.create_default_context(cafile=sys.argv[4])
    if mode == "implicit":
        s = smtplib.SMTP_SSL("127.0.0.1", port, context=ctx)
    else:
        s = smtplib.SMTP("127.0.0.1", port)
    s.ehlo()
    if mode == "starttls":
        s.starttls(context=ctx)
        s.ehlo()
    if mode != "plain":
        s.login(sys.argv[5], sys.argv[6])
    refused = s.sendmail("a@x.test", ["b@y.test"], msg)
    s.quit()
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
