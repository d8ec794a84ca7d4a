#!/usr/bin/env bash
# chrF, chrF++ and TER benchmark: mixer-cli score vs sacreBLEU 2.6.0 on the deterministic
# synthetic corpus of bench/metrics.sh (default 20,000 pairs of 20-30 words: sacreBLEU's TER
# takes minutes on more), plus 8 long lines (16 pairs joined, ~400 words each) for TER; corpus
# level (`corpus_score`) and sentence level (`sentence_score` per pair, `--sentence-level`).
#   bench/chrf-ter.sh [PAIRS [PEER_PAIRS]]   (run from anywhere; builds mixer in release)
# MIXER_CLI=path times that binary instead (no build), e.g. a copy of an older build.
# PEER_PAIRS (default PAIRS) < PAIRS runs sacreBLEU on the first PEER_PAIRS pairs only and
# scales its time by PAIRS / PEER_PAIRS (it is linear in the pairs; "peer_scaled_from" says so).
# Checks that both give the same scores on the pairs sacreBLEU scored (relative 1e-9; the sum
# of the sentence scores at sentence level), then prints one JSON line per figure:
#   {"bench": NAME, "unit": "s", "mixer": ..., "peer": NAME, "peer_value": ..., "ratio": ...}
# ratio = peer / mixer. mixer's time is the whole `mixer-cli score` process (start-up, reading
# the files, printing), best of 3; sacreBLEU's is `corpus_score` (or the `sentence_score` loop)
# alone on lines already read, one run. Both single-threaded. Each line also carries the CPU
# times (user + system: mixer's child process, sacreBLEU's time.process_time) and their ratio,
# "cpu_ratio": on a shared machine the wall times grow with the other programs' load, the CPU
# times much less.
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
PAIRS=${1:-20000}
PEER_PAIRS=${2:-$PAIRS}
PY=$(bench/setup-venv.sh | tail -1)
WORK=.build/bench-chrf-ter
mkdir -p "$WORK"
python3 bench/gen_metrics_corpus.py "$WORK" --pairs "$PAIRS"
python3 - "$WORK" "$PEER_PAIRS" <<'PY'
import sys
w, peer_pairs = sys.argv[1], int(sys.argv[2])
for name in ("hyp", "ref"):
    with open(f"{w}/{name}.txt", encoding="utf-8") as f, open(f"{w}/peer-{name}.txt", "w", encoding="utf-8") as g:
        for k, line in enumerate(f):
            if k == peer_pairs:
                break
            g.write(line)
for name in ("hyp", "ref"):
    lines = open(f"{w}/{name}.txt", encoding="utf-8").read().split("\n")[:128]
    with open(f"{w}/long-{name}.txt", "w", encoding="utf-8") as f:
        for i in range(0, 128, 16):
            f.write(" ".join(lines[i:i + 16]) + "\n")
PY
if [ -z "${MIXER_CLI:-}" ]; then
  swift build -c release --product mixer-cli >&2
fi
export MIXER_CLI=${MIXER_CLI:-.build/release/mixer-cli}
echo "peers (sacreBLEU CHRF, CHRF(word_order=2), TER) ..." >&2
"$PY" bench/peers/chrf_ter_peers.py "$WORK/peer-hyp.txt" "$WORK/peer-ref.txt" "$WORK/long-hyp.txt" "$WORK/long-ref.txt" > "$WORK/peers.json"
echo "mixer ..." >&2
run() {  # NAME HYP REF METRIC [FLAG]: best of 3 wall times of mixer-cli score into $WORK/NAME.s, output into NAME.json
  python3 - "$WORK/$1" "$2" "$3" "$4" ${5:-} <<'PY'
import os, subprocess, sys, time
out, hyp, ref, metric = sys.argv[1:5]
best = best_cpu = None
for _ in range(3):
    t0 = time.perf_counter()
    with open(out + ".json", "w") as f:
        p = subprocess.Popen([os.environ["MIXER_CLI"], "score", hyp, "--ref", ref, "--metrics", metric, "--format", "json"]
                             + sys.argv[5:], stdout=f)
        _, status, usage = os.wait4(p.pid, 0)
    t = time.perf_counter() - t0
    assert os.waitstatus_to_exitcode(status) == 0, "mixer-cli failed"
    cpu = usage.ru_utime + usage.ru_stime
    best = t if best is None else min(best, t)
    best_cpu = cpu if best_cpu is None else min(best_cpu, cpu)
open(out + ".s", "w").write(f"{best}\n{best_cpu}\n")
PY
}
run chrf "$WORK/hyp.txt" "$WORK/ref.txt" chrf
run chrfpp "$WORK/hyp.txt" "$WORK/ref.txt" chrf++
run ter "$WORK/hyp.txt" "$WORK/ref.txt" ter
run ter_long "$WORK/long-hyp.txt" "$WORK/long-ref.txt" ter
run chrf_sentence "$WORK/hyp.txt" "$WORK/ref.txt" chrf --sentence-level
run chrfpp_sentence "$WORK/hyp.txt" "$WORK/ref.txt" chrf++ --sentence-level
run ter_sentence "$WORK/hyp.txt" "$WORK/ref.txt" ter --sentence-level
if [ "$PEER_PAIRS" != "$PAIRS" ]; then   # the scores to check: mixer on the pairs sacreBLEU scored
  for m in chrf chrf++ ter; do
    n=${m/++/pp}
    "$MIXER_CLI" score "$WORK/peer-hyp.txt" --ref "$WORK/peer-ref.txt" --metrics $m --format json > "$WORK/$n.json"
    "$MIXER_CLI" score "$WORK/peer-hyp.txt" --ref "$WORK/peer-ref.txt" --metrics $m --format json --sentence-level > "$WORK/${n}_sentence.json"
  done
fi
python3 - "$WORK" "$PAIRS" <<'PY'
import json, sys
w, pairs = sys.argv[1], int(sys.argv[2])
p = json.load(open(f"{w}/peers.json"))
def check(name, peer, mixer):
    print(f"# {name}: sacreBLEU {peer:.9f}  mixer {mixer:.9f}", file=sys.stderr)
    assert abs(peer - mixer) <= 1e-9 * max(abs(peer), 1e-300), name + " differs"
keys = {"chrf": "chrf", "chrfpp": "chrf++", "ter": "ter", "ter_long": "ter"}
for name, key in keys.items():
    check(name, p[name], json.load(open(f"{w}/{name}.json"))[key]["score"])
    if name != "ter_long":
        total = sum(json.loads(l)[key]["score"] for l in open(f"{w}/{name}_sentence.json") if l.strip())
        check(name + "_sentence_sum", p[name + "_sentence_sum"], total)
scale = pairs / p["pairs"]
def line(name, file, peer, key, scaled=True):
    mixer, mixer_cpu = (float(x) for x in open(f"{w}/{file}.s").read().split())
    peer_value, peer_cpu = p[key + "_s"], p[key + "_cpu_s"]
    d = {"bench": name, "unit": "s", "mixer": round(mixer, 6), "peer": peer}
    if scaled and scale != 1:
        d["peer_scaled_from"] = p["pairs"]
        peer_value *= scale
        peer_cpu *= scale
    d.update({"peer_value": round(peer_value, 6), "ratio": round(peer_value / mixer, 1),
              "mixer_cpu": round(mixer_cpu, 6), "peer_cpu": round(peer_cpu, 6), "cpu_ratio": round(peer_cpu / mixer_cpu, 1)})
    print(json.dumps(d))
k = f"{pairs // 1000}k"
for name, peer in [("chrf", "sacrebleu.CHRF"), ("chrfpp", "sacrebleu.CHRF(word_order=2)"), ("ter", "sacrebleu.TER")]:
    line(f"{name}_{k}_cli_end_to_end", name, peer, name)
    line(f"{name}_{k}_sentence_level_cli_end_to_end", name + "_sentence", peer, name + "_sentence")
line(f"ter_{p['long_lines']}_lines_of_400_words_cli_end_to_end", "ter_long", "sacrebleu.TER", "ter_long", scaled=False)
PY
