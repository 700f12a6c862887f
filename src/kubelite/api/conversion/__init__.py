"""Kinds served in one version and stored in another (events.k8s.io/v1 Event over core/v1).

Kubernetes stores one Event and converts it for each API version; here the registry marks
the other version with `stored_as`, and the conversion declared for it turns request
bodies into the stored shape and stored objects into the served one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubelite.api.conversion import autoscaling, events

Obj = dict[str, Any]


@dataclass(frozen=True)
class Conversion:
    to_storage: Callable[[Obj], Obj]
    from_storage: Callable[[Obj], Obj]
    # field selector labels of the served version -> those of the stored one
    field_labels: dict[str, str]


CONVERSIONS: dict[tuple[str, str, str], Conversion] = {
    ("events.k8s.io", "v1", "Event"): Conversion(events.to_core, events.from_core, events.FIELD_LABELS),
    ("autoscaling", "v1", "HorizontalPodAutoscaler"): Conversion(
        autoscaling.to_v2, autoscaling.from_v2, autoscaling.FIELD_LABELS),
}


def conversion_for(group: str, version: str, kind: str) -> Conversion:
    return CONVERSIONS[(group, version, kind)]
