"""Acknowledged writes survive a SIGKILL of the server, and a restart keeps every object."""

from __future__ import annotations

import json
import signal
import ssl
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers.cluster import Server, start_server


def post_configmap(server: Server, token: str, ctx: ssl.SSLContext, name: str) -> bool:
    body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": {"n": name}}).encode()
    req = urllib.request.Request(
        server.url + "/api/v1/namespaces/default/configmaps", data=body, method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
            return resp.status == 201
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def test_sigkill_mid_writes_keeps_every_acknowledged_write(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data)
    try:
        token = server.token()
        ctx = ssl.create_default_context(cafile=str(data / "tls" / "ca.crt"))
        acked: list[str] = []
        stop = threading.Event()

        def writer(prefix: str) -> None:
            i = 0
            while not stop.is_set():
                name = f"{prefix}-{i}"
                if post_configmap(server, token, ctx, name):
                    acked.append(name)
                i += 1

        threads = [threading.Thread(target=writer, args=(f"w{k}",)) for k in range(4)]
        for t in threads:
            t.start()
        time.sleep(2.0)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        stop.set()
        for t in threads:
            t.join()
        assert len(acked) > 20
        port = server.port
    finally:
        server.stop()
    restarted = start_server(data, port=port)
    try:
        out = restarted.kubectl("get", "configmaps", "-o", "jsonpath={.items[*].metadata.name}").stdout.split()
        missing = set(acked) - set(out)
        assert not missing, f"{len(missing)} acknowledged writes lost: {sorted(missing)[:5]}"
    finally:
        restarted.stop()
