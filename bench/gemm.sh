#!/usr/bin/env bash
# Per-step products x·Wᵀ of the reference model (batch 32: output layer, recurrent and decoder
# LSTM weights, attention combination; 160 rows = beam 5 × 32; 1 row = batch 1): mixer's
# PackedMatrix (the weight packed once, CKernels micro-kernels) against OpenBLAS cblas_sgemm
# (which repacks the weight at every call), 1 and 2 threads, in one run.
#   bench/gemm.sh [REPEATS]      (default 50; the median of REPEATS calls after one warm-up)
# Prints one JSON line per shape and thread count:
#   {"bench": "gemm-output-32-1thread", "unit": "µs", "mixer": …, "peer": "openblas-sgemm", "peer_value": …, "ratio": …}
# ratio = OpenBLAS / mixer (how many times faster the packed product is).
set -euo pipefail
cd "$(dirname "$0")/.."
REPEATS=${1:-50}
swift build -c release --product mixer-bench >&2
for threads in 1 2; do
  .build/release/mixer-bench gemm --threads "$threads" --repeats "$REPEATS"
done
