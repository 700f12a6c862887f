"""kubectl logs / exec / cp / exec -it through a real `kubelite server` to a kubelet server.

The kubelet runs in this process (a thread with its own loop) over `LocalProcessBackend`:
commands run on the host in a directory standing in for the container root, and logs come
from a CRI-format file written here. kubectl 1.27 speaks SPDY/3.1, 1.30 and 1.33 WebSocket.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import fcntl
import os
import re
import subprocess
import termios
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from kubernetes.stream import stream

from kubelite.kubelet.logs import cri_line
from kubelite.kubelet.server import KubeletServer
from kubelite.kubelet.server_local import LocalContainer, LocalProcessBackend
from tests.helpers.cluster import KUBECTL_VERSIONS, Server, kubectl_binary, start_server
from tests.helpers.raw_api import raw_session
from tests.helpers.tty import read_until, set_size

pytestmark = pytest.mark.kubectl


class KubeletThread:
    """A KubeletServer on its own event loop in a background thread."""

    def __init__(self, backend: LocalProcessBackend, ca: Path, data_dir: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = KubeletServer(backend, host="127.0.0.1", port=0, ca_file=ca, data_dir=data_dir)
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> KubeletServer:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass
class Cluster:
    server: Server
    core: client.CoreV1Api
    container: LocalContainer


def _core(server: Server) -> client.CoreV1Api:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=cfg)
    return client.CoreV1Api(client.ApiClient(cfg))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("exec")
    server = start_server(root / "data")
    try:
        backend = LocalProcessBackend(root / "containers")
        container = backend.add_container("default", "web", "app")
        now = dt.datetime.now(dt.UTC)
        container.log_path.write_text(
            cri_line(now - dt.timedelta(hours=2), "stdout", "old line")
            + cri_line(now - dt.timedelta(seconds=5), "stdout", "hello")
            + cri_line(now - dt.timedelta(seconds=4), "stderr", "world")
        )
        container.previous_log_path.write_text(cri_line(now - dt.timedelta(hours=3), "stdout", "before the restart"))
        with KubeletThread(backend, server.data_dir / "tls" / "ca.crt", root / "kubelet") as kubelet:
            core = _core(server)
            node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "node-1"}}
            core.create_node(node)
            core.patch_node_status("node-1", {"status": {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": "node-1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port}},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "ok"}],
            }})
            for name, node_name in (("web", "node-1"), ("unbound", None)):
                core.create_namespaced_pod("default", {
                    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                    "spec": {"nodeName": node_name, "containers": [{"name": "app", "image": "busybox"}]},
                })
            core.create_namespaced_pod("default", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "two"},
                "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "busybox"}, {"name": "b", "image": "busybox"}]},
            })
            core.patch_namespaced_pod_status("web", "default", {"status": {
                "phase": "Running",
                "containerStatuses": [{"name": "app", "ready": True, "restartCount": 1, "image": "busybox",
                                       "imageID": "", "state": {"running": {"startedAt": now.strftime("%Y-%m-%dT%H:%M:%SZ")}}}],
            }})
            yield Cluster(server, core, container)
    finally:
        server.stop()


def kubectl(c: Cluster, version: str, *args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return c.server.kubectl(*args, version=version, timeout=30, **kw)  # type: ignore[arg-type]


VERSIONS = pytest.mark.parametrize("version", KUBECTL_VERSIONS)


@VERSIONS
def test_exec_echo(cluster: Cluster, version: str) -> None:
    r = kubectl(cluster, version, "exec", "web", "--", "echo", "hi")
    assert r.stdout == "hi\n"


@VERSIONS
def test_exec_exit_code(cluster: Cluster, version: str) -> None:
    r = kubectl(cluster, version, "exec", "web", "--", "sh", "-c", "echo out; echo err >&2; exit 3", check=False)
    assert r.returncode == 3, r.stderr
    assert r.stdout == "out\n"
    assert "err\n" in r.stderr
    assert "command terminated with exit code 3" in r.stderr


@VERSIONS
def test_exec_stdin(cluster: Cluster, version: str) -> None:
    r = kubectl(cluster, version, "exec", "-i", "web", "--", "cat", input="line one\nline two\n")
    assert r.stdout == "line one\nline two\n"


def test_exec_forced_spdy_on_new_kubectl(cluster: Cluster) -> None:
    r = kubectl(cluster, "1.33", "exec", "-i", "web", "--", "sh", "-c", "cat; exit 4", input="x\n", check=False,
                env={"KUBECTL_REMOTE_COMMAND_WEBSOCKETS": "false"})
    assert (r.returncode, r.stdout) == (4, "x\n"), r.stderr


def test_exec_errors_from_the_server(cluster: Cluster) -> None:
    r = kubectl(cluster, "1.33", "exec", "unbound", "--", "true", check=False)
    assert r.returncode == 1 and "pod unbound does not have a host assigned" in r.stderr
    r = kubectl(cluster, "1.33", "exec", "web", "-c", "nope", "--", "true", check=False)
    assert r.returncode == 1
    r = kubectl(cluster, "1.33", "logs", "two", check=False)  # kubectl picks "a"; the kubelet has no such container
    assert 'Error from server (NotFound): container "a" in pod "two" is not available' in r.stderr
    with pytest.raises(ApiException) as e:  # without kubectl's client-side default
        cluster.core.read_namespaced_pod_log("two", "default")
    assert e.value.status == 400
    assert "a container name must be specified for pod two, choose one of: [a b]" in e.value.body


@VERSIONS
def test_exec_interactive_tty_with_resize(cluster: Cluster, version: str) -> None:
    master, slave = os.openpty()
    set_size(slave, 30, 100)
    s = cluster.server
    proc = subprocess.Popen(
        [kubectl_binary(version), f"--kubeconfig={s.kubeconfig}", f"--cache-dir={s.cache_root / version}",
         "exec", "-it", "web", "--", "sh"],
        stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
        preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),
    )
    os.close(slave)
    try:
        # type after the prompt, as a person does: the first resize is on its way meanwhile
        read_until(master, r"[#$] ")
        time.sleep(0.3)
        os.write(master, b"stty size\r")
        read_until(master, r"30 100")
        set_size(master, 40, 120)  # kubectl gets SIGWINCH and sends a resize
        time.sleep(0.5)
        os.write(master, b"stty size\r")
        read_until(master, r"40 120")
        os.write(master, b"exit 0\r")
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)


@VERSIONS
def test_cp_both_ways(cluster: Cluster, version: str, tmp_path: Path) -> None:
    rootfs = cluster.container.rootfs
    local = tmp_path / "up.txt"
    local.write_text(f"uploaded by {version}\n")
    kubectl(cluster, version, "cp", str(local), f"web:up-{version}.txt")
    assert (rootfs / f"up-{version}.txt").read_text() == f"uploaded by {version}\n"
    (rootfs / "down.txt").write_text("from the container\n")
    kubectl(cluster, version, "cp", "web:down.txt", str(tmp_path / "down.txt"))
    assert (tmp_path / "down.txt").read_text() == "from the container\n"


@VERSIONS
def test_logs_options(cluster: Cluster, version: str) -> None:
    assert kubectl(cluster, version, "logs", "web").stdout == "old line\nhello\nworld\n"
    assert kubectl(cluster, version, "logs", "web", "--tail=1").stdout == "world\n"
    stamped = kubectl(cluster, version, "logs", "web", "--tail=1", "--timestamps").stdout
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z world\n", stamped)
    assert kubectl(cluster, version, "logs", "web", "--since=1h").stdout == "hello\nworld\n"
    assert kubectl(cluster, version, "logs", "web", "--limit-bytes=5").stdout == "old l"
    assert kubectl(cluster, version, "logs", "web", "--previous").stdout == "before the restart\n"


def test_logs_follow_ends_when_the_container_ends(cluster: Cluster) -> None:
    s = cluster.server
    c = cluster.container
    c.set_running(True)
    proc = subprocess.Popen(
        [kubectl_binary("1.33"), f"--kubeconfig={s.kubeconfig}", f"--cache-dir={s.cache_root / '1.33'}",
         "logs", "-f", "web", "--tail=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        time.sleep(1.0)
        with open(c.log_path, "a") as f:
            f.write(cri_line(dt.datetime.now(dt.UTC), "stdout", "appended"))
        time.sleep(0.5)
        assert proc.poll() is None  # still following
        c.set_running(False)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert out == "world\nappended\n"
    finally:
        c.set_running(True)
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_python_client_stream(cluster: Cluster) -> None:
    out = stream(cluster.core.connect_get_namespaced_pod_exec, "web", "default",
                 command=["sh", "-c", "echo out; echo err >&2"], stderr=True, stdin=False, stdout=True, tty=False)
    assert "out" in out and "err" in out
    resp = stream(cluster.core.connect_get_namespaced_pod_exec, "web", "default",
                  command=["sh", "-c", "read x; echo got $x; exit 5"], stderr=True, stdin=True, stdout=True,
                  tty=False, _preload_content=False)
    resp.write_stdin("abc\n")
    resp.run_forever(timeout=10)
    assert resp.read_stdout() == "got abc\n"
    assert resp.returncode == 5
    resp.close()


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_attach_with_stdin(cluster: Cluster, version: str) -> None:
    # The local backend attaches to a fresh `sh` standing in for the main process.
    r = kubectl(cluster, version, "attach", "-i", "web", input="echo attached; exit 2\n", check=False)
    assert "attached\n" in r.stdout, r.stderr
    assert r.returncode == 2, r.stderr


async def _ws_log(c: Cluster, protocols: tuple[str, ...]) -> tuple[str | None, list[aiohttp.WSMessage]]:
    async with raw_session(c.server) as session:
        async with session.ws_connect("/api/v1/namespaces/default/pods/web/log", protocols=protocols) as ws:
            messages = []
            async for msg in ws:
                messages.append(msg)
            return ws.protocol, messages


async def test_logs_over_a_websocket_as_kube_apiserver_streams_them(cluster: Cluster) -> None:
    """An empty message first, then the log: binary messages (binary.k8s.io, or no subprotocol),
    or base64 text (base64.binary.k8s.io); only unsupported subprotocols: 400."""
    for protocols, protocol, kind in (((), None, aiohttp.WSMsgType.BINARY),
                                      (("binary.k8s.io",), "binary.k8s.io", aiohttp.WSMsgType.BINARY),
                                      (("base64.binary.k8s.io", "binary.k8s.io"), "base64.binary.k8s.io",
                                       aiohttp.WSMsgType.TEXT)):
        answered, messages = await _ws_log(cluster, protocols)
        assert answered == protocol
        assert all(m.type is kind for m in messages) and not messages[0].data
        data = [m.data for m in messages]
        text = b"".join(base64.b64decode(d) for d in data) if kind is aiohttp.WSMsgType.TEXT else b"".join(data)
        assert text.startswith(b"old line\nhello\nworld\n")  # (another test may have appended)
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await _ws_log(cluster, ("v4.channel.k8s.io",))
    assert refused.value.status == 400
