#!/usr/bin/env python3
"""What one request costs the release build (its `profiling` twin, with line tables), in
counts that do not drift with the machine's mood: syscalls (`strace -f -c`), heap allocations (`valgrind --tool=dhat`) and instructions
(`valgrind --tool=callgrind`). For each request and each tool, the server runs twice, once
answering 1 request and once 1 + N, one at a time on one keep-alive connection; the difference
divided by N is one request's cost, start-up and shutdown cancelled out.

    python3 bench/cost.py [--n N] [--only NAME] [--tools strace,dhat,callgrind] [--features]

`--features` turns on every folder feature a request can pass through (a header rule, CORS,
metrics, a redirect and a rewrite, auth under a path, the site's error pages, archives,
uploads), on paths the cases do not ask for, so the difference is their cost to the others.

Needs strace and valgrind (apt-get install strace valgrind) and `cargo build --profile profiling
--all-features`.
Prints a Markdown table for bench/RESULTS.md.
"""
import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from bench import BIN, ROOT, free_port, prepare

# name, path, request headers, page cache on
CASES = [
    ("small file", "/small.txt", [], True),
    ("small file, br", "/small.txt", ["Accept-Encoding: br"], True),
    ("404", "/missing.txt", [], True),
    ("1 MiB file", "/big.bin", [], True),
    ("/index.html, page cache hit", "/index.html", [], True),
    ("/index.html, page cache hit, br", "/index.html", ["Accept-Encoding: br"], True),
    ("/index.html, rendered", "/index.html", [], False),
    ("/center.html, rendered", "/center.html", [], False),
]


def requests(port, path, headers, n):
    """n requests, one at a time, on one keep-alive connection; every answer read whole."""
    s = socket.create_connection(("127.0.0.1", port), timeout=60)
    extra = "".join(f"{h}\r\n" for h in headers)
    request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n{extra}\r\n".encode()
    buf = b""
    for _ in range(n):
        s.sendall(request)
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                head = buf[:end].decode("latin-1").lower().split("\r\n")
                length = int(next((l.split(":")[1] for l in head
                                   if l.startswith("content-length")), 0))
                if len(buf) >= end + 4 + length:
                    buf = buf[end + 4 + length:]
                    break
            chunk = s.recv(1 << 20)
            if not chunk:
                raise SystemExit("server closed the connection")
            buf += chunk
    s.close()


# Every folder feature, on paths the cases never ask for (issue 24).
FEATURES = """cors_origins = "*"
metrics = true
archives = true
upload = true
auth_file = "users"
auth_path = "/private"
page_404 = "static/small.txt"
page_50x = "static/small.txt"
[[headers]]
path = "*"
set = { "X-Frame-Options" = "DENY" }
[[redirects]]
from = "/old/**"
to = "/new/$1"
[[rewrites]]
from = "/latest/*"
to = "/v1/$1"
"""

# alice's password is "pw" (bcrypt, cost 4); no case signs in.
USERS = "alice:$2b$04$dAP3zodo8nkfvoC7tpjrvOejREWDN9rHw4eS3Z8BIK5IulN2s2u2a\n"


def run(tool, work, case, n, features=False):
    """Starts the server under `tool`, sends `n` requests, stops it; returns the tool's count."""
    name, path, headers, cache = case
    port = free_port()
    out = os.path.join(work, f"{tool}.out")
    if os.path.exists(out):
        os.remove(out)
    cfg = os.path.join(work, "config.toml")
    with open(cfg, "w") as f:
        f.write(f'host = "127.0.0.1"\nport = {port}\nstatic_dir = "{work}/static"\n'
                f'templates_dir = "{ROOT}/templates"\nmigrations_dir = "{ROOT}/migrations"\n'
                f'database = "{work}/stock.db"\npage_cache = {str(cache).lower()}\n'
                'log_level = "warn"\naccess_log = "off"\n')
        if features:
            f.write(FEATURES)
    if features:
        with open(os.path.join(work, "users"), "w") as f:
            f.write(USERS)
    wrap = {
        "strace": ["strace", "-f", "-c", "-o", out],
        "dhat": ["valgrind", "--tool=dhat", f"--dhat-out-file={out}"],
        "callgrind": ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"],
    }[tool]
    proc = subprocess.Popen(wrap + [BIN, "--config", cfg], cwd=work, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, RUST_LOG="warn"))
    deadline = time.time() + 120
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                raise SystemExit(f"{name}: the server did not start under {tool}")
            time.sleep(0.2)
    # The connection above was one more accept; every run makes it, so it cancels out.
    requests(port, path, headers, n)
    # Under strace the server is strace's child: the signal goes to it, not to strace.
    target = proc.pid
    if tool == "strace":
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
            target = int(f.read().split()[0])
    os.kill(target, signal.SIGTERM)
    stderr = proc.communicate(timeout=300)[1]
    if tool == "strace":
        with open(out) as f:
            m = re.search(r"^\s*100\.00\s+\S+\s+\S+\s+(\d+)", f.read(), re.M)
            calls = {}
            f.seek(0)
            for line in f:
                parts = line.split()
                if len(parts) >= 5 and parts[0].replace(".", "").isdigit() and parts[-1] != "total":
                    calls[parts[-1]] = int(parts[3])
        return int(m.group(1)), calls
    if tool == "dhat":
        m = re.search(r"Total:\s+[\d,]+ bytes in ([\d,]+) blocks", stderr)
        return int(m.group(1).replace(",", "")), None
    with open(out) as f:
        m = re.search(r"^(?:summary|totals):\s+(\d+)", f.read(), re.M)
    return int(m.group(1)), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000, help="requests measured per run")
    ap.add_argument("--only", help="case names, separated by ';'")
    ap.add_argument("--tools", default="strace,dhat,callgrind")
    ap.add_argument("--features", action="store_true", help="every folder feature on")
    args = ap.parse_args()
    tools = args.tools.split(",")
    for t, cmd in (("strace", "strace"), ("dhat", "valgrind"), ("callgrind", "valgrind")):
        if t in tools and not shutil.which(cmd):
            raise SystemExit(f"{cmd} is not installed (apt-get install {cmd})")
    only = set(args.only.split(";")) if args.only else None
    cols = {"strace": "syscalls", "dhat": "allocations", "callgrind": "instructions"}
    lines = ["| request | " + " | ".join(cols[t] for t in tools) + " | syscalls by name |",
             "|---|" + "---:|" * len(tools) + "---|"]
    for case in CASES:
        if only and case[0] not in only:
            continue
        cells, names = [], ""
        for tool in tools:
            work = tempfile.mkdtemp(prefix="miniweb-cost-")
            try:
                prepare(work)
                # The warm-up request, so that caches are filled in both runs alike.
                base, base_calls = run(tool, work, case, 1, args.features)
                more, more_calls = run(tool, work, case, 1 + args.n, args.features)
            finally:
                shutil.rmtree(work, ignore_errors=True)
            per = (more - base) / args.n
            if tool == "strace":
                # The total drifts by a few hundred calls between runs (threads starting and
                # stopping, timers), so it is the sum of the calls the requests make, by name.
                diff = {k: (more_calls.get(k, 0) - base_calls.get(k, 0)) / args.n
                        for k in set(more_calls) | set(base_calls)}
                made = sorted(((k, v) for k, v in diff.items() if v >= 0.05),
                              key=lambda kv: (-kv[1], kv[0]))
                per = sum(v for _, v in made)
                names = ", ".join(f"{k} {v:.1f}".rstrip("0").rstrip(".") for k, v in made)
            cells.append(f"{per:,.0f}" if per >= 100 else f"{per:.1f}")
            print(f"  {case[0]}: {tool} {per:.1f} per request", file=sys.stderr, flush=True)
        lines.append(f"| {case[0]} | " + " | ".join(cells) + f" | {names} |")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
