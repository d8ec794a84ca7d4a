#!/usr/bin/env bash
# libFuzzer targets (swiftc -sanitize=fuzzer) for the tokenizer, the metrics and the safetensors
# loader. NOT part of `make test` (the seeded, bounded fuzz tests in Tests/*/Fuzz*.swift are).
#   fuzz/run.sh [SECONDS] [TARGET ...]     default: 60 seconds each; targets tokenize metrics safetensors
# Builds into .build/fuzz (linking ICU and SentencePiece; Linux), keeps each target's corpus in .build/fuzz/corpus-NAME,
# and prints one summary line per target: runs, seconds, runs/s, and whether it found a crash
# (a crash leaves .build/fuzz/crash-* and the script exits non-zero).
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}; shift || true
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(tokenize metrics safetensors)
OUT=.build/fuzz${FUZZ_SANITIZE:+-$FUZZ_SANITIZE}
mkdir -p "$OUT/cicu" "$OUT/csp" "$OUT/mods"
ROOT=$(pwd)
printf 'module CICU {\n  header "%s/Sources/CICU/include/cicu.h"\n  export *\n}\n' "$ROOT" > "$OUT/cicu/module.modulemap"
printf 'module CSentencePiece {\n  header "%s/Sources/CSentencePiece/include/csentencepiece.h"\n  export *\n}\n' "$ROOT" > "$OUT/csp/module.modulemap"
ICU=(-licuuc -licui18n -licudata -lsentencepiece -lsentencepiece_train -lstdc++)
# FUZZ_SANITIZE=address adds AddressSanitizer (CI runs it so, for a bounded time).
SAN=fuzzer${FUZZ_SANITIZE:+,$FUZZ_SANITIZE}
FLAGS=(-O -parse-as-library -sanitize=$SAN -I "$OUT/cicu" -I "$OUT/csp" -I "$OUT/mods" -swift-version 5)
echo "building libFuzzer targets in $OUT ..." >&2
clang -O2 -fsanitize=fuzzer-no-link${FUZZ_SANITIZE:+,$FUZZ_SANITIZE} -c Sources/CICU/cicu.c -I Sources/CICU/include -o "$OUT/cicu.o"
clang++ -O2 -std=c++17 -fsanitize=fuzzer-no-link${FUZZ_SANITIZE:+,$FUZZ_SANITIZE} -c Sources/CSentencePiece/csentencepiece.cpp \
  -I Sources/CSentencePiece/include -o "$OUT/csp.o"
# Tokenize as its own module (Metrics imports it).
swiftc "${FLAGS[@]}" -emit-library -static -emit-module -module-name Tokenize \
  -emit-module-path "$OUT/mods/Tokenize.swiftmodule" Sources/Tokenize/*.swift -o "$OUT/libTokenize.a"
build() {  # NAME SOURCES...
  local name=$1; shift
  [ -x "$OUT/$name" ] && [ -z "$(find "$@" -newer "$OUT/$name" 2>/dev/null)" ] && return 0
  swiftc "${FLAGS[@]}" -module-name "Fuzz_$name" "$@" "$OUT/libTokenize.a" "$OUT/cicu.o" "$OUT/csp.o" "${ICU[@]}" -o "$OUT/$name"
}
for t in "${TARGETS[@]}"; do
  case $t in
    tokenize) build tokenize fuzz/tokenize.swift Sources/Tokenize/*.swift ;;
    metrics) build metrics fuzz/metrics.swift Sources/Metrics/*.swift ;;
    safetensors) build safetensors fuzz/safetensors.swift Sources/Seq2Seq/Storage/SafeTensors.swift \
                   Sources/Seq2Seq/Training/JSONValue.swift Sources/Seq2Seq/Storage/FileIO.swift Sources/Seq2Seq/Tensor/ParameterStore.swift ;;
    *) echo "unknown target $t (tokenize, metrics, safetensors)" >&2; exit 2 ;;
  esac
done
# Seeds: text from data/, and one valid safetensors file with the target's three tensors.
for t in "${TARGETS[@]}"; do mkdir -p "$OUT/corpus-$t"; done
[ -d "$OUT/corpus-tokenize" ] && head -50 data/valid.tgt | split -l 1 - "$OUT/corpus-tokenize/seed-"
[ -d "$OUT/corpus-metrics" ] && paste -d '\001' <(head -50 data/valid.tgt) <(head -50 data/valid.src) | split -l 1 - "$OUT/corpus-metrics/seed-"
[ -d "$OUT/corpus-safetensors" ] && python3 - "$OUT/corpus-safetensors/seed-valid" <<'PY'
import json, struct, sys
tensors = [("decoder.lstm.bias", [16]), ("encoder.embedding.weight", [7, 4]), ("output.weight", [6, 4])]
header, off = {"__metadata__": {"format": "mixer"}}, 0
for name, shape in tensors:
    n = 4 * eval("*".join(map(str, shape)))
    header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + n]}; off += n
h = json.dumps(header, separators=(",", ":")).encode(); h += b" " * (-len(h) % 8)
open(sys.argv[1], "wb").write(struct.pack("<Q", len(h)) + h + struct.pack("<%df" % (off // 4), *[0.5] * (off // 4)))
PY
status=0
for t in "${TARGETS[@]}"; do
  log="$OUT/$t.log"
  if ! "$OUT/$t" -max_total_time="$SECS" -max_len=4096 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$OUT/crash-$t-" "$OUT/corpus-$t" > "$log" 2>&1; then
    status=1
    echo "$t: CRASH, see $log and $OUT/crash-$t-*" >&2
  fi
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
  secs=$(awk '/Done [0-9]+ runs in/ { print $(NF-1) }' "$log")
  printf '{"fuzz": "%s", "runs": %s, "seconds": %s, "runs_per_second": %s, "crashed": %s}\n' \
    "$t" "${runs:-0}" "${secs:-$SECS}" "$(awk -v r="${runs:-0}" -v s="${secs:-$SECS}" 'BEGIN { printf "%.0f", r / (s > 0 ? s : 1) }')" \
    "$([ $status = 0 ] && echo false || echo true)"
done
exit $status
