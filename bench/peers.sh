#!/usr/bin/env bash
# /index.html rendered on every request: miniweb (page cache off) against axum 0.8 and
# actix-web 4 serving the same page from the same queries, chart and templates (Tera 2 in all
# three, bench/peers/rust). Interleaved (miniweb, axum, actix; three times), wrk -t2 -d4s at 16
# and 64 connections; prints each server's median req/s and miniweb's ratio to each.
#   bench/peers.sh [RUNS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
cargo build --release -q
(cd bench/peers/rust && cargo build --release -q)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
project=$PWD

start() { # name port -> pid
  local dir="$work/$1"; mkdir -p "$dir"
  case $1 in
    miniweb) (cd "$dir" && RUST_LOG=warn MINIWEB_ACCESS_LOG=off MINIWEB_PAGE_CACHE=false \
               MINIWEB_TEMPLATES_DIR="$project/templates" MINIWEB_MIGRATIONS_DIR="$project/migrations" \
               exec "$project/target/release/miniweb" --bind 127.0.0.1 "$2" >/dev/null 2>&1) & ;;
    axum)    (exec bench/peers/rust/target/release/axum_peer "$2" "$project" "$dir/stock.db" >/dev/null 2>&1) & ;;
    actix)   (exec bench/peers/rust/target/release/actix_peer "$2" "$project" "$dir/stock.db" >/dev/null 2>&1) & ;;
  esac
  echo $!
}

declare -A results
for conns in 16 64; do
  for i in $(seq "$runs"); do
    for name in miniweb axum actix; do
      port=$((19000 + RANDOM % 1000))
      pid=$(start "$name" "$port")
      for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$port/index.html" && break; sleep 0.1; done
      rps=$(wrk -t2 -c"$conns" -d4s "http://127.0.0.1:$port/index.html" | awk '/Requests\/sec/ {print $2}')
      results[$name,$conns]+="$rps "
      kill "$pid"; wait "$pid" 2>/dev/null || true
    done
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for conns in 16 64; do
  m=$(echo "${results[miniweb,$conns]}" | median)
  a=$(echo "${results[axum,$conns]}" | median)
  x=$(echo "${results[actix,$conns]}" | median)
  echo "$conns connections: miniweb $m, axum $a, actix-web $x req/s (runs: miniweb ${results[miniweb,$conns]}| axum ${results[axum,$conns]}| actix ${results[actix,$conns]})"
  python3 -c "print('  miniweb / axum = %.2f, miniweb / actix-web = %.2f' % ($m/$a, $m/$x))"
done
