"""Connect to localhost:PORT inside a pod's network namespace, as containerd's port-forward.

A fresh thread joins the namespace (setns(2) changes only the calling thread), connects,
and ends; the socket stays in the namespace it was made in, so the event loop uses it
from then on. IPv4 first, then IPv6, with containerd's message when both fail.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
CONNECT_TIMEOUT = 10.0


class DialError(Exception):
    """Nothing accepted the connection; the message is containerd's (what kubectl prints)."""


def _go_error(e: OSError) -> str:
    """An OSError as Go's syscall error text ("connection refused")."""
    text = os.strerror(e.errno) if e.errno else str(e)
    return text[:1].lower() + text[1:]


def _setns(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
    finally:
        os.close(fd)


def _connect(netns: str | None, sandbox_id: str, port: int) -> socket.socket:
    """Runs in its own thread: that thread is the only one that ever joins `netns`."""
    try:
        if netns:
            _setns(netns)
    except OSError as e:
        raise DialError(f'failed to execute portforward in network namespace "{netns}": '
                        f"{_go_error(e)}") from e
    errors = []
    for family, host, net in ((socket.AF_INET, "127.0.0.1", "tcp4"), (socket.AF_INET6, "::1", "tcp6")):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect((host, port))
        except OSError as e:
            sock.close()
            shown = f"[{host}]" if ":" in host else host
            errors.append(f"dial {net} {shown}:{port}: connect: {_go_error(e)}")
            continue
        sock.setblocking(False)
        return sock
    message = (f'failed to connect to localhost:{port} inside namespace "{sandbox_id}", '
               f"IPv4: {errors[0]} IPv6 {errors[1]} ")
    if netns:
        message = f'failed to execute portforward in network namespace "{netns}": {message}'
    raise DialError(message)


async def dial(netns: str | None, sandbox_id: str, port: int) -> socket.socket:
    """A connected, non-blocking socket to localhost:`port` in `netns` (None: this host's)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[socket.socket] = loop.create_future()

    def run() -> None:
        try:
            result = _connect(netns, sandbox_id, port)
        except BaseException as e:  # noqa: BLE001 - handed to the awaiting coroutine
            loop.call_soon_threadsafe(_fail, future, e)
            return
        loop.call_soon_threadsafe(_deliver, future, result)

    threading.Thread(target=run, name=f"portforward-{port}", daemon=True).start()
    return await future


def _fail(future: asyncio.Future[socket.socket], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


def _deliver(future: asyncio.Future[socket.socket], sock: socket.socket) -> None:
    if future.done():  # the caller went away meanwhile
        sock.close()
    else:
        future.set_result(sock)
