#!/usr/bin/env bash
# Tokenization throughput on one thread, end to end (read, normalize, segment, write):
# `mixer-cli tokenize` beside sacremoses (the Moses tokenizer in Python) on the same input.
#
# Usage: bench/tokenize.sh [PATH/TO/mixer-cli] [CORPUS] [MIN_MB]
#   CORPUS defaults to data/train.src; it is concatenated with itself until it has MIN_MB
#   megabytes (default 8). Times are CPU seconds (user + system; both programs use one
#   thread), so that other jobs on a shared machine do not skew them: mixer-cli's is the
#   best of 3 runs, process start included; sacremoses runs once and times its own loop
#   (its import excluded).
# Prints one JSON line: {"bench": "tokenize", "unit": "MB/s", "mixer": …, "peer": "sacremoses", …}
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/mixer-cli}
CORPUS=${2:-data/train.src}
MIN_MB=${3:-8}
[ -x "$BIN" ] || { echo "bench/tokenize.sh: build first (make build): $BIN not found" >&2; exit 1; }
[ -f "$CORPUS" ] || { echo "bench/tokenize.sh: no such corpus: $CORPUS" >&2; exit 1; }
PY=$(bench/setup-venv.sh | tail -1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

INPUT=$TMP/input.txt
: > "$INPUT"
while [ "$(stat -c %s "$INPUT")" -lt $((MIN_MB * 1000000)) ]; do cat "$CORPUS" >> "$INPUT"; done
BYTES=$(stat -c %s "$INPUT")
echo "input: $CORPUS repeated to $BYTES bytes, $(wc -l < "$INPUT") lines" >&2

peer=$("$PY" bench/peers/tokenize_sacremoses.py "$INPUT" "$TMP/peer.txt" | tail -1)

"$PY" - "$BIN" "$INPUT" "$BYTES" "$peer" <<'PYEOF'
import json, resource, subprocess, sys, time
binary, path, size, peer_s = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
runs = []
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
walls = []
for _ in range(3):
    c0, t0 = cpu(), time.perf_counter()
    subprocess.run([binary, "tokenize", "--input", path, "--output", "/dev/null"], check=True)
    runs.append(cpu() - c0)
    walls.append(time.perf_counter() - t0)
mixer_s = min(runs)
mixer, peer = size / 1e6 / mixer_s, size / 1e6 / peer_s
print(f"mixer-cli tokenize: {mixer_s:.3f} s CPU (best of 3; wall {min(walls):.3f} s), "
      f"sacremoses: {peer_s:.3f} s CPU", file=sys.stderr)
print(json.dumps({"bench": "tokenize", "unit": "MB/s", "mixer": round(mixer, 2),
                  "peer": "sacremoses", "peer_value": round(peer, 2),
                  "ratio": round(mixer / peer, 1)}))
PYEOF
