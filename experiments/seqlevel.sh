#!/usr/bin/env bash
# Issue #15's evidence: does sequence-level training pay off with the CLI's defaults?
#
# Protocol (tuned on the valid split only; the test split is never read):
#   1. one XENT model (PRE_EPOCHS epochs, seed 1), or INIT=an existing checkpoint;
#   2. per seed in SEEDS, from that checkpoint (--init-from), each with the CLI's defaults and no
#      expert flag: MIXER (its whole schedule: the number of epochs E follows from T and Δ),
#      then, for the same E epochs (EPOCHS=N overrides E for every system), SCST, minimum risk
#      training, XENT continued and XENT continued with label smoothing (LS, default 0.1);
#   3. each run's best checkpoint (by validation ROUGE-2) decoded greedily and with beam 5,
#      scored with ROUGE-1/2/L and BLEU with 95% bootstrap intervals;
#   4. paired bootstrap tests (`mixer-cli score --paired`, 1,000 resamples) of every
#      sequence-level system's greedy output against XENT continued, greedy and beam 5, and
#      against XENT with label smoothing (greedy), seed by seed;
#   5. OUT/results.md: the tables.
#
# The full run (docs/training.md, "Does it pay off"; about 2 × 5 continuations of E epochs on
# the full debian-desc train split: hours on 2 cores; not run by the tests):
#   DATA=../shared/corpora/debian-desc OUT=runs/seqlevel INIT=runs/xent30/best PARALLEL=2 \
#     experiments/seqlevel.sh
# The tiny end-to-end check (a few hundred pairs, a tiny model, 1 epoch each; minutes):
#   DATA=../shared/corpora/debian-desc OUT=/tmp/seqlevel-tiny TRAIN_LINES=300 VALID_LINES=60 \
#     SIZE=16 PRE_EPOCHS=1 EPOCHS=1 experiments/seqlevel.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/mixer-cli}
DATA=${DATA:-../shared/corpora/debian-desc}
OUT=${OUT:-runs/seqlevel}
INIT=${INIT:-}                       # an XENT checkpoint to start from (else one is trained)
PRE_EPOCHS=${PRE_EPOCHS:-22}         # XENT pretraining epochs when INIT is not given
EPOCHS=${EPOCHS:-}                   # empty: MIXER's default schedule length, for every system
SEEDS=${SEEDS:-"1 2"}
SIZE=${SIZE:-128}
MAXTGT=${MAXTGT:-12}
TRAIN_LINES=${TRAIN_LINES:-0}        # 0: all of DATA/train.*
VALID_LINES=${VALID_LINES:-0}
LS=${LS:-0.1}                        # ε of the label-smoothed XENT baseline
PARALLEL=${PARALLEL:-2}

[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
command -v jq > /dev/null || { echo "jq is needed for the tables" >&2; exit 1; }
. experiments/common.sh
slice_data

# 1. The XENT model every system continues.
if [ -z "$INIT" ]; then
  if ! ended "$OUT/pre"; then
    log "XENT pretraining: $PRE_EPOCHS epochs"
    rm -rf "$OUT/pre"
    "$BIN" train "${DATAFLAGS[@]}" --output "$OUT/pre" --epochs "$PRE_EPOCHS" --seed 1 --threads "$PARALLEL" \
      --embedding-size "$SIZE" --hidden-size "$SIZE" --encoder-hidden-size "$SIZE" --max-target-length "$MAXTGT" \
      --source-vocab-size 10000 --target-vocab-size 8000 --report-every 200 > "$OUT/pre.train.log" 2>&1
  fi
  INIT=$OUT/pre/best
fi

# 2. The continuations. MIXER first (its log says how many epochs its schedule takes).
train() {  # name seed epochs|'' flags...
  local name=$1 seed=$2 epochs=$3; shift 3
  local dir=$OUT/s$seed/$name
  ended "$dir" && return 0
  rm -rf "$dir"; mkdir -p "$OUT/s$seed"
  local e=(); [ -n "$epochs" ] && e=(--epochs "$epochs")
  "$BIN" train "${DATAFLAGS[@]}" --output "$dir" --init-from "$INIT" --seed "$seed" --threads 1 \
    --report-every 200 "${e[@]}" "$@" > "$dir.train.log" 2>&1
  log "s$seed/$name: $(tail -n 1 "$dir.train.log")"
}
for seed in $SEEDS; do
  train mixer "$seed" "$EPOCHS" --objective mixer
  E=$(jq -r 'select(.event == "start") | .options.epochs' "$OUT/s$seed/mixer/log.jsonl")
  log "seed $seed: $E epochs for every system"
  running=0
  for spec in "scst --objective scst" "risk --objective risk" "xent --objective xent" \
              "xent-ls --objective xent --label-smoothing $LS"; do
    # shellcheck disable=SC2086
    train ${spec%% *} "$seed" "$E" ${spec#* } &
    running=$((running + 1))
    if [ "$running" -ge "$PARALLEL" ]; then wait -n; running=$((running - 1)); fi
  done
  wait
done

# 3. Decode and score every best checkpoint.
SYSTEMS=(xent xent-ls mixer scst risk)
for seed in $SEEDS; do
  for sys in "${SYSTEMS[@]}"; do
    for strat in greedy beam; do
      out=$OUT/s$seed/$sys.$strat.txt
      if [ "$strat" = beam ]; then flags=(--strategy beam --beam-size 5); else flags=(--strategy greedy); fi
      [ -s "$out" ] || "$BIN" decode --model "$OUT/s$seed/$sys/best" --input "$D/valid.src" --output "$out" "${flags[@]}"
      "$BIN" score "$out" --ref "$D/valid.tgt" --metrics rouge1,rouge2,rougeL,bleu --confidence --format json \
        > "$OUT/s$seed/$sys.$strat.json"
    done
  done
  # 4. Paired tests of each sequence-level system's greedy output.
  for sys in mixer scst risk; do
    for base in xent.greedy xent.beam xent-ls.greedy; do
      "$BIN" score "$OUT/s$seed/$sys.greedy.txt" --ref "$D/valid.tgt" --metrics rouge2,bleu \
        --paired "$OUT/s$seed/$base.txt" --format json > "$OUT/s$seed/paired.$sys-vs-$base.json"
    done
  done
done

# 5. The tables.
name() { case $1 in xent) echo "XENT continued" ;; xent-ls) echo "XENT continued, ε = $LS" ;; mixer) echo MIXER ;; scst) echo SCST ;; risk) echo "risk (MRT)" ;; esac; }
{
  echo "Valid split of $(basename "$DATA") ($(wc -l < "$D/valid.src") pairs), every system from $INIT with the CLI's defaults."
  echo "ROUGE F on 0-100 (mean over lines), BLEU corpus-level; ± is the half-width of the 95% bootstrap interval"
  echo "(1,000 resamples)."
  for seed in $SEEDS; do
    E=$(jq -r 'select(.event == "start") | .options.epochs' "$OUT/s$seed/mixer/log.jsonl")
    echo
    echo "### Seed $seed ($E epoch(s) each)"
    echo
    echo "| system | decoding | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | BLEU |"
    echo "|---|---|---|---|---|---|"
    for sys in "${SYSTEMS[@]}"; do
      for strat in greedy beam; do
        jq -r --arg s "$(name "$sys")" --arg d "$strat" '
          def pct(x): (x * 10000 | round) / 100;
          def r(k): "\(pct(.[k].f)) ± \(pct(.[k].confidence.half_width))";
          "| \($s) | \(if $d == "beam" then "beam 5" else "greedy" end) | \(r("rouge1")) | \(r("rouge2")) | \(r("rougeL")) | \((.bleu.score * 100 | round) / 100) ± \((.bleu.confidence.half_width * 100 | round) / 100) |"
        ' "$OUT/s$seed/$sys.$strat.json"
      done
    done
    echo
    echo "| greedy system | against | ROUGE-2 F | Δ | p | BLEU | Δ | p |"
    echo "|---|---|---|---|---|---|---|---|"
    for sys in mixer scst risk; do
      for base in xent.greedy xent.beam xent-ls.greedy; do
        b=${base%.*}; d=${base#*.}
        jq -r --arg s "$(name "$sys")" --arg b "$(name "$b"), $(if [ "$d" = beam ]; then echo "beam 5"; else echo greedy; fi)" '
          def pct(x): (x * 10000 | round) / 100;
          def p(x): (x * 1000 | round) / 1000;
          def signed(x): (x * 100 | round) / 100 | if . > 0 then "+\(.)" elif . == 0 then "0" else "\(.)" end;
          "| \($s) | \($b) | \(pct(.rouge2.f)) vs \(pct(.rouge2.paired.baseline_score)) | \(signed((.rouge2.f - .rouge2.paired.baseline_score) * 100)) | \(p(.rouge2.paired.p_value)) | \((.bleu.score * 100 | round) / 100) vs \((.bleu.paired.baseline_score * 100 | round) / 100) | \(signed(.bleu.score - .bleu.paired.baseline_score)) | \(p(.bleu.paired.p_value)) |"
        ' "$OUT/s$seed/paired.$sys-vs-$base.json"
      done
    done
  done
} > "$OUT/results.md"
cat "$OUT/results.md"
log "done: $OUT/results.md"
