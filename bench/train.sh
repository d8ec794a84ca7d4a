#!/usr/bin/env bash
# Training throughput and memory on the reference configuration (embedding 256, biLSTM encoder
# 256 per direction, 256-unit decoder, Luong general attention with input feeding, vocabularies
# 10,000/10,000, batch 32, source length 50, target length 15, Adam): `mixer-bench train`
# beside the PyTorch CPU implementation of the same model (bench/peers/torch_seq2seq.py), with
# 1 and then 2 threads, in one run. A step is encode → teacher-forced decode → cross-entropy →
# backward → Adam update (→ zeroing the gradients); both sides use random ids with a fixed seed.
#
# Usage: bench/train.sh [STEPS] [WARMUP]      (defaults 30 and 3)
#   Each side reports the median wall time of STEPS steps after WARMUP untimed ones, and its
#   peak resident memory (getrusage ru_maxrss). On a shared machine, other jobs inflate both
#   sides' medians; the two sides alternate thread counts in the same run.
# Prints, per thread count, one JSON line for throughput and one for peak memory:
#   {"bench": "train-1thread", "unit": "target tokens/s", "mixer": …, "peer": "pytorch", "peer_value": …, "ratio": …}
#   {"bench": "train-1thread-peak-rss", "unit": "MB", "mixer": …, "peer": "pytorch", "peer_value": …, "ratio": …}
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
STEPS=${1:-30}
WARMUP=${2:-3}
swift build -c release --product mixer-bench >&2
BIN=.build/release/mixer-bench
PY=$(bench/setup-venv.sh --torch | tail -1)
# MIXER_KERNEL=avx2 (or portable) narrows PyTorch to the same instruction set, so that the two
# sides compare on what an AVX2-only server would run: ATen's kernels, oneDNN and MKL capped.
case "${MIXER_KERNEL:-}" in
  avx2) export ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ;;
  portable) export ATEN_CPU_CAPABILITY=default ONEDNN_MAX_CPU_ISA=SSE41 MKL_ENABLE_INSTRUCTIONS=SSE4_2 ;;
esac
PEER=bench/peers/torch_seq2seq.py
[ -f "$PEER" ] || { echo "bench/train.sh: the PyTorch peer $PEER is missing" >&2; exit 1; }

for threads in 1 2; do
  mixer=$("$BIN" train --threads "$threads" --steps "$STEPS" --warmup "$WARMUP" | tail -1)
  peer=$("$PY" "$PEER" train --threads "$threads" --steps "$STEPS" --warmup "$WARMUP" | tail -1)
  echo "mixer:   $mixer" >&2
  echo "pytorch: $peer" >&2
  "$PY" - "$threads" "$mixer" "$peer" <<'PYEOF'
import json, sys
threads, mixer, peer = int(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3])
def key(d, *names):
    for n in names:
        if n in d:
            return float(d[n])
    raise SystemExit(f"bench/train.sh: no {names[0]} in {d}")
name = f"train-{threads}thread"
mt, pt = key(mixer, "tokens_per_s"), key(peer, "tokens_per_s", "target_tokens_per_s")
mm, pm = key(mixer, "peak_rss_mb"), key(peer, "peak_rss_mb", "peak_rss_MB")
print(json.dumps({"bench": name, "unit": "target tokens/s", "mixer": round(mt, 1), "peer": "pytorch",
                  "peer_value": round(pt, 1), "ratio": round(mt / pt, 2),
                  "mixer_step_ms": key(mixer, "step_ms"), 
                  "packed_kernel": mixer.get("packed_kernel")}))
print(json.dumps({"bench": name + "-peak-rss", "unit": "MB", "mixer": round(mm, 1), "peer": "pytorch",
                  "peer_value": round(pm, 1), "ratio": round(mm / pm, 3)}))
PYEOF
done
