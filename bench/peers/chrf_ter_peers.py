#!/usr/bin/env python3
"""Peer timings for bench/chrf-ter.sh: sacreBLEU 2.6.0's chrF, chrF++ and TER.

Usage: chrf_ter_peers.py HYP REF LONG_HYP LONG_REF
Prints one JSON object: each corpus score and its seconds (corpus_score only, files already
read), and for HYP/REF the sum of the sentence scores and their seconds (sentence_score per
pair, sacreBLEU's sentence level); NAME_s is wall time, NAME_cpu_s the process's CPU time
(time.process_time: user + system, which other programs on a shared machine barely change).
"""
import json, sys, time
from sacrebleu.metrics import CHRF, TER

def lines(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip() for l in f]

hyp, ref, long_hyp, long_ref = (lines(p) for p in sys.argv[1:5])
out = {"pairs": len(hyp), "long_lines": len(long_hyp)}
for name, metric, h, r in [("chrf", CHRF(), hyp, ref), ("chrfpp", CHRF(word_order=2), hyp, ref),
                           ("ter", TER(), hyp, ref), ("ter_long", TER(), long_hyp, long_ref)]:
    t0, c0 = time.perf_counter(), time.process_time()
    s = metric.corpus_score(h, [r])
    out[name + "_s"] = time.perf_counter() - t0
    out[name + "_cpu_s"] = time.process_time() - c0
    out[name] = s.score
for name, metric in [("chrf", CHRF()), ("chrfpp", CHRF(word_order=2)), ("ter", TER())]:
    t0, c0 = time.perf_counter(), time.process_time()
    total = sum(metric.sentence_score(h, [r]).score for h, r in zip(hyp, ref))
    out[name + "_sentence_s"] = time.perf_counter() - t0
    out[name + "_sentence_cpu_s"] = time.process_time() - c0
    out[name + "_sentence_sum"] = total
print(json.dumps(out))
