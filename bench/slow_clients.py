#!/usr/bin/env python3
"""Slow clients against miniweb and nginx, on loopback: can ordinary clients still get in?

For each attack, each server is started with the same connection limit (--cap, 200), then
--attackers (250) connections attack it for --seconds, each reconnecting the moment it is cut,
while --ordinary (20) requests spread over the attack are made with curl; an ordinary request
counts as served when it gets its 200 within 2 s. The server's peak RSS is sampled throughout.

    bench/slow_clients.py [--quick] [--out FILE]     (bench/run.sh builds and installs first)

The attacks, as issue 7 describes them:
  slow-body   POST with Content-Length: 100000, then 1 byte every 2 s
  slow-read   4 pipelined GETs of a 1 MiB file, never read
  linger      a malformed head (answered 400), then 1 byte every 0.4 s into the close
  slowloris   a header line every 5 s, never the end of the head

Everything runs on 127.0.0.1 and stops by itself: every loop is bounded by the attack's end.
"""
import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import Server, commit, free_port, miniweb_server, prepare, rss_mib  # noqa: E402

ATTACKS = ["slow-body", "slow-read", "linger", "slowloris"]


def miniweb(work, static, cap):
    # Every deadline at its default: what a user gets.
    return miniweb_server(work, static, True, max_connections=cap)


def nginx(work, static, cap):
    sub = os.path.join(work, "nginx")
    os.makedirs(os.path.join(sub, "tmp"), exist_ok=True)
    port = free_port()
    conf = os.path.join(sub, "nginx.conf")
    user = "user root;" if os.geteuid() == 0 else ""
    # One worker, so that worker_connections is the server's whole limit; timeouts at their
    # defaults (60 s for header, body and send), as a user gets them.
    with open(conf, "w") as f:
        f.write(f"""{user}
worker_processes 1;
daemon off;
pid {sub}/nginx.pid;
error_log {sub}/error.log crit;
events {{ worker_connections {cap}; }}
http {{
    access_log off;
    sendfile on;
    client_body_temp_path {sub}/tmp/body;
    proxy_temp_path {sub}/tmp/proxy;
    fastcgi_temp_path {sub}/tmp/fastcgi;
    uwsgi_temp_path {sub}/tmp/uwsgi;
    scgi_temp_path {sub}/tmp/scgi;
    types {{ text/plain txt; }}
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port};
        root {static};
    }}
}}
""")
    return Server("nginx", "nginx", ["nginx", "-c", conf, "-p", sub], port)


async def hold(kind, reader, writer, end):
    """Holds one connection the way `kind` does until the server cuts it or the attack ends."""
    if kind == "slow-body":
        first, then, every = b"POST /small.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n", b"x", 2.0
    elif kind == "slow-read":
        first, then, every = b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n" * 4, b"\r\n", 2.0
    elif kind == "linger":
        first, then, every = b"GARBAGE\r\n\r\n", b"x", 0.4
    else:
        first, then, every = b"GET /small.txt HTTP/1.1\r\nHost: x\r\n", b"X-a: b\r\n", 5.0
    writer.write(first)
    await writer.drain()
    while time.monotonic() < end:
        try:
            if kind == "slow-read":
                # Never read: asyncio buffers at most 128 KiB, then stops reading the socket.
                await asyncio.sleep(every)
            else:
                data = await asyncio.wait_for(reader.read(65536), timeout=every)
                if not data:
                    return
                continue
        except asyncio.TimeoutError:
            pass
        writer.write(then)
        await writer.drain()


async def attacker(kind, port, end, made):
    while time.monotonic() < end:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port), timeout=2)
        except (OSError, asyncio.TimeoutError):
            await asyncio.sleep(0.05)
            continue
        made[0] += 1
        try:
            await hold(kind, reader, writer, end)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            writer.close()


async def ordinary(port, start, end, count):
    """`count` curl requests spread evenly from `start` to `end`: (status, seconds) each."""
    results = []
    step = (end - start) / count
    for i in range(count):
        await asyncio.sleep(max(0.0, start + i * step - time.monotonic()))
        proc = await asyncio.create_subprocess_exec(
            "curl", "-s", "-o", "/dev/null", "--max-time", "2", "-w", "%{http_code} %{time_total}",
            f"http://127.0.0.1:{port}/small.txt",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
        code, secs = (out.decode().split() + ["000", "0"])[:2]
        results.append((int(code), float(secs)))
    return results


async def sample_rss(pid, end, peak):
    while time.monotonic() < end:
        peak[0] = max(peak[0], rss_mib(pid))
        await asyncio.sleep(0.5)


async def attack(server, kind, attackers, seconds, count):
    now = time.monotonic()
    end = now + seconds
    made, peak = [0], [0.0]
    tasks = [asyncio.create_task(attacker(kind, server.port, end, made)) for _ in range(attackers)]
    tasks.append(asyncio.create_task(sample_rss(server.proc.pid, end, peak)))
    # The attack takes a few seconds to fill the server; ordinary clients come after that.
    results = await ordinary(server.port, now + 3, end - 2.5, count)
    await asyncio.gather(*tasks, return_exceptions=True)
    served = sum(1 for code, secs in results if code == 200 and secs <= 2.0)
    times = [secs for code, secs in results if code == 200]
    return served, statistics.median(times) if times else None, peak[0], made[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cap", type=int, default=200)
    ap.add_argument("--attackers", type=int, default=250)
    ap.add_argument("--ordinary", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--quick", action="store_true", help="15 s per attack")
    ap.add_argument("--only", choices=ATTACKS, action="append")
    ap.add_argument("--out")
    args = ap.parse_args()
    if args.quick:
        args.seconds = 15
    kinds = args.only or ATTACKS
    # Each attacker holds a socket; the server's own limit is what is measured, not ours.
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))

    rows = []
    with tempfile.TemporaryDirectory() as work:
        static = prepare(work)
        for kind in kinds:
            for make in (miniweb, nginx):
                server = make(work, static, args.cap)
                server.start()
                try:
                    served, median, rss, made = asyncio.run(
                        attack(server, kind, args.attackers, args.seconds, args.ordinary))
                finally:
                    server.stop()
                rows.append((kind, server.name, served, median, rss, made))
                print(f"{kind:10} {server.name:8} served {served}/{args.ordinary}, "
                      f"median {median if median is None else f'{median * 1000:.1f} ms'}, "
                      f"peak RSS {rss:.1f} MiB, {made} attacker connections", file=sys.stderr)

    out = [
        f"Slow clients, {time.strftime('%Y-%m-%d')}, commit {commit()}: cap {args.cap}, "
        f"{args.attackers} attackers reconnecting at once when cut, {args.ordinary} curl requests "
        f"over {args.seconds:.0f} s each (served = 200 within 2 s).",
        "",
        "| attack | served by miniweb | median | peak RSS | attacker connections | served by nginx | median | peak RSS | attacker connections |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for kind in kinds:
        cells = []
        for name in ("miniweb", "nginx"):
            r = next(r for r in rows if r[0] == kind and r[1] == name)
            median = "–" if r[3] is None else f"{r[3] * 1000:.1f} ms"
            cells += [f"{r[2]} of {args.ordinary}", median, f"{r[4]:.1f} MiB", str(r[5])]
        out.append(f"| {kind} | " + " | ".join(cells) + " |")
    report = "\n".join(out) + "\n"
    print(report)
    if args.out:
        with open(args.out, "w") as f:
            f.write(report)


if __name__ == "__main__":
    main()
