"""A container's probe as the prober runs it: the handler plus every timing field, defaulted.

Kubernetes' defaults (pkg/apis/core/v1/defaults.go): initialDelaySeconds 0, periodSeconds 10,
timeoutSeconds 1, successThreshold 1, failureThreshold 3. successThreshold must be 1 for
liveness and startup probes (validation refuses anything else; we clamp). The probe-level
terminationGracePeriodSeconds overrides the pod's when a liveness or startup failure kills.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

ProbeKind = Literal["liveness", "readiness", "startup"]
KINDS: tuple[ProbeKind, ...] = ("startup", "liveness", "readiness")
SPEC_FIELDS: dict[ProbeKind, str] = {
    "liveness": "livenessProbe", "readiness": "readinessProbe", "startup": "startupProbe",
}
HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")


@dataclass(frozen=True)
class ProbeSpec:
    """One probe of one container."""

    kind: ProbeKind
    handler: dict[str, Any] = field(hash=False, compare=True)  # the Probe dict itself
    initial_delay: float = 0.0
    period: float = 10.0
    timeout: float = 1.0
    success_threshold: int = 1
    failure_threshold: int = 3
    termination_grace: float | None = None  # probe-level terminationGracePeriodSeconds

    @property
    def title(self) -> str:
        """The word events start with: "Liveness", "Readiness", "Startup"."""
        return self.kind.capitalize()


def _positive(value: Any, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def probe_spec(container: dict[str, Any], kind: ProbeKind) -> ProbeSpec | None:
    """The container's `kind` probe with defaults applied, or None when it has none."""
    probe = container.get(SPEC_FIELDS[kind])
    if not probe or not any(probe.get(h) is not None for h in HANDLERS):
        return None
    success = int(_positive(probe.get("successThreshold"), 1))
    if kind != "readiness":
        success = 1
    grace = probe.get("terminationGracePeriodSeconds")
    return ProbeSpec(
        kind=kind,
        handler=probe,
        initial_delay=max(float(probe.get("initialDelaySeconds") or 0), 0.0),
        period=_positive(probe.get("periodSeconds"), 10.0),
        timeout=_positive(probe.get("timeoutSeconds"), 1.0),
        success_threshold=success,
        failure_threshold=int(_positive(probe.get("failureThreshold"), 3)),
        termination_grace=float(grace) if grace is not None else None,
    )


def container_probes(container: dict[str, Any]) -> dict[ProbeKind, ProbeSpec]:
    """All probes of a container, by kind."""
    out: dict[ProbeKind, ProbeSpec] = {}
    for kind in KINDS:
        spec = probe_spec(container, kind)
        if spec is not None:
            out[kind] = spec
    return out
