#!/usr/bin/env bash
# chrF, chrF++ and TER benchmark: mixer-cli score vs sacreBLEU 2.6.0 on the deterministic
# synthetic corpus of bench/metrics.sh (default 20,000 pairs of 20-30 words: sacreBLEU's TER
# takes minutes on more), plus 8 long lines (16 pairs joined, ~400 words each) for TER.
#   bench/chrf-ter.sh [PAIRS]        (run from anywhere; builds mixer in release)
# Checks that both give the same scores (relative 1e-9), then prints one JSON line per figure:
#   {"bench": NAME, "unit": "s", "mixer": ..., "peer": NAME, "peer_value": ..., "ratio": ...}
# ratio = peer / mixer. mixer's time is the whole `mixer-cli score` process (start-up, reading
# the files, printing), best of 3; sacreBLEU's is `corpus_score` alone on lines already read,
# one run. Both single-threaded.
set -euo pipefail
cd "$(dirname "$0")/.."
PAIRS=${1:-20000}
PY=$(bench/setup-venv.sh | tail -1)
WORK=.build/bench-chrf-ter
mkdir -p "$WORK"
python3 bench/gen_metrics_corpus.py "$WORK" --pairs "$PAIRS"
python3 - "$WORK" <<'PY'
import sys
w = sys.argv[1]
for name in ("hyp", "ref"):
    lines = open(f"{w}/{name}.txt", encoding="utf-8").read().split("\n")[:128]
    with open(f"{w}/long-{name}.txt", "w", encoding="utf-8") as f:
        for i in range(0, 128, 16):
            f.write(" ".join(lines[i:i + 16]) + "\n")
PY
swift build -c release --product mixer-cli >&2
echo "peers (sacreBLEU CHRF, CHRF(word_order=2), TER) ..." >&2
"$PY" bench/peers/chrf_ter_peers.py "$WORK/hyp.txt" "$WORK/ref.txt" "$WORK/long-hyp.txt" "$WORK/long-ref.txt" > "$WORK/peers.json"
echo "mixer ..." >&2
run() {  # NAME HYP REF METRIC: best of 3 wall times of mixer-cli score into $WORK/NAME.s, output into NAME.json
  python3 - "$WORK/$1" "$2" "$3" "$4" <<'PY'
import subprocess, sys, time
out, hyp, ref, metric = sys.argv[1:5]
best = None
for _ in range(3):
    t0 = time.perf_counter()
    with open(out + ".json", "w") as f:
        subprocess.run([".build/release/mixer-cli", "score", hyp, "--ref", ref, "--metrics", metric, "--format", "json"],
                       stdout=f, check=True)
    t = time.perf_counter() - t0
    best = t if best is None else min(best, t)
open(out + ".s", "w").write(f"{best}\n")
PY
}
run chrf "$WORK/hyp.txt" "$WORK/ref.txt" chrf
run chrfpp "$WORK/hyp.txt" "$WORK/ref.txt" chrf++
run ter "$WORK/hyp.txt" "$WORK/ref.txt" ter
run ter_long "$WORK/long-hyp.txt" "$WORK/long-ref.txt" ter
python3 - "$WORK" <<'PY'
import json, sys
w = sys.argv[1]
p = json.load(open(f"{w}/peers.json"))
keys = {"chrf": "chrf", "chrfpp": "chrf++", "ter": "ter", "ter_long": "ter"}
for name, key in keys.items():
    m = json.load(open(f"{w}/{name}.json"))[key]["score"]
    print(f"# {name}: sacreBLEU {p[name]:.9f}  mixer {m:.9f}", file=sys.stderr)
    assert abs(p[name] - m) <= 1e-9 * max(abs(p[name]), 1e-300), name + " differs"
def line(name, mixer, peer, peer_value):
    print(json.dumps({"bench": name, "unit": "s", "mixer": round(mixer, 6), "peer": peer,
                      "peer_value": round(peer_value, 6), "ratio": round(peer_value / mixer, 1)}))
n = p["pairs"]
for name, peer in [("chrf", "sacrebleu.CHRF"), ("chrfpp", "sacrebleu.CHRF(word_order=2)"), ("ter", "sacrebleu.TER")]:
    line(f"{name}_{n // 1000}k_cli_end_to_end", float(open(f"{w}/{name}.s").read()), peer, p[name + "_s"])
line(f"ter_{p['long_lines']}_lines_of_400_words_cli_end_to_end", float(open(f"{w}/ter_long.s").read()), "sacrebleu.TER", p["ter_long_s"])
PY
