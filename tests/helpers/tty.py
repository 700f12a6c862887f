"""Driving `kubectl exec -it` through a pseudo-terminal, as a person at a terminal would."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import termios
import time


def read_until(fd: int, pattern: str, timeout: float = 15) -> str:
    """Read the terminal until `pattern` (a regex) shows up; fail with what was seen."""
    seen = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
            if re.search(pattern, seen.decode(errors="replace")):
                return seen.decode(errors="replace")
    raise AssertionError(f"{pattern!r} not seen in {seen!r}")


def set_size(fd: int, rows: int, cols: int) -> None:
    """Set the terminal's window size (kubectl gets SIGWINCH and sends a resize)."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
