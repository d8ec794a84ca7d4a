#!/usr/bin/env python3
"""Deterministic synthetic corpus for bench/metrics.sh: N hypothesis/reference pairs of 20-30
words from a Zipfian vocabulary, with a little accented Latin and CJK text.

Usage: gen_metrics_corpus.py OUT_DIR [--pairs 100000] [--seed 20240501]
Writes OUT_DIR/hyp.txt and OUT_DIR/ref.txt (one segment per line). Standard library only.
"""
import argparse, bisect, itertools, os, random

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=20240501)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    accents = "éèêàâçôûüöäñ"
    vocab, seen = [], set()
    while len(vocab) < 30_000:
        n = max(2, min(12, int(rng.gauss(6, 2))))
        w = "".join(rng.choice(letters) for _ in range(n))
        if rng.random() < 0.03:                      # a little accented Latin
            i = rng.randrange(len(w)); w = w[:i] + rng.choice(accents) + w[i + 1:]
        if w not in seen:
            seen.add(w); vocab.append(w)
    cjk = [chr(c) for c in range(0x4E00, 0x4E00 + 2000)]
    weights = [1.0 / (r + 1) ** 1.05 for r in range(len(vocab))]   # Zipf, s = 1.05
    cum = list(itertools.accumulate(weights))
    total = cum[-1]
    def word():
        return vocab[bisect.bisect_left(cum, rng.random() * total)]
    def sentence():
        ws = [word() for _ in range(rng.randint(20, 30))]
        if rng.random() < 0.02:                      # some CJK runs
            i = rng.randrange(len(ws)); ws[i] = "".join(rng.choice(cjk) for _ in range(rng.randint(2, 6)))
        if rng.random() < 0.3:
            ws[rng.randrange(1, len(ws))] += ","
        ws[0] = ws[0].capitalize()
        return ws
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "ref.txt"), "w", encoding="utf-8") as fr, \
         open(os.path.join(a.out, "hyp.txt"), "w", encoding="utf-8") as fh:
        for _ in range(a.pairs):
            ref = sentence()
            hyp = []
            for w in ref:                            # perturb ~30% of the words
                r = rng.random()
                if r < 0.12: hyp.append(word())
                elif r < 0.2: continue
                elif r < 0.28: hyp.extend([w, word()])
                else: hyp.append(w)
            if len(hyp) < 20: hyp += [word() for _ in range(20 - len(hyp))]
            hyp = hyp[:30]
            fr.write(" ".join(ref) + ".\n")
            fh.write(" ".join(hyp) + ".\n")

if __name__ == "__main__":
    main()
