"""What the kubelet remembers about each container instance it created, on disk.

The runtime knows container ids and processes; only the kubelet knows which pod, which
container name and which restart attempt an id belongs to. One small JSON file per instance
(`AGENT_DIR/containers/<id>.json`) lets a restarted agent adopt running containers with the
same ids and restart counts, and find those of pods deleted while it was down.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Literal

Status = Literal["created", "running", "stopped", "unknown"]


@dataclass
class ContainerRecord:
    """One container instance: a pod's container `name`, its restart `attempt`."""

    id: str
    pod_uid: str
    namespace: str
    pod_name: str
    name: str
    attempt: int
    init: bool = False
    image: str = ""  # as written in the spec
    image_ref: str = ""  # repo digest: the status `imageID`
    image_name: str = ""  # normalised reference: the status `image`
    log_path: str = ""
    termination_log: str = ""  # host file bind-mounted at terminationMessagePath
    created_at: float = 0.0
    fallback_to_logs: bool = False  # terminationMessagePolicy FallbackToLogsOnError
    stop_signal: str = ""  # the image's STOPSIGNAL; empty: SIGTERM


@dataclass
class ContainerInfo:
    """A record plus what the runtime says about it now."""

    record: ContainerRecord
    status: Status
    exit_code: int | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    oom_killed: bool = False
    message: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    pid: int = 0  # of the running process: an ephemeral container targeting it joins its pid ns

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def exited(self) -> bool:
        return self.status == "stopped"


class RecordStore:
    """Container records under one directory, cached in memory."""

    def __init__(self, root: str) -> None:
        self.root = os.path.join(root, "containers")
        os.makedirs(self.root, exist_ok=True)
        self._records: dict[str, ContainerRecord] = {}
        for name in os.listdir(self.root):
            if not name.endswith(".json"):
                continue
            try:
                with open(os.path.join(self.root, name)) as f:
                    rec = ContainerRecord(**json.load(f))
            except (OSError, ValueError, TypeError):
                continue
            self._records[rec.id] = rec

    def put(self, rec: ContainerRecord) -> None:
        path = os.path.join(self.root, rec.id + ".json")
        with open(path + ".tmp", "w") as f:
            json.dump(asdict(rec), f)
        os.replace(path + ".tmp", path)
        self._records[rec.id] = rec

    def remove(self, cid: str) -> None:
        self._records.pop(cid, None)
        try:
            os.unlink(os.path.join(self.root, cid + ".json"))
        except FileNotFoundError:
            pass

    def get(self, cid: str) -> ContainerRecord | None:
        return self._records.get(cid)

    def all(self) -> list[ContainerRecord]:
        return list(self._records.values())

    def for_pod(self, pod_uid: str) -> list[ContainerRecord]:
        return [r for r in self._records.values() if r.pod_uid == pod_uid]

    def pod_uids(self) -> set[str]:
        return {r.pod_uid for r in self._records.values()}
