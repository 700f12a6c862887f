"""Forwarding names outside the cluster zone to the host's resolvers, failing fast offline."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path


def host_nameservers(path: str = "/etc/resolv.conf") -> list[str]:
    """The `nameserver` lines of the host's resolv.conf."""
    try:
        text = Path(path).read_text()
    except OSError:
        return []
    return [line.split()[1] for line in text.splitlines()
            if line.strip().startswith("nameserver") and len(line.split()) > 1]


class _OneAnswer(asyncio.DatagramProtocol):
    def __init__(self, ident: bytes) -> None:
        self.ident = ident
        self.answer: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        if data[:2] == self.ident and not self.answer.done():
            self.answer.set_result(data)

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


class Forwarder:
    """Sends a query to each upstream in turn; None when none answers.

    After every upstream failed, further queries fail at once for `down_for` seconds, so an
    offline machine answers SERVFAIL quickly instead of making each client wait.
    """

    def __init__(self, upstreams: list[str], timeout: float = 1.0, down_for: float = 10.0) -> None:
        self.upstreams = upstreams
        self.timeout = timeout
        self.down_for = down_for
        self._down_until = 0.0

    async def forward(self, query: bytes) -> bytes | None:
        if not self.upstreams or time.monotonic() < self._down_until:
            return None
        for upstream in self.upstreams:
            host, _, port = upstream.partition("#")
            answer = await self._ask(host, int(port or 53), query)
            if answer is not None:
                return answer
        self._down_until = time.monotonic() + self.down_for
        return None

    async def _ask(self, host: str, port: int, query: bytes) -> bytes | None:
        loop = asyncio.get_running_loop()
        try:
            transport, proto = await loop.create_datagram_endpoint(
                lambda: _OneAnswer(query[:2]), remote_addr=(host, port))
        except OSError:
            return None
        try:
            transport.sendto(query)
            return await asyncio.wait_for(proto.answer, self.timeout)
        except (TimeoutError, OSError):
            return None
        finally:
            with contextlib.suppress(Exception):
                transport.close()
