#!/usr/bin/env python3
"""A/B timing of mixer-cli builds: `mixer-cli score HYP --ref REF --metrics METRIC [FLAGS]` run
RUNS times per binary, alternating binaries (the machine is shared and noisy), wall time of the
whole process; prints the median and minimum per binary, and the median CPU time (user +
system of the process, which the other programs of a shared machine change much less).

Usage: bench/ab-score.py HYP REF METRIC RUNS BIN [BIN ...] [-- FLAG ...]
  e.g. bench/ab-score.py hyp.txt ref.txt chrf 5 /tmp/mixer-cli-old .build/release/mixer-cli -- --sentence-level
"""
import os, statistics, subprocess, sys, time

args = sys.argv[1:]
flags = args[args.index("--") + 1:] if "--" in args else []
args = args[:args.index("--")] if "--" in args else args
hyp, ref, metric, runs, bins = args[0], args[1], args[2], int(args[3]), args[4:]
times = {b: [] for b in bins}
cpu = {b: [] for b in bins}
for _ in range(runs):
    for b in bins:
        t0 = time.perf_counter()
        p = subprocess.Popen([b, "score", hyp, "--ref", ref, "--metrics", metric] + flags, stdout=subprocess.DEVNULL)
        _, status, usage = os.wait4(p.pid, 0)
        times[b].append(time.perf_counter() - t0)
        assert os.waitstatus_to_exitcode(status) == 0, f"{b} failed"
        cpu[b].append(usage.ru_utime + usage.ru_stime)
for b in bins:
    t = times[b]
    print(f"{metric} {' '.join(flags)} {b}: median {statistics.median(t):.3f} s  min {min(t):.3f} s  "
          f"cpu median {statistics.median(cpu[b]):.3f} s  ({runs} runs)")
