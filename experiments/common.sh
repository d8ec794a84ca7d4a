# Shared by the experiment scripts (sourced, not run).

# log MESSAGE: the message with the time of day.
log() { echo "[$(date +%H:%M:%S)] $*"; }

# slice_data: copies the first TRAIN_LINES / VALID_LINES lines (0: all) of DATA/{train,valid}.{src,tgt}
# into OUT/data and sets D to that folder and DATAFLAGS to train's four data options for it.
slice_data() {
  mkdir -p "$OUT/data"
  local s
  for s in src tgt; do
    _take "$DATA/train.$s" "$TRAIN_LINES" > "$OUT/data/train.$s"
    _take "$DATA/valid.$s" "$VALID_LINES" > "$OUT/data/valid.$s"
  done
  D=$OUT/data
  DATAFLAGS=(--train-source "$D/train.src" --train-target "$D/train.tgt" --valid-source "$D/valid.src" --valid-target "$D/valid.tgt")
}
_take() { if [ "$2" -gt 0 ]; then head -n "$2" "$1"; else cat "$1"; fi; }

# ended RUN: whether the run's log holds its end record.
ended() { grep -q '"event":"end"' "$1/log.jsonl" 2>/dev/null; }
