"""Prometheus metrics: request counts and latencies by verb and resource, watches, store latency."""

from __future__ import annotations

import bisect
import time
from collections import defaultdict
from typing import Any

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Histogram:
    def __init__(self) -> None:
        self.counts = [0] * (len(BUCKETS) + 1)
        self.sum = 0.0
        self.total = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(BUCKETS, value)] += 1
        self.sum += value
        self.total += 1


def _labels(**kw: str) -> str:
    return ",".join(f'{k}="{v}"' for k, v in kw.items())


class Metrics:
    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, str], int] = defaultdict(int)
        self.latency: dict[tuple[str, str], Histogram] = defaultdict(Histogram)
        self.store_latency: dict[str, Histogram] = defaultdict(Histogram)

    def observe_request(self, verb: str, resource: str, code: int, seconds: float) -> None:
        self.requests[(verb, resource, str(code))] += 1
        if verb != "WATCH":
            self.latency[(verb, resource)].observe(seconds)

    def render(self, extra: dict[str, float] | None = None) -> str:
        out = [
            "# HELP apiserver_request_total Counter of apiserver requests by verb, resource and HTTP code.",
            "# TYPE apiserver_request_total counter",
        ]
        for (verb, resource, code), n in sorted(self.requests.items()):
            out.append(f"apiserver_request_total{{{_labels(verb=verb, resource=resource, code=code)}}} {n}")
        out += [
            "# HELP apiserver_request_duration_seconds Response latency by verb and resource.",
            "# TYPE apiserver_request_duration_seconds histogram",
        ]
        for (verb, resource), h in sorted(self.latency.items()):
            self._histogram(out, "apiserver_request_duration_seconds", h, verb=verb, resource=resource)
        out += [
            "# HELP apiserver_storage_duration_seconds Store operation latency by operation.",
            "# TYPE apiserver_storage_duration_seconds histogram",
        ]
        for op, h in sorted(self.store_latency.items()):
            self._histogram(out, "apiserver_storage_duration_seconds", h, operation=op)
        for name, value in (extra or {}).items():
            out += [f"# TYPE {name} gauge", f"{name} {value}"]
        return "\n".join(out) + "\n"

    @staticmethod
    def _histogram(out: list[str], name: str, h: Histogram, **labels: str) -> None:
        cumulative = 0
        base = _labels(**labels)
        for bound, count in zip((*BUCKETS, float("inf")), h.counts, strict=True):
            cumulative += count
            le = "+Inf" if bound == float("inf") else repr(bound)
            out.append(f'{name}_bucket{{{base},le="{le}"}} {cumulative}')
        out.append(f"{name}_sum{{{base}}} {h.sum}")
        out.append(f"{name}_count{{{base}}} {h.total}")


def verb_of(method: str, has_name: bool, watch: bool) -> str:
    if watch:
        return "WATCH"
    if method == "GET":
        return "GET" if has_name else "LIST"
    return {"POST": "POST", "PUT": "PUT", "PATCH": "PATCH", "DELETE": "DELETE"}.get(method, method)


class TimedStore:
    """Wraps a Store so every call's latency lands in `apiserver_storage_duration_seconds`."""

    def __init__(self, inner: Any, metrics: Metrics) -> None:
        self._inner = inner
        self._metrics = metrics

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in _TIMED or not callable(attr):
            return attr

        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return await attr(*args, **kwargs)
            finally:
                self._metrics.store_latency[name].observe(time.perf_counter() - start)

        return timed


_TIMED = frozenset({"get", "list", "create", "update", "delete", "compact", "current_revision"})
