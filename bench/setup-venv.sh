#!/usr/bin/env bash
# Creates the benchmark peers' virtual environment (default: .build/bench-venv) and installs
# bench/requirements.txt into it; with --torch also bench/requirements-torch.txt (PyTorch; CPU is
# all the peers use).
# Prints the environment's python path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${BENCH_VENV:-.build/bench-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" >&2
fi
stamp="$VENV/.requirements.sha"
want=$(sha256sum bench/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/requirements.txt >&2
  echo "$want" > "$stamp"
fi
if [ "${1:-}" = "--torch" ]; then
  tstamp="$VENV/.requirements-torch.sha"
  twant=$(sha256sum bench/requirements-torch.txt | cut -d' ' -f1)
  if [ "$(cat "$tstamp" 2>/dev/null)" != "$twant" ] \
     || ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
    echo "installing PyTorch (bench/requirements-torch.txt); this can take a few minutes" >&2
    "$VENV/bin/pip" install -q --disable-pip-version-check -r bench/requirements-torch.txt >&2
    echo "$twant" > "$tstamp"
  fi
fi
echo "$VENV/bin/python"
