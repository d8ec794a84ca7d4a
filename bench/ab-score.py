#!/usr/bin/env python3
"""A/B timing of mixer-cli builds: `mixer-cli score HYP --ref REF --metrics METRIC [FLAGS]` run
RUNS times per binary, alternating binaries (the machine is shared and noisy), wall time of the
whole process; prints the median and minimum per binary.

Usage: bench/ab-score.py HYP REF METRIC RUNS BIN [BIN ...] [-- FLAG ...]
  e.g. bench/ab-score.py hyp.txt ref.txt chrf 5 /tmp/mixer-cli-old .build/release/mixer-cli -- --sentence-level
"""
import statistics, subprocess, sys, time

args = sys.argv[1:]
flags = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
hyp, ref, metric, runs, bins = args[0], args[1], args[2], int(args[3]), args[4:]
times = {b: [] for b in bins}
for _ in range(runs):
    for b in bins:
        t0 = time.perf_counter()
        subprocess.run([b, "score", hyp, "--ref", ref, "--metrics", metric] + flags,
                       stdout=subprocess.DEVNULL, check=True)
        times[b].append(time.perf_counter() - t0)
for b in bins:
    t = times[b]
    print(f"{metric} {' '.join(flags)} {b}: median {statistics.median(t):.3f} s  min {min(t):.3f} s  ({runs} runs)")
