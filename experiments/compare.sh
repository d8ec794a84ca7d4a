#!/usr/bin/env bash
# The paper's comparison (Ranzato et al. 2016, Table 1) on a summarization corpus:
# XENT, DAD (scheduled sampling), SCST and MIXER trained for the same total number of epochs,
# decoded greedily and with beam 5, scored with ROUGE-1/2/L and BLEU with 95% bootstrap
# intervals, and MIXER's greedy output tested against XENT's (paired bootstrap).
#
# Exact command of the committed results (experiments/results/debian-desc.md):
#   DATA=../shared/corpora/debian-desc OUT=runs/compare PRE_EPOCHS=5 EPOCHS=2 PARALLEL=4 \
#     experiments/compare.sh
# `make demo` runs the small version on the bundled sample (scripts/demo.sh):
#   DATA=data OUT=runs/demo/compare PRE_EPOCHS=8 EPOCHS=4 SIZE=96 DELTA=4 TRAIN_LINES=12000 \
#     VALID_LINES=400 LR1=0.002 experiments/compare.sh
#
# Protocol: one XENT pretraining run of PRE_EPOCHS epochs; then four runs of EPOCHS more epochs
# each, all started from its best checkpoint (--init-from): XENT continued, DAD, SCST, and MIXER
# (its REINFORCE suffix grows by DELTA steps an epoch from the first of those epochs). The four
# continuations run two at a time (one BLAS thread each) on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/mixer-cli}
DATA=${DATA:-data}
OUT=${OUT:-runs/compare}
PRE_EPOCHS=${PRE_EPOCHS:-5}
EPOCHS=${EPOCHS:-5}
DELTA=${DELTA:-3}
SIZE=${SIZE:-128}
MAXTGT=${MAXTGT:-12}
TRAIN_LINES=${TRAIN_LINES:-0}        # 0 = all of DATA/train.*
VALID_LINES=${VALID_LINES:-0}
REWARD=${REWARD:-rouge2}
PARALLEL=${PARALLEL:-2}
SEED=${SEED:-1}
LR1=${LR1:-0.001}                   # learning rate of the XENT pretraining (Adam)
LR2=${LR2:-0.0003}                  # learning rate of the four continuations (fresh Adam)

[ -x "$BIN" ] || { echo "build first: swift build -c release (or make build)"; exit 1; }
. experiments/common.sh
slice_data
COMMON=(--train-source $D/train.src --train-target $D/train.tgt --valid-source $D/valid.src --valid-target $D/valid.tgt
        --embedding-size $SIZE --hidden-size $SIZE --encoder-hidden-size $SIZE --max-target-length $MAXTGT
        --target-vocab-size 8000 --source-vocab-size 10000 --seed $SEED --report-every 50)

# 1. XENT pretraining (shared by every system).
if [ ! -f "$OUT/pre/best/model.safetensors" ] || ! grep -q '"event":"end"' "$OUT/pre/log.jsonl" 2>/dev/null; then
  log "XENT pretraining: $PRE_EPOCHS epochs"
  rm -rf "$OUT/pre"
  "$BIN" train "${COMMON[@]}" --threads 2 --output "$OUT/pre" --epochs "$PRE_EPOCHS" --learning-rate "$LR1" 2>&1 | tr '\r' '\n' | grep -v '^epoch .* step ' || true
fi

# 2. Four continuations of EPOCHS epochs each, from the pretrained model.
run() {  # name, extra flags...
  local name=$1; shift
  if grep -q '"event":"end"' "$OUT/$name/log.jsonl" 2>/dev/null; then return; fi
  rm -rf "$OUT/$name"
  "$BIN" train "${COMMON[@]}" --threads 1 --output "$OUT/$name" --init-from "$OUT/pre/best" --epochs "$EPOCHS" --learning-rate "$LR2" "$@" \
    > "$OUT/$name.train.log" 2>&1
  log "$name done: $(tail -n 1 "$OUT/$name.train.log")"
}
log "continuations: xent, dad, scst, mixer ($EPOCHS epochs each, $PARALLEL at a time)"
jobs_run=0
for spec in "xent --objective xent" \
            "dad --objective dad --dad-schedule linear:2000:0.75" \
            "scst --objective scst --reward $REWARD" \
            "mixer --objective mixer --xent-epochs 0 --mixer-delta $DELTA --mixer-epochs-per-step 1 --reward $REWARD"; do
  # shellcheck disable=SC2086
  run $spec &
  jobs_run=$((jobs_run + 1))
  if [ "$jobs_run" -ge "$PARALLEL" ]; then wait -n; jobs_run=$((jobs_run - 1)); fi
done
wait

# 3. Decode the validation split greedily and with beam 5; score with intervals.
SYSTEMS=(xent dad scst mixer)
for sys in "${SYSTEMS[@]}"; do
  for strat in greedy beam; do
    out="$OUT/$sys.$strat.txt"
    if [ "$strat" = beam ]; then flags=(--strategy beam --beam-size 5); else flags=(--strategy greedy); fi
    "$BIN" decode --model "$OUT/$sys/best" --input "$D/valid.src" --output "$out" "${flags[@]}"
    "$BIN" score "$out" --ref "$D/valid.tgt" --metrics rouge1,rouge2,rougeL,bleu --confidence --format json \
      > "$OUT/$sys.$strat.json"
  done
done
"$BIN" score "$OUT/mixer.greedy.txt" --ref "$D/valid.tgt" --metrics rouge2,bleu --paired "$OUT/xent.greedy.txt" \
  --format json > "$OUT/paired.mixer-vs-xent.json"
"$BIN" score "$OUT/mixer.greedy.txt" --ref "$D/valid.tgt" --metrics rouge2,bleu --paired "$OUT/xent.beam.txt" \
  --format json > "$OUT/paired.mixer-vs-xentbeam.json"

# 4. The table.
{
  echo "| system | decoding | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | BLEU |"
  echo "|---|---|---|---|---|---|"
  for sys in "${SYSTEMS[@]}"; do
    for strat in greedy beam; do
      jq -r --arg s "$sys" --arg d "$strat" '
        def pct(x): (x * 10000 | round) / 100;
        def r(k): "\(pct(.[k].f)) ± \(pct(.[k].confidence.half_width))";
        "| \($s) | \(if $d == "beam" then "beam 5" else "greedy" end) | \(r("rouge1")) | \(r("rouge2")) | \(r("rougeL")) | \((.bleu.score * 100 | round) / 100) ± \((.bleu.confidence.half_width * 100 | round) / 100) |"
      ' "$OUT/$sys.$strat.json"
    done
  done
  echo
  echo "ROUGE on 0-100 (F, mean over lines), BLEU corpus-level; ± is the half-width of the 95% bootstrap"
  echo "interval (1,000 resamples). Paired bootstrap of greedy MIXER against:"
  echo
  for base in xent xentbeam; do
    jq -r --arg b "$base" '
      def pct(x): (x * 10000 | round) / 100;
      "- \(if $b == "xent" then "greedy XENT" else "XENT with beam 5" end): ROUGE-2 F \(pct(.rouge2.f)) vs \(pct(.rouge2.paired.baseline_score)) (p = \(.rouge2.paired.p_value * 10000 | round / 10000)); BLEU \((.bleu.score * 100 | round) / 100) vs \((.bleu.paired.baseline_score * 100 | round) / 100) (p = \(.bleu.paired.p_value * 10000 | round / 10000))"
    ' "$OUT/paired.mixer-vs-$base.json"
  done
} > "$OUT/results.md"
cat "$OUT/results.md"
