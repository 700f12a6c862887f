"""The tcpSocket probe (pkg/probe/tcp): success when a TCP connection opens in time."""

from __future__ import annotations

import asyncio
import contextlib

from kubelite.kubelet.prober.http import dial_error
from kubelite.kubelet.prober.results import Outcome, failure, success


async def probe_tcp(host: str, port: int, timeout: float) -> Outcome:
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except (OSError, TimeoutError) as e:
        return failure(dial_error(host, port, e))
    writer.close()
    with contextlib.suppress(Exception):
        await writer.wait_closed()
    return success()
