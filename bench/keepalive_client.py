#!/usr/bin/env python3
"""Sends N requests for PATH one at a time on one keep-alive connection, for counting what
one request costs the server: run it against a server under `strace -f -c` or
`valgrind --tool=dhat`, once with N=1 and once with N+1, and divide the difference by N.

    python3 bench/keepalive_client.py PORT PATH N
"""
import socket
import sys

port, path, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.create_connection(("127.0.0.1", port))
request = f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()
buf = b""
for _ in range(n):
    s.sendall(request)
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = buf[:end].decode("latin-1").lower().split("\r\n")
            length = int(next((l.split(":")[1] for l in head if l.startswith("content-length")), 0))
            if len(buf) >= end + 4 + length:
                buf = buf[end + 4 + length:]
                break
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("server closed the connection")
        buf += chunk
print("sent", n)
