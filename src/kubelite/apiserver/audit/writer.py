"""The audit log's writer: events are queued by the event loop and written, one JSON object per
line, by a thread of their own, so a slow disk never stalls a request. The file is rotated as
kube-apiserver's (lumberjack's) is: past `max_size_mb` it is renamed NAME-<time>.EXT, and
backups beyond `max_backups` or older than `max_age_days` are removed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import queue
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE_MB = 100  # lumberjack's size when the flag says 0
QUEUE_LIMIT = 10000  # events waiting; beyond it events are dropped (and counted), not queued
BACKUP_TIME_FORMAT = "%Y-%m-%dT%H-%M-%S.%f"
STDOUT = "-"


class AuditWriter:
    def __init__(self, path: str, max_size_mb: int = 0, max_backups: int = 0, max_age_days: int = 0) -> None:
        self.path = path
        self.max_bytes = (max_size_mb or DEFAULT_MAX_SIZE_MB) * 1024 * 1024
        self.max_backups = max_backups
        self.max_age_days = max_age_days
        self.dropped = 0
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(QUEUE_LIMIT)
        self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        self._file: IO[str] | None = None
        self._size = 0

    def start(self) -> None:
        if self.path != STDOUT:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def write(self, event: dict[str, Any]) -> None:
        """Queue one event (never blocks the caller)."""
        try:
            self._queue.put_nowait(event)
        except queue.Full:
            self.dropped += 1

    def close(self, timeout: float = 5.0) -> None:
        """Write what is queued, then stop."""
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            batch = [event]
            while event is not None and not self._queue.empty():  # write what piled up at once
                event = self._queue.get_nowait()
                batch.append(event)
            lines = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in batch if e is not None)
            try:
                self._emit(lines)
            except OSError as e:
                log.warning("audit log %s: %s", self.path, e)
            if batch[-1] is None:
                if self._file is not None and self._file is not sys.stdout:
                    self._file.close()
                return

    def _emit(self, lines: str) -> None:
        if self.path == STDOUT:
            sys.stdout.write(lines)
            sys.stdout.flush()
            return
        if self._file is None:
            self._open()
        elif self._size + len(lines) > self.max_bytes:
            self._rotate()
        assert self._file is not None
        self._file.write(lines)
        self._file.flush()
        self._size += len(lines)

    def _open(self) -> None:
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._file = os.fdopen(fd, "a")
        self._size = os.fstat(fd).st_size

    def _rotate(self) -> None:
        assert self._file is not None
        self._file.close()
        base, ext = os.path.splitext(self.path)
        stamp = dt.datetime.now(dt.UTC).strftime(BACKUP_TIME_FORMAT)[:-3]  # milliseconds
        os.replace(self.path, f"{base}-{stamp}{ext}")
        self._open()
        self._prune(base, ext)

    def _prune(self, base: str, ext: str) -> None:
        directory, stem = os.path.split(base)
        backups = sorted(p for p in Path(directory or ".").glob(f"{stem}-*{ext}") if p.is_file())
        doomed = set(backups[:-self.max_backups]) if self.max_backups else set()
        if self.max_age_days:
            cutoff = time.time() - self.max_age_days * 86400
            doomed |= {p for p in backups if p.stat().st_mtime < cutoff}
        for p in doomed:
            p.unlink(missing_ok=True)
