"""Container logs in the CRI format: reading them as `kubectl logs` asks, and rotating them.

conmon writes `<RFC3339Nano> <stdout|stderr> <P|F> <content>` lines; `P` marks a partial line
that the next record continues. Reading follows the kubelet (kuberuntime/logs): every record is
one unit for `tailLines`, `sinceTime`/`sinceSeconds` and `limitBytes`; a partial record is
printed without a newline, and with `timestamps` only the first record of a line gets its
time, re-formatted as Go's RFC3339Nano. `stream_log` is the one reader of the kubelet's
runtime backend and of the local test backend.

Rotation is the kubelet's: when `N.log` passes the size limit it is renamed
`N.log.<UTC timestamp>`, conmon is told to reopen its log (a `2 0 0` message on the bundle's
`ctl` fifo), and only the newest `max_files` files are kept.
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

from kubelite.kubelet.server_backend import LogOptions


@dataclass(frozen=True)
class LogRecord:
    """One line of a CRI log file."""

    timestamp: str  # as written (RFC3339Nano)
    stream: str
    partial: bool
    content: bytes  # without the newline


def parse_time(ts: str) -> float:
    """Seconds since the epoch of an RFC3339(Nano) timestamp."""
    ts = ts.strip().replace("z", "Z").replace("Z", "+00:00")
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


def parse_record(line: bytes) -> LogRecord | None:
    """One CRI log line (its newline optional); None if it is not in the CRI format."""
    parts = line.rstrip(b"\n").split(b" ", 3)
    if len(parts) < 3:
        return None
    content = parts[3] if len(parts) == 4 else b""
    return LogRecord(parts[0].decode(errors="replace"), parts[1].decode(errors="replace"),
                     parts[2] == b"P", content)


def cri_line(timestamp: datetime, stream: str, text: str, *, full: bool = True) -> str:
    """Format one record as conmon writes it (for writers of CRI logs and for tests)."""
    ts = timestamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return f"{ts} {stream} {'F' if full else 'P'} {text}\n"


def log_files(path: str) -> list[str]:
    """An instance's rotated files, oldest first, then its current file."""
    rotated = sorted(glob.glob(glob.escape(path) + ".*"))
    rotated = [p for p in rotated if not p.endswith(".tmp")]
    return rotated + ([path] if os.path.exists(path) else [])


def read_records(paths: Iterable[str]) -> Iterator[LogRecord]:
    for path in paths:
        try:
            with open(path, "rb") as f:
                for line in f:
                    record = parse_record(line)
                    if record is not None:
                        yield record
        except FileNotFoundError:
            continue


def log_text(path: str) -> str:
    """What the container wrote, as plain text (rotated files included)."""
    return b"".join(r.content + (b"" if r.partial else b"\n")
                    for r in read_records(log_files(path))).decode(errors="replace")


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


def since_of(opts: LogOptions, now: float | None = None) -> float | None:
    """The `sinceTime`/`sinceSeconds` cut-off in seconds since the epoch, if any."""
    if opts.since_time:
        return parse_time(opts.since_time)
    if opts.since_seconds is not None:
        return (now if now is not None else time.time()) - opts.since_seconds
    return None


class _Writer:
    """Renders records as the kubelet's logWriter: since filter, timestamps, byte limit."""

    def __init__(self, opts: LogOptions, since: float | None) -> None:
        self.timestamps = opts.timestamps
        self.since = since
        self.left = opts.limit_bytes
        self.line_start = True

    @property
    def full(self) -> bool:
        return self.left is not None and self.left <= 0

    def render(self, record: LogRecord) -> bytes:
        at_start, self.line_start = self.line_start, not record.partial
        if self.since is not None:
            with contextlib.suppress(ValueError):
                if parse_time(record.timestamp) < self.since:
                    return b""
        data = record.content + (b"" if record.partial else b"\n")
        if self.timestamps and at_start:
            data = go_rfc3339_nano(record.timestamp).encode() + b" " + data
        if self.left is not None:
            data = data[: max(self.left, 0)]
            self.left -= len(data)
        return data


async def stream_log(path: str, opts: LogOptions, *,
                     running: Callable[[], Awaitable[bool]] | None = None,
                     poll: float = 0.1) -> AsyncIterator[bytes]:
    """The bytes `kubectl logs` prints for one container instance (rotated files included).

    With `opts.follow`, what is appended (across rotations) follows until `running()` says the
    container stopped and nothing is left to read."""
    writer = _Writer(opts, since_of(opts))
    records = list(read_records(log_files(path)))
    if opts.tail_lines is not None:
        records = records[-opts.tail_lines:] if opts.tail_lines > 0 else []
    chunk = b"".join(writer.render(r) for r in records)
    if chunk:
        yield chunk
    if not opts.follow or writer.full:
        return
    position, inode = _size(path), _inode(path)
    buf = b""
    idle_checks = 0
    stopped = False
    while True:
        if _inode(path) != inode:  # rotated: the rest of the old file was read; start anew
            inode, position = _inode(path), 0
        data = b""
        with contextlib.suppress(FileNotFoundError):
            with open(path, "rb") as f:
                f.seek(position)
                data = f.read()
                position = f.tell()
        if not data:
            if stopped:
                return  # the container stopped and the last read found nothing more
            idle_checks += 1
            if running is None or (idle_checks % 5 == 0 and not await running()):
                stopped = True
                continue
            await asyncio.sleep(poll)
            continue
        buf += data
        end = buf.rfind(b"\n") + 1
        complete, buf = buf[:end], buf[end:]
        chunk = b"".join(writer.render(r) for r in map(parse_record, complete.splitlines())
                         if r is not None)
        if chunk:
            yield chunk
        if writer.full:
            return


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
