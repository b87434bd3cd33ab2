#!/usr/bin/python3
"""demo_chart.py: the figures of `mimecodec demo --json FILE` as a PNG.

  demo_chart.py --json DEMO.json [--log DEMO.log] -o DEMO.png

Left: MB/s of every mail stage (compose, SMTP, delivery, POP3 fetch, parse,
extract, ...), each bar annotated with the stage's peak RSS. Right: the
base64 kernels' GB/s (encode and decode, plain and MIME 76+CRLF) beside
memcpy of the same buffer, with the codec stage's peak RSS in the title.

The kernel figures are read from the JSON's "memcpy_gb_s" and "kernels"
([{"kernel", "format", "encode_gb_s", "decode_gb_s"}]) when it has them,
else from the demo's standard output (--log), whose kernel table the demo
prints. Any field the chart needs and cannot find is an error naming it
(exit 1); no chart is drawn from partial data. Needs python3-matplotlib.
"""
import argparse
import json
import re
import sys

STAGE_FIELDS = ("stage", "bytes", "seconds", "mb_s", "peak_rss_kib")
KERNEL_ROW = re.compile(r"^(\S+)\s+(.+?)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+(\d+\.\d+)\s+"
                        r"(ok|FAILED)\s*$")
MEMCPY = re.compile(r"memcpy of the same buffer: (\d+(?:\.\d+)?) GB/s")


def die(msg):
    sys.stderr.write("demo_chart.py: %s\n" % msg)
    sys.exit(1)


def need(obj, key, where):
    if not isinstance(obj, dict) or key not in obj:
        die("%s lacks the field \"%s\"" % (where, key))
    return obj[key]


def number(v, where):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        die("%s is not a number: %r" % (where, v))
    return float(v)


def kernels_from_json(doc, src):
    memcpy = number(need(doc, "memcpy_gb_s", src), src + ": memcpy_gb_s")
    rows = need(doc, "kernels", src)
    if not isinstance(rows, list) or not rows:
        die("%s: \"kernels\" is empty or not a list" % src)
    out = []
    for i, k in enumerate(rows):
        w = "%s: kernels[%d]" % (src, i)
        out.append((str(need(k, "kernel", w)), str(need(k, "format", w)),
                    number(need(k, "encode_gb_s", w), w + ".encode_gb_s"),
                    number(need(k, "decode_gb_s", w), w + ".decode_gb_s")))
    return memcpy, out


def kernels_from_log(path):
    try:
        text = open(path, encoding="utf-8", errors="replace").read()
    except OSError as e:
        die("cannot read --log %s: %s" % (path, e))
    m = MEMCPY.search(text)
    if not m:
        die("%s lacks the memcpy line of the codec stage "
            "(\"memcpy of the same buffer: N GB/s\")" % path)
    rows = []
    for line in text.splitlines():
        r = KERNEL_ROW.match(line)
        if r:
            rows.append((r.group(1), r.group(2), float(r.group(3)), float(r.group(5))))
    if not rows:
        die("%s lacks the kernel table of the codec stage" % path)
    return float(m.group(1)), rows


def main():
    ap = argparse.ArgumentParser(description="chart of mimecodec demo --json figures")
    ap.add_argument("--json", required=True, help="the file of mimecodec demo --json")
    ap.add_argument("--log", help="the demo's standard output (kernel table), if the JSON "
                    "has no \"kernels\"")
    ap.add_argument("-o", "--out", required=True, help="the PNG to write")
    a = ap.parse_args()

    try:
        with open(a.json, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        die("cannot read %s: %s" % (a.json, e))
    src = a.json
    size_mib = number(need(doc, "size_mib", src), src + ": size_mib")
    ok = need(doc, "ok", src)
    codec_rss = number(need(doc, "codec_peak_rss_kib", src), src + ": codec_peak_rss_kib")
    stages = need(doc, "stages", src)
    if not isinstance(stages, list) or not stages:
        die("%s: \"stages\" is empty or not a list" % src)
    rows = []
    for i, s in enumerate(stages):
        w = "%s: stages[%d]" % (src, i)
        for k in STAGE_FIELDS:
            need(s, k, w)
        rows.append((str(s["stage"]), number(s["bytes"], w + ".bytes"),
                     number(s["seconds"], w + ".seconds"), number(s["mb_s"], w + ".mb_s"),
                     number(s["peak_rss_kib"], w + ".peak_rss_kib")))
    if "kernels" in doc or "memcpy_gb_s" in doc:
        memcpy, kernels = kernels_from_json(doc, src)
    elif a.log:
        memcpy, kernels = kernels_from_log(a.log)
    else:
        die("%s lacks the field \"kernels\" (and \"memcpy_gb_s\"), and no --log with the "
            "demo's kernel table was given" % src)

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        die("matplotlib is missing (apt-get install python3-matplotlib)")

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(15, 6.5),
                                   gridspec_kw={"width_ratios": [1.15, 1]})
    # ---- mail stages
    # stages span four orders of magnitude (an in-memory compose beside a
    # network transfer): a log axis; a stage without bytes (a wait) has no
    # bar, only its time
    names = [r[0] for r in rows][::-1]
    mbs = [r[3] for r in rows][::-1]
    pos = [v for v in mbs if v > 0]
    lo = min(pos) / 3 if pos else 0.1
    top = max(pos) if pos else 1.0
    ax1.barh(range(len(rows)), [v if v > 0 else lo for v in mbs],
             color=["#4878a8" if v > 0 else "none" for v in mbs])
    ax1.set_xscale("log")
    ax1.set_xlim(lo, top * 30)
    ax1.set_yticks(range(len(rows)))
    ax1.set_yticklabels(names, fontsize=8)
    ax1.set_xlabel("MB/s (10^6 bytes per second, log scale)")
    for i, r in enumerate(rows[::-1]):
        label = ("%.0f MB/s, " % r[3] if r[1] > 0 and r[3] > 0 else "%.3f s, " % r[2]) + \
            "peak %.1f MiB" % (r[4] / 1024)
        ax1.text((r[3] if r[3] > 0 else lo) * 1.08, i, label, va="center", fontsize=7.5)
    ax1.set_title("mail stages (%g MiB attachment): %s" % (size_mib, "PASS" if ok else "FAIL"),
                  fontsize=10)
    ax1.grid(axis="x", alpha=0.3)
    # ---- kernels beside memcpy
    labels = ["memcpy"] + ["%s\n%s" % (k[0], k[1]) for k in kernels]
    x = list(range(len(labels)))
    w = 0.38
    ax2.bar([x[0]], [memcpy], w * 2, color="#888888", label="memcpy")
    ax2.bar([i - w / 2 for i in x[1:]], [k[2] for k in kernels], w, color="#4878a8",
            label="encode")
    ax2.bar([i + w / 2 for i in x[1:]], [k[3] for k in kernels], w, color="#d9843b",
            label="decode")
    ax2.axhline(memcpy, color="#888888", linestyle="--", linewidth=0.8)
    for i, k in zip(x[1:], kernels):
        ax2.text(i - w / 2, k[2], "%.1f" % k[2], ha="center", va="bottom", fontsize=7)
        ax2.text(i + w / 2, k[3], "%.1f" % k[3], ha="center", va="bottom", fontsize=7)
    ax2.text(x[0], memcpy, "%.1f" % memcpy, ha="center", va="bottom", fontsize=7)
    ax2.set_xticks(x)
    ax2.set_xticklabels(labels, fontsize=7.5)
    ax2.set_ylabel("GB/s of attachment bytes")
    ax2.set_title("base64 kernels beside memcpy (codec stage peak %.1f MiB)" %
                  (codec_rss / 1024), fontsize=10)
    ax2.legend(fontsize=8)
    ax2.grid(axis="y", alpha=0.3)
    fig.suptitle("mimecodec demo", fontsize=12)
    fig.tight_layout()
    try:
        fig.savefig(a.out, dpi=110)
    except OSError as e:
        die("cannot write %s: %s" % (a.out, e))
    print("demo_chart.py: wrote %s" % a.out)


if __name__ == "__main__":
    main()
