#!/usr/bin/env python3
"""Under writes and bursts (issue 25): 256 connections read one page with wrk while one client
posts /add/000007.html and /del/000007.html as fast as it can. Reports, from the server's own
access log and /proc: renders per database version (`cache;desc=miss` lines for the page
against the writes acknowledged), requests that joined another's render, the peak number of
descriptors open on stock.db, peak RSS, and the readers' and the writer's throughput.

    python3 bench/writes.py [--seconds 30] [--conns 256] [--bin target/profiling/miniweb]

Needs wrk; bench/run.sh builds the binary (`cargo build --profile profiling --all-features`).
"""
import argparse
import http.client
import os
import tempfile
import threading
import time

from bench import BIN, ROOT, miniweb_server, rss_mib, wrk


def descriptors_on(pid, path):
    n = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == path:
                    n += 1
            except OSError:
                pass
    except OSError:
        pass
    return n


def writer(port, stop, counts):
    """Follows and unfollows 000007 as fast as the server answers, on one connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    n = 0
    while not stop.is_set():
        action = "del" if n % 2 == 0 else "add"  # 000007 is followed in the seed
        conn.request("POST", f"/{action}/000007.html", body=b"",
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        resp = conn.getresponse()
        resp.read()
        if resp.status == 303:
            n += 1
        else:
            counts["failed"] += 1
    counts["writes"] = n


def run(binary, seconds, conns, path):
    work = tempfile.mkdtemp(prefix="miniweb-writes-")
    log = os.path.join(work, "access.log")
    server = miniweb_server(work, os.path.join(ROOT, "static"), True, access_log=log,
                            binary=binary)
    port = server.port
    server.start()
    db = os.path.realpath(os.path.join(work, "miniweb-cache", "stock.db"))
    stop, counts = threading.Event(), {"writes": 0, "failed": 0}
    peak = {"fds": 0, "rss": 0.0}

    def sample():
        while not stop.is_set():
            peak["fds"] = max(peak["fds"], descriptors_on(server.proc.pid, db))
            peak["rss"] = max(peak["rss"], rss_mib(server.proc.pid))
            time.sleep(0.05)

    threads = [threading.Thread(target=writer, args=(port, stop, counts)),
               threading.Thread(target=sample)]
    rss_before = rss_mib(server.proc.pid)
    for t in threads:
        t.start()
    rps = wrk(server.url(path), conns, seconds)[0]
    stop.set()
    for t in threads:
        t.join()
    server.stop()
    lines = [l for l in open(log, encoding="utf-8") if f'"GET {path} ' in l]
    renders = sum("desc=miss" in l for l in lines)
    joined = sum("desc=joined" in l for l in lines)
    return {
        "writes": counts["writes"], "failed": counts["failed"], "renders": renders,
        "joined": joined, "per_version": renders / max(1, counts["writes"] + 1),
        "fds": peak["fds"], "rss_before": rss_before, "rss_peak": peak["rss"],
        "read_rps": rps, "write_rps": counts["writes"] / seconds,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--conns", type=int, default=256)
    ap.add_argument("--path", default="/index.html")
    ap.add_argument("--bin", default=BIN)
    args = ap.parse_args()
    r = run(args.bin, args.seconds, args.conns, args.path)
    print(f"| {args.bin} | {r['writes']} | {r['renders']} | {r['per_version']:.2f} | "
          f"{r['joined']} | {r['fds']} | {r['rss_before']:.1f} → {r['rss_peak']:.1f} | "
          f"{r['read_rps']:.0f} | {r['write_rps']:.0f} | {r['failed']} |")


if __name__ == "__main__":
    main()
