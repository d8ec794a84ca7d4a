#!/usr/bin/env python3
"""Times sacreBLEU 2.6.0 and rouge-score 0.1.2 on the benchmark corpus; prints one JSON object.

Usage: metrics_peers.py HYP REF [--sentences 10000] [--rouge 10000]
"""
import argparse, json, time
import sacrebleu
from rouge_score import rouge_scorer

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hyp"); ap.add_argument("ref")
    ap.add_argument("--sentences", type=int, default=10_000)
    ap.add_argument("--rouge", type=int, default=10_000)
    a = ap.parse_args()
    hyps = open(a.hyp, encoding="utf-8").read().split("\n")[:-1]
    refs = open(a.ref, encoding="utf-8").read().split("\n")[:-1]
    out = {"pairs": len(hyps)}
    t = time.perf_counter(); b = sacrebleu.corpus_bleu(hyps, [refs]); out["corpus_bleu_s"] = time.perf_counter() - t
    out["corpus_bleu"] = b.score
    n = a.sentences
    t = time.perf_counter(); s = [sacrebleu.sentence_bleu(h, [r]).score for h, r in zip(hyps[:n], refs[:n])]
    out["sentence_bleu_s"] = time.perf_counter() - t; out["sentence_bleu_n"] = n; out["sentence_bleu_mean"] = sum(s) / n
    n = a.rouge
    for stem in (False, True):
        sc = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=stem)
        t = time.perf_counter(); f = [sc.score(r, h)["rougeL"].fmeasure for h, r in zip(hyps[:n], refs[:n])]
        out[f"rouge_{'stem' if stem else 'nostem'}_s"] = time.perf_counter() - t
        out[f"rouge_{'stem' if stem else 'nostem'}_meanL"] = sum(f) / n
    out["rouge_n"] = n
    # The reward peer: sentence BLEU on id strings (what a Python trainer would call), 20 tokens.
    vocab = {}
    def ids(line): return [str(vocab.setdefault(w, len(vocab))) for w in line.split()[:20]]
    pairs = [(" ".join(ids(h)), " ".join(ids(r))) for h, r in zip(hyps[:n], refs[:n])]
    t = time.perf_counter()
    for h, r in pairs: sacrebleu.sentence_bleu(h, [r], tokenize="none")
    out["reward_s"] = time.perf_counter() - t; out["reward_n"] = n
    print(json.dumps(out))

if __name__ == "__main__":
    main()
