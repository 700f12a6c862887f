"""The kubelet's port-forward over SPDY/3.1 (portforward.k8s.io), as kubectl drives it: an
error and a data stream per connection, bytes both ways, FIN for EOF, the kubelet's words
on the error stream when nothing listens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from kubelite.apiserver.certs import ensure_ca
from kubelite.apiserver.proxy_tls import kubelet_client_context
from kubelite.client.streams import spdy
from kubelite.kubelet.server import KubeletServer
from kubelite.kubelet.server_local import LocalProcessBackend


@pytest.fixture
async def kubelet(tmp_path: Path) -> AsyncIterator[tuple[KubeletServer, Path]]:
    tls = tmp_path / "tls"
    ca, _ = ensure_ca(tls)
    backend = LocalProcessBackend(tmp_path / "containers")
    backend.add_container("default", "web", "app")
    server = KubeletServer(backend, host="127.0.0.1", port=0, ca_file=ca, data_dir=tmp_path / "kubelet")
    await server.start()
    try:
        yield server, tls
    finally:
        await server.stop()


async def _upper_server() -> asyncio.Server:
    """Answers each connection with what it sent, upper-cased, once the client half-closes."""
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write((await reader.read()).upper())
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


class Client:
    """kubectl's side: a SPDY session to /portForward/NS/POD."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.compressor = spdy.HeaderCompressor()
        self.decoder = spdy.FrameDecoder()
        self.next_id = 1

    @classmethod
    async def connect(cls, server: KubeletServer, tls: Path, path: str = "/portForward/default/web") -> Client:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=kubelet_client_context(tls))
        writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                     "X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        assert b"X-Stream-Protocol-Version: portforward.k8s.io" in head
        return cls(reader, writer)

    def open(self, kind: str, port: int, request_id: str) -> int:
        sid, self.next_id = self.next_id, self.next_id + 2
        self.writer.write(spdy.encode_syn_stream(self.compressor, sid, {
            "streamtype": [kind], "port": [str(port)], "requestid": [request_id]}))
        return sid

    async def read_until_fin(self, sids: set[int]) -> dict[int, bytes]:
        """Data per stream until every stream in `sids` has FINed."""
        got: dict[int, bytes] = {s: b"" for s in sids}
        open_ = set(sids)
        while open_:
            chunk = await asyncio.wait_for(self.reader.read(65536), 10)
            assert chunk, "the kubelet hung up"
            for frame in self.decoder.feed(chunk):
                if isinstance(frame, spdy.DataFrame) and frame.stream_id in got:
                    got[frame.stream_id] += frame.data
                    if frame.fin:
                        open_.discard(frame.stream_id)
        return got

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


async def test_bytes_flow_both_ways_on_each_connection(kubelet: tuple[KubeletServer, Path]) -> None:
    server, tls = kubelet
    upstream = await _upper_server()
    port = upstream.sockets[0].getsockname()[1]
    client = await Client.connect(server, tls)
    try:
        for request_id in ("0", "1"):  # two local connections, one session
            error = client.open("error", port, request_id)
            data = client.open("data", port, request_id)
            client.writer.write(spdy.encode_data(data, f"hello {request_id}".encode(), fin=True))
            got = await client.read_until_fin({error, data})
            assert got == {error: b"", data: f"HELLO {request_id}".encode()}
    finally:
        client.close()
        upstream.close()


async def test_nothing_listening_is_reported_on_the_error_stream(kubelet: tuple[KubeletServer, Path]) -> None:
    server, tls = kubelet
    closed = await _upper_server()
    port = closed.sockets[0].getsockname()[1]
    closed.close()
    await closed.wait_closed()
    client = await Client.connect(server, tls)
    try:
        error = client.open("error", port, "0")
        data = client.open("data", port, "0")
        got = await client.read_until_fin({error, data})
        message = got[error].decode()
        assert message.startswith(f"error forwarding port {port} to pod default_web, uid : failed to connect to "
                                  f'localhost:{port} inside namespace "default_web", IPv4: dial tcp4 '
                                  f"127.0.0.1:{port}: connect: connection refused IPv6 dial tcp6 [::1]:{port}: ")
        assert got[data] == b""
    finally:
        client.close()


async def test_an_unknown_pod_is_404(kubelet: tuple[KubeletServer, Path]) -> None:
    server, tls = kubelet
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=kubelet_client_context(tls))
    writer.write(b"POST /portForward/default/nope HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                 b"Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    writer.close()
    assert head.startswith(b"HTTP/1.1 404")
