#!/usr/bin/env bash
# The reference model's matrix products (batch 32, source length 50, target length 15, hidden
# 256, vocabulary 10,000), mixer against OpenBLAS cblas_sgemm, 1 and 2 threads for mixer, in one
# run: per-step products x·Wᵀ with few rows (output layer, recurrent and decoder LSTM weights,
# attention combination; 160 rows = beam 5 × 32; 1 row = batch 1) on PackedMatrix (the weight
# packed once), and the training products (all time steps at once: forward NT, weight gradient
# TN, input gradient NN) on gemm. OpenBLAS runs one thread with whatever kernel it picks
# (OPENBLAS_CORETYPE, which the environment may set, is left as it is; the JSON names the kernel).
#   bench/gemm.sh [REPEATS]      (default 50; the median of REPEATS calls after one warm-up)
# Prints one JSON line per shape and thread count:
#   {"bench": "gemm-output-32-1thread", "unit": "µs", "mixer": …, "peer": "openblas-sgemm", "peer_value": …, "ratio": …}
# ratio = OpenBLAS / mixer (how many times faster mixer's product is).
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
REPEATS=${1:-50}
swift build -c release --product gemm-bench >&2
for threads in 1 2; do
  .build/release/gemm-bench --threads "$threads" --repeats "$REPEATS"
done
