#!/usr/bin/env bash
# The main job on the bundled corpus (data/). Usage: scripts/demo.sh PATH/TO/mixer-cli
set -euo pipefail
BIN=${1:-.build/release/mixer-cli}
cd "$(dirname "$0")/.."
"$BIN" --version
