"""What every printer is made of: columns, a row function, and shared formatting.

A printer mirrors one `AddHandlers` entry of Kubernetes'
pkg/printers/internalversion/printers.go: its column definitions and the function
that turns one object into cells. The server always prints "wide" (kubectl picks the
priority-1 columns itself), so rows carry every column.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Obj = Mapping[str, Any]
RowFunc = Callable[[Obj, dt.datetime], list[Any]]
ConditionsFunc = Callable[[Obj], list[dict[str, str]] | None]

OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_ZERO_TIME = dt.datetime(1, 1, 1, tzinfo=dt.UTC)


@functools.cache
def _definitions() -> dict[str, Any]:
    path = Path(__file__).resolve().parent.parent / "definitions.json"
    with path.open(encoding="utf-8") as f:
        defs: dict[str, Any] = json.load(f)
    return defs


def doc(definition: str, prop: str) -> str:
    """The schema description of one property, as Go's SwaggerDoc()[prop] gives it."""
    short = definition if definition.startswith("io.k8s.") else "io.k8s.api." + definition
    props = _definitions().get(short, {}).get("properties", {})
    description: str = props.get(prop, {}).get("description", "")
    return description


@dataclass(frozen=True)
class Column:
    """One metav1.TableColumnDefinition."""

    name: str
    type: str
    description: str
    priority: int = 0
    format: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


@dataclass(frozen=True)
class Printer:
    """The columns of one kind and how to fill them from an object's JSON dict."""

    columns: tuple[Column, ...]
    row: RowFunc
    # Row conditions (only pods have them: Completed when Succeeded or Failed).
    conditions: ConditionsFunc | None = None


def name_column() -> Column:
    return Column("Name", "string", doc(OBJECT_META, "name"), format="name")


def age_column() -> Column:
    return Column("Age", "string", doc(OBJECT_META, "creationTimestamp"))


def columns(*cols: Column) -> tuple[Column, ...]:
    return tuple(cols)


# --- reading the JSON dict ---------------------------------------------------------------------


def meta(obj: Obj) -> Obj:
    m: Obj = obj.get("metadata") or {}
    return m


def spec(obj: Obj) -> Obj:
    s: Obj = obj.get("spec") or {}
    return s


def status(obj: Obj) -> Obj:
    s: Obj = obj.get("status") or {}
    return s


def name(obj: Obj) -> str:
    n: str = meta(obj).get("name") or ""
    return n


def quantity(resources: Obj | None, resource: str) -> str:
    """A quantity as printed; a missing one prints as Go's zero Quantity, "0"."""
    value = (resources or {}).get(resource)
    return str(value) if value is not None else "0"


# --- time ------------------------------------------------------------------------------------


def parse_time(value: str | None) -> dt.datetime | None:
    """An RFC 3339 (or MicroTime) timestamp; None when unset, unparsable or Go's zero time."""
    if not value:
        return None
    try:
        t = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return None if t == _ZERO_TIME else t


def human_duration(d: dt.timedelta) -> str:
    """Kubernetes' duration.HumanDuration: `45s`, `3m12s`, `15m`, `5h30m`, `2d3h`, `3y20d`."""
    ns = (d.days * 86_400 + d.seconds) * 1_000_000_000 + d.microseconds * 1_000
    seconds = abs(ns) // 1_000_000_000 * (1 if ns >= 0 else -1)  # truncated toward zero, as Go
    if seconds < -1:
        return "<invalid>"
    if seconds < 0:
        return "0s"
    if seconds < 60 * 2:
        return f"{seconds}s"
    minutes = ns // 60_000_000_000
    if minutes < 10:
        s = seconds % 60
        return f"{minutes}m" if s == 0 else f"{minutes}m{s}s"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = ns // 3_600_000_000_000
    if hours < 8:
        m = minutes % 60
        return f"{hours}h" if m == 0 else f"{hours}h{m}m"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        h = hours % 24
        return f"{hours // 24}d" if h == 0 else f"{hours // 24}d{h}h"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = hours // 24 % 365
        return f"{hours // 24 // 365}y" if days == 0 else f"{hours // 24 // 365}y{days}d"
    return f"{hours // 24 // 365}y"


def since(value: str | None, now: dt.datetime) -> str:
    """translateTimestampSince: the age of a timestamp, or `<unknown>` when unset."""
    return elapsed(parse_time(value), now)


def elapsed(t: dt.datetime | None, now: dt.datetime) -> str:
    """HumanDuration from `t` to `now`, or `<unknown>` when `t` is None."""
    if t is None:
        return "<unknown>"
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.UTC)
    return human_duration(now - t)


def age(obj: Obj, now: dt.datetime) -> str:
    return since(meta(obj).get("creationTimestamp"), now)


# --- shared cell formats ---------------------------------------------------------------------


def format_labels(labels: Mapping[str, str] | None) -> str:
    """labels.FormatLabels: `a=1,b=2` sorted by key, `<none>` when empty."""
    if not labels:
        return "<none>"
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels))


def container_cells(containers: Iterable[Obj] | None) -> tuple[str, str]:
    """layoutContainerCells: container names and images, each comma-joined."""
    items = list(containers or [])
    return (",".join(c.get("name") or "" for c in items),
            ",".join(c.get("image") or "" for c in items))


def list_with_more(items: list[str], more: bool, count: int, limit: int) -> str:
    """listWithMoreString: `a,b,c + 2 more...`, or `<unset>` when empty."""
    text = ",".join(items)
    if more:
        return f"{text} + {count - limit} more..."
    return text or "<unset>"
