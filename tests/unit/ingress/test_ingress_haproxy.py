"""haproxy's configuration for a routing table: the rules in the table's order, backends with
pod IPs, 503 without endpoints, 404 otherwise; and the real haproxy accepts it (`haproxy -c`),
routes by it (a request through a running haproxy to local HTTP servers), reloads it, and
never outlives the process that started it."""

from __future__ import annotations

import asyncio
import http.client
import http.server
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubelite.ingress import haproxy
from kubelite.ingress.certificates import CertificateDir
from kubelite.ingress.model import EXACT, PREFIX, Backend, Route, Table
from kubelite.ingress.process import Haproxy, ProxyError, check
from kubelite.proxy.model import Endpoint
from tests.helpers.cluster import free_port
from tests.helpers.wait import until

ONE = Backend("default", "one", "80", (Endpoint("10.42.0.5", 8080), Endpoint("10.42.1.5", 8080)))
EMPTY = Backend("default", "gone", "80")


def table(*routes: Route, default: Backend | None = None) -> Table:
    return Table(routes, default, ())


def test_rules_follow_the_table_order() -> None:
    t = table(Route("a.example.com", "/x", EXACT, ONE), Route("*.b.example.com", "/p", PREFIX, EMPTY),
              Route("", "/", PREFIX, ONE))
    lines = haproxy.routing_rules(t)
    assert "acl h0 var(txn.host) -m str a.example.com" in lines
    assert "acl p0 path -m str /x" in lines
    assert r"acl h1 var(txn.host) -m reg '^[^.]+\.b\.example\.com$'" in lines
    assert "acl p1 path -m str /p" in lines and "acl p1 path -m beg /p/" in lines
    uses = [line for line in lines if line.startswith("use_backend")]
    assert uses == [f"use_backend {ONE.id} if h0 p0", f"use_backend {EMPTY.id} if h1 p1",
                    f"use_backend {ONE.id} if TRUE"]
    assert lines[-1] == "default_backend not-found"
    assert haproxy.routing_rules(table(default=ONE))[-1] == f"default_backend {ONE.id}"


def test_unsafe_paths_are_left_out() -> None:
    lines = haproxy.routing_rules(table(Route("", "/a b#c", PREFIX, ONE)))
    assert not any(line.startswith("use_backend") for line in lines)


def test_backends_list_pod_ips_or_answer_503() -> None:
    text = haproxy.render(table(Route("", "/", PREFIX, ONE), Route("", "/g", PREFIX, EMPTY)), haproxy.Listen(8080))
    assert "\tserver e0 10.42.0.5:8080" in text and "\tserver e1 10.42.1.5:8080" in text
    assert f"backend {EMPTY.id}\n\tbalance roundrobin\n\thttp-request return status 503" in text
    assert 'string "404 page not found"' in text and "frontend https" not in text


async def test_haproxy_accepts_the_configuration(tmp_path: Path) -> None:
    certs = CertificateDir(tmp_path / "certs")
    certs.write((), {})
    t = table(Route("a.example.com", "/x", EXACT, ONE), Route("*.b.example.com", "/", PREFIX, EMPTY))
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render(t, haproxy.Listen(18080, 18443, str(certs.crt_list))))
    await check(config)


class _Named(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = f"{self.server.server_port} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Named)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_port
    finally:
        server.shutdown()


def _get(port: int, host: str, path: str) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        r = conn.getresponse()
        return r.status, r.read().decode()
    except OSError as e:
        return 0, str(e)
    finally:
        conn.close()


async def test_a_running_haproxy_routes_and_reloads(tmp_path: Path, upstream: int) -> None:
    up = Backend("default", "up", "80", (Endpoint("127.0.0.1", upstream),))
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render(table(Route("a.example.com", "/app", PREFIX, up)), haproxy.Listen(port, address="127.0.0.1")))
    proxy = Haproxy(config, tmp_path / "haproxy.log", tmp_path / "master.sock")
    await proxy.start()
    try:
        def routed() -> bool:
            return _get(port, "a.example.com", "/app/x") == (200, f"{upstream} /app/x")
        await asyncio.to_thread(until, routed, 20, "haproxy routing /app")
        assert (await asyncio.to_thread(_get, port, "a.example.com", "/other"))[0] == 404
        assert (await asyncio.to_thread(_get, port, "b.example.com", "/app"))[0] == 404
        config.write_text(haproxy.render(table(Route("", "/other", EXACT, up)), haproxy.Listen(port, address="127.0.0.1")))
        await proxy.reload()
        assert await asyncio.to_thread(_get, port, "b.example.com", "/other") == (200, f"{upstream} /other")
        assert proxy.reloads == 1
    finally:
        await proxy.stop()
    assert proxy.pid is None


def test_workers_drop_to_a_user_when_given() -> None:
    text = haproxy.render(table(), haproxy.Listen(8080, user="haproxy"))
    assert "\tuser haproxy\n\tgroup haproxy\n" in text
    assert "\tuser " not in haproxy.render(table(), haproxy.Listen(8080))


CHILD = """
import asyncio, sys, time
from pathlib import Path
from kubelite.ingress.process import Haproxy
async def main():
    d = Path(sys.argv[1])
    proxy = Haproxy(d / "haproxy.cfg", d / "haproxy.log", d / "master.sock")
    await proxy.start()
    while await proxy.reloads_done() is None:
        await asyncio.sleep(0.05)
    print(proxy.pid, flush=True)
    await asyncio.sleep(3600)
asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except FileNotFoundError:
        return False


def test_haproxy_never_outlives_the_process_that_started_it(tmp_path: Path) -> None:
    (tmp_path / "haproxy.cfg").write_text(haproxy.render(table(), haproxy.Listen(free_port(), address="127.0.0.1")))
    agent = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert agent.stdout is not None
        master = int(agent.stdout.readline())
        workers = [int(p) for p in os.listdir("/proc") if p.isdigit() and _parent(int(p)) == master]
        assert _alive(master) and workers
        agent.send_signal(signal.SIGKILL)  # no goodbye: only the kernel can tell haproxy
        agent.wait()
        until(lambda: not _alive(master) and not any(_alive(w) for w in workers), 10,
              "haproxy's master and workers gone")
    finally:
        agent.kill()
        agent.wait()


def _parent(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().split(") ", 1)[1].split()[1])
    except (FileNotFoundError, ValueError, IndexError):
        return -1


async def test_a_port_in_use_is_said_at_start(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "haproxy.cfg"
        config.write_text(haproxy.render(table(), haproxy.Listen(port, address="127.0.0.1")))
        proxy = Haproxy(config, tmp_path / "haproxy.log", tmp_path / "master.sock")
        with pytest.raises(ProxyError, match="did not start"):
            await proxy.start()
        assert proxy.pid is None


async def test_reloads_refuse_or_drop_no_request(tmp_path: Path, upstream: int) -> None:
    up = Backend("default", "up", "80", (Endpoint("127.0.0.1", upstream),))
    port = free_port()
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render(table(Route("", "/", PREFIX, up)), haproxy.Listen(port, address="127.0.0.1")))
    proxy = Haproxy(config, tmp_path / "haproxy.log", tmp_path / "master.sock")
    await proxy.start()
    answers: list[int] = []
    done = threading.Event()

    def hammer() -> None:
        while not done.is_set():
            answers.append(_get(port, "x", "/")[0])

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    try:
        for t in threads:
            t.start()
        for _ in range(6):
            await proxy.reload()
    finally:
        done.set()
        for t in threads:
            t.join()
        await proxy.stop()
    assert proxy.reloads == 6 and answers and set(answers) == {200}
