#!/usr/bin/env bash
# Peak memory of `mixer-cli score` on growing hypothesis files: scoring streams line by line, so
# the peak resident set size must stay flat as the input grows (10 MB vs 200 MB vs 1 GB).
#   bench/memory.sh [SIZE_MB ...]        default: 10 200
#   MODES=corpus bench/memory.sh 1000    (the README's 1 GB row; MODES: any of corpus sentence confidence)
# Inputs: data/train.tgt repeated up to SIZE_MB as the reference, the same lines in reverse
# order within each copy as the hypothesis (line-aligned, not identical). Three modes: corpus
# BLEU + ROUGE-1/2/L, --sentence-level (to /dev/null), and --confidence (which keeps O(lines)
# per-segment statistics, not the text). The peer, sacreBLEU 2.6.0 (which reads whole files),
# runs on the smallest size only (set PEER_ALL=1 for every size).
# Peak RSS from /usr/bin/time -v ("Maximum resident set size"). Ends with one JSON line per figure:
#   {"bench": NAME, "unit": "MB", "mixer": ..., "peer": NAME, "peer_value": ..., "ratio": ...}
# ratio = peer / mixer.
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(10 200)
[ -x /usr/bin/time ] || { echo "bench/memory.sh needs /usr/bin/time (GNU time)" >&2; exit 1; }
WORK=.build/bench-memory
mkdir -p "$WORK"
swift build -c release --product mixer-cli >&2
BIN=.build/release/mixer-cli
PY=""
if PY=$(bench/setup-venv.sh 2>/dev/null | tail -1) && [ -x "$PY" ]; then :; else PY=""; fi

# One unit of each file (the 12,000 lines of data/train.tgt), then copies up to the size.
tac data/train.tgt > "$WORK/unit.hyp"
cp data/train.tgt "$WORK/unit.ref"
peak_mb() {  # peak RSS in MB of the command "$@" (its output discarded)
  /usr/bin/time -v "$@" > /dev/null 2> "$WORK/time.txt" || { cat "$WORK/time.txt" >&2; exit 1; }
  awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$WORK/time.txt"
}
seconds() { awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, t, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + t[i]; printf "%.1f", s }' "$WORK/time.txt"; }

results=()
first=1
for mb in "${SIZES[@]}"; do
  hyp="$WORK/hyp-$mb.txt"; ref="$WORK/ref-$mb.txt"
  if [ ! -f "$hyp" ] || [ "$(stat -c %s "$hyp")" -lt $((mb * 1000000)) ]; then
    : > "$hyp"; : > "$ref"
    unit=$(stat -c %s "$WORK/unit.hyp")
    copies=$(( (mb * 1000000 + unit - 1) / unit ))
    for _ in $(seq "$copies"); do cat "$WORK/unit.hyp" >> "$hyp"; cat "$WORK/unit.ref" >> "$ref"; done
  fi
  size=$(stat -c %s "$hyp")
  echo "# ${mb} MB: hypothesis $size bytes, $(wc -l < "$hyp") lines" >&2
  corpus=null; sentence=null; confidence=null
  if [[ " ${MODES:-corpus sentence confidence} " == *" corpus "* ]]; then
    corpus=$(peak_mb "$BIN" score "$hyp" --ref "$ref" --metrics bleu,rouge1,rouge2,rougeL); echo "#   corpus $corpus MB ($(seconds) s)" >&2
  fi
  if [[ " ${MODES:-corpus sentence confidence} " == *" sentence "* ]]; then
    sentence=$(peak_mb "$BIN" score "$hyp" --ref "$ref" --metrics bleu,rougeL --sentence-level); echo "#   sentence-level $sentence MB ($(seconds) s)" >&2
  fi
  if [[ " ${MODES:-corpus sentence confidence} " == *" confidence "* ]]; then
    confidence=$(peak_mb "$BIN" score "$hyp" --ref "$ref" --metrics bleu,rouge2 --confidence --samples 100); echo "#   confidence $confidence MB ($(seconds) s)" >&2
  fi
  peer="null"
  if [ -n "$PY" ] && { [ $first = 1 ] || [ "${PEER_ALL:-0}" = 1 ]; }; then
    peer=$(peak_mb "$PY" -m sacrebleu "$ref" -i "$hyp" -m bleu -b); tp=$(seconds)
    echo "#   sacreBLEU $peer MB (${tp} s)" >&2
  fi
  results+=("score_corpus_peak_rss_${mb}MB $corpus $peer" "score_sentence_peak_rss_${mb}MB $sentence null" "score_confidence_peak_rss_${mb}MB $confidence null")
  first=0
done
for r in "${results[@]}"; do
  set -- $r
  [ "$2" = null ] && continue
  if [ "$3" = null ]; then
    printf '{"bench": "%s", "unit": "MB", "mixer": %s, "peer": null, "peer_value": null, "ratio": null}\n' "$1" "$2"
  else
    printf '{"bench": "%s", "unit": "MB", "mixer": %s, "peer": "sacrebleu 2.6.0 (BLEU only)", "peer_value": %s, "ratio": %s}\n' \
      "$1" "$2" "$3" "$(awk -v a="$3" -v b="$2" 'BEGIN { printf "%.1f", a / b }')"
  fi
done
