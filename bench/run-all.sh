#!/usr/bin/env bash
# `make bench`: every benchmark, each running mixer and its peer on the same input in one run.
# The peers (sacremoses, sacreBLEU, rouge-score, PyTorch on CPU) go into a virtual environment
# under .build/ (bench/setup-venv.sh; PyTorch's wheel is large, about 5 GB with its CUDA
# libraries, which PyPI's Linux wheel always pulls). Each benchmark ends with its JSON lines;
# they are collected in .build/bench-results.jsonl.
set -uo pipefail
cd "$(dirname "$0")/.."
out=.build/bench-results.jsonl
: > "$out"
status=0
for b in tokenize metrics gemm train decode distributed; do
  echo "== bench/$b.sh" >&2
  if ! bench/$b.sh | tee -a "$out"; then
    echo "bench/$b.sh failed" >&2
    status=1
  fi
done
echo "== all figures: $out" >&2
grep '^{"bench"' "$out"
exit $status
