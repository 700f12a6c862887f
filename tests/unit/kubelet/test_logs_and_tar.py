"""CRI log reading (tail, since, timestamps, limit, partial lines, rotation) and the tar
commands kubectl cp sends (the copy itself: test_tar_in_root.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kubelite.kubelet.logs import go_rfc3339_nano, log_text, rotate_if_needed, stream_log
from kubelite.kubelet.server_backend import LogOptions
from kubelite.kubelet.tarcopy import parse_tar_command

LOG = (
    "2024-01-01T00:00:01.000000001Z stdout F one\n"
    "2024-01-01T00:00:02.000000000Z stderr P par\n"
    "2024-01-01T00:00:02.500000000Z stderr F tial\n"
    "2024-01-01T00:00:03.000000000Z stdout F three\n"
)


async def collect(path: str, **kw: object) -> bytes:
    opts = LogOptions(**kw)  # type: ignore[arg-type]
    return b"".join([c async for c in stream_log(path, opts)])


async def test_log_flags(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(LOG)
    assert await collect(str(path)) == b"one\npartial\nthree\n"
    assert await collect(str(path), tail_lines=1) == b"three\n"
    # As the kubelet: each record is a unit for tail and since (a partial one has no newline).
    assert await collect(str(path), tail_lines=2) == b"tial\nthree\n"
    assert await collect(str(path), since_time="2024-01-01T00:00:02.2Z") == b"tial\nthree\n"
    assert await collect(str(path), limit_bytes=5) == b"one\np"
    stamped = await collect(str(path), tail_lines=1, timestamps=True)
    assert stamped == b"2024-01-01T00:00:03Z three\n"  # Go's RFC3339Nano drops trailing zeros
    # Only the first record of a line carries the time.
    assert await collect(str(path), timestamps=True) == (
        b"2024-01-01T00:00:01.000000001Z one\n2024-01-01T00:00:02Z partial\n"
        b"2024-01-01T00:00:03Z three\n")
    assert log_text(str(path)) == "one\npartial\nthree\n"


async def test_follow_reads_appended_records_until_the_container_stops(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(LOG)
    alive = True

    async def running() -> bool:
        return alive

    chunks: list[bytes] = []

    async def follow() -> None:
        async for c in stream_log(str(path), LogOptions(follow=True, tail_lines=0),
                                  running=running, poll=0.01):
            chunks.append(c)

    task = asyncio.create_task(follow())
    await asyncio.sleep(0.05)
    with open(path, "a") as f:
        f.write("2024-01-01T00:00:04Z stdout P fo\n2024-01-01T00:00:04Z stdout F u")
    await asyncio.sleep(0.05)
    with open(path, "a") as f:
        f.write("r\n2024-01-01T00:00:05Z stdout F five\n")
    await asyncio.sleep(0.05)
    alive = False
    await asyncio.wait_for(task, 2)
    assert b"".join(chunks) == b"four\nfive\n"


def test_timestamps_print_as_the_kubelet_formats_them() -> None:
    assert go_rfc3339_nano("2026-11-25T01:23:48.183660470+00:00") == "2026-11-25T01:23:48.18366047Z"
    assert go_rfc3339_nano("2026-11-25T01:23:48.5+02:00") == "2026-11-25T01:23:48.5+02:00"
    assert go_rfc3339_nano("2026-11-25T01:23:48+00:00") == "2026-11-25T01:23:48Z"


async def test_rotation_keeps_old_content_readable(tmp_path: Path) -> None:
    path = tmp_path / "0.log"
    path.write_text(LOG)
    reopened: list[bool] = []
    assert rotate_if_needed(str(path), 10, 3, lambda: reopened.append(True))
    assert reopened and not path.exists()
    path.write_text("2024-01-01T00:00:04Z stdout F four\n")
    assert (await collect(str(path))).endswith(b"three\nfour\n")
    assert not rotate_if_needed(str(path), 10_000, 3, lambda: None)


def test_parse_tar_commands_kubectl_sends() -> None:
    assert parse_tar_command(["tar", "cf", "-", "/tmp/x"]).paths == ["/tmp/x"]  # type: ignore[union-attr]
    ext = parse_tar_command(["tar", "--no-same-permissions", "--no-same-owner", "-xmf", "-",
                             "-C", "/dest"])
    assert ext is not None and ext.mode == "extract" and ext.directory == "/dest"
    assert parse_tar_command(["ls", "-l"]) is None
