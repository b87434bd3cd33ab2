#!/usr/bin/python3
"""Conformance of `mimecodec parse --json` (and `extract`) with the expected
results that ship with the corpus (issue #4): stalwart-mail-parser's
eml/*/NNN.json (and NNN.crlf.json for the same message with CRLF line ends)
and mime4j's X.xml / X_decoded.xml / X_decoded_N_M.{txt,bin}, copied into
tests/data/gold/ under the messages' paths in tests/data/corpus/
(tests/data/SOURCES.md).

For every message with such a file, each check below is run; a check that
disagrees must be listed in tests/data/KNOWN_DIFFERENCES_GOLD.md as
"- `message` check: LETTER: reason", and a listed check that agrees fails
too, so the list stays exact. Checks (see KNOWN_DIFFERENCES_GOLD.md):

  tree     the entities in pre-order with their nesting (IMAP paths computed
           from the gold tree the way mc_mime_part_path does)
  ctype    content type/subtype of every entity (lower-cased; the gold's
           default when it has no Content-Type field; for mime4j, which
           reports raw fields only, the two tokens around the '/' of the
           first Content-Type field)
  params   charset, disposition type and file name (Content-Disposition
           filename, else Content-Type name) where stalwart has them
  headers  top-level header fields: stalwart: decoded Subject, From/To
           display names and addresses, Message-ID, Content-ID; mime4j: the
           raw fields (name and unfolded value, in order)
  offsets  stalwart offset_body against body_offset (every entity) and
           offset_end against body_offset + body_length (leaves; both leave
           the line break before a delimiter out of the body)
  raw      mime4j: the raw leaf bodies against our body_offset/body_length
           spans (preamble and epilogue are not in our JSON)
  body     decoded leaf bodies: mime4j X_decoded_N_M files and stalwart
           Binary/InlineBinary bytes against our decoded bytes; stalwart
           Text/Html strings against ours converted with the part's charset
           by Python's codecs (parts whose charset Python does not know are
           compared as UTF-8 with replacement)

Usage: test_corpus_gold.py /path/to/mimecodec [--report]
  --report: print every difference in detail.
Prints "N passed, N failed"."""
import codecs
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import threading

EXE = sys.argv[1]
REPORT = "--report" in sys.argv
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(os.path.dirname(HERE), "data")
CORPUS = os.path.join(DATA, "corpus")
GOLD = os.path.join(DATA, "gold")  # the expectation files, same relative paths
KNOWN = os.path.join(DATA, "KNOWN_DIFFERENCES_GOLD.md")
STATS = {"entities": 0, "params": 0, "headers": 0, "offsets": 0, "raw": 0, "bodies": 0}
STATS_LOCK = threading.Lock()


def stat(key, n):
    with STATS_LOCK:
        STATS[key] += n


CHECKS = ("tree", "ctype", "params", "headers", "offsets", "raw", "body")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", what, file=sys.stderr)
    return cond


def known_differences():
    """`- `message` check: L: reason` lines of KNOWN_DIFFERENCES_GOLD.md."""
    known, letters = {}, set()
    with open(KNOWN, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^- \*\*([A-Z])\*\*: ", line)
            if m:
                letters.add(m.group(1))
            m = re.match(r"^- `([^`]+)` (\w+): ([A-Z]): (.+)$", line.rstrip("\n"))
            if m:
                check(m.group(2) in CHECKS and m.group(3) in letters,
                      "KNOWN_DIFFERENCES_GOLD.md: unknown check or decision: " + line.strip())
                known[(m.group(1), m.group(2))] = m.group(3)
    return known


# ==== ours ====================================================================


class Ours:
    """`parse --json` of the message bytes; `extract` only when a decoded body
    must be looked at byte by byte (to keep the test fast under ASan)."""

    def __init__(self, data):
        self.data = data
        r = subprocess.run([EXE, "parse", "--json", "-"], input=data, capture_output=True)
        if r.returncode or r.stderr:
            raise RuntimeError("parse: rc %d %s" % (r.returncode, r.stderr[-2000:]))
        self.obj = json.loads(r.stdout)
        self.parts = self.obj["parts"]
        self._bodies = None

    def body(self, path):
        """Our decoded bytes of the leaf at path (None: not extracted)."""
        if self._bodies is None:
            self._bodies = {}
            with tempfile.TemporaryDirectory() as d:
                r = subprocess.run([EXE, "extract", "-o", d, "-"], input=self.data,
                                   capture_output=True)
                if r.returncode or r.stderr:
                    raise RuntimeError("extract: rc %d %s" % (r.returncode, r.stderr[-2000:]))
                for line in r.stdout.decode("utf-8", "replace").splitlines():
                    p, name = line.split("\t", 1)
                    with open(os.path.join(d, name), "rb") as fh:
                        self._bodies["" if p == "(root)" else p] = fh.read()
        return self._bodies.get(path)


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def is_leaf(parts, i):
    nxt = parts[i + 1]["path"] if i + 1 < len(parts) else None
    path = parts[i]["path"]
    return not (nxt is not None and (path == "" or nxt == path or nxt.startswith(path + ".")))


def keys(ents):
    """(path, n): the n-th entity with that path (a message/rfc822 part and
    the multipart message inside it share a path)."""
    seen, out = {}, []
    for e in ents:
        n = seen.get(e["path"], 0)
        seen[e["path"]] = n + 1
        out.append((e["path"], n))
    return out


def keyed(parts):
    return {k: (i, p) for i, (k, p) in enumerate(zip(keys(parts), parts))}


def join(path, n):
    return "%s.%d" % (path, n) if path else str(n)


def norm_ws(s):
    return " ".join(s.split())


# ==== stalwart-mail-parser =====================================================


def sw_header(part, name):
    for h in part["headers"]:
        if h["name"] == name:
            return h["value"]
    return None


def sw_walk(msg, i, path, parent_ctype, inner, out):
    """Entities of stalwart message `msg` from part i in pre-order, as dicts
    with our path rules (mime/parser.c mc_mime_part_path)."""
    part = msg["parts"][i]
    body = part["body"]
    kind = body if isinstance(body, str) else next(iter(body))
    ct = sw_header(part, "content_type")
    if ct and "ContentType" in ct:
        c = ct["ContentType"]
        ctype = (c["c_type"] + "/" + (c["c_subtype"] or "")).lower()
        attrs = {a["name"].lower(): a["value"] for a in (c.get("attributes") or [])}
    else:
        ctype = "message/rfc822" if parent_ctype == "multipart/digest" else "text/plain"
        attrs = {}
    if inner and kind != "Multipart":
        path = join(path, 1)
    e = {"path": path, "ctype": ctype, "kind": kind, "part": part, "attrs": attrs}
    cd = sw_header(part, "content_disposition")
    if cd and "ContentType" in cd:
        e["disposition"] = cd["ContentType"]["c_type"].lower()
        for a in cd["ContentType"].get("attributes") or []:
            if a["name"].lower() == "filename":
                e["filename"] = a["value"]
    if "filename" not in e and "name" in attrs:
        e["filename"] = attrs["name"]
    out.append(e)
    if kind == "Multipart":
        for n, c in enumerate(body["Multipart"], 1):
            sw_walk(msg, c, join(path, n), ctype, False, out)
    elif kind == "Message":
        sw_walk(body["Message"], 0, path, ctype, True, out)
    return out


def sw_headers_diff(gold_root, obj):
    """Differences between stalwart's decoded top-level fields and ours."""
    diffs = []
    want = {"subject": "subject", "from": "from", "to": "to", "message_id": "message-id",
            "content_id": "content-id"}
    ourh = {}
    for h in obj["headers"]:
        ourh.setdefault(h["name"].lower(), []).append(h["decoded"])
    seen = {}
    for h in gold_root["headers"]:
        name = want.get(h["name"]) if isinstance(h["name"], str) else None
        if not name:
            continue
        k = seen.get(name, 0)
        seen[name] = k + 1
        mine = ourh.get(name, [])
        if k >= len(mine):
            diffs.append("%s: missing" % name)
            continue
        o = norm_ws(mine[k])
        v = h["value"]
        stat("headers", 1)
        if isinstance(v, dict) and "Text" in v:
            g = norm_ws(v["Text"])
            if name in ("message-id", "content-id"):
                o = o.strip("<>").strip()
            if g != o:
                diffs.append("%s: %r vs %r" % (name, o, g))
        elif isinstance(v, dict) and "Address" in v:
            a = v["Address"]
            addrs = a.get("List") or [x for g in a.get("Group", []) for x in g.get("addresses", [])]
            for g in a.get("Group", []):
                if g.get("name"):
                    addrs = addrs + [{"name": g["name"], "address": None}]
            for x in addrs:
                for key in ("name", "address"):
                    if x.get(key) and norm_ws(x[key]) not in o:
                        diffs.append("%s %s: %r not in %r" % (name, key, x[key], o))
    return diffs


def convert(data, charset):
    """Our decoded bytes as the text stalwart reports (see module doc)."""
    cs = (charset or "us-ascii").lower()
    try:
        codecs.lookup(cs)
    except LookupError:
        cs = "utf-8"
    if cs in ("us-ascii", "ascii", "utf-8", "utf8"):
        cs = "utf-8"
    return data.decode(cs, "replace")


def encode(text, charset):
    """Stalwart's text in the part's charset (the inverse of convert)."""
    cs = (charset or "us-ascii").lower()
    try:
        codecs.lookup(cs)
    except LookupError:
        cs = "utf-8"
    if cs in ("us-ascii", "ascii", "utf-8", "utf8"):
        cs = "utf-8"
    return text.encode(cs, "replace")


def check_stalwart(data, gold):
    """{check: [difference, ...]} for one message against stalwart's tree."""
    us = Ours(data)
    obj, parts = us.obj, us.parts
    ents = sw_walk(gold, 0, "", None, False, [])
    d = {c: [] for c in CHECKS}
    if [p["path"] for p in parts] != [e["path"] for e in ents]:
        # the other checks go entity by entity: only with the same tree
        d["tree"].append("ours %s gold %s" % ([p["path"] for p in parts],
                                              [e["path"] for e in ents]))
        ents = []
    stat("entities", len(ents))
    mine = keyed(parts)
    for key, e in zip(keys(ents), ents):
        if key not in mine:
            continue
        i, p = mine[key]
        if p["content_type"] != e["ctype"]:
            d["ctype"].append("[%s] %s vs %s" % (e["path"], p["content_type"], e["ctype"]))
        cs = e["attrs"].get("charset")
        stat("params", (cs is not None) + ("disposition" in e) + ("filename" in e))
        if cs is not None and (p["charset"] or "") != cs.strip().lower():
            d["params"].append("[%s] charset %r vs %r" % (e["path"], p["charset"], cs))
        if "disposition" in e and p["disposition"] != e["disposition"]:
            d["params"].append("[%s] disposition %r vs %r" % (e["path"], p["disposition"],
                                                              e["disposition"]))
        if "filename" in e and p["filename"] != e["filename"]:
            d["params"].append("[%s] filename %r vs %r" % (e["path"], p["filename"],
                                                           e["filename"]))
        gp = e["part"]
        stat("offsets", 1)
        if p["body_offset"] != gp["offset_body"]:
            d["offsets"].append("[%s] body %d vs %d" % (e["path"], p["body_offset"],
                                                        gp["offset_body"]))
        if not is_leaf(parts, i) or e["kind"] in ("Multipart", "Message"):
            continue  # our JSON gives no end for containers
        # the same convention as ours: the line break before a delimiter
        # belongs to the delimiter, not to the body
        end = p["body_offset"] + p["body_length"]
        if gp["offset_end"] != end:
            d["offsets"].append("[%s] end %d vs %d" % (e["path"], end, gp["offset_end"]))
        body = gp["body"]
        k = e["kind"]
        stat("bodies", 1)
        if k in ("Binary", "InlineBinary"):
            if sha256(bytes(body[k])) != p["decoded_sha256"]:
                d["body"].append("[%s] %d bytes vs %d" % (e["path"], p["decoded_length"],
                                                          len(body[k])))
        elif k in ("Text", "Html"):
            if sha256(encode(body[k], p["charset"])) == p["decoded_sha256"]:
                continue  # the charset round-trips: same text
            mybody = us.body(e["path"])
            t = None if mybody is None else convert(mybody, p["charset"])
            if t != body[k]:
                d["body"].append("[%s] text %r vs %r" % (e["path"], t and t[:60], body[k][:60]))
    d["headers"] = sw_headers_diff(gold["parts"][0], obj)
    return d


# ==== mime4j ===================================================================

TAG = re.compile(rb"<(/?)([a-z-]+)((?:\s+[a-z]+=\"[^\"]*\")*)\s*(/?)>")


def unescape(b):
    def ent(m):
        s = m.group(1)
        if s.startswith(b"#x"):
            return chr(int(s[2:], 16)).encode("utf-8")
        if s.startswith(b"#"):
            return chr(int(s[1:])).encode("utf-8")
        return {b"lt": b"<", b"gt": b">", b"amp": b"&", b"quot": b'"', b"apos": b"'"}[s]
    return re.sub(rb"&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);", ent, b)


def xml_tree(raw):
    """Element tree of a mime4j test XML file as nested [tag, attrs, children,
    text] lists; text is the raw bytes inside the element without the one
    formatting line break the writer puts after every opening tag."""
    eol = b"\r\n" if raw.startswith(b"<message>\r\n") else b"\n"
    root = ["#", {}, [], b""]
    stack = [root]
    pos = 0
    for m in TAG.finditer(raw):  # '<' in text is escaped: every match is a tag
        text = raw[pos:m.start()]
        pos = m.end()
        if m.group(1):
            el = stack.pop()
            if text.startswith(eol):
                text = text[len(eol):]
            el[3] = unescape(text)
            continue
        attrs = dict(re.findall(rb"([a-z]+)=\"([^\"]*)\"", m.group(3)))
        el = [m.group(2).decode(), {k.decode(): v.decode() for k, v in attrs.items()}, [], b""]
        stack[-1][2].append(el)
        if not m.group(4):
            stack.append(el)
    return root[2][0]


def child(el, tag):
    for c in el[2]:
        if c[0] == tag:
            return c
    return None


def m4_fields(el):
    h = child(el, "header")
    out = []
    for f in (h[2] if h else []):
        name, _, value = f[3].partition(b":")
        out.append((name.strip().decode("latin-1"), value))
    return out


TOKEN = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"


def m4_ctype(el, parent_ctype):
    """type/subtype from the first raw Content-Type field mime4j reports (the
    two tokens around '/'), else the default of RFC 2046 section 5.1.5."""
    for name, value in m4_fields(el):
        if name.lower() == "content-type":
            m = re.match(rb"\s*(" + TOKEN + rb")\s*/\s*(" + TOKEN + rb")", value)
            if m:
                return (m.group(1) + b"/" + m.group(2)).decode().lower()
            break
    return "message/rfc822" if parent_ctype == "multipart/digest" else "text/plain"


def m4_walk(el, dec, path, parent_ctype, inner, out):
    """Entities of a mime4j <message>/<body-part> element (and its twin in
    X_decoded.xml) in pre-order, with our path rules."""
    ctype = m4_ctype(el, parent_ctype)
    mp = child(el, "multipart")
    msg = child(el, "message")
    if inner and mp is None:
        path = join(path, 1)
    e = {"path": path, "el": el, "dec": dec, "ctype": ctype}
    out.append(e)
    if mp is not None:
        e["kind"] = "multipart"
        dmp = child(dec, "multipart")
        bps = [c for c in mp[2] if c[0] == "body-part"]
        dbps = [c for c in dmp[2] if c[0] == "body-part"]
        for n, (bp, dbp) in enumerate(zip(bps, dbps), 1):
            m4_walk(bp, dbp, join(path, n), ctype, False, out)
    elif msg is not None:
        e["kind"] = "message"
        m4_walk(msg, child(dec, "message"), path, None, True, out)
    else:
        e["kind"] = "leaf"
        e["body"] = child(el, "body")
        e["decoded"] = child(dec, "text-body") or child(dec, "binary-body")
    return out


def check_mime4j(data, xml, decxml, dirname):
    us = Ours(data)
    obj, parts = us.obj, us.parts
    ents = m4_walk(xml_tree(xml), xml_tree(decxml), "", None, False, [])
    root = ents[0]["el"]
    d = {c: [] for c in CHECKS}
    if [p["path"] for p in parts] != [e["path"] for e in ents]:
        # the other checks go entity by entity: only with the same tree
        d["tree"].append("ours %s gold %s" % ([p["path"] for p in parts],
                                              [e["path"] for e in ents]))
        ents = []
    stat("entities", len(ents))
    mine = keyed(parts)
    # top-level fields, raw: name and unfolded value
    ourf = [(h["name"], h["value"]) for h in obj["headers"]]
    gold = []
    for name, value in m4_fields(root):
        v = re.sub(rb"\r?\n(?=[ \t])", b"", value).strip(b" \t")
        gold.append((name, v.decode("utf-8", "replace")))
    stat("headers", len(gold))
    if [(n.lower(), v.strip()) for n, v in ourf] != [(n.lower(), v) for n, v in gold]:
        d["headers"].append("ours %s gold %s" % (ourf[:3], gold[:3]))
    for key, e in zip(keys(ents), ents):
        if key not in mine:
            continue
        i, p = mine[key]
        if p["content_type"] != e["ctype"]:
            d["ctype"].append("[%s] %s vs %s" % (e["path"], p["content_type"], e["ctype"]))
        if e["kind"] != "leaf":
            continue
        raw = e["body"][3] if e["body"] is not None else b""
        mine_raw = data[p["body_offset"]:p["body_offset"] + p["body_length"]]
        stat("raw", 1)
        if raw != mine_raw:
            d["raw"].append("[%s] %d bytes vs %d" % (e["path"], len(mine_raw), len(raw)))
        dec = e["decoded"]
        if dec is None:
            continue
        stat("bodies", 1)
        with open(os.path.join(dirname, dec[1]["name"]), "rb") as fh:
            gold_body = fh.read()
        if sha256(gold_body) == p["decoded_sha256"]:
            continue
        # mime4j's quoted-printable decoder writes every line break as CRLF
        # (the canonical form); ours keeps the input's: compare those with
        # line breaks made LF on both sides
        mybody = us.body(e["path"])
        if p["encoding"] == "quoted-printable" and mybody is not None:
            if mybody.replace(b"\r\n", b"\n") == gold_body.replace(b"\r\n", b"\n"):
                continue
        d["body"].append("[%s] %d bytes vs %d" % (e["path"], p["decoded_length"],
                                                  len(gold_body)))
    return d


# ==== main =====================================================================


def cases():
    """(name, kind, message bytes, loader of the gold) for every message with
    an expectation file, in a fixed order."""
    out = []
    sw = os.path.join(CORPUS, "stalwart-mail-parser", "eml")
    for sub in sorted(os.listdir(sw)):
        for f in sorted(os.listdir(os.path.join(sw, sub))):
            if not f.endswith(".eml"):
                continue
            base = os.path.join(sw, sub, f[:-4])
            rel = os.path.relpath(base + ".eml", CORPUS)
            gbase = os.path.join(GOLD, os.path.relpath(base, CORPUS))
            if os.path.exists(gbase + ".json"):
                out.append((rel, "stalwart", base + ".eml", gbase + ".json", False))
            if os.path.exists(gbase + ".crlf.json"):
                out.append((rel + " (crlf)", "stalwart", base + ".eml", gbase + ".crlf.json", True))
    for sub in ("testmsgs", "mimetools-testmsgs"):
        dirname = os.path.join(CORPUS, "mime4j", sub)
        for f in sorted(os.listdir(dirname)):
            base = os.path.join(dirname, f[:-4])
            gbase = os.path.join(GOLD, os.path.relpath(base, CORPUS))
            if f.endswith(".msg") and os.path.exists(gbase + ".xml"):
                out.append((os.path.relpath(base + ".msg", CORPUS), "mime4j", base + ".msg",
                            gbase, False))
    return out


def run_case(case):
    rel, kind, msgfile, gold, crlf = case
    with open(msgfile, "rb") as fh:
        data = fh.read()
    try:
        if kind == "stalwart":
            # the inputs of stalwart's own test: NNN.json is for the message
            # with every CR removed, NNN.crlf.json for the message with every
            # LF not preceded by CR made CRLF (found from the offsets: the
            # root's offset_end is the input's length in all 214 files)
            if crlf:
                data = re.sub(rb"(?<!\r)\n", b"\r\n", data)
            else:
                data = data.replace(b"\r", b"")
            with open(gold, encoding="utf-8") as fh:
                return check_stalwart(data, json.load(fh)), None
        with open(gold + ".xml", "rb") as fh:
            xml = fh.read()
        with open(gold + "_decoded.xml", "rb") as fh:
            decxml = fh.read()
        return check_mime4j(data, xml, decxml, os.path.dirname(gold)), None
    except RuntimeError as e:
        return None, str(e)


def main():
    known = known_differences()
    differing = {}
    todo = cases()
    # the checks run in parallel, the results are taken in a fixed order
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        results = list(ex.map(run_case, todo))
    for (rel, *_), (d, err) in zip(todo, results):
        if not check(err is None, "%s: %s" % (rel, err)):
            continue
        for c in CHECKS:
            if d[c]:
                differing[(rel, c)] = d[c]
    for key, diffs in sorted(differing.items()):
        listed = key in known
        check(listed, "%s %s differs and is not in KNOWN_DIFFERENCES_GOLD.md" % key)
        if REPORT or not listed:
            for x in diffs[:6]:
                print("  %s %s: %s" % (key[0], key[1], x), file=sys.stderr)
    for key in sorted(known):
        check(key in differing, "%s %s is in KNOWN_DIFFERENCES_GOLD.md but agrees now" % key)
    print("corpus gold: %d messages (CRLF variants counted); compared: %s; %d checks differ, "
          "%d of them listed" % (len(todo), ", ".join("%d %s" % (v, k) for k, v in STATS.items()),
                                 len(differing), sum(1 for k in differing if k in known)))
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


main()
