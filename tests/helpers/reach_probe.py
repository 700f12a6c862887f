"""A continuous TCP prober, run inside a machine's network namespace (`nsenter --net=... python
reach_probe.py IPS PORT TOKEN STOPFILE`): every address is tried over and over (100 ms connect
timeout, one thread each) until STOPFILE exists; then it prints one JSON line: attempts per
address and the addresses whose answer contained TOKEN, with the time of the first such answer.
Used to prove a new pod is never reachable, from before it exists until after it is Ready."""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time


def probe(ip: str, port: int, token: bytes, stop: str, attempts: dict[str, int],
          hits: dict[str, float]) -> None:
    while not os.path.exists(stop):
        attempts[ip] += 1
        started = time.monotonic()
        try:
            with socket.create_connection((ip, port), timeout=0.1) as s:
                s.settimeout(1.0)
                s.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = b""
                while len(data) < 65536:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                if token in data:
                    hits.setdefault(ip, time.time())
        except OSError:
            pass
        time.sleep(max(0.0, 0.05 - (time.monotonic() - started)))


def main() -> None:
    ips, port, token, stop = sys.argv[1].split(","), int(sys.argv[2]), sys.argv[3].encode(), sys.argv[4]
    attempts = dict.fromkeys(ips, 0)
    hits: dict[str, float] = {}
    threads = [threading.Thread(target=probe, args=(ip, port, token, stop, attempts, hits)) for ip in ips]
    for t in threads:
        t.start()
    print("started", flush=True)
    for t in threads:
        t.join()
    print(json.dumps({"attempts": attempts, "hits": hits}), flush=True)


if __name__ == "__main__":
    main()
