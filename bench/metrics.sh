#!/usr/bin/env bash
# Metrics benchmark: mixer vs sacreBLEU 2.6.0 and rouge-score 0.1.2 on one deterministic
# synthetic corpus (100,000 pairs, 20-30 words, Zipfian vocabulary, some accented and CJK text).
#   bench/metrics.sh [PAIRS]        (run from anywhere; builds mixer in release)
# Prints the peers' and mixer's seconds, then one JSON line per figure:
#   {"bench": NAME, "unit": ..., "mixer": ..., "peer": NAME, "peer_value": ..., "ratio": ...}
# ratio = peer / mixer (how many times faster mixer is). Times are single-threaded unless the
# name says 2threads; mixer's in-process times are the best of 3 runs, the peers' one run.
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
PAIRS=${1:-100000}
PY=$(bench/setup-venv.sh | tail -1)
WORK=.build/bench-metrics
mkdir -p "$WORK"
python3 bench/gen_metrics_corpus.py "$WORK" --pairs "$PAIRS"
swift build -c release --product metrics-bench >&2
swift build -c release --product mixer-cli >&2
echo "peers (sacreBLEU corpus_bleu / sentence_bleu, rouge-score) ..." >&2
"$PY" bench/peers/metrics_peers.py "$WORK/hyp.txt" "$WORK/ref.txt" > "$WORK/peers.json"
echo "mixer (in process) ..." >&2
.build/release/metrics-bench "$WORK/hyp.txt" "$WORK/ref.txt" > "$WORK/mixer.json"
# End to end: the whole `mixer-cli score` process (start-up, reading both files, printing).
start=$(date +%s.%N)
.build/release/mixer-cli score "$WORK/hyp.txt" --ref "$WORK/ref.txt" > "$WORK/cli.txt"
end=$(date +%s.%N)
python3 - "$WORK" "$start" "$end" <<'PY'
import json, sys
w, start, end = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
p = json.load(open(f"{w}/peers.json")); m = json.load(open(f"{w}/mixer.json"))
print(f"# sacreBLEU corpus BLEU {p['corpus_bleu']:.6f}  mixer {m['corpus_bleu']:.6f}", file=sys.stderr)
print(f"# mean sentence BLEU: sacreBLEU {p['sentence_bleu_mean']:.9f} mixer {m['sentence_bleu_mean']:.9f}", file=sys.stderr)
print(f"# mean ROUGE-L F: rouge-score {p['rouge_nostem_meanL']:.9f} / {p['rouge_stem_meanL']:.9f}  mixer {m['rouge_nostem_meanL']:.9f} / {m['rouge_stem_meanL']:.9f}", file=sys.stderr)
assert abs(p["corpus_bleu"] - m["corpus_bleu"]) < 1e-9 * p["corpus_bleu"], "corpus BLEU differs"
assert abs(p["sentence_bleu_mean"] - m["sentence_bleu_mean"]) < 1e-9 * p["sentence_bleu_mean"], "sentence BLEU differs"
for k in ("rouge_nostem_meanL", "rouge_stem_meanL"):
    assert abs(p[k] - m[k]) < 1e-9 * p[k], k + " differs"
def line(name, unit, mixer, peer, peer_value):
    print(json.dumps({"bench": name, "unit": unit, "mixer": round(mixer, 6), "peer": peer,
                      "peer_value": round(peer_value, 6), "ratio": round(peer_value / mixer, 1)}))
n = p["sentence_bleu_n"]; r = p["rouge_n"]
line("corpus_bleu_100k", "s", m["corpus_bleu_s"], "sacrebleu.corpus_bleu", p["corpus_bleu_s"])
line("corpus_bleu_100k_2threads", "s", m["corpus_bleu_2threads_s"], "sacrebleu.corpus_bleu", p["corpus_bleu_s"])
line("corpus_bleu_100k_cli_end_to_end", "s", end - start, "sacrebleu.corpus_bleu", p["corpus_bleu_s"])
line("sentence_bleu", "us_per_sentence", m["sentence_bleu_s"] / n * 1e6, "sacrebleu.sentence_bleu", p["sentence_bleu_s"] / n * 1e6)
line("rouge_1_2_L", "us_per_pair", m["rouge_nostem_s"] / r * 1e6, "rouge_score", p["rouge_nostem_s"] / r * 1e6)
line("rouge_1_2_L_stemmed", "us_per_pair", m["rouge_stem_s"] / r * 1e6, "rouge_score(use_stemmer)", p["rouge_stem_s"] / r * 1e6)
rn = p["reward_n"]
line("reward_bleu_plus1_ids_20tok", "us_per_pair", m["reward_bleu_s"] / m["reward_n"] * 1e6, "sacrebleu.sentence_bleu(ids)", p["reward_s"] / rn * 1e6)
line("reward_bleu_plus1_ids_20tok_batch64_warm", "us_per_pair", m["reward_bleu_batch64_s"] / m["reward_n"] * 1e6, "sacrebleu.sentence_bleu(ids)", p["reward_s"] / rn * 1e6)
line("reward_bleu_ids_20tok_incl_table", "us_per_pair", m["reward_build_bleu_s"] / m["reward_n"] * 1e6, "sacrebleu.sentence_bleu(ids)", p["reward_s"] / rn * 1e6)
line("reward_rouge2_ids_20tok", "us_per_pair", m["reward_rouge2_s"] / m["reward_n"] * 1e6, "sacrebleu.sentence_bleu(ids)", p["reward_s"] / rn * 1e6)
line("reward_rougeL_ids_20tok", "us_per_pair", m["reward_rougeL_s"] / m["reward_n"] * 1e6, "sacrebleu.sentence_bleu(ids)", p["reward_s"] / rn * 1e6)
PY
