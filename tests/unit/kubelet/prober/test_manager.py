"""The probe manager: workers follow running instances; started/ready; events; kills."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelite.kubelet.prober import ProbeManager, ProbeSpec, killing_message
from tests.helpers.wait import eventually

POD = {"metadata": {"uid": "u1", "name": "p", "namespace": "default"}}


def container(**probes: Any) -> dict[str, Any]:
    return {"name": "app", "image": "busybox", **probes}


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []
        self.changes: list[str] = []
        self.failures: list[tuple[str, str]] = []

    def emit(self, pod: dict[str, Any], reason: str, message: str, **kw: Any) -> None:
        self.events.append((reason, message))

    def on_failure(self, pod: dict[str, Any], c: dict[str, Any], cid: str, spec: ProbeSpec) -> None:
        self.failures.append((cid, spec.kind))


def manager(exit_codes: dict[str, int]) -> tuple[ProbeManager, Recorder]:
    rec = Recorder()

    async def exec_sync(cid: str, argv: list[str], timeout: float) -> tuple[int, bytes]:
        return exit_codes[argv[0]], b"said " + argv[0].encode()

    return ProbeManager(exec_sync, rec.emit, rec.changes.append, rec.on_failure), rec


def probe(cmd: str, **extra: Any) -> dict[str, Any]:
    return {"exec": {"command": [cmd]}, "periodSeconds": 0.05, "failureThreshold": 1, **extra}


async def test_no_probes_means_started_and_ready() -> None:
    m, _ = manager({})
    c = container()
    m.sync_pod(POD, "10.0.0.2", [(c, "c1", 0.0)])
    assert m.workers == {} and m.started("u1", c, "c1") and m.ready("u1", c, "c1")


async def test_readiness_follows_the_probe_and_reports_changes() -> None:
    codes = {"check": 1}
    m, rec = manager(codes)
    c = container(readinessProbe=probe("check"))
    m.sync_pod(POD, "10.0.0.2", [(c, "c1", 0.0)])
    try:
        assert not m.ready("u1", c, "c1")
        await eventually(lambda: ("Unhealthy", "Readiness probe failed: said check") in rec.events,
                         timeout=2.0)
        codes["check"] = 0
        await eventually(lambda: m.ready("u1", c, "c1"), timeout=2.0)
        assert rec.changes and rec.changes[-1] == "u1"
        assert not m.ready("u1", c, "c2")  # another instance: not this worker's result
    finally:
        await m.stop()


async def test_startup_gates_liveness_and_readiness() -> None:
    codes = {"started": 1, "alive": 1, "ready": 0}
    m, rec = manager(codes)
    c = container(startupProbe=probe("started", failureThreshold=1000),
                  livenessProbe=probe("alive"), readinessProbe=probe("ready"))
    m.sync_pod(POD, "10.0.0.2", [(c, "c1", 0.0)])
    try:
        await asyncio.sleep(0.2)
        assert not m.started("u1", c, "c1") and not m.ready("u1", c, "c1")
        assert rec.failures == []  # liveness would fail, but it has not run
        codes["started"] = 0
        await eventually(lambda: m.started("u1", c, "c1") and m.ready("u1", c, "c1"), timeout=2.0)
        await eventually(lambda: rec.failures == [("c1", "liveness")], timeout=2.0)
        assert ("Unhealthy", "Liveness probe failed: said alive") in rec.events
    finally:
        await m.stop()


async def test_new_instance_gets_new_workers_and_removal_stops_them() -> None:
    m, _ = manager({"check": 0})
    c = container(readinessProbe=probe("check"))
    m.sync_pod(POD, "10.0.0.2", [(c, "c1", 0.0)])
    first = m.workers[("u1", "app", "readiness")]
    m.sync_pod(POD, "10.0.0.2", [(c, "c2", 0.0)])
    second = m.workers[("u1", "app", "readiness")]
    assert second is not first and second.target.cid == "c2"
    m.sync_pod(POD, "10.0.0.2", [])
    assert m.workers == {}
    m.sync_pod(POD, "10.0.0.2", [(c, "c3", 0.0)])
    m.remove_pod("u1")
    assert m.workers == {}
    await m.stop()


def test_killing_message_is_the_kubelets() -> None:
    from kubelite.kubelet.prober import probe_spec

    spec = probe_spec({"livenessProbe": probe("x")}, "liveness")
    assert spec is not None
    assert killing_message("web", spec, True) == "Container web failed liveness probe, will be restarted"
    assert killing_message("web", spec, False) == "Container web failed liveness probe"
