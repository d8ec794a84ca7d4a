#!/usr/bin/env bash
# MIXER hyper-parameter investigation (issue #6): continuations of one strong XENT checkpoint
# (runs/xent30/best, README "Quality") for 2 epochs each, changing one thing at a time from the
# committed MIXER run (Δ = 3, reward ROUGE-2, Adam 0.0003, baseline lr factor 1, `sequence`
# loss weighting). Each variant logs greedy validation ROUGE/BLEU per epoch in its log.jsonl;
# experiments/results/sweep.md collects them with a paired test of the best against XENT.
#
# Exact commands of the committed results (experiments/results/sweep.md):
#   INIT=runs/xent30/best OUT=runs/sweep PARALLEL=2 experiments/sweep.sh
#   INIT=runs/xent30/best OUT=runs/sweep PARALLEL=2 EPOCHS=6 NAMES="anneal6 xent6" experiments/sweep.sh
#   INIT=runs/xent30/best OUT=runs/sweep PARALLEL=2 EPOCHS=6 NAMES="dad6 scst6" experiments/sweep.sh
#   INIT=runs/xent30/best OUT=runs/sweep-seed2 SEED=2 PARALLEL=2 EPOCHS=6 NAMES="anneal6 xent6" experiments/sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/mixer-cli}
INIT=${INIT:-runs/xent30/best}
OUT=${OUT:-runs/sweep}
DATA=${DATA:-../shared/corpora/debian-desc}
PARALLEL=${PARALLEL:-2}
EPOCHS=${EPOCHS:-2}
SEED=${SEED:-1}
mkdir -p "$OUT"

common=(--init-from "$INIT" --epochs "$EPOCHS" --xent-epochs 0
        --baseline-lr-factor 1 --seed "$SEED" --threads 1 --max-target-length 12
        --train-source "$DATA/train.src" --train-target "$DATA/train.tgt"
        --valid-source "$DATA/valid.src" --valid-target "$DATA/valid.tgt")
M="--objective mixer"
declare -A variants=(
  # EPOCHS=6: the whole annealing schedule, s = 10, 8, 6, 4, 2, 0 (the last epoch is REINFORCE on
  # whole sequences), against XENT continued for as many epochs.
  [anneal6]="$M --mixer-delta 2 --reward rouge2 --learning-rate 0.0003"
  [xent6]="--objective xent --learning-rate 0.0003"
  [dad6]="--objective dad --dad-schedule linear:2000:0.75 --learning-rate 0.0003"
  [scst6]="--objective scst --reward rouge2 --learning-rate 0.0003"
  # EPOCHS=2 (default): one change at a time from the committed MIXER run.
  [lr1e-4]="$M --mixer-delta 3 --reward rouge2 --learning-rate 0.0001"
  [delta1]="$M --mixer-delta 1 --reward rouge2 --learning-rate 0.0003"
  [bleu]="$M --mixer-delta 3 --reward bleu --learning-rate 0.0003"
  [refweight]="$M --mixer-delta 3 --reward rouge2 --learning-rate 0.0003 --loss-weighting reference"
)
run() {
  local name=$1
  [ -f "$OUT/$name/log.jsonl" ] && grep -q '"event":"end"' "$OUT/$name/log.jsonl" && return 0
  rm -rf "${OUT:?}/$name"
  # shellcheck disable=SC2086
  nice -n 15 "$BIN" train --output "$OUT/$name" "${common[@]}" ${variants[$name]} > "$OUT/$name.log" 2>&1
}
export -f run 2>/dev/null || true
read -r -a names <<< "${NAMES:-lr1e-4 delta1 bleu refweight}"
i=0
[ -n "${SUMMARY_ONLY:-}" ] && names=()   # SUMMARY_ONLY=1: only rewrite $OUT/results.md
for n in "${names[@]}"; do
  [ -n "${variants[$n]+x}" ] || { echo "unknown variant $n (known: ${!variants[*]})" >&2; exit 64; }
  run "$n" &
  i=$((i + 1))
  if [ $((i % PARALLEL)) -eq 0 ]; then wait; fi
done
wait

# Summary of every finished variant: per-epoch greedy validation figures (the trainer's own
# validation, scored by the Metrics module with `mixer-cli score`'s defaults), and a paired
# bootstrap of each variant's last epoch against XENT continued for as many epochs.
XENT2=${XENT2:-runs/x30-xent}   # XENT continued 2 epochs from $INIT (README, experiments/results/debian-desc.md)
{
  echo "| run | epoch | s | mean reward | baseline MSE | valid ROUGE-2 F | valid BLEU | length ratio | no </s> | repeated bigrams |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for dir in "$XENT2" "$OUT"/*/; do
    dir=${dir%/}; name=$(basename "$dir")
    [ -f "$dir/log.jsonl" ] && grep -q '"event":"end"' "$dir/log.jsonl" || continue
    jq -r --arg n "$name" 'select(.event == "epoch") |
      def r(x; k): (x * k | round) / k;
      "| \($n) | \(.epoch) | \(if .stage == "mixer" then .s else "–" end) | \(r(.mean_reward // 0; 1000)) | \(r(.baseline_mse // 0; 1000)) | \(r(.valid_rouge2 * 100; 100)) | \(r(.valid_bleu; 100)) | \(r(.length_ratio; 1000)) | \(r(.no_eos; 1000)) | \(r(.repeated_bigrams; 1000)) |"' "$dir/log.jsonl"
  done
  echo
  echo "Paired bootstrap (1,000 resamples) of each run's last-epoch greedy validation output against"
  echo "XENT continued for the same number of epochs:"
  echo
  for dir in "$OUT"/*/; do
    dir=${dir%/}; name=$(basename "$dir")
    case $name in xent*) continue ;; esac
    [ -f "$dir/log.jsonl" ] && grep -q '"event":"end"' "$dir/log.jsonl" || continue
    last=$(ls "$dir/valid"/epoch-*.txt | tail -n 1); ep=$(basename "$last")
    if [ "$ep" = epoch-002.txt ]; then base="$XENT2/valid/$ep"; bname="XENT +2"; else base="$OUT/xent6/valid/$ep"; bname="XENT +6"; fi
    [ -f "$base" ] || continue
    "$BIN" score "$last" --ref "$dir/valid/reference.txt" --metrics rouge2,bleu --paired "$base" --format json |
      jq -r --arg n "$name" --arg b "$bname" '
        def pct(x): (x * 10000 | round) / 100;
        "- \($n) vs \($b): ROUGE-2 F \(pct(.rouge2.f)) vs \(pct(.rouge2.paired.baseline_score)) (p = \(.rouge2.paired.p_value * 1000 | round / 1000)); BLEU \((.bleu.score * 100 | round) / 100) vs \((.bleu.paired.baseline_score * 100 | round) / 100) (p = \(.bleu.paired.p_value * 1000 | round / 1000))"'
  done
  # The paper's table for the whole-schedule runs: each run's best checkpoint (by validation
  # ROUGE-2), decoded greedily and with beam 5, 95% bootstrap intervals, and paired tests of
  # greedy MIXER against greedy XENT and XENT with beam 5.
  if [ -f "$OUT/anneal6/best/model.safetensors" ] && [ -f "$OUT/xent6/best/model.safetensors" ]; then
    echo
    echo "| system | decoding | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | BLEU |"
    echo "|---|---|---|---|---|---|"
    for sys in xent6 dad6 scst6 anneal6; do
      [ -f "$OUT/$sys/best/model.safetensors" ] || continue
      for strat in greedy beam; do
        out="$OUT/$sys.best.$strat.txt"
        if [ "$strat" = beam ]; then flags=(--strategy beam --beam-size 5); else flags=(--strategy greedy); fi
        [ -f "$out" ] || "$BIN" decode --model "$OUT/$sys/best" --input "$DATA/valid.src" --output "$out" "${flags[@]}"
        "$BIN" score "$out" --ref "$DATA/valid.tgt" --metrics rouge1,rouge2,rougeL,bleu --confidence --format json |
          jq -r --arg s "$sys" --arg d "$strat" '
            def pct(x): (x * 10000 | round) / 100;
            def r(k): "\(pct(.[k].f)) ± \(pct(.[k].confidence.half_width))";
            "| \({"xent6": "XENT", "dad6": "DAD", "scst6": "SCST", "anneal6": "MIXER"}[$s]) | \(if $d == "beam" then "beam 5" else "greedy" end) | \(r("rouge1")) | \(r("rouge2")) | \(r("rougeL")) | \((.bleu.score * 100 | round) / 100) ± \((.bleu.confidence.half_width * 100 | round) / 100) |"'
      done
    done
    echo
    for base in greedy beam; do
      "$BIN" score "$OUT/anneal6.best.greedy.txt" --ref "$DATA/valid.tgt" --metrics rouge1,rouge2,rougeL,bleu \
        --paired "$OUT/xent6.best.$base.txt" --format json |
        jq -r --arg b "$base" '
          def pct(x): (x * 10000 | round) / 100;
          def p(k): "\(pct(.[k].f)) vs \(pct(.[k].paired.baseline_score)) (p = \(.[k].paired.p_value * 1000 | round / 1000))";
          "- greedy MIXER vs \(if $b == "beam" then "XENT with beam 5" else "greedy XENT" end): ROUGE-1 \(p("rouge1")); ROUGE-2 \(p("rouge2")); ROUGE-L \(p("rougeL")); BLEU \((.bleu.score * 100 | round) / 100) vs \((.bleu.paired.baseline_score * 100 | round) / 100) (p = \(.bleu.paired.p_value * 1000 | round / 1000))"'
    done
  fi
} > "$OUT/results.md"
cat "$OUT/results.md"
echo "sweep done: $OUT"
