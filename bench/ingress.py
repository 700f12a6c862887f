"""Ingress figures: requests/s and latency through the node's Ingress proxy to a pod, beside
the same requests straight to the pod's IP (the floor), in the same run. Printed, never
asserted. Run as root:

    python bench/ingress.py [--seconds 5] [--rounds 3] [--concurrency 8]

One machine (a network namespace, tests/helpers/machines.py) joins a fresh server with the
Ingress proxy on its port 80; a pod runs busybox httpd (the server the e2e tests use), behind a
Service and an Ingress. The load comes from this script's interpreter entered into the
machine's namespace (`nsenter --net`): `--concurrency` loops, each sending `GET /` on a new
connection and reading the answer to its end (busybox httpd closes after each answer), for
`--seconds`. Paths, interleaved over `--rounds` (medians shown):

- direct: to the pod IP, port 8080 (the floor);
- haproxy: the built-in controller's haproxy on the node's port 80 (what kubelite runs);
- nginx: Debian's nginx (if installed) with the equivalent configuration (one upstream, the
  pod IP), on another port of the node: the alternative the choice was measured against.

Everything is made with unique names and removed by the machines helper, even on failure.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers.machines import Machine, MachineCluster, machine_cluster  # noqa: E402

GOAL = 0.70  # requests/s through the Ingress / direct
NGINX_PORT = 8088
HOST = "bench.example.com"

# The load generator, run inside the machine's network namespace: ADDRESS PORT SECONDS
# CONCURRENCY; prints the number of answers, the seconds, then each latency in microseconds.
WORKER = r"""
import asyncio, sys, time
address, port, seconds, concurrency = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
request = f"GET / HTTP/1.1\r\nHost: {sys.argv[5]}\r\nConnection: close\r\n\r\n".encode()
latencies, errors = [], 0
async def loop(end):
    global errors
    while time.perf_counter() < end:
        t = time.perf_counter()
        try:
            reader, writer = await asyncio.open_connection(address, port)
            writer.write(request)
            head = await reader.read()
            writer.close()
            if not head.startswith(b"HTTP/1.1 200") and not head.startswith(b"HTTP/1.0 200"):
                errors += 1
                continue
        except OSError:
            errors += 1
            continue
        latencies.append((time.perf_counter() - t) * 1e6)
async def main():
    start = time.perf_counter()
    await asyncio.gather(*(loop(start + seconds) for _ in range(concurrency)))
    print(len(latencies), time.perf_counter() - start, errors)
    print(" ".join(f"{x:.0f}" for x in latencies))
asyncio.run(main())
"""

SERVE = "echo hello > /www/index.html; exec busybox httpd -f -p 8080 -h /www"

NGINX_CONF = """
worker_processes auto;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
daemon off;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi; uwsgi_temp_path {dir}/uwsgi; scgi_temp_path {dir}/scgi;
    upstream pod {{ server {pod}:8080; }}
    server {{
        listen {port};
        server_name {host};
        location / {{ proxy_pass http://pod; proxy_set_header Host $host;
                     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for; }}
    }}
}}
"""


def kubectl_apply(mc: MachineCluster, *objects: dict[str, object]) -> None:
    mc.server.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def objects(node: str) -> list[dict[str, object]]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}},
           "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [{
               "name": "web", "image": "busybox", "command": ["sh", "-c", SERVE],
               "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}
    service = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
               "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}
    ingress = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
               "spec": {"rules": [{"host": HOST, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
                   "service": {"name": "web", "port": {"number": 80}}}}]}}]}}
    return [pod, service, ingress]


def load(m: Machine, address: str, port: int, seconds: float, concurrency: int) -> tuple[float, float, int]:
    """(requests/s, p99 ms, errors) of one run."""
    out = m.run(sys.executable, "-c", WORKER, address, str(port), str(seconds), str(concurrency), HOST,
                timeout=seconds + 60)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    head, _, rest = out.stdout.partition("\n")
    count, elapsed, errors = head.split()
    latencies = [float(x) for x in rest.split()]
    p99 = statistics.quantiles(latencies, n=100)[98] / 1000 if len(latencies) > 1 else 0.0
    return int(count) / float(elapsed), p99, int(errors)


def wait_ok(m: Machine, address: str, port: int) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        rps, _, errors = load(m, address, port, 0.3, 1)
        if rps > 0 and errors == 0:
            return
        time.sleep(0.5)
    raise RuntimeError(f"{address}:{port} never answered 200")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kl-bench-ingress-") as tmp, machine_cluster(Path(tmp), 1) as mc:
        m = mc.machines[0]
        mc.join(m, "--ingress-http-port", "80", "--ingress-https-port", "443")
        kubectl_apply(mc, *objects(m.node_name))
        deadline = time.monotonic() + 120
        pod_ip = ""
        while not pod_ip and time.monotonic() < deadline:
            pod_ip = mc.server.kubectl("get", "pod", "web", "-o", "jsonpath={.status.podIP}", check=False).stdout.strip()
            time.sleep(0.5)
        paths = {"direct": (pod_ip, 8080), "haproxy": (m.address, 80)}
        nginx = None
        if shutil.which("nginx"):
            conf_dir = Path(tmp) / "nginx"
            conf_dir.mkdir()
            (conf_dir / "nginx.conf").write_text(NGINX_CONF.format(dir=conf_dir, pod=pod_ip, port=NGINX_PORT, host=HOST))
            nginx = subprocess.Popen([*m.nsenter, "nginx", "-c", str(conf_dir / "nginx.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
            paths["nginx"] = (m.address, NGINX_PORT)
        try:
            for address, port in paths.values():
                wait_ok(m, address, port)
            runs: dict[str, list[tuple[float, float, int]]] = {name: [] for name in paths}
            for _ in range(args.rounds):
                for name, (address, port) in paths.items():
                    runs[name].append(load(m, address, port, args.seconds, args.concurrency))
        finally:
            if nginx is not None:
                subprocess.run(["kill", "--", f"-{nginx.pid}"], check=False)
                nginx.wait()
    floor = statistics.median(r[0] for r in runs["direct"])
    print(f"Ingress to a busybox httpd pod, {args.concurrency} connections at a time, a new one per request, "
          f"{args.seconds:.0f} s x {args.rounds} rounds (medians)")
    print(f"{'path':<10}{'requests/s':>12}{'p99 ms':>10}{'errors':>8}{'of floor':>10}")
    for name, results in runs.items():
        rps = statistics.median(r[0] for r in results)
        p99 = statistics.median(r[1] for r in results)
        errors = sum(r[2] for r in results)
        print(f"{name:<10}{rps:>12.0f}{p99:>10.1f}{errors:>8}{rps / floor:>9.0%}")
    print(f"goal: through the Ingress >= {GOAL:.0%} of direct")
    return 0


if __name__ == "__main__":
    sys.exit(main())
