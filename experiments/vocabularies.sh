#!/usr/bin/env bash
# Issues #16 and #17's evidence: word vocabulary, SentencePiece subwords and copy attention, each
# trained for the same wall-clock time, then MIXER on top of each.
#
# Protocol (tuned on the valid split only; the test split is never read):
#   1. per system in SYSTEMS, XENT from scratch with the README quality run's settings (embedding
#      and hidden size 128, batch 32, Adam 0.001, 2 threads) for BUDGET seconds of wall-clock
#      time (`timeout -s TERM`: the run saves and stops; `best/` is its best epoch by validation
#      ROUGE-2); one system at a time, so that they get the same machine;
#        word          word vocabularies 10,000 / 8,000, T = MAXTGT words, sources cut at MAXSRC
#        word-copy     the same with --copy (pointer-generator)
#        subword       one joint BPE model of 8,000 pieces; the length limits count pieces, so
#                      they are scaled by the pieces per word of debian-desc's train split under
#                      that model (1.26 on targets, 1.22 on sources: T = 15, sources 61)
#        subword-copy  the same with --copy: copying over pieces (docs/training.md, "Copy attention")
#   2. MIXER on top of each best/ (--init-from, the CLI's defaults: its whole schedule) for at
#      most RL_BUDGET seconds;
#   3. every best/ decoded greedily and with beam 5 (word also with --replace-unk), scored with
#      ROUGE-1/2/L and BLEU with 95% bootstrap intervals; the share of outputs holding <unk>;
#   4. paired bootstrap tests (1,000 resamples) of each system's greedy output against word's
#      greedy output (and against word's greedy output with --replace-unk);
#   5. OUT/results.md: the tables.
#
# The full run (about (BUDGET + RL_BUDGET) × 4 on an idle 2-core machine; not run by the tests):
#   DATA=../shared/corpora/debian-desc OUT=runs/vocabularies experiments/vocabularies.sh
# The tiny end-to-end check (a few hundred pairs, a tiny model; minutes):
#   DATA=../shared/corpora/debian-desc OUT=/tmp/vocab-tiny TRAIN_LINES=400 VALID_LINES=60 \
#     SIZE=16 BUDGET=20 RL_BUDGET=20 SUBWORD_SIZE=600 experiments/vocabularies.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/mixer-cli}
DATA=${DATA:-../shared/corpora/debian-desc}
OUT=${OUT:-runs/vocabularies}
SYSTEMS=${SYSTEMS:-"word word-copy subword subword-copy"}
BUDGET=${BUDGET:-1243}               # seconds: the README quality run's 20 min 43 s
RL_BUDGET=${RL_BUDGET:-1243}
SIZE=${SIZE:-128}
MAXTGT=${MAXTGT:-12}
MAXSRC=${MAXSRC:-50}
MAXTGT_PIECES=${MAXTGT_PIECES:-15}
MAXSRC_PIECES=${MAXSRC_PIECES:-61}
SUBWORD_SIZE=${SUBWORD_SIZE:-8000}
TRAIN_LINES=${TRAIN_LINES:-0}        # 0: all of DATA/train.*
VALID_LINES=${VALID_LINES:-0}
THREADS=${THREADS:-2}

[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 1; }
command -v jq > /dev/null || { echo "jq is needed for the tables" >&2; exit 1; }
. experiments/common.sh
slice_data

flags() {  # the model flags of a system
  case $1 in
    word) echo "--source-vocab-size 10000 --target-vocab-size 8000 --max-target-length $MAXTGT --max-source-length $MAXSRC" ;;
    word-copy) echo "$(flags word) --copy" ;;
    subword) echo "--subword bpe --subword-vocab-size $SUBWORD_SIZE --max-target-length $MAXTGT_PIECES --max-source-length $MAXSRC_PIECES" ;;
    subword-copy) echo "$(flags subword) --copy" ;;
    *) echo "unknown system $1" >&2; exit 1 ;;
  esac
}

# 1-2. XENT for BUDGET seconds, then MIXER on top for at most RL_BUDGET seconds.
run() {  # dir budget flags...
  local dir=$1 budget=$2; shift 2
  ended "$dir" && return 0
  rm -rf "$dir"
  local status=0
  timeout -s TERM "$budget" "$BIN" train "${DATAFLAGS[@]}" --output "$dir" --seed 1 --threads "$THREADS" \
    --report-every 200 "$@" > "$dir.train.log" 2>&1 || status=$?
  # 124: the budget ran out and the run saved (SIGTERM); anything else is a failure.
  if [ "$status" -ne 0 ] && [ "$status" -ne 124 ]; then
    echo "$dir failed (exit $status):"; tail -n 5 "$dir.train.log"; return 1
  fi
  [ -d "$dir/best" ] || { echo "$dir: no best/ within the budget" >&2; return 1; }
  log "$(basename "$dir"): $(jq -r 'select(.event == "epoch") | .epoch' "$dir/log.jsonl" | tail -n 1) epoch(s) in ${budget}s or less"
}
RAN=()
for sys in $SYSTEMS; do
  # shellcheck disable=SC2046
  if ! run "$OUT/$sys" "$BUDGET" --epochs 1000 --embedding-size "$SIZE" --hidden-size "$SIZE" \
       --encoder-hidden-size "$SIZE" $(flags "$sys"); then
    log "$sys: skipped (this build refuses its flags or the run failed; see $OUT/$sys.train.log)"
    continue
  fi
  if run "$OUT/$sys-mixer" "$RL_BUDGET" --objective mixer --init-from "$OUT/$sys/best"; then
    RAN+=("$sys" "$sys-mixer")
  else
    log "$sys-mixer: skipped (see $OUT/$sys-mixer.train.log)"
    RAN+=("$sys")
  fi
done

# 3. Decode and score every best checkpoint.
decode() {  # system strategy out [flags...]
  local sys=$1 strat=$2 out=$3; shift 3
  local f=(--strategy greedy); [ "$strat" = beam ] && f=(--strategy beam --beam-size 5)
  [ -s "$out" ] || "$BIN" decode --model "$OUT/$sys/best" --input "$D/valid.src" --output "$out" "${f[@]}" "$@"
  "$BIN" score "$out" --reference "$D/valid.tgt" --metrics rouge1,rouge2,rougeL,bleu --confidence --format json \
    > "${out%.txt}.json"
}
for sys in "${RAN[@]}"; do
  for strat in greedy beam; do decode "$sys" "$strat" "$OUT/$sys.$strat.txt"; done
  case $sys in word|word-mixer) decode "$sys" greedy "$OUT/$sys.unk.txt" --replace-unk ;; esac
done
for sys in "${RAN[@]}"; do
  for base in word.greedy word.unk; do
    [ -s "$OUT/$base.txt" ] && [ "$sys.greedy" != "$base" ] || continue
    "$BIN" score "$OUT/$sys.greedy.txt" --reference "$D/valid.tgt" --metrics rouge2,bleu \
      --paired "$OUT/$base.txt" --format json > "$OUT/paired.$sys-vs-$base.json"
  done
done

# 4-5. The tables.
{
  echo "Valid split of $(basename "$DATA") ($(wc -l < "$D/valid.src") pairs); XENT ${BUDGET} s each, MIXER on top at most ${RL_BUDGET} s."
  echo "ROUGE F on 0-100 (mean over lines), BLEU corpus-level; ± is the half-width of the 95% bootstrap"
  echo "interval (1,000 resamples); <unk>: the share of output lines holding one."
  echo
  echo "| system | epochs | decoding | ROUGE-1 F | ROUGE-2 F | ROUGE-L F | BLEU | <unk> |"
  echo "|---|---|---|---|---|---|---|---|"
  for sys in "${RAN[@]}"; do
    epochs=$(jq -r 'select(.event == "epoch") | .epoch' "$OUT/$sys/log.jsonl" | tail -n 1)
    for strat in greedy beam unk; do
      [ -s "$OUT/$sys.$strat.json" ] || continue
      unk=$(awk '/<unk>/ { n++ } END { printf "%.1f%%", 100 * n / (NR ? NR : 1) }' "$OUT/$sys.$strat.txt")
      jq -r --arg s "$sys" --arg e "$epochs" --arg u "$unk" --arg d "$(case $strat in greedy) echo greedy ;; beam) echo "beam 5" ;; unk) echo "greedy, --replace-unk" ;; esac)" '
        def pct(x): (x * 10000 | round) / 100;
        def r(k): "\(pct(.[k].f)) ± \(pct(.[k].confidence.half_width))";
        "| \($s) | \($e) | \($d) | \(r("rouge1")) | \(r("rouge2")) | \(r("rougeL")) | \((.bleu.score * 100 | round) / 100) ± \((.bleu.confidence.half_width * 100 | round) / 100) | \($u) |"
      ' "$OUT/$sys.$strat.json"
    done
  done
  echo
  echo "| greedy system | against | ROUGE-2 F | Δ | p | BLEU | Δ | p |"
  echo "|---|---|---|---|---|---|---|---|"
  for sys in "${RAN[@]}"; do
    for base in word.greedy word.unk; do
      f=$OUT/paired.$sys-vs-$base.json
      [ -s "$f" ] || continue
      jq -r --arg s "$sys" --arg b "$(if [ "$base" = word.unk ]; then echo "word, greedy, --replace-unk"; else echo "word, greedy"; fi)" '
        def pct(x): (x * 10000 | round) / 100;
        def p(x): (x * 1000 | round) / 1000;
        def signed(x): (x * 100 | round) / 100 | if . > 0 then "+\(.)" elif . == 0 then "0" else "\(.)" end;
        "| \($s) | \($b) | \(pct(.rouge2.f)) vs \(pct(.rouge2.paired.baseline_score)) | \(signed((.rouge2.f - .rouge2.paired.baseline_score) * 100)) | \(p(.rouge2.paired.p_value)) | \((.bleu.score * 100 | round) / 100) vs \((.bleu.paired.baseline_score * 100 | round) / 100) | \(signed(.bleu.score - .bleu.paired.baseline_score)) | \(p(.bleu.paired.p_value)) |"
      ' "$f"
    done
  done
} > "$OUT/results.md"
cat "$OUT/results.md"
log "done: $OUT/results.md"
