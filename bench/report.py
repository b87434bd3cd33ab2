#!/usr/bin/python3
"""report.py: bench/RESULTS.md and the two plots from one mc_bench JSON run.

Run it with Debian's /usr/bin/python3 (python3-matplotlib imports only there;
the python3 first on PATH on our machines is a separate build):

  /usr/bin/python3 bench/report.py build/release/bench.json \
      [--cli build/release/cli_timing.json] [--command "how the run was made"] \
      [--out-dir bench]

Input: the --benchmark_out JSON of mc_bench. With --benchmark_repetitions and
aggregates the median is used; a run without aggregates falls back to the
median of the iteration runs. GB/s are 10^9 bytes per second of INPUT: the
payload for encode and memcpy, the encoded text for decode (bench_b64.c).
"""
import argparse
import datetime
import json
import os
import statistics
import sys
from collections import defaultdict

SIZE_NAMES = {}
for _i, _u in enumerate(["B", "KiB", "MiB", "GiB"]):
    SIZE_NAMES[_u] = 1024 ** _i


def size_label(n):
    for unit in ("GiB", "MiB", "KiB"):
        if n >= SIZE_NAMES[unit] and n % SIZE_NAMES[unit] == 0:
            return "%d %s" % (n // SIZE_NAMES[unit], unit)
    return "%d B" % n


# implementation key (run name without the size) -> (direction, label, order)
# direction is "encode", "decode" or "copy"
ISA_ORDER = {"scalar": 0, "avx2": 1, "avx512": 2, "neon": 3}


def describe(key):
    parts = key.split("/")
    if key == "memcpy":
        return ("copy", "memcpy", (9, 0, 0))
    if parts[0] in ("b64_encode", "b64_mime_encode", "b64_decode", "b64_mime_decode"):
        isa = parts[1] if len(parts) > 1 else "?"
        mime = "mime" in parts[0]
        direction = "encode" if parts[0].endswith("encode") else "decode"
        if direction == "encode":
            form = "MIME 76+CRLF" if mime else "plain"
        else:
            form = "MIME (CRLF input)" if mime else "strict"
        return (direction, "mimecodec %s, %s" % (isa, form),
                (0, 1 if mime else 0, ISA_ORDER.get(isa, 9)))
    if parts[0].startswith("peer_") and len(parts) == 2:
        peer = parts[0][len("peer_"):]
        direction = parts[1]
        labels = {
            ("openssl_block", "encode"): "OpenSSL EVP_EncodeBlock (plain)",
            ("openssl_block", "decode"): "OpenSSL EVP_DecodeBlock (strict)",
            ("openssl_evp", "encode"): "OpenSSL EVP_EncodeUpdate (64+LF)",
            ("openssl_evp", "decode"): "OpenSSL EVP_DecodeUpdate (MIME input)",
            ("gmime", "encode"): "GMime 3 encode_step (76+LF)",
            ("gmime", "decode"): "GMime 3 decode_step (MIME input)",
            ("libb64", "encode"): "libb64 encode_block (72+LF)",
            ("libb64", "decode"): "libb64 decode_block (MIME input)",
        }
        order = ["openssl_block", "openssl_evp", "gmime", "libb64"]
        return (direction, labels.get((peer, direction), "%s %s" % (peer, direction)),
                (1, order.index(peer) if peer in order else 9, 0))
    return ("other", key, (8, 0, 0))


def load(path):
    with open(path) as f:
        doc = json.load(f)
    medians = {}
    iters = defaultdict(list)
    errors = []
    for b in doc.get("benchmarks", []):
        name = b.get("run_name") or b["name"]
        if b.get("error_occurred"):
            errors.append("%s: %s" % (name, b.get("error_message", "")))
            continue
        if "bytes_per_second" not in b:
            continue
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[name] = b["bytes_per_second"]
        else:
            iters[name].append(b["bytes_per_second"])
    for name, vals in iters.items():
        medians.setdefault(name, statistics.median(vals))
    # split "impl/.../size"
    table = defaultdict(dict)  # key -> size -> bytes/s
    for name, bps in medians.items():
        key, _, size = name.rpartition("/")
        if not size.isdigit():
            continue
        table[key][int(size)] = bps
    return doc.get("context", {}), table, errors


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = line.split(":", 1)[1].split()
                    keep = [x for x in flags if x.startswith("avx") or x in ("sse4_2", "bmi2")]
                    return " ".join(sorted(keep))
    except OSError:
        pass
    return ""


def gbs(bps):
    return bps / 1e9


def fmt_gbs(v):
    if v is None:
        return "–"
    v = gbs(v)
    return "%.2f" % v if v < 10 else "%.1f" % v


def fmt_ratio(v, ref):
    if v is None or not ref:
        return "–"
    r = v / ref
    return "%.3f" % r if r < 0.1 else "%.2f" % r


def md_tables(title, rows, sizes, memcpy):
    """rows: list of (label, {size: bps}); two tables, GB/s then ratio."""
    out = []
    head = "| implementation | " + " | ".join(size_label(s) for s in sizes) + " |"
    sep = "|---|" + "---:|" * len(sizes)
    out.append("### %s: GB/s (median)\n" % title)
    out.append(head)
    out.append(sep)
    for label, data in rows:
        out.append("| %s | " % label + " | ".join(fmt_gbs(data.get(s)) for s in sizes) + " |")
    out.append("| *memcpy (same run)* | " +
               " | ".join(fmt_gbs(memcpy.get(s)) for s in sizes) + " |")
    out.append("")
    out.append("### %s: ratio to memcpy at the same size\n" % title)
    out.append(head)
    out.append(sep)
    for label, data in rows:
        out.append("| %s | " % label +
                   " | ".join(fmt_ratio(data.get(s), memcpy.get(s)) for s in sizes) + " |")
    out.append("")
    return out


COLORS = {
    "scalar": "#1f77b4", "avx2": "#ff7f0e", "avx512": "#2ca02c", "neon": "#9467bd",
    "OpenSSL EVP_EncodeBlock": "#d62728", "OpenSSL EVP_DecodeBlock": "#d62728",
    "OpenSSL EVP_EncodeUpdate": "#8c564b", "OpenSSL EVP_DecodeUpdate": "#8c564b",
    "GMime": "#e377c2", "libb64": "#7f7f7f",
}


def color_for(label):
    if label.startswith("mimecodec "):
        return COLORS.get(label.split()[1].rstrip(","), "#17becf")
    for k, v in COLORS.items():
        if label.startswith(k):
            return v
    return "#bcbd22"


def plot(path, title, panels, sizes, memcpy):
    """panels: list of (subtitle, rows); one subplot each, shared y axis."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    allv = [gbs(v) for _, rows in panels for _, d in rows for v in d.values()]
    ymin = min(allv + [1]) / 1.5
    ymax = max([gbs(v) for v in memcpy.values()] + allv + [1]) * 1.5
    fig, axes = plt.subplots(1, len(panels), figsize=(7.2 * len(panels), 7.4), dpi=100,
                             sharey=True, squeeze=False)
    for ax, (subtitle, rows) in zip(axes[0], panels):
        for label, data in rows:
            xs = [s for s in sizes if s in data]
            mine = label.startswith("mimecodec")
            ax.plot(xs, [gbs(data[s]) for s in xs], label=label, color=color_for(label),
                    marker="o" if mine else "s", markersize=4,
                    linewidth=2.2 if mine else 1.5, linestyle="-" if mine else "--")
        xs = [s for s in sizes if s in memcpy]
        ax.plot(xs, [gbs(memcpy[s]) for s in xs], label="memcpy (same run)", color="black",
                linestyle=":", linewidth=1.5)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(sizes)
        ax.set_xticklabels([size_label(s) for s in sizes], rotation=40, ha="right")
        ax.minorticks_off()
        ax.set_yticks([0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200])
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: "%g" % v))
        ax.set_ylim(ymin, ymax)
        ax.set_xlabel("payload size (log scale)")
        ax.set_title(subtitle, fontsize=11)
        ax.grid(True, which="major", alpha=0.35)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=8.5,
                  frameon=False)
    axes[0][0].set_ylabel("GB/s of input, log scale (1 GB = 10^9 B)")
    fig.suptitle(title, fontsize=13)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def summary(enc, dec, sizes):
    """Best mimecodec kernel against the best peer, per form, at a few sizes."""
    want = [x for x in (4096, 65536, 16 << 20, 64 << 20) if x in sizes] or sizes[-3:]
    forms = [
        ("encode, one line", enc, lambda l: l.endswith("plain") or "(plain)" in l),
        ("encode, wrapped", enc, lambda l: not (l.endswith("plain") or "(plain)" in l)),
        ("decode, strict", dec, lambda l: l.endswith("strict") or "(strict)" in l),
        ("decode, MIME input", dec, lambda l: not (l.endswith("strict") or "(strict)" in l)),
    ]
    out = ["## Summary\n",
           "Best mimecodec kernel against the best peer of the same form (GB/s of input, "
           "median).\n",
           "| form | size | mimecodec best | GB/s | best peer | GB/s | ratio |",
           "|---|---:|---|---:|---|---:|---:|"]
    for form, rows, pick in forms:
        rows = [r for r in rows if pick(r[0])]
        for size in want:
            ours = [(d[size], l) for l, d in rows if l.startswith("mimecodec") and size in d]
            peers = [(d[size], l) for l, d in rows if not l.startswith("mimecodec") and size in d]
            if not ours:
                continue
            o = max(ours)
            p = max(peers) if peers else None
            out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
                form, size_label(size), o[1].replace("mimecodec ", ""), fmt_gbs(o[0]),
                p[1] if p else "–", fmt_gbs(p[0]) if p else "–",
                "%.1f×" % (o[0] / p[0]) if p else "–"))
    out.append("")
    return out


def cli_section(path):
    with open(path) as f:
        doc = json.load(f)
    out = ["## CLI against coreutils\n"]
    out.append("Input: %s of random bytes (%d B); the encoded file is %d B. "
               "Best of %d runs each, alternating the two tools, output to a file "
               "on the same filesystem (%s; a new file each run) and to /dev/null. "
               "Speed-up = coreutils time / mimecodec time. mimecodec works on a large "
               "file with one thread per CPU (%d here; encode: thread 0 writes, and "
               "encodes when it is ahead, the others encode; into a file the output's "
               "disk space is reserved first and the writes end on 256 KiB boundaries "
               "of the file); `encode1` is the same encode held "
               "to one thread.\n"
               % (size_label(doc["file_bytes"]), doc["file_bytes"], doc["encoded_bytes"],
                  doc.get("runs", 3), doc.get("dir", "?"), doc.get("cpus", 0)))
    out.append("| operation | output | command (mimecodec) | command (coreutils) | mimecodec s | "
               "coreutils s | mimecodec MB/s | coreutils MB/s | speed-up |")
    out.append("|---|---|---|---|---:|---:|---:|---:|---:|")
    for row in doc["rows"]:
        mc, cu = row["mimecodec_s"], row["coreutils_s"]
        nbytes = row["input_bytes"]
        out.append("| %s | %s | `%s` | `%s` | %.3f | %.3f | %.0f | %.0f | %.2f× |" % (
            row["op"], row.get("sink", "file"), row["mimecodec_cmd"], row["coreutils_cmd"], mc, cu,
            nbytes / mc / 1e6, nbytes / cu / 1e6, cu / mc))
    out.append("")
    out.append("MB/s count the input of each command (10^6 B/s). coreutils: %s.\n"
               % doc.get("coreutils_version", "?"))
    return out


MIME_ROWS = [
    # (benchmark, what, unit, target, issue-4 peer figures)
    ("mime_corpus_parse", "corpus (messages <= 64 KiB): parse, walk every part",
     "messages/s", 250000, "mimetic ~115,000, GMime ~15,000"),
    ("mime_corpus_decode", "corpus: parse, walk, decode every leaf", "GB/s", 1.5,
     "mimetic ~0.5, mail-parser 0.31, GMime 0.11"),
    ("mime_large_parse", "32 MiB message, 24 MiB base64 attachment: parse only", "GB/s", 8.0,
     "memchr ~11"),
    ("mime_large_decode", "32 MiB message: parse + decode the attachment", "GB/s", 4.0,
     "GMime ~0.4, mail-parser 0.2, Python 0.024"),
]
MIME_IMPLS = [("mimecodec", "mimecodec"), ("gmime", "GMime 3"), ("mimetic", "mimetic")]


def agg_load(path, prefixes=("mime_",)):
    """name -> {"median": run, "cv": run, ...} for the benchmarks whose names
    start with one of prefixes (a run without aggregates gives its iteration
    runs' median and spread)."""
    with open(path) as f:
        doc = json.load(f)
    aggs = defaultdict(dict)
    reps = defaultdict(list)
    for b in doc.get("benchmarks", []):
        name = b.get("run_name") or b["name"]
        if not name.startswith(prefixes) or b.get("error_occurred"):
            continue
        if b.get("run_type") == "aggregate":
            aggs[name][b.get("aggregate_name")] = b
        else:
            reps[name].append(b)
    for name, runs in reps.items():
        if "median" in aggs[name]:
            continue
        def med(key):
            vals = [r[key] for r in runs if key in r]
            return statistics.median(vals) if vals else None
        m = dict(runs[0])
        for key in ("bytes_per_second", "items_per_second"):
            if med(key) is not None:
                m[key] = med(key)
        aggs[name]["median"] = m
        if len(runs) > 1:
            cv = {}
            for key in ("bytes_per_second", "items_per_second"):
                vals = [r[key] for r in runs if key in r]
                if len(vals) > 1 and statistics.mean(vals):
                    cv[key] = statistics.stdev(vals) / statistics.mean(vals)
            aggs[name]["cv"] = cv
    return aggs


QP_SIZE = 1 << 20


def qp_section(path, py_path):
    """Issue 3's table: quoted-printable at 1 MiB on every kernel beside GMime
    (same binary) and Python's binascii (bench/qp_python.py, same run of
    scripts/bench.sh)."""
    aggs = agg_load(path, ("qp_", "peer_gmime_qp"))
    if not aggs:
        return []
    py = {}
    if py_path and os.path.exists(py_path):
        with open(py_path) as f:
            py = json.load(f)

    def gbs_of(name):
        m = aggs.get("%s/%d" % (name, QP_SIZE), {}).get("median")
        return m["bytes_per_second"] / 1e9 if m and "bytes_per_second" in m else None

    isas = [i for i in ("scalar", "avx2", "avx512")
            if gbs_of("qp_encode/text/%s" % i) is not None]
    out = ["## Quoted-printable (issue 3)\n"]
    out.append("`bench/bench_qp.c`, 1 MiB, GB/s of **input** (raw bytes for encode, the encoded "
               "text for decode), medians of the repetitions. text: English-like prose, LF lines "
               "of 40-110 characters, ~4%% of bytes non-ASCII UTF-8, text mode; binary: random "
               "bytes, binary mode (CR and LF escaped). GMime 3: `g_mime_encoding_quoted_encode_step`"
               " / `decode_step` in the same binary. Python: `binascii.b2a_qp` / `a2b_qp` on the "
               "same text and equally random binary (`bench/qp_python.py`%s, best of 5).\n"
               % (", Python " + py["version"] if py.get("version") else ""))
    out.append("| operation | " + " | ".join("mimecodec %s" % i for i in isas) +
               " | GMime 3 | Python binascii | target | met |")
    out.append("|---|" + "---:|" * (len(isas) + 2) + "---|---|")
    targets = {("encode", "text"): ("avx512 >= 4 GB/s", lambda v, g: v.get("avx512", 0) >= 4),
               ("decode", "text"): ("avx512 >= 6 GB/s", lambda v, g: v.get("avx512", 0) >= 6),
               ("encode", "binary"): ("best >= 10x GMime",
                                      lambda v, g: g and max(v.values()) >= 10 * g),
               ("decode", "binary"): ("best >= 10x GMime",
                                      lambda v, g: g and max(v.values()) >= 10 * g)}
    for inp in ("text", "binary"):
        for op in ("encode", "decode"):
            vals = {i: gbs_of("qp_%s/%s/%s" % (op, inp, i)) for i in isas}
            vals = {k: v for k, v in vals.items() if v is not None}
            g = gbs_of("peer_gmime_qp/%s/%s" % (op, inp))
            p = py.get("gbs", {}).get("%s/%s/%d" % (op, inp, QP_SIZE))
            cells = ["%.2f" % vals[i] if i in vals else "–" for i in isas]
            best = max(vals.values()) if vals else None
            gcell = "%.3f (%.1f×)" % (g, best / g) if g and best else "–"
            pcell = "%.3f (%.1f×)" % (p, best / p) if p and best else "–"
            tname, tfn = targets[(op, inp)]
            met = "yes" if vals and tfn(vals, g) else "**no**"
            out.append("| %s %s | %s | %s | %s | %s | %s |" % (
                op, inp, " | ".join(cells), gcell, pcell, tname, met))
    out.append("")
    out.append("Ratios in parentheses: the best mimecodec kernel over that peer, same run.\n")
    return out


def mime_section(path):
    aggs = agg_load(path)
    if not aggs:
        return []

    def value(name, unit):
        a = aggs.get(name, {})
        m = a.get("median")
        if not m:
            return None, None, None
        key = "items_per_second" if unit == "messages/s" else "bytes_per_second"
        v = m.get(key)
        if v is None:
            return None, None, None
        cv = a.get("cv", {}).get(key)
        if v is not None and unit == "GB/s":
            v = v / 1e9
        return v, cv, m.get("label")

    def fmt(v, unit):
        if v is None:
            return "–"
        return "{:,.0f}".format(v) if unit == "messages/s" else "%.2f" % v

    out = ["## MIME parser (issue 4)\n"]
    out.append("`bench/bench_mime.c`: mimecodec (`mc_mime_parse` + `mc_mime_decode`) beside "
               "GMime 3 (`g_mime_parser` on a memory stream; decode through "
               "`g_mime_part_get_content` into a null stream) and mimetic (`MimeEntity` from a "
               "char range; its Base64/QP decoders, `bench/peer_mimetic.cc`), single thread, "
               "same bytes. Corpus: every file of `tests/data/corpus/` up to 64 KiB (mbox "
               "files left out), one iteration = all of them. Large: a generated 32 MiB "
               "multipart/mixed message (text part, quoted-printable HTML part, 24 MiB base64 "
               "attachment at 76 columns + CRLF). GB/s are 10^9 bytes of **message input** per "
               "second; decoded bytes go to a sink that only counts them. Figures are medians "
               "of the repetitions; ± is the coefficient of variation across repetitions "
               "(the VM is shared: expect 10-30 %).\n")
    out.append("| benchmark | unit | mimecodec | GMime 3 | mimetic | target | met | "
               "mimecodec / best peer | peers per issue 4 |")
    out.append("|---|---|---:|---:|---:|---:|---|---:|---|")
    for bench, what, unit, target, peers_issue in MIME_ROWS:
        cells = []
        vals = {}
        label = None
        for key, _ in MIME_IMPLS:
            v, cv, lab = value("%s/%s" % (bench, key), unit)
            vals[key] = v
            if key == "mimecodec":
                label = lab
            cells.append(fmt(v, unit) + (" ±%.0f%%" % (100 * cv) if cv is not None else ""))
        ours = vals.get("mimecodec")
        peer_vals = [v for k, v in vals.items() if k != "mimecodec" and v]
        ratio = "%.1f×" % (ours / max(peer_vals)) if ours and peer_vals else "–"
        met = "–" if ours is None else ("yes" if ours >= target else "**no**")
        tgt = ">= " + ("{:,}".format(target) if unit == "messages/s" else "%.1f" % target)
        out.append("| %s%s | %s | %s | %s | %s |" % (
            what, " (%s kernels)" % label if label else "", unit, " | ".join(cells), tgt,
            met) + " %s | %s |" % (ratio, peers_issue))
    mv, mcv, _ = value("mime_large_memchr", "GB/s")
    if mv is not None:
        lp, _, _ = value("mime_large_parse/mimecodec", "GB/s")
        out.append("")
        out.append("Reference line: `memchr` over the same 32 MiB (a byte that is not there): "
                   "%.2f GB/s%s; mimecodec's parse-only run is %s of it." % (
                       mv, " ±%.0f%%" % (100 * mcv) if mcv is not None else "",
                       "%.0f %%" % (100 * lp / mv) if lp else "–"))
    out.append("")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("json", help="mc_bench --benchmark_out file")
    ap.add_argument("--cli", help="CLI timing JSON written by scripts/bench.sh")
    ap.add_argument("--qp-python", help="bench/qp_python.py JSON (Python binascii QP rates)")
    ap.add_argument("--command", default=None, help="the command that produced the run")
    ap.add_argument("--build-info", default=None, help="compiler and build type, for the header")
    ap.add_argument("--out-dir", default=os.path.dirname(os.path.abspath(__file__)))
    args = ap.parse_args()

    ctx, table, errors = load(args.json)
    if not table:
        sys.exit("report.py: no benchmark results with bytes_per_second in %s" % args.json)
    memcpy = table.get("memcpy", {})
    sizes = sorted({s for d in table.values() for s in d})

    groups = defaultdict(list)
    for key, data in table.items():
        direction, label, order = describe(key)
        groups[direction].append((order, label, data))
    enc = [(l, d) for _, l, d in sorted(groups["encode"])]
    dec = [(l, d) for _, l, d in sorted(groups["decode"])]

    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = args.command or "mc_bench --benchmark_out=%s" % args.json
    lines = ["# mimecodec benchmark results", ""]
    lines.append("Generated by `bench/report.py` from one `mc_bench` run; regenerate with "
                 "`scripts/bench.sh`.")
    lines.append("")
    lines.append("- Command: `%s`" % cmd)
    lines.append("- Run date: %s (report written %s)" % (ctx.get("date", "?"), now))
    lines.append("- CPU: %s, %s logical CPUs at %s MHz as reported; SIMD flags: %s" % (
        cpu_model(), ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?"), cpu_flags()))
    caches = ", ".join("L%d %s %d KiB" % (c["level"], c["type"], c["size"] // 1024)
                       for c in ctx.get("caches", []))
    if caches:
        lines.append("- Caches: %s" % caches)
    if args.build_info:
        lines.append("- Build: %s" % args.build_info)
    if "load_avg" in ctx:
        lines.append("- Load average at start: %s (a 2-core VM shared with other work; above "
                     "~1 the figures carry several %% of noise)"
                     % ", ".join("%.2f" % x for x in ctx["load_avg"]))
    lines.append("- Google Benchmark: `library_build_type` = %s. Debian's libbenchmark 1.7.1 "
                 "is built without NDEBUG, so every run prints `***WARNING*** Library was "
                 "built as DEBUG. Timings may be affected.` It can be ignored: the timed "
                 "loop (`KeepRunning`) is inline in our own shim, compiled at our flags."
                 % ctx.get("library_build_type", "?"))
    lines.append("")
    lines.append("Method. Every figure is the median of the repetitions of one benchmark "
                 "(CPU time). GB/s are 10^9 bytes of **input** per second: the payload for "
                 "encode and memcpy, the **encoded text** for decode (so a decoder's payload "
                 "rate is about 3/4 of its figure). The size in the column header is always "
                 "the payload size. All implementations read the same random payload (or its "
                 "encodings) and write to the same pre-faulted buffer; every run's output is "
                 "checked after timing. mimecodec goes through the public streaming API "
                 "(`mc_b64_encoder_init_isa` + `update` + `final`, likewise for decode) bound "
                 "to each kernel set the CPU supports. mimecodec's MIME decode and the OpenSSL "
                 "EVP, GMime and libb64 decoders read 76-column CRLF text; mimecodec's strict "
                 "decode and `EVP_DecodeBlock` read one unbroken line. The peers' encoders "
                 "use their fixed line lengths: OpenSSL EVP 64, GMime 76, libb64 72 (LF). "
                 "Bodies under 4 KiB run in batches so the ~1 ns C-to-C++ `KeepRunning` call "
                 "does not count. The ratio tables divide by memcpy of the same size measured "
                 "in the same run; memcpy of up to 16 KiB runs from L1 (tiny ratios), and from "
                 "4 MiB on every figure is bounded by this VM's memory bandwidth.")
    lines.append("")
    if errors:
        lines.append("**Runs that reported an error (left out):**")
        lines.extend("- %s" % e for e in errors)
        lines.append("")
    lines.extend(summary(enc, dec, sizes))
    lines.append("## Encode\n")
    lines.extend(md_tables("Encode", enc, sizes, memcpy))
    lines.append("![encode throughput](b64_encode.png)\n")
    lines.append("## Decode\n")
    lines.extend(md_tables("Decode", dec, sizes, memcpy))
    lines.append("![decode throughput](b64_decode.png)\n")
    lines.extend(qp_section(args.json, args.qp_python))
    lines.extend(mime_section(args.json))
    if args.cli and os.path.exists(args.cli):
        lines.extend(cli_section(args.cli))

    out_md = os.path.join(args.out_dir, "RESULTS.md")
    with open(out_md, "w") as f:
        f.write("\n".join(lines).rstrip() + "\n")
    def split(rows, first):
        return ([r for r in rows if first(r[0])], [r for r in rows if not first(r[0])])

    enc_plain, enc_wrap = split(enc, lambda l: l.endswith("plain") or "(plain)" in l)
    dec_strict, dec_mime = split(dec, lambda l: l.endswith("strict") or "(strict)" in l)
    plot(os.path.join(args.out_dir, "b64_encode.png"),
         "base64 encode throughput (median; GB/s of payload)",
         [("one unbroken line (wrap 0)", enc_plain),
          ("line-wrapped (mimecodec: 76+CRLF; peers: their defaults)", enc_wrap)],
         sizes, memcpy)
    plot(os.path.join(args.out_dir, "b64_decode.png"),
         "base64 decode throughput (median; GB/s of encoded input)",
         [("strict, no whitespace in the input", dec_strict),
          ("MIME input: 76 columns + CRLF", dec_mime)], sizes, memcpy)
    print("report.py: wrote %s, b64_encode.png, b64_decode.png in %s"
          % (os.path.basename(out_md), args.out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
