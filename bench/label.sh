# Sourced by every benchmark script, first thing: runs the script again with its standard output
# through bench/label.py, which adds the machine to each JSON figure line ("cpu": the model name
# with its family and model numbers, "kernel": the kernel path mixer's products take there), so
# figures from different machines are never mixed. Exits with the script's own status.
if [ -z "${MIXER_BENCH_LABELED:-}" ]; then
  export MIXER_BENCH_LABELED=1
  _bench_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  _bench_self="$_bench_dir/$(basename "$0")"
  set +e
  "$_bench_self" "$@" | python3 "$_bench_dir/label.py"
  _bench_status=("${PIPESTATUS[@]}")
  if [ "${_bench_status[0]}" -ne 0 ]; then exit "${_bench_status[0]}"; fi
  exit "${_bench_status[1]}"
fi
