"""Probe workers: thresholds, initial delay, startup gating, liveness hold."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from kubelite.kubelet.prober import Outcome, Result, probe_spec
from kubelite.kubelet.prober.spec import ProbeSpec
from kubelite.kubelet.prober.worker import ProbeWorker, Target


def spec(kind: str, **fields: object) -> ProbeSpec:
    field = {"liveness": "livenessProbe", "readiness": "readinessProbe",
             "startup": "startupProbe"}[kind]
    s = probe_spec({field: {"tcpSocket": {"port": 80}, **fields}}, kind)  # type: ignore[arg-type]
    assert s is not None
    return s


def scripted(results: list[Result]) -> Callable[[], Awaitable[Outcome]]:
    it = iter(results)

    async def run() -> Outcome:
        return Outcome(next(it), "out")
    return run


def worker(s: ProbeSpec, results: list[Result], clock: float = 100.0,
           gate: Callable[[], bool] = lambda: True) -> tuple[ProbeWorker, list[Result | None]]:
    changes: list[Result | None] = []
    w = ProbeWorker(s, Target("uid", "c", "cid", started_at=100.0), scripted(results),
                    lambda w, o: None, lambda w: changes.append(w.result), gate,
                    clock=lambda: clock)
    return w, changes


F, S, U = Result.FAILURE, Result.SUCCESS, Result.UNKNOWN


async def test_liveness_fails_only_after_failure_threshold_then_holds() -> None:
    w, changes = worker(spec("liveness", failureThreshold=3), [F, F, S, F, F, F])
    assert w.result is S  # liveness starts as success
    for _ in range(5):
        await w.probe_once()
    assert changes == [] and w.result is S  # F, F, S resets the count, F, F
    await w.probe_once()
    assert changes == [F] and w.on_hold


async def test_readiness_starts_unready_and_needs_success_threshold() -> None:
    w, changes = worker(spec("readiness", successThreshold=2, failureThreshold=1),
                        [S, S, F, U, S])
    assert w.result is F
    await w.probe_once()
    assert changes == []
    await w.probe_once()
    assert changes == [S]
    await w.probe_once()
    assert changes == [S, F] and not w.on_hold  # readiness keeps probing
    await w.probe_once()  # unknown: no change
    assert w.result is F


async def test_initial_delay_and_gate_skip_probing() -> None:
    w, _ = worker(spec("readiness", initialDelaySeconds=10), [S], clock=105.0)
    assert await w.probe_once() is False
    gated, _ = worker(spec("liveness"), [F], gate=lambda: False)
    assert await gated.probe_once() is False


async def test_startup_stops_after_success_and_ignores_the_gate() -> None:
    w, changes = worker(spec("startup", failureThreshold=5), [F, S], gate=lambda: False)
    assert w.result is None
    assert await w.probe_once() and await w.probe_once()
    assert changes == [S]
    assert await w.probe_once() is False  # no third run
