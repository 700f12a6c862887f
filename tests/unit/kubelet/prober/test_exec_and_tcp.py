"""Exec probes: exit 0 passes, a timeout fails in the CRI's words; TCP probes dial."""

from __future__ import annotations

import asyncio
import socket

from kubelite.kubelet.prober.exec import probe_exec
from kubelite.kubelet.prober.results import Result
from kubelite.kubelet.prober.tcp import probe_tcp
from kubelite.runtime.exec import ExecTimeoutError


async def test_exec_exit_zero_is_success_with_output() -> None:
    async def ok(cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        return 0, b"fine\n"

    outcome = await probe_exec(ok, "c1", ["true"], 1)
    assert outcome.result is Result.SUCCESS and outcome.output == "fine\n"


async def test_exec_timeout_is_a_failure_naming_the_command() -> None:
    async def slow(cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        raise ExecTimeoutError("command timed out after 1s")

    outcome = await probe_exec(slow, "c1", ["sleep", "5"], 1)
    assert outcome.result is Result.FAILURE
    assert outcome.output == 'command "sleep 5" timed out'


async def test_tcp_open_port_succeeds_and_closed_port_is_refused() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        assert (await probe_tcp("127.0.0.1", port, 1)).result is Result.SUCCESS
    finally:
        server.close()
        await server.wait_closed()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    outcome = await probe_tcp("127.0.0.1", closed, 1)
    assert outcome.result is Result.FAILURE
    assert outcome.output == f"dial tcp 127.0.0.1:{closed}: connect: connection refused"
