"""The probe workers of every running container on the node (pkg/kubelet/prober/prober_manager.go).

The pod worker calls `sync_pod()` with the pod's running container instances after each
sync; workers are started for new instances and stopped for gone ones. The status code asks
`started()` and `ready()`; a readiness or startup change calls `on_status_change(uid)` so the
pod's status is written again, and a liveness or startup failure calls `on_failure(...)`,
whose job is to kill the container (the pod worker restarts it under its restartPolicy).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from kubelite.kubelet.prober.exec import ExecSync
from kubelite.kubelet.prober.results import Outcome, Result
from kubelite.kubelet.prober.runner import run_probe
from kubelite.kubelet.prober.spec import ProbeKind, ProbeSpec, container_probes
from kubelite.kubelet.prober.worker import ProbeWorker, Target

UNHEALTHY = "Unhealthy"
PROBE_WARNING = "ProbeWarning"

WorkerKey = tuple[str, str, ProbeKind]  # pod uid, container name, probe kind
Emit = Callable[..., None]  # EventRecorder.emit(pod, reason, message, warning=, container=)
OnFailure = Callable[[dict[str, Any], dict[str, Any], str, ProbeSpec], None]


def unhealthy_message(spec: ProbeSpec, outcome: Outcome) -> tuple[str, str] | None:
    """The event a probe run gives: (reason, message), or None for a plain success."""
    if outcome.result is Result.FAILURE:
        return UNHEALTHY, f"{spec.title} probe failed: {outcome.output}"
    if outcome.result is Result.UNKNOWN:
        return UNHEALTHY, f"{spec.title} probe errored: {outcome.output}"
    if outcome.result is Result.WARNING:
        return PROBE_WARNING, f"{spec.title} probe warning: {outcome.output}"
    return None


def killing_message(container: str, spec: ProbeSpec, restart: bool) -> str:
    """The Killing event of a liveness or startup failure, in the kubelet's words."""
    msg = f"Container {container} failed {spec.kind} probe"
    return f"{msg}, will be restarted" if restart else msg


class ProbeManager:
    def __init__(self, exec_sync: ExecSync, emit: Emit, on_status_change: Callable[[str], None],
                 on_failure: OnFailure) -> None:
        self.exec_sync = exec_sync
        self.emit = emit
        self.on_status_change = on_status_change
        self.on_failure = on_failure
        self.workers: dict[WorkerKey, ProbeWorker] = {}
        self.runs = 0  # probes run since start (for benchmarks)

    def sync_pod(self, pod: dict[str, Any], pod_ip: str,
                 running: list[tuple[dict[str, Any], str, float]]) -> None:
        """Make the workers match the pod's running instances: (container spec, id, started)."""
        uid = pod["metadata"]["uid"]
        wanted: set[WorkerKey] = set()
        for container, cid, started_at in running:
            for kind, spec in container_probes(container).items():
                key: WorkerKey = (uid, container["name"], kind)
                wanted.add(key)
                worker = self.workers.get(key)
                if worker is not None and (worker.target.cid != cid or worker.spec != spec):
                    worker.stop_soon()
                    worker = None
                if worker is None:
                    worker = self._new_worker(spec, Target(uid, container["name"], cid, started_at))
                    self.workers[key] = worker
                    worker.start()
                worker.context.update(pod=pod, container=container, pod_ip=pod_ip)
        for key in [k for k in self.workers if k[0] == uid and k not in wanted]:
            self.workers.pop(key).stop_soon()

    def _new_worker(self, spec: ProbeSpec, target: Target) -> ProbeWorker:
        holder: list[ProbeWorker] = []

        async def run() -> Outcome:
            ctx = holder[0].context
            self.runs += 1
            return await run_probe(spec, ctx["container"], ctx.get("pod_ip") or "", target.cid,
                                   self.exec_sync)

        def gate() -> bool:
            return self._started(target.pod_uid, target.container, target.cid)

        worker = ProbeWorker(spec, target, run, self._on_outcome, self._on_change, gate)
        holder.append(worker)
        return worker

    def _on_outcome(self, worker: ProbeWorker, outcome: Outcome) -> None:
        event = unhealthy_message(worker.spec, outcome)
        if event is not None and "pod" in worker.context:
            self.emit(worker.context["pod"], event[0], event[1], warning=True,
                      container=worker.target.container)

    def _on_change(self, worker: ProbeWorker) -> None:
        t = worker.target
        if worker.spec.kind == "startup" and worker.result is Result.SUCCESS:
            for kind in ("liveness", "readiness"):
                other = self.workers.get((t.pod_uid, t.container, kind))  # type: ignore[arg-type]
                if other is not None and other.target.cid == t.cid:
                    other.trigger()
        if worker.result is Result.FAILURE and worker.spec.kind in ("liveness", "startup"):
            self.on_failure(worker.context["pod"], worker.context["container"], t.cid,
                            worker.spec)
        self.on_status_change(t.pod_uid)

    def _result(self, uid: str, name: str, cid: str, kind: ProbeKind) -> Result | None:
        worker = self.workers.get((uid, name, kind))
        if worker is None or worker.target.cid != cid:
            return None
        return worker.result

    def _started(self, uid: str, name: str, cid: str) -> bool:
        worker = self.workers.get((uid, name, "startup"))
        if worker is None:
            return True
        return worker.target.cid == cid and worker.result is Result.SUCCESS

    def started(self, uid: str, container: dict[str, Any], cid: str) -> bool:
        """The container status `started` of a running instance."""
        if container.get("startupProbe") is None:
            return True
        return self._result(uid, container["name"], cid, "startup") is Result.SUCCESS

    def ready(self, uid: str, container: dict[str, Any], cid: str) -> bool:
        """The container status `ready` of a running instance: started, and its readiness
        probe succeeded (no readiness probe: ready once started)."""
        if not self.started(uid, container, cid):
            return False
        if container.get("readinessProbe") is None:
            return True
        return self._result(uid, container["name"], cid, "readiness") is Result.SUCCESS

    def remove_pod(self, uid: str) -> None:
        for key in [k for k in self.workers if k[0] == uid]:
            self.workers.pop(key).stop_soon()

    async def stop(self) -> None:
        workers = list(self.workers.values())
        self.workers.clear()
        for worker in workers:
            with contextlib.suppress(Exception):
                await worker.stop()
        await asyncio.sleep(0)
