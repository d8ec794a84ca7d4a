#!/usr/bin/env bash
# Data-parallel training (docs/distributed.md): `mixer-cli train` on the first PAIRS pairs of
# data/ with the reference shape (embedding 256, biLSTM encoder 256 per direction, decoder 256,
# vocabularies up to 10,000, batch 32, source length 50, target length 15, XENT, one epoch), as
#   one process with 1 thread, one process with 2 threads, 2 ranks × 1 thread under mpirun, and
#   the same 2 ranks with the reduction after backward instead of overlapped (MIXER_OVERLAP=0),
# then the allreduce of the reference model's gradients alone (`mixer-bench allreduce`: dense,
# and by the embedding tables' non-zero rows as training reduces them).
# Throughput is the epoch record's tokens_per_second: target tokens over the training steps'
# time (validation excluded); for 2 ranks that time is rank 0's, allreduce and waiting included.
#
# Usage: bench/distributed.sh [PAIRS] [REPEATS]     (defaults 3200 = 100 steps, and 1)
#   MIXER_BENCH_NO_BUILD=1 uses the binaries in .build/release as they are (e.g. built with the
#   tests' flags, which a plain `swift build -c release` would rebuild from scratch).
# Prints JSON lines:
#   {"bench": "train-2ranks", "unit": "target tokens/s", "mixer": …, "peer": "mixer, 1 process, 2 threads", "peer_value": …, "ratio": …, "goal": 0.9, "goal_met": …}
#   {"bench": "train-2ranks-no-overlap", …}   {"bench": "train-1rank-1thread", …}
#   {"bench": "allreduce-2ranks", "unit": "ms", …}
# and the CPU model and load average before and after on stderr.
# Skips (exit 0, with the reason) where mpirun is missing: `make deps` installs Open MPI.
set -euo pipefail
. "$(dirname "$0")/label.sh"
cd "$(dirname "$0")/.."
PAIRS=${1:-3200}
REPEATS=${2:-1}
command -v mpirun >/dev/null 2>&1 || { echo "bench/distributed.sh: SKIPPED: mpirun is not installed (make deps)" >&2; exit 0; }
if [ "${MIXER_BENCH_NO_BUILD:-0}" != 1 ]; then
  swift build -c release --product mixer-cli >&2
  swift build -c release --product mixer-bench >&2
fi
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(nproc) cores; load average before: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
BIN=.build/release/mixer-cli
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
head -n "$PAIRS" data/train.src > "$work/train.src"
head -n "$PAIRS" data/train.tgt > "$work/train.tgt"
head -n 50 data/valid.src > "$work/valid.src"
head -n 50 data/valid.tgt > "$work/valid.tgt"
args=(--train-source "$work/train.src" --train-target "$work/train.tgt" --valid-source "$work/valid.src"
      --valid-target "$work/valid.tgt" --embedding-size 256 --hidden-size 256 --encoder-hidden-size 256
      --source-vocab-size 10000 --target-vocab-size 10000 --max-source-length 50 --max-target-length 15
      --batch-size 32 --epochs 1 --seed 1 --log-samples 0)

# tokens/s of one run: $1 = label, the rest = the command.
rate() {
  local dir="$work/run-$1"; shift
  rm -rf "$dir"
  "$@" "${args[@]}" --output "$dir" >"$work/console.txt" 2>&1 || { cat "$work/console.txt" >&2; exit 1; }
  grep '"event":"epoch"' "$dir/log.jsonl" | grep -o '"tokens_per_second":[0-9.e+-]*' | cut -d: -f2
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2 ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2)}'; }

one=() two=() ranks=() serial=()
for _ in $(seq "$REPEATS"); do
  # Interleaved, so that a change in the machine's load hits the three alike.
  one+=("$(rate one $BIN train --threads 1)")
  two+=("$(rate two $BIN train --threads 2)")
  ranks+=("$(rate ranks mpirun --oversubscribe -np 2 $BIN train --threads 1)")
  serial+=("$(rate serial mpirun --oversubscribe -np 2 -x MIXER_OVERLAP=0 $BIN train --threads 1)")
  echo "1 thread ${one[-1]}, 2 threads ${two[-1]}, 2 ranks ${ranks[-1]} (not overlapped ${serial[-1]}) target tokens/s; load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done
m1=$(printf '%s\n' "${one[@]}" | median)
m2=$(printf '%s\n' "${two[@]}" | median)
mr=$(printf '%s\n' "${ranks[@]}" | median)
ms=$(printf '%s\n' "${serial[@]}" | median)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
met() { awk -v a="$1" -v b="$2" 'BEGIN { print (a / b >= 0.9 ? "true" : "false") }'; }
echo "{\"bench\": \"train-2ranks\", \"unit\": \"target tokens/s\", \"mixer\": $mr, \"peer\": \"mixer, 1 process, 2 threads\", \"peer_value\": $m2, \"ratio\": $(ratio "$mr" "$m2"), \"goal\": 0.9, \"goal_met\": $(met "$mr" "$m2"), \"repeats\": $REPEATS}"
echo "{\"bench\": \"train-2ranks-no-overlap\", \"unit\": \"target tokens/s\", \"mixer\": $ms, \"peer\": \"mixer, 1 process, 2 threads\", \"peer_value\": $m2, \"ratio\": $(ratio "$ms" "$m2"), \"goal\": 0.9, \"goal_met\": $(met "$ms" "$m2"), \"overlapped\": $mr}"
echo "{\"bench\": \"train-1rank-1thread\", \"unit\": \"target tokens/s\", \"mixer\": $m1, \"peer\": \"mixer, 1 process, 2 threads\", \"peer_value\": $m2, \"ratio\": $(ratio "$m1" "$m2")}"
ar=$(mpirun --oversubscribe -np 2 .build/release/mixer-bench allreduce --steps 20 | tail -1)
echo "allreduce: $ar" >&2
echo "{\"bench\": \"allreduce-2ranks\", \"unit\": \"ms\", \"mixer\": $(echo "$ar" | grep -o '"allreduce_ms": [0-9.]*' | cut -d' ' -f2), \"detail\": $ar}"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
