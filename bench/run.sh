#!/usr/bin/env bash
# miniweb beside nginx and the Python stack, on loopback. Installs what it lacks (wrk, nginx,
# Flask + gunicorn in bench/.venv), builds the release binary, runs bench/bench.py.
#   bench/run.sh            full run: 3 runs per cell at 1, 16, 64, 256 connections (< 10 min)
#   bench/run.sh --quick    1 run per cell at 16 and 64 connections (< 2 min)
# Other options (--out FILE, --only CASE,...) go to bench/bench.py.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ ! -x bench/.venv/bin/gunicorn ]; then
  python3 -m venv bench/.venv
  bench/.venv/bin/pip install -q flask gunicorn
fi
cargo build --release -q
exec python3 bench/bench.py "$@"
