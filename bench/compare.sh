#!/usr/bin/env bash
# Builds the release server and runs the side-by-side benchmark against redis-server.
# Arguments are passed to compare.py (e.g. --rounds 5 --tests set,get --pipelines 1,16).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --bin cinnabar-server
exec python3 bench/compare.py "$@"
