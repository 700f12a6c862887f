"""The attach client reaches conmon's socket in a bundle whose path is longer than a unix
socket address can hold (a deep data dir), and reads the streams by their first byte."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from kubelite.runtime.attach import STDERR, STDOUT, attach


def _listen_in(directory: Path) -> socket.socket:
    """A SOCK_SEQPACKET listener at DIRECTORY/attach, as conmon makes it (bound through the
    directory's descriptor: the path itself is too long for an address)."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fd = os.open(directory, os.O_PATH | os.O_DIRECTORY)
    try:
        server.bind(f"/proc/self/fd/{fd}/attach")
    finally:
        os.close(fd)
    server.listen(1)
    return server


async def test_attach_through_a_bundle_path_longer_than_a_socket_address(tmp_path: Path) -> None:
    bundle = tmp_path / ("d" * 60) / ("e" * 60) / "bundle"
    bundle.mkdir(parents=True)
    assert len(str(bundle / "attach")) > 108
    server = _listen_in(bundle)
    session = await attach(str(bundle))
    try:
        conn, _ = server.accept()
        with conn:
            conn.send(bytes([STDOUT]) + b"out")
            conn.send(bytes([STDERR]) + b"err")
            assert await session.read_stdout() == b"out"
            assert await session.read_stderr() == b"err"
            await session.write_stdin(b"typed\n")
            assert conn.recv(100) == b"typed\n"
    finally:
        session.close()
        server.close()
