"""etcd snapshots, k3s' way: files in `--etcd-snapshot-dir` (default DATA_DIR/db/snapshots)
named `<prefix>-<member name>-<unix seconds>`; `on-demand` for `kubelite etcd-snapshot save`,
`etcd-snapshot` for the schedule (`--etcd-snapshot-schedule-cron`, default every 12 hours, in
local time), which keeps the newest `--etcd-snapshot-retention` (default 5) of its own. Each
server snapshots its own member into its own directory. A snapshot is `etcdctl snapshot save`'s
file; restoring one is `kubelite server --cluster-reset --cluster-reset-restore-path=FILE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from croniter import croniter

from kubelite.api import cron
from kubelite.etcd import etcdctl

log = logging.getLogger(__name__)

DEFAULT_CRON = "0 */12 * * *"
DEFAULT_RETENTION = 5
ON_DEMAND = "on-demand"
SCHEDULED = "etcd-snapshot"
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


@dataclass
class SnapshotSettings:
    """The server's snapshot flags (k3s' names)."""

    disabled: bool = False
    cron: str = DEFAULT_CRON
    retention: int = DEFAULT_RETENTION
    directory: Path | None = None  # None: DATA_DIR/db/snapshots
    member: str = ""  # this member's name, in every snapshot's name


@dataclass(frozen=True)
class Snapshot:
    name: str
    path: Path
    size: int
    created: float  # unix seconds (the file's modification time)

    @property
    def location(self) -> str:
        return self.path.resolve().as_uri()


def check_prefix(prefix: str) -> str:
    if not _PREFIX.match(prefix) or len(prefix) > 100:
        raise ValueError(f"invalid snapshot name {prefix!r}: lower-case letters, digits, '-' and '.'")
    return prefix


def check_cron(expression: str) -> str:
    """The schedule, checked as robfig/cron would (k3s' parser); ValueError otherwise."""
    try:
        return cron.normalize(expression)
    except cron.ScheduleError as e:
        raise ValueError(f"--etcd-snapshot-schedule-cron {expression!r}: {e}") from e


def snapshot_path(directory: Path, prefix: str, member: str, now: float) -> Path:
    return directory / f"{prefix}-{member}-{int(now)}"


async def save(client_url: str, directory: Path, prefix: str, member: str) -> Snapshot:
    """Save a snapshot of the member at `client_url` now."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = snapshot_path(directory, check_prefix(prefix), member, time.time())
    await etcdctl.snapshot_save(client_url, path)
    path.chmod(0o600)  # the store's whole contents, Secrets included
    return _snapshot(path)


def _snapshot(path: Path) -> Snapshot:
    st = path.stat()
    return Snapshot(path.name, path, st.st_size, st.st_mtime)


def listing(directory: Path) -> list[Snapshot]:
    """Every snapshot in `directory`, oldest first (etcdctl's partial `.part` files left out)."""
    if not directory.is_dir():
        return []
    found = [_snapshot(p) for p in directory.iterdir() if p.is_file() and not p.name.endswith(".part")]
    return sorted(found, key=lambda s: (s.created, s.name))


def delete(directory: Path, names: list[str]) -> list[str]:
    """Delete the named snapshots; the names not found (a name is never a path)."""
    missing = []
    for name in names:
        path = directory / name
        if "/" in name or name in ("", ".", "..") or not path.is_file():
            missing.append(name)
            continue
        path.unlink()
    return missing


def prune(directory: Path, prefix: str, retention: int) -> list[str]:
    """Delete the oldest snapshots named `<prefix>-...` beyond the newest `retention`."""
    mine = [s for s in listing(directory) if s.name.startswith(prefix + "-")]
    doomed = mine[:max(0, len(mine) - retention)]
    for s in doomed:
        s.path.unlink(missing_ok=True)
    return [s.name for s in doomed]


def next_time(expression: str, after: dt.datetime) -> dt.datetime:
    """The first time after `after` the schedule fires (local time, as k3s' cron)."""
    nxt: dt.datetime = croniter(check_cron(expression), after).get_next(dt.datetime)
    return nxt


class SnapshotSchedule:
    """Saves a snapshot at each time of the schedule, then prunes to the retention."""

    def __init__(self, client_url: str, directory: Path, settings: SnapshotSettings) -> None:
        self.client_url = client_url
        self.directory = directory
        self.settings = settings
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="etcd-snapshots")

    async def _run(self) -> None:
        s = self.settings
        while True:
            now = dt.datetime.now().astimezone()
            when = next_time(s.cron, now)
            await asyncio.sleep(max(0.0, (when - now).total_seconds()))
            try:
                snap = await save(self.client_url, self.directory, SCHEDULED, s.member)
                pruned = prune(self.directory, f"{SCHEDULED}-{s.member}", s.retention)
                log.info("saved etcd snapshot %s (%d bytes)%s", snap.name, snap.size,
                         f"; pruned {', '.join(pruned)}" if pruned else "")
            except (etcdctl.EtcdctlError, OSError) as e:
                log.error("scheduled etcd snapshot failed: %s", e)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
