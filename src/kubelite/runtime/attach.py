"""Attach to a running container through conmon's attach socket (what `podman attach` uses).

conmon listens on `BUNDLE/attach`, a SOCK_SEQPACKET unix socket. What a client sends goes to
the container's stdin (when conmon was started with `--stdin`); what the container writes
comes back as packets whose first byte names the stream (2 stdout, 3 stderr). Shutting down
the write side ends stdin for a `stdinOnce` container (conmon without `--leave-stdin-open`).
The terminal size goes to conmon's control fifo `BUNDLE/ctl` as `1 HEIGHT WIDTH`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket

STDOUT = 2
STDERR = 3
PACKET = 8192  # conmon's buffer: larger writes are split


class AttachSession:
    """One client attached to a container's streams."""

    def __init__(self, sock: socket.socket, bundle_dir: str) -> None:
        self._sock = sock
        self._ctl = os.path.join(bundle_dir, "ctl")
        self._out: asyncio.Queue[bytes] = asyncio.Queue()
        self._err: asyncio.Queue[bytes] = asyncio.Queue()
        self._ended = asyncio.Event()
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                packet = await loop.sock_recv(self._sock, PACKET + 1)
                if not packet:
                    break
                queue = self._err if packet[0] == STDERR else self._out
                queue.put_nowait(packet[1:])
        except OSError:
            pass
        finally:
            self._out.put_nowait(b"")
            self._err.put_nowait(b"")
            self._ended.set()

    async def write_stdin(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for i in range(0, len(data), PACKET):
            with contextlib.suppress(OSError):
                await loop.sock_sendall(self._sock, data[i:i + PACKET])

    async def close_stdin(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_WR)

    async def read_stdout(self) -> bytes:
        return await self._out.get()

    async def read_stderr(self) -> bytes:
        return await self._err.get()

    def resize(self, width: int, height: int) -> None:
        try:
            fd = os.open(self._ctl, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:
            return
        try:
            os.write(fd, f"1 {height} {width}\n".encode())
        except OSError:
            pass
        finally:
            os.close(fd)

    async def wait(self) -> None:
        """Until conmon closes the socket (the container ended)."""
        await self._ended.wait()

    def close(self) -> None:
        """Detach; the container keeps running."""
        self._reader.cancel()
        self._sock.close()


async def attach(bundle_dir: str) -> AttachSession:
    """Connect to the container's attach socket (raises OSError when there is none).

    A unix socket address holds at most 107 bytes, which a bundle under a deep data dir
    exceeds: the socket is reached through the bundle directory's descriptor instead
    (`/proc/self/fd/N/attach`), whatever the directory's own path length."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    sock.setblocking(False)
    try:
        directory = os.open(bundle_dir, os.O_PATH | os.O_DIRECTORY)
        try:
            await asyncio.get_running_loop().sock_connect(sock, f"/proc/self/fd/{directory}/attach")
        finally:
            os.close(directory)
    except BaseException:
        sock.close()
        raise
    return AttachSession(sock, bundle_dir)
