#!/usr/bin/env python3
"""How far one request travels through miniweb's own code: the functions of `src/` that run
while the server answers one `GET /center.html` (after a first one has warmed the caches),
and the files they live in. A count that does not drift: it is read from a debug build (no
inlining) under gdb, with a counting breakpoint on every function defined in `src/`.

    python3 bench/hops.py [--path /center.html] [--list]

Needs gdb (apt-get install gdb) and `cargo build` (the debug binary). Prints the hop count,
the files, and with --list each function in the order it was first entered.

What counts as a hop: a function or method written in `src/` that the request enters.
Closures, and the impls `#[derive]` writes (Clone, Debug, PartialEq), are left out: a reader
does not follow them. A function entered many times (a loop over headers) counts once.
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "debug", "miniweb")

# Runs inside gdb: a counting breakpoint on every function of src/; counting starts when the
# third connection is served and ends when the shutdown begins.
GDB_SCRIPT = r'''
import gdb, os, re
gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("handle SIGTERM SIGPIPE nostop noprint pass")
out = os.environ["HOPS_OUT"]
listing = gdb.execute("info functions miniweb::", to_string=True)
funcs = []  # (file, line, name)
current = None
for line in listing.splitlines():
    m = re.match(r"^File (.*):$", line)
    if m:
        current = m.group(1) if m.group(1).startswith("src/") else None
        continue
    m = re.match(r"^(\d+):\s+(?:static )?fn (.*?)\(", line)
    if current and m:
        funcs.append((current, int(m.group(1)), m.group(2)))
state = {"counting": False, "served": 0, "order": [], "thread": None}
seen = set()

class Count(gdb.Breakpoint):
    def __init__(self, file, line, name):
        super().__init__("-function " + name, internal=True)
        self.where = (file, line, name)
    def stop(self):
        if state["counting"] and gdb.selected_thread().num == state["thread"] and self.where not in seen:
            seen.add(self.where)
            state["order"].append(self.where)
        return False

class Start(gdb.Breakpoint):
    def stop(self):
        state["served"] += 1
        if state["served"] == 3:  # the probe, the warm-up, then this one
            state["counting"] = True
            state["thread"] = gdb.selected_thread().num
            where = ("src/server/acceptor.rs", 0, "miniweb::server::acceptor::Acceptors::serve")
            seen.add(where)
            state["order"].append(where)
        return False

class End(gdb.Breakpoint):
    def stop(self):
        state["counting"] = False
        with open(out, "w") as f:
            for file, line, name in state["order"]:
                f.write(f"{file}\t{line}\t{name}\n")
        return False

for file, line, name in funcs:
    try:
        Count(file, line, name)
    except gdb.error:
        pass
Start("-function miniweb::server::acceptor::Acceptors::serve", internal=True)
End("-function miniweb::server::ShutdownHandle::shutdown", internal=True)
gdb.execute("run")
'''

# Where each step of the course's path begins: the first function of it that a request enters.
STEPS = [
    ("accept, admit under the caps", None),
    ("read and check the request", "miniweb::server::request::RequestReader::new"),
    ("route: a file, or the app", "miniweb::server::dispatch::dispatch"),
    ("the app: router, page cache, handler", "miniweb::framework::{impl#1}::call"),
    ("write the response", "miniweb::server::response::write_response"),
    ("log, close, give the place back", "miniweb::server::access_log::AccessLogger::log"),
]

DERIVED = re.compile(r"::\{impl#\d+\}::(clone|fmt|eq|ne|hash|default|cmp|partial_cmp)$")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path):
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    return data.split(b"\r\n", 1)[0].decode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--path", default="/center.html")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "hops_gdb.py")
        out = os.path.join(tmp, "hops.tsv")
        with open(script, "w") as f:
            f.write(GDB_SCRIPT)
        env = dict(os.environ, HOPS_OUT=out, RUST_LOG="warn")
        gdb = subprocess.Popen(
            ["gdb", "-q", "-batch", "-x", script, "--args", BIN, str(port)],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        # Setting a thousand breakpoints takes a while: wait for the port, however long.
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if gdb.poll() is not None:
                    sys.exit("gdb ended before the server listened")
        # That probe was the first connection; the warm-up is the first request.
        print(get(port, args.path), "(warm-up)", file=sys.stderr)
        print(get(port, args.path), "(counted)", file=sys.stderr)
        server = subprocess.run(["pgrep", "-P", str(gdb.pid)], capture_output=True, text=True)
        os.kill(int(server.stdout.split()[0]), signal.SIGTERM)
        gdb.wait()
        rows = [l.rstrip("\n").split("\t") for l in open(out)]
    hops, names = [], set()
    for f, l, n in rows:
        # One function, however many types it was instantiated for.
        base = re.sub(r"<.*$", "", n)
        if "{closure" in n or DERIVED.search(base) or base in names:
            continue
        names.add(base)
        hops.append((f, int(l), base))
    files = []
    for f, _, _ in hops:
        if f not in files:
            files.append(f)
    print(f"GET {args.path}: {len(hops)} functions of src/ in {len(files)} files")
    print("| step | functions | files (functions in each) |\n|---|---|---|")
    starts = [next((i for i, h in enumerate(hops) if h[2] == m), None) if m else 0 for _, m in STEPS]
    for k, (step, _) in enumerate(STEPS):
        if starts[k] is None:
            continue
        end = next((s for s in starts[k + 1:] if s is not None), len(hops))
        part = hops[starts[k]:end]
        counts = {}
        for f, _, _ in part:
            counts[f] = counts.get(f, 0) + 1
        where = ", ".join(f"`{f[4:]}` {n}" for f, n in counts.items())
        print(f"| {step} | {len(part)} | {where} |")
    if args.list:
        for f, l, n in hops:
            print(f"{f}:{l}\t{n}")


if __name__ == "__main__":
    main()
