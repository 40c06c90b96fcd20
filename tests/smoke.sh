#!/usr/bin/env bash
# Smoke tests with curl against a running miniweb: static files, the stock pages and a
# follow/unfollow round trip. Usage: tests/smoke.sh [BASE_URL]   (default http://localhost:8080)
# SMOKE_SERVER=nginx when BASE_URL is nginx in front of miniweb (deploy/nginx.conf).
# Leaves the data as it found it. Exits non-zero on the first failure.
set -euo pipefail

base="${1:-http://localhost:8080}"
server="${SMOKE_SERVER:-miniweb}"   # the Server header expected: nginx when run through it
code=000036   # a stock of the seed data
failures=0

pass() { printf 'ok    %s\n' "$1"; }
fail() { printf 'FAIL  %s\n' "$1"; failures=$((failures + 1)); }
check() { # check NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: expected '$2', got '$3'"; fi
}
status() { curl -sS -o /dev/null -w '%{http_code}' "$@"; }

# Static files, served by the server itself.
body=$(curl -fsS "$base/hello.txt")
case "$body" in "Hello from miniweb"*) pass "GET /hello.txt" ;; *) fail "GET /hello.txt: $body" ;; esac
headers=$(curl -fsS -I "$base/css/site.css" | tr -d '\r')
grep -qi '^content-type: text/css' <<<"$headers" && pass "HEAD css type" || fail "HEAD css type"
grep -qi '^etag: "' <<<"$headers" && pass "HEAD css ETag" || fail "HEAD css ETag"
grep -qi "^server: $server" <<<"$headers" && pass "Server header" || fail "Server header"
check "favicon" 200 "$(status "$base/favicon.ico")"
check "range 0-99 is 206" 206 "$(status -r 0-99 "$base/css/site.css")"
check "range 0-99 length" 100 "$(curl -fsS -r 0-99 "$base/css/site.css" | wc -c | tr -d ' ')"
etag=$(grep -i '^etag:' <<<"$headers" | cut -d' ' -f2-)
check "If-None-Match is 304" 304 "$(status -H "If-None-Match: $etag" "$base/css/site.css")"
check "missing file is 404" 404 "$(status "$base/no-such-file.png")"
refused() { # refused NAME STATUS: 404 from miniweb, or 400 from a proxy that normalises paths
  case "$2" in 400|404) pass "$1" ;; *) fail "$1: expected 404 (or 400), got '$2'" ;; esac
}
refused "traversal is refused" "$(status --path-as-is "$base/../../../../etc/passwd")"
refused "encoded traversal is refused" "$(status --path-as-is "$base/%2e%2e/%2e%2e/etc/passwd")"
check "dotfile is 404" 404 "$(status "$base/.git/config")"

# The stock pages.
index=$(curl -fsS "$base/index.html")
rows=$(( $(grep -o 'action="/add/' <<<"$index" | wc -l) + $(grep -o '>已关注</a>' <<<"$index" | wc -l) ))
check "index lists 94 stocks, each to add or marked followed" 94 "$rows"
grep -q '选股系统' <<<"$index" && pass "index is the stock picker" || fail "index title"
check "/ is the index" 200 "$(status "$base/")"
check "centre" 200 "$(status "$base/center.html")"
check "unknown page is 404" 404 "$(status "$base/nope.html")"
check "GET on a POST route is 405" 405 "$(status "$base/add/$code.html")"
check "unknown stock is 404" 404 "$(status -X POST "$base/add/999999.html")"
check "cross-site post is 403" 403 "$(status -X POST -H 'Origin: http://evil.example' "$base/add/$code.html")"

# Follow, annotate, unfollow: the state is as it was afterwards.
if grep -q "action=\"/del/$code.html\"" <<<"$(curl -fsS "$base/center.html")"; then
  curl -sS -o /dev/null -X POST "$base/del/$code.html"   # a previous run left it followed
fi
check "follow is 303" 303 "$(status -X POST "$base/add/$code.html")"
check "follow twice is 409" 409 "$(status -X POST "$base/add/$code.html")"
grep -q "action=\"/del/$code.html\"" <<<"$(curl -fsS "$base/center.html")" && pass "centre shows it" || fail "centre shows it"
check "note saved" 303 "$(status -X POST --data-urlencode 'note=冒烟测试 <b>ok</b>' "$base/update/$code.html")"
grep -q '冒烟测试 &lt;b&gt;ok&lt;/b&gt;' <<<"$(curl -fsS "$base/center.html")" && pass "note shown escaped" || fail "note shown escaped"
check "unfollow is 303" 303 "$(status -X POST "$base/del/$code.html")"
check "unfollow twice is 409" 409 "$(status -X POST "$base/del/$code.html")"

if [ "$failures" -gt 0 ]; then
  echo "$failures smoke check(s) failed"
  exit 1
fi
echo "all smoke checks passed"
