#!/usr/bin/env python3
"""Side-by-side benchmark: miniweb against nginx, static-web-server, axum, actix-web and the
Python stack, on loopback, with wrk.

Started by bench/run.sh, which installs what is missing and builds the binaries (miniweb in
the `profiling` profile, which is release with line tables; the Rust peers of
bench/peers/rust; static-web-server into bench/.sws). A peer whose binary is
missing is left out with one line saying so.
Prints one Markdown report (raw medians, then ratios) and writes it to --out if given.
Every server is started here and stopped by its PID; every run is bounded in time.
"""
import argparse
import datetime
import os
import platform
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "target", "profiling", "miniweb")
VENV = os.path.join(ROOT, "bench", ".venv")
PEERS = os.path.join(ROOT, "bench", "peers", "rust", "target", "release")
SWS = os.path.join(ROOT, "bench", ".sws", "bin", "static-web-server")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def descendants(pid):
    """pid and every process below it."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def rss_mib(pid):
    total = 0
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024.0


class Server:
    """One server process: started in its own process group, stopped by PID."""

    def __init__(self, name, kind, cmd, port, cwd=None, env=None):
        self.name, self.kind, self.cmd, self.port = name, kind, cmd, port
        self.cwd, self.env, self.proc = cwd, env, None

    def start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_port(self.port, self.proc)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"


LAT = re.compile(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)


def wrk(url, conns, seconds, close=False, headers=(), pid=None):
    """One wrk run (two threads, as in issue 12's figures). With `pid`, the server's RSS is
    sampled halfway through, while every connection is busy."""
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "5s"]
    if close:
        cmd += ["-H", "Connection: close"]
    for h in headers:
        cmd += ["-H", h]
    proc = subprocess.Popen(cmd + [url], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    rss = float("nan")
    if pid is not None:
        time.sleep(seconds / 2)
        rss = rss_mib(pid)
    out = proc.communicate(timeout=seconds + 30)[0]
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {}
    for pct, value, unit in LAT.findall(out):
        lat[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    non2xx = int(m.group(1)) if m else 0
    return rps, lat.get("50", float("nan")), lat.get("99", float("nan")), errors, non2xx, rss


def check(server, path, headers, want):
    """Refuses to measure a server that does not answer as it should: a fast error page is no
    result. (A server without ETags answers a reload with 200, which counts as served.)"""
    req = urllib.request.Request(server.url(path))
    for h in headers:
        name, value = h.split(":", 1)
        req.add_header(name, value.strip())
    try:
        status = urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        status = e.code
    if status != want and not (want == 304 and status == 200):
        raise SystemExit(f"{server.name} answered {path} with {status}, expected {want}")


def idle_rss(server, count):
    """RSS of the server with `count` idle keep-alive connections open."""
    socks = []
    try:
        for _ in range(count):
            s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
            s.sendall(b"GET /small.txt HTTP/1.1\r\nHost: bench\r\n\r\n")
            socks.append(s)
        for s in socks:
            s.recv(65536)
        time.sleep(0.5)
        return rss_mib(server.proc.pid)
    finally:
        for s in socks:
            s.close()


def prepare(work):
    static = os.path.join(work, "static")
    os.makedirs(static)
    # A 2 KiB text file and a 1 MiB binary, the same bytes for every server.
    line = "miniweb benchmark: a small static file served again and again.\n"
    with open(os.path.join(static, "small.txt"), "w") as f:
        f.write((line * 40)[:2048])
    with open(os.path.join(static, "big.bin"), "wb") as f:
        f.write(bytes(i % 251 for i in range(1 << 20)))
    for sub in ("css", "img"):
        shutil.copytree(os.path.join(ROOT, "static", sub), os.path.join(static, sub))
    return static


def miniweb_server(work, static, cache, max_connections=4096, access_log="off", binary=BIN):
    name = "miniweb" if cache else "miniweb (no page cache)"
    sub = os.path.join(work, "miniweb-cache" if cache else "miniweb-nocache")
    os.makedirs(sub)
    port = free_port()
    cfg = os.path.join(sub, "config.toml")
    with open(cfg, "w") as f:
        f.write(
            f'host = "127.0.0.1"\nport = {port}\nstatic_dir = "{static}"\n'
            f'templates_dir = "{ROOT}/templates"\nmigrations_dir = "{ROOT}/migrations"\n'
            f'database = "{sub}/stock.db"\nmax_connections = {max_connections}\n'
            f'page_cache = {"true" if cache else "false"}\nlog_level = "warn"\n'
            f'access_log = "{access_log}"\n'
        )
    return Server(name, "miniweb", [binary, "--config", cfg], port, env={"RUST_LOG": "warn"})


def nginx_server(work, static, workers):
    name = f"nginx ({workers})"
    sub = os.path.join(work, f"nginx-{workers}")
    os.makedirs(os.path.join(sub, "tmp"))
    port = free_port()
    conf = os.path.join(sub, "nginx.conf")
    user = "user root;" if os.geteuid() == 0 else ""
    with open(conf, "w") as f:
        f.write(f"""{user}
worker_processes {workers};
daemon off;
pid {sub}/nginx.pid;
error_log {sub}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 65;
    keepalive_requests 1000000;
    client_body_temp_path {sub}/tmp/body;
    proxy_temp_path {sub}/tmp/proxy;
    fastcgi_temp_path {sub}/tmp/fastcgi;
    uwsgi_temp_path {sub}/tmp/uwsgi;
    scgi_temp_path {sub}/tmp/scgi;
    types {{ text/plain txt; text/css css; image/svg+xml svg; text/html html; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {static};
    }}
}}
""")
    return Server(name, "nginx", ["nginx", "-c", conf, "-p", sub], port)


def python_static(static):
    port = free_port()
    return Server("python http.server", "python", [sys.executable, "-m", "http.server", str(port),
                  "--bind", "127.0.0.1", "--directory", static], port)


def gunicorn_server(work):
    port = free_port()
    db = os.path.join(work, "python.db")
    # The backup API, not a file copy: in WAL mode recent pages live in stock.db-wal.
    src = sqlite3.connect(os.path.join(work, "miniweb-cache", "stock.db"))
    dst = sqlite3.connect(db)
    src.backup(dst)
    src.close()
    dst.close()
    return Server("gunicorn + Flask", "python",
                  [os.path.join(VENV, "bin", "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}",
                   "--chdir", os.path.join(ROOT, "bench", "peers"), "flask_app:app"],
                  port, env={"STOCK_DB": db})


def rust_peer(work, static, kind):
    """axum or actix-web (bench/peers/rust): the page rendered every time, files from the
    framework's own file service. None when not built."""
    binary = os.path.join(PEERS, f"{kind}_peer")
    if not os.access(binary, os.X_OK):
        print(f"skipped: {kind} (build bench/peers/rust: bench/run.sh does)", file=sys.stderr)
        return None
    sub = os.path.join(work, kind)
    os.makedirs(sub)
    port = free_port()
    name = {"axum": "axum", "actix": "actix-web"}[kind]
    return Server(name, "rust", [binary, str(port), ROOT, os.path.join(sub, "stock.db"), static],
                  port)


def sws_server(static):
    """static-web-server with its defaults (bench/run.sh installs it). None when missing."""
    binary = SWS if os.access(SWS, os.X_OK) else shutil.which("static-web-server")
    if not binary:
        print("skipped: static-web-server (cargo install static-web-server --root bench/.sws)",
              file=sys.stderr)
        return None
    port = free_port()
    return Server("static-web-server", "sws", [binary, "--host", "127.0.0.1", "--port", str(port),
                  "--root", static, "--log-level", "error"], port)


def save_page(server, static):
    """The page as miniweb serves it (identity and br) saved into the document root, for the
    file servers to serve the very same bytes: page/index.html and page/index.html.br."""
    os.makedirs(os.path.join(static, "page"), exist_ok=True)
    for suffix, headers in (("", {}), (".br", {"Accept-Encoding": "br"})):
        req = urllib.request.Request(server.url("/index.html"), headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:
            body = resp.read()
            if suffix and resp.headers.get("Content-Encoding") != "br":
                raise SystemExit("miniweb did not answer Accept-Encoding: br with br")
        with open(os.path.join(static, "page", "index.html" + suffix), "wb") as f:
            f.write(body)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="one run per cell, fewer cells")
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--seconds", type=int, default=None)
    ap.add_argument("--out", help="also write the report here")
    ap.add_argument("--only", help="case names to run, separated by ';'")
    args = ap.parse_args()
    runs = args.runs or (1 if args.quick else 3)
    seconds = args.seconds or (1 if args.quick else 2)
    conn_levels = [16, 64] if args.quick else [16, 64, 256]
    only = set(args.only.split(";")) if args.only else None

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    started = time.time()
    work = tempfile.mkdtemp(prefix="miniweb-bench-")
    os.chmod(work, 0o755)
    static = prepare(work)

    mw = miniweb_server(work, static, cache=True)
    mw_nocache = miniweb_server(work, static, cache=False)
    axum = rust_peer(work, static, "axum")
    actix = rust_peer(work, static, "actix")
    sws = sws_server(static)
    nginxes = [nginx_server(work, static, 1), nginx_server(work, static, "auto")]
    file_servers = [s for s in [mw, *nginxes, sws, axum, actix, python_static(static)] if s]
    rust_peers = [s for s in [axum, actix] if s]

    rows = []  # (server, case, conns, rps, p50, p99, errors, rss)

    def measure(case, conns, entries, close=False, want=200):
        """One cell: each entry is (name, server, path, headers). The runs are interleaved
        (A B C, A B C, ...) so that a slow minute of a shared machine falls on every server
        alike, not on one."""
        if only and case not in only:
            return
        for name, srv, path, hdrs in entries:
            check(srv, path, hdrs, want)
        results = {e[0]: [] for e in entries}
        for _ in range(runs):
            for name, srv, path, hdrs in entries:
                results[name].append(wrk(srv.url(path), conns, seconds, close, hdrs, srv.proc.pid))
        for name, *_ in entries:
            res = results[name]
            rps = statistics.median(r[0] for r in res)
            p50 = statistics.median(r[1] for r in res)
            p99 = statistics.median(r[2] for r in res)
            errors = max(r[3] + (0 if want == 404 else r[4]) for r in res)
            rss = statistics.median(r[5] for r in res)
            rows.append((name, case, conns, rps, p50, p99, errors, rss))
            print(f"  {name:26} {case:30} c={conns:<4} {rps:>8.0f} req/s  p50 {p50:.2f} ms  "
                  f"p99 {p99:.2f} ms  err {errors}  rss {rss:.1f} MiB", file=sys.stderr, flush=True)

    def same(servers, path, headers=()):
        return [(srv.name, srv, path, list(headers)) for srv in servers]

    def reload_headers(srv):
        """A browser's reload: the page's ETag comes back, and the answer is a 304."""
        etag = urllib.request.urlopen(srv.url("/index.html")).headers.get("ETag")
        return [f"If-None-Match: {etag}"] if etag else []

    idle = {}
    gunicorn = None
    started_servers = []
    try:
        for srv in file_servers:
            srv.start()
            started_servers.append(srv)
            wrk(srv.url("/small.txt"), 16, 1)  # warm-up
        save_page(mw, static)
        for case, path, want in [("small 2 KiB", "/small.txt", 200),
                                 ("1 MiB file", "/big.bin", 200),
                                 ("404", "/missing.txt", 404)]:
            for c in conn_levels:
                measure(case, c, same(file_servers, path), want=want)
        measure("small, Connection: close", 16, same(file_servers, "/small.txt"), close=True)
        # The page as served (page cache) against the very same bytes as a static file.
        others = [s for s in file_servers if s is not mw and s.kind != "python"]
        for c in [16, 64]:
            measure("page as a file, identity", c,
                    [("miniweb", mw, "/index.html", [])] + same(others, "/page/index.html"))
            measure("page as a file, br", c,
                    [("miniweb", mw, "/index.html", ["Accept-Encoding: br"])]
                    + same(others, "/page/index.html.br"))
        # Compression on the hot path: each form of the same cached answer, interleaved.
        for case, path in [("compression, small 2 KiB", "/small.txt"),
                           ("compression, /index.html", "/index.html")]:
            for c in [16, 64]:
                measure(case, c, [("miniweb", mw, path, []),
                                  ("miniweb, br", mw, path, ["Accept-Encoding: br"]),
                                  ("miniweb, gzip", mw, path, ["Accept-Encoding: gzip"])])
        for srv in file_servers:
            if srv.kind != "python" and (not only or "idle" in only):
                idle[srv.name] = idle_rss(srv, 1000)
                print(f"  {srv.name:26} 1000 idle connections: {idle[srv.name]:.1f} MiB",
                      file=sys.stderr, flush=True)
            if srv is not mw and srv.kind != "rust":
                srv.stop()
        # The dynamic pages: miniweb with and without its page cache, the Rust peers rendering
        # every time, and the Python stack.
        mw_nocache.start()
        started_servers.append(mw_nocache)
        gunicorn = gunicorn_server(work)
        gunicorn.start()
        started_servers.append(gunicorn)
        page_servers = [mw, mw_nocache, *rust_peers, gunicorn]
        for srv in page_servers:
            wrk(srv.url("/index.html"), 16, 1)
        for c in conn_levels:
            measure("/index.html", c, same(page_servers, "/index.html"))
        for c in conn_levels:
            measure("/center.html", c, same([mw, mw_nocache, gunicorn], "/center.html"))
        for c in [16, 64]:
            measure("/index.html, browser reload", c,
                    [(s.name, s, "/index.html", reload_headers(s)) for s in page_servers],
                    want=304)
    finally:
        for s in started_servers:
            s.stop()
        shutil.rmtree(work, ignore_errors=True)

    report = render(rows, idle, runs, seconds, time.time() - started, args)
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


def commit():
    """The checked-out commit, with `+` when the tree has changes."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                              capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=ROOT, capture_output=True, text=True).stdout.strip()
        return head + ("+" if dirty else "") if head else "unknown"
    except OSError:
        return "unknown"


def render(rows, idle, runs, seconds, elapsed, args):
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    out = [
        f"Machine: {os.cpu_count()} cores, {cpu}, {platform.system()} {platform.release()}  ",
        f"Date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC  ",
        f"Commit: `{commit()}`  ",
        f"Command: `bench/run.sh {' '.join(sys.argv[1:])}` ({runs} run(s) of {seconds} s per cell, "
        f"medians; wrk -t2, keep-alive unless stated; whole run {elapsed:.0f} s)",
        "",
        "| server | case | conns | req/s | p50 ms | p99 ms | errors | RSS MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, case, conns, rps, p50, p99, errors, rss in rows:
        out.append(f"| {name} | {case} | {conns} | {rps:.0f} | {p50:.2f} | {p99:.2f} | {errors} | {rss:.1f} |")
    if idle:
        out += ["", "| server | RSS with 1,000 idle keep-alive connections |", "|---|---:|"]
        out += [f"| {k} | {v:.1f} MiB |" for k, v in idle.items()]

    table = {(r[0], r[1], r[2]): r for r in rows}

    def ratio(mine, peer, col=3, digits=2):
        return f"{mine[col] / peer[col]:.{digits}f}" if peer and peer[col] else "–"

    peers = ["static-web-server", "axum", "actix-web"]
    out += ["", "Ratios (miniweb ÷ peer, req/s: above 1 is faster; p99: below 1 is better):", "",
            "| case | conns | ÷ best nginx req/s | ÷ best nginx p99 | "
            + " | ".join(f"÷ {p}" for p in peers) + " | ÷ Python |",
            "|---|---:|---:|---:|" + "---:|" * len(peers) + "---:|"]
    seen = set()
    for name, case, conns, *_ in rows:
        if name not in ("miniweb", "miniweb (no page cache)") or case.startswith("compression"):
            continue
        if (name, case, conns) in seen:
            continue
        seen.add((name, case, conns))
        mine = table[(name, case, conns)]
        nginx = [table[k] for k in table if k[0].startswith("nginx") and k[1:] == (case, conns)]
        best = max(nginx, key=lambda r: r[3]) if nginx else None
        py = next((table[k] for k in table if k[0] in ("python http.server", "gunicorn + Flask")
                   and k[1:] == (case, conns)), None)
        label = case if name == "miniweb" else f"{case}, {name[len('miniweb ('):-1]}"
        cells = [f"{ratio(mine, best)} ({best[0]})" if best else "–",
                 ratio(mine, best, col=5) if best else "–"]
        cells += [ratio(mine, table.get((p, case, conns))) for p in peers]
        cells.append(ratio(mine, py, digits=1))
        out.append(f"| {label} | {conns} | " + " | ".join(cells) + " |")

    compression = sorted({(r[1], r[2]) for r in rows if r[1].startswith("compression")},
                         key=lambda k: (k[0], k[1]))
    if compression:
        out += ["", "Compression on the hot path (each encoding ÷ identity, same cached answer):", "",
                "| case | conns | br ÷ identity | gzip ÷ identity |", "|---|---:|---:|---:|"]
        for case, conns in compression:
            ident = table.get(("miniweb", case, conns))
            cells = [ratio(table[(f"miniweb, {enc}", case, conns)], ident)
                     if (f"miniweb, {enc}", case, conns) in table and ident else "–"
                     for enc in ("br", "gzip")]
            out.append(f"| {case[len('compression, '):]} | {conns} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    main()
