#!/usr/bin/env bash
# Decoding throughput on the reference model (embedding 256, biLSTM 256 per direction, decoder
# 256 with Luong general attention and input feeding, vocabularies 10,000, random weights):
# mixer's batched greedy and beam search (bench/decode-bench) beside the PyTorch CPU peer
# (bench/peers/torch_seq2seq.py decode) on the same work: random sources of 50 ids, exactly 15
# output steps (no early stop), greedy and beam 5, batch 32 and batch 1, 1 and 2 threads.
#   bench/decode.sh            (run from anywhere; builds decode-bench in release)
#   QUICK=1 bench/decode.sh    (only batch 32 with 2 threads)
# Each figure is sentences/s from the median batch time after one untimed warm-up batch
# (320 sentences at batch 32, 64 at batch 1). Prints one JSON line per figure:
#   {"bench": NAME, "unit": "sentences/s", "mixer": ..., "peer": "pytorch", "peer_value": ..., "ratio": ...}
# ratio = mixer / peer (how many times faster mixer is).
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
PY=$(bench/setup-venv.sh --torch | tail -1)
swift build -c release --product decode-bench >&2
BIN=.build/release/decode-bench
PEER=bench/peers/torch_seq2seq.py

configs=()
if [ -n "${QUICK:-}" ]; then
  configs=("greedy 32 2" "beam 32 2")
else
  for threads in 1 2; do for batch in 32 1; do for s in greedy beam; do configs+=("$s $batch $threads"); done; done; done
fi
for c in "${configs[@]}"; do
  set -- $c
  strategy=$1 batch=$2 threads=$3
  sentences=$([ "$batch" = 1 ] && echo 64 || echo 320)
  args=(--strategy "$strategy" --beam-size 5 --batch-size "$batch" --steps 15 --sentences "$sentences" --threads "$threads")
  echo "decode $strategy batch $batch threads $threads ..." >&2
  mixer=$(MIXER_THREADS=$threads "$BIN" "${args[@]}")
  peer=$("$PY" "$PEER" decode "${args[@]}")
  echo "  mixer: $mixer" >&2
  echo "  peer:  $peer" >&2
  "$PY" - "$mixer" "$peer" <<'PYEOF'
import json, sys
m, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
name = "decode_{}{}_batch{}_{}thread{}".format(
    m["strategy"], m["beam_size"] if m["strategy"] == "beam" else "", m["batch_size"], m["threads"],
    "s" if m["threads"] > 1 else "")
print(json.dumps({"bench": name, "unit": "sentences/s", "mixer": m["sentences_per_s"], "peer": "pytorch",
                  "peer_value": p["sentences_per_s"], "ratio": round(m["sentences_per_s"] / p["sentences_per_s"], 2)}))
PYEOF
done
