#!/usr/bin/python3
"""cli_ab.py: side-by-side timing of shell commands, interleaved, in one run.

usage: bench/cli_ab.py [--reps N] [--out FILE|/dev/null] 'NAME|COMMAND' ...

Each repetition runs every command once, in the order given, with standard
output to OUT (default /dev/null; a regular file is removed before each run,
so every run writes a new file). Prints the best and the median wall time
per command. Used for the CLI A/B figures in bench/TARGETS.md, e.g.:

  bench/cli_ab.py --reps 15 --out /tmp/out \\
      'new|build/release/mimecodec base64 big.bin' 'cu|base64 big.bin'

Run it on a quiet machine (`flock /tmp/mc-bench.lock nice -n -10 ...`); only
ratios taken in one run mean anything on a shared VM."""
import argparse
import os
import statistics
import subprocess
import time

ap = argparse.ArgumentParser(description="interleaved A/B timing of commands")
ap.add_argument("--reps", type=int, default=9)
ap.add_argument("--out", default="/dev/null")
ap.add_argument("cmds", nargs="+", metavar="NAME|COMMAND")
args = ap.parse_args()
cmds = [c.split("|", 1) for c in args.cmds]
times = {name: [] for name, _ in cmds}
for _ in range(args.reps):
    for name, cmd in cmds:
        if args.out != "/dev/null" and os.path.exists(args.out):
            os.unlink(args.out)
        with open(args.out, "wb") as f:
            t = time.perf_counter()
            subprocess.run(cmd, shell=True, stdout=f, check=True)
            times[name].append(time.perf_counter() - t)
for name, _ in cmds:
    v = times[name]
    print("%-12s best %.4f s  median %.4f s" % (name, min(v), statistics.median(v)))
