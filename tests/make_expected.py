#!/usr/bin/python3
"""Builds tests/data/expected/ from Python's email package: for every message
of tests/data/corpus/, the leaf parts (IMAP-style path, content type, length
and SHA-256 of get_payload(decode=True)) as Python's compat32 parser sees them.
Run with Debian's /usr/bin/python3 (the reference build); the output is
checked in, and tests/cli/test_corpus.py compares `mimecodec parse --json`
with it.

Usage: tests/make_expected.py [--copy CORPUS_DIR]
  --copy: first (re)copy the messages of the shared corpus (message files only,
  original names and subfolders kept) into tests/data/corpus/.

Paths follow mimecodec's convention (include/mimecodec/mime.h): the root is "",
parts of a multipart are "1", "1.2", ...; the message inside a message/* part
at "P" takes the path "P" when it is multipart and "P.1" when it is not."""
import email
import email.policy
import hashlib
import json
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "data", "corpus")
EXPECTED = os.path.join(HERE, "data", "expected")


def is_message_file(src, rel):
    """Which files of the shared corpus are single messages."""
    base = os.path.basename(rel)
    if src == "cpython-test_email":
        return base.startswith("msg_") and base.endswith(".txt")
    if src == "enmime":
        return base.endswith(".raw")
    if src in ("flanker", "postal-mime", "ruby-mail"):
        return base.endswith(".eml")
    if src == "jsmime":
        return True
    if src == "mime4j":
        return base.endswith(".msg")
    if src == "mimekit":
        if rel.startswith("mbox/"):
            return base.endswith(".mbox.txt")  # mbox: crash tests and C tests only
        if base.startswith("body.") and base.endswith(".txt"):
            return False
        return base.endswith(".txt") or base.endswith(".eml")
    if src == "stalwart-mail-parser":
        return rel.startswith("eml/") and base.endswith(".eml")
    return False


def copy_corpus(shared):
    for src in sorted(os.listdir(shared)):
        top = os.path.join(shared, src)
        if not os.path.isdir(top):
            continue
        for dirpath, _, files in os.walk(top):
            for f in files:
                full = os.path.join(dirpath, f)
                rel = os.path.relpath(full, top)
                if not is_message_file(src, rel):
                    continue
                dst = os.path.join(CORPUS, src, rel)
                os.makedirs(os.path.dirname(dst), exist_ok=True)
                shutil.copyfile(full, dst)


def join(path, n):
    return "%s.%d" % (path, n) if path else str(n)


def walk(msg, path, out):
    if msg.is_multipart():
        payload = msg.get_payload()
        if msg.get_content_maintype() == "message" and len(payload) == 1:
            inner = payload[0]
            multi = inner.is_multipart() and inner.get_content_maintype() == "multipart"
            walk(inner, path if multi else join(path, 1), out)
        else:
            for i, sub in enumerate(payload):
                walk(sub, join(path, i + 1), out)
        return
    body = msg.get_payload(decode=True)
    if body is None:
        body = b""
    out.append({"path": path, "content_type": msg.get_content_type(),
                "decoded_length": len(body),
                "decoded_sha256": hashlib.sha256(body).hexdigest()})


def main():
    args = sys.argv[1:]
    if args[:1] == ["--copy"]:
        copy_corpus(args[1])
    count = 0
    for dirpath, _, files in os.walk(CORPUS):
        for f in sorted(files):
            full = os.path.join(dirpath, f)
            rel = os.path.relpath(full, CORPUS)
            if rel.startswith("mimekit/mbox/"):
                continue
            with open(full, "rb") as fh:
                data = fh.read()
            msg = email.message_from_bytes(data, policy=email.policy.compat32)
            leaves = []
            walk(msg, "", leaves)
            dst = os.path.join(EXPECTED, rel + ".json")
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "w") as fh:
                fh.write('{"python": "%s", "leaves": [' % sys.version.split()[0])
                fh.write(",".join("\n" + json.dumps(x) for x in leaves))
                fh.write("]}\n")
            count += 1
    print("%d expected files written" % count)


if __name__ == "__main__":
    main()
