"""mixer's `score -f csv` (rouge-score's bootstrap aggregate, seeded) against rouge-score 0.1.2's own
BootstrapAggregator (numpy's generator) on one corpus: the numbers can only agree in distribution.

    pip install rouge-score==0.1.2 nltk==3.10.4
    swift build -c release && python3 scripts/check_rouge_aggregate.py [.build/release/mixer-cli]

Corpus: Tests/MetricsTests/Resources/rouge-score-lsum (40 multi-sentence summaries, sentences
joined by " <n> "; rouge-score reads them with real newlines). Both sides run 20 times
(rouge-score with numpy seeds 0..19, mixer with --bootstrap-seed 0..19); for every type, measure
and bound the two means over the runs must be within 4 standard errors of each other (one seed
alone says little: every figure of a run comes from the same resamples, so they move together).
Exit status 1 names the first figure that is not.
"""
import os, subprocess, sys
import numpy as np
from rouge_score import rouge_scorer, scoring

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
cli = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, ".build/release/mixer-cli")
d = os.path.join(root, "Tests/MetricsTests/Resources/rouge-score-lsum")
types = ["rouge1", "rouge2", "rougeL", "rougeLsum"]
read = lambda name: [l.rstrip("\n").replace(" <n> ", "\n") for l in open(os.path.join(d, name), encoding="utf-8")]
targets, predictions = read("targets.txt"), read("predictions.txt")
scorer = rouge_scorer.RougeScorer(types, use_stemmer=True)
scores = [scorer.score(t, p) for t, p in zip(targets, predictions)]
runs = []
for seed in range(20):
    np.random.seed(seed)
    agg = scoring.BootstrapAggregator()
    for s in scores: agg.add_scores(s)
    runs.append(agg.aggregate())

def mixer(seed):
    out = subprocess.run([cli, "score", os.path.join(d, "predictions.txt"), "--reference", os.path.join(d, "targets.txt"),
                          "--metrics", ",".join(types), "--stem", "--rouge-newline", "<n>", "-f", "csv",
                          "--bootstrap-seed", str(seed)], check=True, capture_output=True, text=True).stdout.splitlines()
    assert out[0] == "score_type,low,mid,high", out[0]
    return {row.split(",")[0]: [float(x) for x in row.split(",")[1:]] for row in out[1:]}

ours = [mixer(seed) for seed in range(20)]
field = {"P": "precision", "R": "recall", "F": "fmeasure"}
bad = None
print("figure            mixer mean ± sd (20 seeds)   rouge-score mean ± sd (20 numpy seeds)   |Δ| / SE")
for t in sorted(types):
    for m in "RPF":
        key = f"{t}-{m}"
        for i, bound in enumerate(("low", "mid", "high")):
            a = np.array([o[key][i] for o in ours])
            b = np.array([getattr(getattr(r[t], bound), field[m]) for r in runs])
            se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
            z = abs(a.mean() - b.mean()) / se
            print(f"{key:12} {bound:4}  {a.mean():.4f} ± {a.std(ddof=1):.4f}              {b.mean():.4f} ± {b.std(ddof=1):.4f}                      {z:.2f}")
            if z > 4 and bad is None:
                bad = f"{key} {bound}: mixer {a.mean():.6f} vs rouge-score {b.mean():.6f}, {z:.1f} standard errors apart"
if bad:
    print("FAIL:", bad)
    sys.exit(1)
print("OK: every low/mid/high agrees with rouge-score's within 4 standard errors of the seed-to-seed spread")
