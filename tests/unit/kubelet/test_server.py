"""The kubelet's HTTPS server over the local-process backend: auth, logs, exec over the channel WebSocket."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from kubelite import pki
from kubelite.apiserver.certs import ensure_ca
from kubelite.apiserver.proxy_tls import kubelet_client_context
from kubelite.client.streams import channels, status
from kubelite.kubelet.logs import cri_line
from kubelite.kubelet.server import KubeletServer
from kubelite.kubelet.server_local import LocalProcessBackend
from tests.helpers.tls_probe import AEAD, CBC_ONLY, handshake

T0 = dt.datetime(2024, 5, 1, 10, 0, 0, tzinfo=dt.UTC)


def _client_cert(tls: Path, cn: str) -> ssl.SSLContext:
    """A client context with a CA-signed certificate for `cn`."""
    ca_cert, ca_key = pki.load_signer(tls / "ca.crt", tls / "ca.key")
    key = pki.new_key()
    cert = pki.issue(cn, key.public_key(), signer_key=ca_key, issuer=ca_cert.subject)
    pki.write_pair(tls / f"{cn}.crt", tls / f"{cn}.key", cert, key)
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    ctx.load_cert_chain(str(tls / f"{cn}.crt"), str(tls / f"{cn}.key"))
    return ctx


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[tuple[KubeletServer, LocalProcessBackend, Path]]:
    tls = tmp_path / "tls"
    ca, _ = ensure_ca(tls)
    backend = LocalProcessBackend(tmp_path / "containers")
    c = backend.add_container("default", "web", "app")
    c.log_path.write_text(
        cri_line(T0, "stdout", "one") + cri_line(T0 + dt.timedelta(seconds=1), "stderr", "two")
        + cri_line(T0 + dt.timedelta(seconds=2), "stdout", "thr", full=False) + cri_line(T0, "stdout", "ee")
    )
    server = KubeletServer(backend, host="127.0.0.1", port=0, ca_file=ca, data_dir=tmp_path / "kubelet")
    await server.start()
    try:
        yield server, backend, tls
    finally:
        await server.stop()


@pytest.fixture
async def http(kubelet: tuple[KubeletServer, LocalProcessBackend, Path]) -> AsyncIterator[aiohttp.ClientSession]:
    _, _, tls = kubelet
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=kubelet_client_context(tls))) as s:
        yield s


def _base(server: KubeletServer) -> str:
    return f"https://127.0.0.1:{server.port}"


async def _run(http: aiohttp.ClientSession, url: str, sends: list[bytes] = (), protocol: str = channels.V5) -> tuple[dict[int, bytes], dict]:  # type: ignore[assignment]
    """Open an exec WebSocket, send messages, collect output per channel and the final Status."""
    out: dict[int, bytes] = {}
    async with http.ws_connect(url, protocols=(protocol,)) as ws:
        assert ws.protocol == protocol
        for m in sends:
            await ws.send_bytes(m)
        async for msg in ws:
            assert msg.type == aiohttp.WSMsgType.BINARY
            ch, data = channels.decode(msg.data)
            out[ch] = out.get(ch, b"") + data
    return out, json.loads(out.get(channels.ERROR, b"{}"))


async def test_healthz_needs_no_certificate(kubelet):
    server, _, _ = kubelet
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        async with s.get(_base(server) + "/healthz") as r:
            assert r.status == 200 and await r.text() == "ok"
        async with s.get(_base(server) + "/containerLogs/default/web/app") as r:
            assert r.status == 401
            assert (await r.json())["reason"] == "Unauthorized"


async def test_other_client_names_are_forbidden(kubelet):
    server, _, tls = kubelet
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=_client_cert(tls, "system:node:x"))) as s:
        async with s.get(_base(server) + "/containerLogs/default/web/app") as r:
            assert r.status == 403
            assert "user=system:node:x" in (await r.json())["message"]


async def test_certificate_from_another_ca_fails_the_handshake(kubelet, tmp_path):
    server, _, _ = kubelet
    other = tmp_path / "other"
    ensure_ca(other)
    with pytest.raises(aiohttp.ClientError):
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=kubelet_client_context(other))) as s:
            async with s.get(_base(server) + "/containerLogs/default/web/app") as r:
                await r.read()


async def test_logs_joins_partial_lines_and_applies_options(kubelet, http):
    server, _, _ = kubelet
    url = _base(server) + "/containerLogs/default/web/app"
    async with http.get(url) as r:
        assert r.status == 200
        assert await r.text() == "one\ntwo\nthree\n"
    async with http.get(url, params={"tailLines": "1", "timestamps": "true"}) as r:
        assert await r.text() == "2024-05-01T10:00:00Z ee\n"  # Go's RFC3339Nano
    async with http.get(url, params={"limitBytes": "6"}) as r:
        assert await r.text() == "one\ntw"
    async with http.get(url, params={"sinceTime": "2024-05-01T10:00:01Z"}) as r:
        assert await r.text() == "two\nthr"


async def test_logs_errors_are_statuses(kubelet, http):
    server, _, _ = kubelet
    async with http.get(_base(server) + "/containerLogs/default/web/nope") as r:
        assert r.status == 404
    async with http.get(_base(server) + "/containerLogs/default/web/app?previous=true") as r:
        assert r.status == 400
        assert (await r.json())["message"] == 'previous terminated container "app" in pod "web" not found'


async def test_exec_echo_reports_success(kubelet, http):
    server, _, _ = kubelet
    out, st = await _run(http, _base(server) + "/exec/default/web/app?command=echo&command=hi&stdout=true&stderr=true")
    assert out[channels.STDOUT] == b"hi\n"
    assert st == status.success()


async def test_exec_exit_code_and_stderr(kubelet, http):
    server, _, _ = kubelet
    url = _base(server) + "/exec/default/web/app?command=sh&command=-c&command=echo+oops+>%262%3B+exit+3&stdout=true&stderr=true"
    out, st = await _run(http, url, protocol=channels.V4)
    assert out[channels.STDERR] == b"oops\n"
    assert st["reason"] == "NonZeroExitCode"
    assert status.parse_exit_code(status.encode(st)) == 3


async def test_exec_stdin_until_close_signal(kubelet, http):
    server, _, _ = kubelet
    url = _base(server) + "/exec/default/web/app?command=cat&stdin=true&stdout=true"
    out, st = await _run(http, url, [channels.encode(channels.STDIN, b"abc\n"), channels.close_signal(channels.STDIN)])
    assert out[channels.STDOUT] == b"abc\n" and st["status"] == "Success"


async def test_exec_runs_in_the_container_root(kubelet, http):
    server, backend, _ = kubelet
    (backend.containers[("default", "web", "app")].rootfs / "marker").write_text("x")
    out, _ = await _run(http, _base(server) + "/exec/default/web/app?command=ls&stdout=true")
    assert out[channels.STDOUT] == b"marker\n"


async def test_exec_tty_resize(kubelet, http):
    server, _, _ = kubelet
    url = _base(server) + "/exec/default/web/app?command=sh&command=-c&command=read+x%3B+stty+size&stdin=true&stdout=true&tty=true"
    sends = [channels.encode(channels.RESIZE, b'{"Width":100,"Height":30}\n'), channels.encode(channels.STDIN, b"go\r")]
    out, st = await _run(http, url, sends)
    assert b"30 100" in out[channels.STDOUT]
    assert st["status"] == "Success"


async def test_exec_in_missing_container_ends_with_a_failure_status(kubelet, http):
    server, _, _ = kubelet
    out, st = await _run(http, _base(server) + "/exec/default/web/other?command=true&stdout=true")
    assert st["status"] == "Failure" and st["code"] == 404
    assert st["message"] == 'container "other" in pod "web" is not available'


async def test_exec_refuses_plain_http_and_unknown_protocols(kubelet, http):
    server, _, _ = kubelet
    async with http.get(_base(server) + "/exec/default/web/app?command=true&stdout=true") as r:
        assert r.status == 400
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http.ws_connect(_base(server) + "/exec/default/web/app?command=true&stdout=true",
                              protocols=("channel.k8s.io",))


async def test_logs_follow_streams_appended_lines_until_the_container_stops(kubelet, http):
    server, backend, _ = kubelet
    c = backend.containers[("default", "web", "app")]
    async with http.get(_base(server) + "/containerLogs/default/web/app?follow=true&tailLines=1") as r:
        assert await r.content.readline() == b"ee\n"
        with open(c.log_path, "a") as f:
            f.write(cri_line(T0, "stdout", "later"))
        assert await r.content.readline() == b"later\n"
        c.set_running(False)
        assert await r.content.read() == b""  # the stream ends with the container


async def test_a_followed_silent_container_gets_its_headers_before_any_line(kubelet, http):
    server, backend, _ = kubelet
    c = backend.add_container("default", "quiet", "app")
    c.log_path.write_text("")
    async with asyncio.timeout(10), http.get(_base(server) + "/containerLogs/default/quiet/app?follow=true") as r:
        assert r.status == 200  # answered with nothing logged yet
        with open(c.log_path, "a") as f:
            f.write(cri_line(T0, "stdout", "at last"))
        assert await r.content.readline() == b"at last\n"
        c.set_running(False)
        assert await r.content.read() == b""


async def test_attach(kubelet, http):
    server, _, _ = kubelet
    url = _base(server) + "/attach/default/web/app?stdin=true&stdout=true&stderr=true"
    out, st = await _run(http, url, [channels.encode(channels.STDIN, b"echo on; exit 4\n")])
    assert out[channels.STDOUT] == b"on\n"
    assert status.parse_exit_code(status.encode(st)) == 4


async def test_kubelet_port_refuses_cbc_suites_and_speaks_aead_and_tls13(kubelet):
    server, _, _ = kubelet
    with pytest.raises(ssl.SSLError):
        await asyncio.to_thread(handshake, server.port, tls12_ciphers=CBC_ONLY)
    assert (await asyncio.to_thread(handshake, server.port, tls12_ciphers=AEAD))[0] == "TLSv1.2"
    assert (await asyncio.to_thread(handshake, server.port))[0] == "TLSv1.3"
