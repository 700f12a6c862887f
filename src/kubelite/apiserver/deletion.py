"""The decisions of a DELETE, as pure functions over the stored object and DeleteOptions.

Kubernetes' generic store (`store.go` Delete, `rest.BeforeDelete`,
`deletionFinalizersForGarbageCollection`) decides in this order: a graceful kind sets
deletionTimestamp and a grace period (a second delete may only shorten it); propagationPolicy
adds or removes the `orphan` / `foregroundDeletion` finalizers; an object left with
finalizers stays, marked as deleting. `rest.py` writes what these functions decide; which
kinds are graceful and what else holds an object back come from the kind's strategy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from kubelite.api import status as st
from kubelite.api.strategy import Strategy

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"
_GC_FINALIZERS = (ORPHAN, FOREGROUND)


def rfc3339(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def requested_grace(options: dict[str, Any]) -> int | None:
    """DeleteOptions.gracePeriodSeconds; a negative one counts as 1 s, as Kubernetes says."""
    requested = options.get("gracePeriodSeconds")
    if requested is None:
        return None
    try:
        value = int(requested)
    except (TypeError, ValueError, OverflowError):
        raise st.BadRequest(f"invalid gracePeriodSeconds {requested!r}") from None
    return 1 if value < 0 else value


def gc_finalizers(finalizers: list[str], options: dict[str, Any]) -> list[str]:
    """The object's finalizers after DeleteOptions (orphanDependents, propagationPolicy) have
    said whether dependents are orphaned, deleted first, or left to the background."""
    orphan_option = options.get("orphanDependents")
    policy = options.get("propagationPolicy")
    kept = [f for f in finalizers if f not in _GC_FINALIZERS]
    if orphan_option is not None:
        orphan, foreground = bool(orphan_option), False
    elif policy is not None:
        orphan, foreground = policy == "Orphan", policy == "Foreground"
    else:  # no say in this delete: what the object already carries stands
        first = next((f for f in finalizers if f in _GC_FINALIZERS), None)
        orphan, foreground = first == ORPHAN, first == FOREGROUND
    return kept + [ORPHAN] * orphan + [FOREGROUND] * foreground


@dataclass
class Decision:
    """What BeforeDelete decided: `graceful` (a grace period now runs or was shortened) or
    `pending` (a graceful deletion already runs and this delete changes nothing)."""

    graceful: bool = False
    pending: bool = False


def before_delete(strategy: Strategy, obj: Any, requested: int | None, now: dt.datetime) -> Decision:
    """rest.BeforeDelete: sets deletionTimestamp and deletionGracePeriodSeconds on `obj` for a
    kind that deletes gracefully."""
    meta = obj.metadata
    if not strategy.graceful_delete:
        return Decision()
    if meta.deletion_timestamp is not None:
        running = meta.deletion_grace_period_seconds
        if not running:  # marked, but with no grace left: delete it now
            return Decision()
        if requested is None or requested >= running:  # only a shorter grace changes anything
            return Decision(pending=True)
        started = _parse_time(meta.deletion_timestamp) - dt.timedelta(seconds=running)
        meta.deletion_timestamp = rfc3339(started + dt.timedelta(seconds=requested))
        meta.deletion_grace_period_seconds = requested
        return Decision(graceful=True)
    grace = strategy.check_graceful_delete(obj, requested)
    if grace is None:
        return Decision()
    meta.deletion_timestamp = rfc3339(now + dt.timedelta(seconds=grace))
    meta.deletion_grace_period_seconds = grace
    if meta.generation:  # controllers of an object being deleted see a new generation
        meta.generation += 1
    return Decision(graceful=True)


def mark_as_deleting(obj: Any, now: dt.datetime) -> None:
    """markAsDeleting: an object that stays for its finalizers, with no grace period (a
    first mark bumps its generation, as a graceful kind's BeforeDelete does)."""
    meta = obj.metadata
    if meta.deletion_timestamp is None and meta.generation:
        meta.generation += 1
    if meta.deletion_timestamp is None or _parse_time(meta.deletion_timestamp) > now:
        meta.deletion_timestamp = rfc3339(now)
    meta.deletion_grace_period_seconds = 0
