"""TTL-after-finished controller (pkg/controller/ttlafterfinished): deletes a finished Job
(Complete or Failed) ttlSecondsAfterFinished after it finished, with its pods (Foreground)."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kubelite.client import NotFound
from kubelite.controllers.jobutil import condition
from kubelite.controllers.podutil import Obj, key_of, meta, parse_time, uid_of, utcnow
from kubelite.controllers.shared import SharedController, SharedInformers

log = logging.getLogger(__name__)


def finish_time(job: Obj) -> dt.datetime | None:
    """When the Job finished: its Complete or Failed condition's transition time."""
    for kind in ("Complete", "Failed"):
        c = condition(job, kind)
        if c is not None and c.get("status") == "True":
            return parse_time(c.get("lastTransitionTime"))
    return None


def time_left(job: Obj, now: dt.datetime) -> float | None:
    """Seconds until the Job expires (<= 0: now), or None when it never does."""
    ttl = (job.get("spec") or {}).get("ttlSecondsAfterFinished")
    if ttl is None or meta(job).get("deletionTimestamp"):
        return None
    finished = finish_time(job)
    if finished is None:
        return None
    return (finished + dt.timedelta(seconds=int(ttl)) - now).total_seconds()


class TTLAfterFinishedController(SharedController):
    """The kube-controller-manager "ttl-after-finished" controller."""

    name = "ttl-after-finished"

    def __init__(self, client: Any, shared: SharedInformers | None = None) -> None:
        super().__init__(client, shared)

    def setup(self) -> None:
        self.jobs = self.informer("jobs", raw=True)
        self.jobs.on_add(self._enqueue)
        self.jobs.on_update(lambda old, new: self._enqueue(new))

    def _enqueue(self, job: Obj) -> None:
        if (job.get("spec") or {}).get("ttlSecondsAfterFinished") is not None:
            self.queue.add(key_of(job))

    async def reconcile(self, key: str) -> float | None:
        job = self.jobs.get(key)
        if job is None:
            return None
        left = time_left(job, utcnow())
        if left is None:
            return None
        if left > 0:
            return left + 0.05
        ns, name = key.split("/", 1)
        try:  # the cache may be stale: the TTL could have been changed meanwhile
            fresh = await self.client.get("jobs", name, ns, raw=True)
            left = time_left(fresh, utcnow())
            if left is None:
                return None
            if left > 0:
                return left + 0.05
            log.info("cleaning up Job %s", key)
            await self.client.delete("jobs", name, ns, propagation_policy="Foreground",
                                     preconditions={"uid": uid_of(fresh)})
        except NotFound:
            pass
        return None
