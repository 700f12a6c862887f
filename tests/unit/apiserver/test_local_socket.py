"""The server's local socket, and what its controller-manager child is told to use without one."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from kubelite.apiserver.server import MAX_SOCKET_PATH, ApiServer, ServerConfig


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_a_data_dir_too_deep_for_a_socket_sends_the_child_over_the_network(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * (MAX_SOCKET_PATH - len(str(tmp_path))))
    srv = ApiServer(ServerConfig(data_dir=deep, listen=f"127.0.0.1:{_free_port()}"))
    await srv.start()
    try:
        assert srv.socket_path is None and not (deep / "api.sock").exists()
        proc = srv._controller_process
        assert proc is not None
        argv = proc.argv
        assert argv[argv.index("--server") + 1] == srv.url  # HTTPS, verified with the kubeconfig's CA
        assert argv[argv.index("--root-ca-file") + 1] == str(deep / "tls" / "ca.crt")
        async with srv.internal_client() as client:  # and the child does its work that way
            async with asyncio.timeout(20):
                while not (await client.list("serviceaccounts", "default", raw=True)).items:
                    await asyncio.sleep(0.1)
    finally:
        await srv.stop()


async def test_a_short_data_dir_gets_the_socket(tmp_path: Path) -> None:
    srv = ApiServer(ServerConfig(data_dir=tmp_path, listen=f"127.0.0.1:{_free_port()}", controllers=False))
    await srv.start()
    try:
        assert srv.socket_path == tmp_path / "api.sock"
    finally:
        await srv.stop()
