#!/usr/bin/env bash
# SentencePiece encoding throughput and memory, one thread: `mixer-cli subword encode` beside
# Python's `sentencepiece` (0.2.3, the same C++ library underneath) on the same pre-tokenized
# input and the same model, trained first by `mixer-cli subword train` on data/train.tgt.
#
# Usage: bench/subword.sh [PATH/TO/mixer-cli] [MIN_MB] [TYPE] [VOCAB] [CORPUS]
#   The tokenized CORPUS (default data/train.tgt; the model is trained on it) is repeated to
#   MIN_MB megabytes (default 8): repeated text repeats its words, which flatters mixer's
#   per-word cache, so quote a corpus larger than MIN_MB (no repetition) too; TYPE bpe or unigram
#   (default bpe), VOCAB pieces (default 4000). Times are CPU seconds (user + system), best of 3
#   for mixer (process start and writing included), one run of Python's loop (its import and the
#   file reading excluded); peak RSS of each whole process. Counts the lines whose ids differ
#   (unigram ties only, see below) and fails above 0.1%.
# Prints one JSON line per figure: {"bench": NAME, "unit": …, "mixer": …, "peer": …, "peer_value": …, "ratio": …}
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/mixer-cli}
MIN_MB=${2:-8}
TYPE=${3:-bpe}
VOCAB=${4:-4000}
CORPUS=${5:-data/train.tgt}
[ -x "$BIN" ] || { echo "bench/subword.sh: build first (make build): $BIN not found" >&2; exit 1; }
PY=$(bench/setup-venv.sh | tail -1)
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$BIN" tokenize --input "$CORPUS" --output "$TMP/unit.tok"
"$BIN" subword train --type "$TYPE" --vocab-size "$VOCAB" --output "$TMP/m.model" "$TMP/unit.tok" 2>/dev/null
INPUT=$TMP/input.tok
: > "$INPUT"
while [ "$(stat -c %s "$INPUT")" -lt $((MIN_MB * 1000000)) ]; do cat "$TMP/unit.tok" >> "$INPUT"; done
echo "input: tokenized $CORPUS repeated to $(stat -c %s "$INPUT") bytes, $(wc -l < "$INPUT") lines; $TYPE, $VOCAB pieces" >&2
"$PY" - "$BIN" "$INPUT" "$TMP" <<'PYEOF'
import json, resource, subprocess, sys, time
binary, path, tmp = sys.argv[1], sys.argv[2], sys.argv[3]
size = len(open(path, "rb").read())
def cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
runs = []
for _ in range(3):
    c0 = cpu()
    subprocess.run([binary, "subword", "encode", "--model", f"{tmp}/m.model", "--ids", "--input", path,
                    "--output", f"{tmp}/mixer.ids"], check=True)
    runs.append(cpu() - c0)
mixer_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
peer = subprocess.run([sys.executable, "-c", f"""
import resource, sys, time, sentencepiece as spm
sp = spm.SentencePieceProcessor(model_file="{tmp}/m.model")
lines = open("{path}", encoding="utf-8").read().split("\\n")[:-1]
t0 = time.process_time()
out = [" ".join(map(str, sp.encode(l))) for l in lines]
t = time.process_time() - t0
open("{tmp}/peer.ids", "w", encoding="utf-8").write("\\n".join(out) + "\\n")
print(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""], check=True, capture_output=True, text=True).stdout.split()
peer_s, peer_rss = float(peer[0]), float(peer[1])
# Debian's library (0.1.97) and PyPI's (0.2.3) break ties of the unigram lattice (two
# segmentations of equal score, e.g. "III" as I+II or II+I) differently; BPE has none.
a, b = open(f"{tmp}/mixer.ids").read().split("\n"), open(f"{tmp}/peer.ids").read().split("\n")
differ = sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))
print(f"lines with different ids: {differ} of {len(a) - 1}", file=sys.stderr)
if differ > 0.001 * len(a):
    sys.exit("bench/subword.sh: mixer and Python's sentencepiece gave different ids on more than 0.1% of the lines")
mixer_s = min(runs)
print(f"mixer-cli subword encode: {mixer_s:.3f} s CPU (best of 3), sentencepiece (Python): {peer_s:.3f} s CPU", file=sys.stderr)
mb = size / 1e6
print(json.dumps({"bench": "subword_encode", "unit": "MB/s", "mixer": round(mb / mixer_s, 2), "peer": "sentencepiece 0.2.3 (Python)",
                  "peer_value": round(mb / peer_s, 2), "ratio": round(peer_s / mixer_s, 2)}))
print(json.dumps({"bench": "subword_encode_peak_rss", "unit": "MB", "mixer": round(mixer_rss, 1), "peer": "sentencepiece 0.2.3 (Python)",
                  "peer_value": round(peer_rss, 1), "ratio": round(peer_rss / mixer_rss, 2)}))
PYEOF
