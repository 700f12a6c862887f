"""Container logs in the CRI format: reading them as `kubectl logs` asks, and rotating them.

conmon writes `<RFC3339Nano> <stdout|stderr> <P|F> <content>` lines; `P` marks a partial line
that the next entry continues. Rotation is the kubelet's: when `N.log` passes the size limit it
is renamed `N.log.<UTC timestamp>`, conmon is told to reopen its log (a `2 0 0` message on the
bundle's `ctl` fifo), and only the newest `max_files` files are kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime


@dataclass
class LogEntry:
    timestamp: str  # as written (RFC3339Nano)
    stream: str
    content: str  # with the trailing newline for a full line


def parse_time(ts: str) -> float:
    """Seconds since the epoch of an RFC3339(Nano) timestamp."""
    ts = ts.replace("Z", "+00:00")
    head, dot, rest = ts.partition(".")
    if dot:
        n = 0
        while n < len(rest) and rest[n].isdigit():
            n += 1
        digits, tz = rest[:n], rest[n:]
        frac = float("0." + digits) if digits else 0.0
        base = datetime.fromisoformat(head + tz).timestamp()
        return base + frac
    return datetime.fromisoformat(ts).timestamp()


def _parse_line(line: str, partial: dict[str, str]) -> LogEntry | None:
    parts = line.rstrip("\n").split(" ", 3)
    if len(parts) < 3:
        return None
    ts, stream, tag = parts[0], parts[1], parts[2]
    content = parts[3] if len(parts) > 3 else ""
    if tag == "P":
        partial[stream] = partial.get(stream, "") + content
        return None
    full = partial.pop(stream, "") + content + "\n"
    return LogEntry(ts, stream, full)


def log_files(path: str) -> list[str]:
    """An instance's rotated files, oldest first, then its current file."""
    rotated = sorted(glob.glob(glob.escape(path) + ".*"))
    rotated = [p for p in rotated if not p.endswith(".tmp")]
    return rotated + ([path] if os.path.exists(path) else [])


def read_cri_lines(paths: Iterable[str]) -> Iterator[LogEntry]:
    partial: dict[str, str] = {}
    for path in paths:
        try:
            with open(path, errors="replace") as f:
                for line in f:
                    entry = _parse_line(line, partial)
                    if entry is not None:
                        yield entry
        except FileNotFoundError:
            continue


def go_rfc3339_nano(ts: str) -> str:
    """A timestamp as the kubelet prints it (Go's RFC3339Nano): `Z` for UTC, no trailing zeros.

    conmon writes `...471+00:00`; the kubelet parses and re-formats it, so users see `...471Z`.
    """
    head, dot, rest = ts.partition(".")
    if not dot:
        return ts[:-6] + "Z" if ts.endswith(("+00:00", "-00:00")) else ts
    n = 0
    while n < len(rest) and rest[n].isdigit():
        n += 1
    digits, tz = rest[:n].rstrip("0"), rest[n:]
    if tz in ("+00:00", "-00:00"):
        tz = "Z"
    return f"{head}.{digits}{tz}" if digits else f"{head}{tz}"


def format_entry(entry: LogEntry, timestamps: bool) -> bytes:
    if timestamps:
        return f"{go_rfc3339_nano(entry.timestamp)} {entry.content}".encode()
    return entry.content.encode()


async def stream_log(path: str, *, follow: bool = False, tail_lines: int | None = None,
                     since: float | None = None, timestamps: bool = False,
                     limit_bytes: int | None = None,
                     running: Callable[[], Awaitable[bool]] | None = None,
                     poll: float = 0.1) -> AsyncIterator[bytes]:
    """The bytes `kubectl logs` prints for one container instance."""
    entries = [e for e in read_cri_lines(log_files(path))
               if since is None or parse_time(e.timestamp) >= since]
    if tail_lines is not None:
        entries = entries[-tail_lines:] if tail_lines > 0 else []
    sent = 0

    def clip(data: bytes) -> bytes | None:
        nonlocal sent
        if limit_bytes is None:
            return data
        if sent >= limit_bytes:
            return None
        data = data[: limit_bytes - sent]
        sent += len(data)
        return data

    for entry in entries:
        data = clip(format_entry(entry, timestamps))
        if data is None:
            return
        yield data
    if not follow:
        return
    # Follow: read what is appended after the snapshot (and across rotations).
    position = _size(path)
    inode = _inode(path)
    partial: dict[str, str] = {}
    buf = ""
    idle_checks = 0
    while True:
        if _inode(path) != inode:  # rotated: the rest of the old file was read; start anew
            inode, position = _inode(path), 0
        chunk = ""
        with contextlib.suppress(FileNotFoundError):
            with open(path, errors="replace") as f:
                f.seek(position)
                chunk = f.read()
                position = f.tell()
        if chunk:
            buf += chunk
            lines = buf.split("\n")
            buf = lines.pop()
            for line in lines:
                parsed = _parse_line(line, partial)
                if parsed is None or (since is not None and parse_time(parsed.timestamp) < since):
                    continue
                data = clip(format_entry(parsed, timestamps))
                if data is None:
                    return
                yield data
            continue
        idle_checks += 1
        if running is not None and idle_checks % 5 == 0 and not await running():
            # One last read after the container stopped, then the stream ends.
            with contextlib.suppress(FileNotFoundError):
                with open(path, errors="replace") as f:
                    f.seek(position)
                    rest = f.read()
            if not rest:
                return
            buf += rest
            position += len(rest.encode())
            continue
        await asyncio.sleep(poll)


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _inode(path: str) -> int:
    try:
        return os.stat(path).st_ino
    except OSError:
        return 0


def rotate_if_needed(path: str, max_bytes: int, max_files: int, reopen: Callable[[], None],
                     now: float | None = None) -> bool:
    """Rotate `path` when it is larger than max_bytes; keep max_files files in all."""
    if _size(path) <= max_bytes:
        return False
    stamp = datetime.fromtimestamp(now or time.time(), UTC).strftime("%Y%m%d-%H%M%S.%f")
    os.rename(path, f"{path}.{stamp}")
    reopen()
    rotated = sorted(p for p in glob.glob(glob.escape(path) + ".*") if not p.endswith(".tmp"))
    for old in rotated[: max(0, len(rotated) - (max_files - 1))]:
        with contextlib.suppress(OSError):
            os.unlink(old)
    return True


def reopen_conmon_log(bundle_dir: str) -> None:
    """Ask conmon to reopen its log file (its control fifo: message type 2)."""
    ctl = os.path.join(bundle_dir, "ctl")
    try:
        fd = os.open(ctl, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:
        return
    try:
        os.write(fd, b"2 0 0\n")
    finally:
        os.close(fd)
