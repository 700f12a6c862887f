"""Run one exec/attach session: relay a `Process` over a v5/v4 channel WebSocket.

Channels in: 0 stdin, 4 resize, 255 close (v5). Out: 1 stdout, 2 stderr, then one Status on
3 and a normal close. A client that goes away closes stdin; an exec'd command is then killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from aiohttp import WSMsgType, web

from kubelite.client.streams import channels, status
from kubelite.kubelet.server_backend import Process

log = logging.getLogger("kubelite.kubelet.server")


async def _pump_out(
    read: Callable[[], Awaitable[bytes]], channel: int, ws: web.WebSocketResponse, send: bool
) -> None:
    while True:
        data = await read()
        if not data:
            return
        if send and not ws.closed:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_bytes(channels.encode(channel, data))


async def _pump_in(ws: web.WebSocketResponse, process: Process, stdin: bool) -> None:
    """Client messages to the process until the client closes."""
    try:
        async for msg in ws:
            if msg.type == WSMsgType.BINARY:
                payload = msg.data
            elif msg.type == WSMsgType.TEXT and ws.ws_protocol == channels.BASE64_V4:
                ch, data = channels.decode_base64(msg.data)
                payload = bytes([ch]) + data
            elif msg.type == WSMsgType.TEXT:  # channel char + text, as the Python client writes str
                payload = msg.data.encode()
            else:
                continue
            if not payload:
                continue
            ch, data = channels.decode(payload)
            if ch == channels.STDIN and stdin and data:
                await process.write_stdin(data)
            elif ch == channels.RESIZE:
                for size in channels.parse_resize(data):
                    await process.resize(size.width, size.height)
            elif ch == channels.CLOSE and data[:1] == bytes([channels.STDIN]):
                await process.close_stdin()
    finally:
        if stdin:
            with contextlib.suppress(Exception):
                await process.close_stdin()


async def serve_process(
    ws: web.WebSocketResponse,
    process: Process,
    *,
    stdin: bool,
    stdout: bool,
    stderr: bool,
    kill_on_disconnect: bool,
    command: list[str] | None = None,
) -> None:
    """Relay until the process ends (then send its Status) or the client goes away."""
    inbound = asyncio.create_task(_pump_in(ws, process, stdin))
    async def both_outputs() -> None:
        await asyncio.gather(
            _pump_out(process.read_stdout, channels.STDOUT, ws, stdout),
            _pump_out(process.read_stderr, channels.STDERR, ws, stderr),
        )

    outputs = asyncio.create_task(both_outputs())
    try:
        done, _ = await asyncio.wait({inbound, outputs}, return_when=asyncio.FIRST_COMPLETED)
        if outputs in done:
            code = await process.wait()
            body = status.exit_code(code, command)
            if not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.send_bytes(channels.encode(channels.ERROR, status.encode(body)))
                    await ws.close()
        elif kill_on_disconnect:
            process.kill()
    finally:
        inbound.cancel()
        outputs.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await inbound
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await outputs
