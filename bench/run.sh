#!/usr/bin/env bash
# miniweb beside nginx, static-web-server, axum, actix-web and the Python stack, on loopback.
# Installs what it lacks (wrk, nginx, Flask + gunicorn in bench/.venv, static-web-server in
# bench/.sws: about 10 minutes the first time), builds miniweb and the Rust peers
# (bench/peers/rust), runs bench/bench.py.
#   bench/run.sh            full run: 3 runs per cell at 16, 64, 256 connections (~ 15 min)
#   bench/run.sh --quick    1 run per cell at 16 and 64 connections (~ 3 min)
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
if [ ! -x bench/.sws/bin/static-web-server ]; then
  cargo install -q --locked static-web-server --root bench/.sws
fi
cargo build --profile profiling --all-features -q
(cd bench/peers/rust && cargo build --release -q)
exec python3 bench/bench.py "$@"
