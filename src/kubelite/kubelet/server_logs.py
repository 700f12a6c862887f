"""Read a container log file in the CRI format and apply PodLogOptions (tail, since, timestamps, limit, follow).

Each line of a CRI log is `TIMESTAMP STREAM TAG CONTENT`, e.g.
`2024-05-01T10:00:00.123456789Z stdout F hello`; tag `P` marks a partial line that the
next record continues, `F` a full one. The kubelet's runtime side and the test backend
both serve logs through `read_cri_log`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

from kubelite.kubelet.server_backend import LogOptions

_FRACTION = re.compile(r"\.(\d+)")


def parse_time(text: str) -> dt.datetime:
    """An RFC 3339 time with up to nanosecond precision (Python keeps microseconds)."""
    text = text.strip().replace("z", "Z")
    text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)


@dataclass(frozen=True)
class Record:
    timestamp: str
    stream: str
    full: bool
    content: bytes

    def render(self, timestamps: bool) -> bytes:
        prefix = (self.timestamp + " ").encode() if timestamps else b""
        return prefix + self.content + (b"\n" if self.full else b"")


def parse_record(line: bytes) -> Record | None:
    """One CRI log line (without its newline); None if it is not in the CRI format."""
    parts = line.split(b" ", 3)
    if len(parts) < 3:
        return None
    content = parts[3] if len(parts) == 4 else b""
    return Record(parts[0].decode(errors="replace"), parts[1].decode(errors="replace"),
                  parts[2] != b"P", content)


def cri_line(timestamp: dt.datetime, stream: str, text: str, *, full: bool = True) -> str:
    """Format one record (used by writers of CRI logs and by tests)."""
    ts = timestamp.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    return f"{ts} {stream} {'F' if full else 'P'} {text}\n"


def _cutoff(opts: LogOptions, now: dt.datetime) -> dt.datetime | None:
    if opts.since_time:
        return parse_time(opts.since_time)
    if opts.since_seconds is not None:
        return now - dt.timedelta(seconds=opts.since_seconds)
    return None


def _keep(record: Record, cutoff: dt.datetime | None) -> bool:
    if cutoff is None:
        return True
    try:
        return parse_time(record.timestamp) >= cutoff
    except ValueError:
        return True


async def read_cri_log(
    path: Path,
    opts: LogOptions,
    *,
    running: Callable[[], bool] = lambda: False,
    poll_interval: float = 0.1,
) -> AsyncIterator[bytes]:
    """The log as the kubelet serves it. With `follow`, keep reading appended lines
    while `running()` is true, then drain what is left and end."""
    cutoff = _cutoff(opts, dt.datetime.now(dt.UTC))
    budget = opts.limit_bytes
    with open(path, "rb") as f:
        data = f.read()
        offset = data.rfind(b"\n") + 1
        records = [r for r in map(parse_record, data[:offset].splitlines()) if r is not None]
        records = [r for r in records if _keep(r, cutoff)]
        if opts.tail_lines is not None:
            records = records[-opts.tail_lines :] if opts.tail_lines > 0 else []
        chunk = b"".join(r.render(opts.timestamps) for r in records)
        while True:
            if budget is not None:
                chunk = chunk[:budget]
                budget -= len(chunk)
            if chunk:
                yield chunk
            if not opts.follow or budget == 0:
                return
            alive = running()
            if alive:
                await asyncio.sleep(poll_interval)
            f.seek(offset)
            data = f.read()
            end = data.rfind(b"\n") + 1
            offset += end
            new = [r for r in map(parse_record, data[:end].splitlines()) if r is not None]
            chunk = b"".join(r.render(opts.timestamps) for r in new if _keep(r, cutoff))
            if not alive and not chunk:
                return
