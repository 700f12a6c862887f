"""Reconcile one pod: desired (the Pod from the API) against actual (the runtime).

`PodSyncer.sync(uid, pod)` is idempotent and is called by one worker per pod uid at a time
(the work queue guarantees that). Each call looks at what runs, takes the next steps (sandbox,
image, init containers in order, app containers, restarts with back-off), writes the status,
and returns when it wants to be called again. Container exits wake it through `requeue`.

Its parts live beside it: the reading of the pod spec in `pod_spec`, image pulls in
`image_pulls`, the stop sequence of one container in `container_stop`, exit messages in
`termination_message`, and the status fields in `pod_status`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kubelite.client import ApiClient, NotFound
from kubelite.kubelet import events as ev
from kubelite.kubelet.backoff import Backoff, go_duration
from kubelite.kubelet.command import NoCommandError, container_args, working_dir
from kubelite.kubelet.container_config import build_config, verify_run_as_non_root
from kubelite.kubelet.container_stop import stop_container
from kubelite.kubelet.envvars import ConfigError, container_env, merge_image_env, service_env
from kubelite.kubelet.ephemeral import ephemeral_status, target_pid_namespace, target_waiting
from kubelite.kubelet.events import EventRecorder
from kubelite.kubelet.eviction import EVICTION_GRACE, evicted_status
from kubelite.kubelet.hooks import run_hook
from kubelite.kubelet.image_pulls import ImagePuller
from kubelite.kubelet.pod_resources import (
    ensure_pod_cgroup,
    lowest_settable_oom_score_adj,
    memory_bytes,
    oom_score_adj,
    report_oom,
)
from kubelite.kubelet.pod_spec import (
    hostname_env,
    needs_pod_ip,
    pod_with_ips,
    sandbox_spec,
    should_restart,
)
from kubelite.kubelet.pod_status import (
    CRASH_LOOP_BACK_OFF,
    POD_INITIALIZING,
    Waiting,
    container_status,
    keep_transition_times,
    other_conditions,
    pod_conditions,
    pod_phase,
    qos_class,
    rfc3339,
)
from kubelite.kubelet.prober import ProbeManager, ProbeSpec, killing_message
from kubelite.kubelet.records import ContainerInfo, ContainerRecord, RecordStore
from kubelite.kubelet.runtime_service import RuntimeService, SandboxInfo
from kubelite.kubelet.termination_message import termination_message
from kubelite.kubelet.volumes import VolumeManager
from kubelite.runtime.spec import Namespace

log = logging.getLogger(__name__)

TERMINAL = ("Succeeded", "Failed")
CONFIG_RETRY = 2.0
VOLUME_RETRY = 2.0
ORPHAN_GRACE = 2


class PodSyncer:
    """The per-pod reconcile logic, shared by every pod worker of the agent."""

    def __init__(self, rt: RuntimeService, records: RecordStore, client: ApiClient,
                 events: EventRecorder, set_status: Callable[[str, str, str, dict[str, Any]], None],
                 requeue: Callable[[str, float], None], *, node_name: str, node_ip: str,
                 logs_dir: str, allocatable: dict[str, str] | None = None,
                 cluster_dns: list[str] | None = None, cluster_domain: str = "cluster.local",
                 volumes: VolumeManager | None = None,
                 services: Callable[[], list[dict[str, Any]]] | None = None) -> None:
        self.rt = rt
        self.records = records
        self.client = client
        self.events = events
        self.set_status = set_status
        self.requeue = requeue
        self.node_name = node_name
        self.node_ip = node_ip
        self.logs_dir = logs_dir
        self.allocatable = allocatable or {}
        self.cluster_dns = cluster_dns or []
        self.cluster_domain = cluster_domain
        self.services = services  # the cluster's Services, for the pods' Service variables
        self.crash_backoff = Backoff()
        self.waiting: dict[tuple[str, str], Waiting] = {}
        self.images = ImagePuller(rt, events, self.waiting, self._fetch)
        self._infos: dict[str, ContainerInfo] = {}  # cache; stopped instances never change
        self._waiters: dict[str, asyncio.Task[None]] = {}
        self._sandboxes: dict[str, SandboxInfo] = {}
        self._start_times: dict[str, str] = {}
        # the conditions last computed per pod: the API's copy may lag behind our own write, and
        # a transition time must not move when that stale copy is compared (status manager's
        # podStatuses cache in Kubernetes)
        self._conditions: dict[str, list[dict[str, Any]]] = {}
        self._terminated: set[str] = set()  # pods whose termination finished
        self._torn_down: set[str] = set()  # deleted pods whose containers and sandbox are gone
        self._delete_sent: set[str] = set()  # ... and whose final DELETE the server took
        self.evictions: dict[str, str] = {}  # uid -> message: the eviction manager's asks
        self.pod_pids_limit: int | None = None  # pids.max of each pod cgroup
        self.oom_reported: set[str] = set()  # container ids whose OOM kill has an event
        self.oom_score_floor = lowest_settable_oom_score_adj()
        self.volumes = volumes
        self.probes = ProbeManager(rt.exec_sync, events.emit, lambda uid: requeue(uid, 0),
                                   self._on_probe_failure)
        self._probe_kills: set[asyncio.Task[None]] = set()

    # -- runtime state ----------------------------------------------------------------------

    async def info(self, rec: ContainerRecord) -> ContainerInfo:
        cached = self._infos.get(rec.id)
        if cached is not None and (cached.exited or rec.id in self._waiters):
            return cached
        info = await self.rt.container_info(rec)
        if info.exited:
            info.message = termination_message(rec, info.exit_code)
            if info.oom_killed:
                report_oom(self.events, self.oom_reported, rec, None)
        self._infos[rec.id] = info
        if info.status in ("running", "created"):
            self._watch(rec)
        return info

    def _watch(self, rec: ContainerRecord) -> None:
        if rec.id in self._waiters:
            return

        async def wait() -> None:
            try:
                await self.rt.wait_container(rec.id)
            except Exception as e:  # noqa: BLE001 - the periodic resync notices it
                log.debug("waiting for %s: %s", rec.id, e)
                await asyncio.sleep(1)
            self._infos.pop(rec.id, None)
            self._waiters.pop(rec.id, None)
            self.requeue(rec.pod_uid, 0)

        self._waiters[rec.id] = asyncio.create_task(wait(), name=f"wait-{rec.id[:12]}")

    async def instances(self, uid: str) -> dict[str, list[ContainerInfo]]:
        """This pod's container instances by container name, oldest first."""
        out: dict[str, list[ContainerInfo]] = {}
        recs = sorted(self.records.for_pod(uid), key=lambda r: (r.name, r.attempt))
        infos = await asyncio.gather(*(self.info(r) for r in recs))
        for info in infos:
            out.setdefault(info.record.name, []).append(info)
        return out

    # -- the reconcile step -----------------------------------------------------------------

    def sandbox_info(self, uid: str) -> SandboxInfo | None:
        """The pod's running sandbox (its namespaces), if it has one."""
        return self._sandboxes.get(uid)

    async def sync(self, uid: str, pod: dict[str, Any] | None) -> float | None:
        """Make the machine match the pod; return seconds until the next sync is wanted."""
        if pod is None:
            await self.cleanup(uid, grace=ORPHAN_GRACE)
            return None
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            await self.terminate(pod)
            return None
        if uid in self._terminated:
            return None
        if uid in self.evictions:
            await self.evict(pod, self.evictions[uid])
            return None
        spec = pod.get("spec") or {}
        policy = spec.get("restartPolicy") or "Always"
        infos = await self.instances(uid)
        previous = pod.get("status") or {}
        if previous.get("phase") in TERMINAL and not any(
                i.status == "running" for lst in infos.values() for i in lst):
            await self._finish_terminal(uid)
            return None
        self._start_times.setdefault(uid, previous.get("startTime") or rfc3339())
        if self.volumes is not None:
            wait = await self._mount_volumes(pod, infos)
            if wait is not None:
                return wait
            over_limit = await self.volumes.over_limit(pod)
            if over_limit:  # an emptyDir over its sizeLimit
                await self.evict(pod, over_limit)
                return None
        try:
            sandbox = await self._sandbox(pod)
        except Exception as e:
            self.events.emit(pod, ev.FAILED_CREATE_POD_SANDBOX,
                             f"Failed to create pod sandbox: {e}", warning=True)
            self._publish(pod, None, infos)
            raise
        delays: list[float] = []
        init_ok = True
        for c in spec.get("initContainers") or []:
            inst = infos.get(c["name"], [])
            cur = inst[-1] if inst else None
            if cur is not None and cur.exited and cur.exit_code == 0:
                continue
            init_ok = False
            if cur is None:
                delays.append(await self._start(pod, c, sandbox, 0, init=True))
            elif cur.exited and policy != "Never":
                delays.append(await self._restart(pod, c, sandbox, cur, init=True))
            break
        if init_ok:
            await asyncio.gather(*(
                self._ensure_app_container(pod, c, sandbox, infos.get(c["name"], []), policy,
                                           delays)
                for c in spec.get("containers") or []
            ))
        for c in spec.get("ephemeralContainers") or []:
            if c["name"] not in infos:  # started once, never restarted
                delays.append(await self._start_ephemeral(pod, c, sandbox, infos))
        infos = await self.instances(uid)
        sandbox = self._sandboxes.get(uid, sandbox)  # with its IP, once CNI is done
        self._sync_probes(pod, sandbox, infos)
        phase = self._publish(pod, sandbox, infos)
        if phase in TERMINAL:
            await self._finish_terminal(uid)
            return None
        wanted = [d for d in delays if d and d > 0]
        return min(wanted) if wanted else None

    async def _ensure_app_container(self, pod: dict[str, Any], c: dict[str, Any],
                                    sandbox: SandboxInfo, inst: list[ContainerInfo],
                                    policy: str, delays: list[float]) -> None:
        cur = inst[-1] if inst else None
        if cur is None:
            delays.append(await self._start(pod, c, sandbox, 0, init=False))
        elif cur.exited and should_restart(policy, cur.exit_code):
            delays.append(await self._restart(pod, c, sandbox, cur, init=False))

    async def _start_ephemeral(self, pod: dict[str, Any], c: dict[str, Any],
                               sandbox: SandboxInfo,
                               infos: dict[str, list[ContainerInfo]]) -> float:
        """An ephemeral container, in its target's pid namespace when it names one."""
        target = c.get("targetContainerName")
        pid_ns = None
        if target:
            inst = infos.get(target)
            current = await self.rt.container_info(inst[-1].record) if inst else None
            pid_ns = target_pid_namespace(current)
            if pid_ns is None:
                self.waiting[(pod["metadata"]["uid"], c["name"])] = target_waiting(target)
                return CONFIG_RETRY
        return await self._start(pod, c, sandbox, 0, init=False, pid_namespace=pid_ns)

    async def _sandbox(self, pod: dict[str, Any]) -> SandboxInfo:
        uid = pod["metadata"]["uid"]
        sandbox = self._sandboxes.get(uid)
        if sandbox is None:
            await ensure_pod_cgroup(self.rt, pod, qos_class(pod), self.pod_pids_limit)
            # CNI runs while the containers are created, unless their env needs the pod IP.
            sandbox = await self.rt.ensure_sandbox(
                sandbox_spec(pod, self.cluster_dns, self.cluster_domain),
                wait_network=needs_pod_ip(pod))
            self._sandboxes[uid] = sandbox
        return sandbox

    async def _network_ready(self, pod: dict[str, Any], sandbox: SandboxInfo) -> SandboxInfo:
        """The sandbox once its network is up (a container starts only then)."""
        if sandbox.ip or sandbox.netns is None:
            return sandbox
        ready = await self.rt.ensure_sandbox(
            sandbox_spec(pod, self.cluster_dns, self.cluster_domain))
        self._sandboxes[pod["metadata"]["uid"]] = ready
        return ready

    async def _restart(self, pod: dict[str, Any], c: dict[str, Any], sandbox: SandboxInfo,
                       cur: ContainerInfo, *, init: bool) -> float:
        uid, name = pod["metadata"]["uid"], c["name"]
        key = (uid, name)
        finished = cur.finished_at.timestamp() if cur.finished_at else time.time()
        remaining = self.crash_backoff.remaining(key, finished)
        if remaining > 0:
            meta = pod["metadata"]
            delay = go_duration(self.crash_backoff.delay(key))
            self.waiting[key] = Waiting(
                CRASH_LOOP_BACK_OFF,
                f"back-off {delay} restarting failed container={name} "
                f"pod={meta['name']}_{meta.get('namespace')}({uid})")
            self.events.emit(pod, ev.BACK_OFF, "Back-off restarting failed container "
                             f"{name} in pod {meta['name']}_{meta.get('namespace')}({uid})",
                             warning=True, container=name)
            return remaining
        self.crash_backoff.next(key)
        return await self._start(pod, c, sandbox, cur.record.attempt + 1, init=init)

    async def _mount_volumes(self, pod: dict[str, Any],
                             infos: dict[str, list[ContainerInfo]]) -> float | None:
        """Volumes before containers: None to go on, else seconds until the next try."""
        assert self.volumes is not None
        uid = pod["metadata"]["uid"]
        result = await self.volumes.mount_pod(pod)
        for msg in result.failures:
            if self.volumes.should_report(uid, msg):
                self.events.emit(pod, ev.FAILED_MOUNT, msg, warning=True)
        if not result.ready:
            self._publish(pod, self._sandboxes.get(uid), infos)
            return VOLUME_RETRY
        return None

    # -- starting one container -------------------------------------------------------------

    def _service_env(self, pod: dict[str, Any]) -> dict[str, str]:
        if self.services is None:
            return {}
        links = (pod.get("spec") or {}).get("enableServiceLinks")
        return service_env(self.services(), pod["metadata"].get("namespace") or "default",
                           links is not False)

    async def _fetch(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        """An object from the API (for env sources and pull secrets); None if it is absent."""
        try:
            obj: dict[str, Any] = await self.client.get(kind, name, namespace, raw=True)
            return obj
        except NotFound:
            return None

    async def _start(self, pod: dict[str, Any], c: dict[str, Any], sandbox: SandboxInfo,
                     attempt: int, *, init: bool, pid_namespace: str | None = None) -> float:
        """Pull, create, start and run postStart for one container; the requeue delay."""
        meta = pod["metadata"]
        uid, name = meta["uid"], c["name"]
        key = (uid, name)
        image = await self.images.pull(pod, c)
        if isinstance(image, float | int):
            return float(image)
        try:
            pairs = await container_env(pod_with_ips(pod, sandbox.ip, self.node_ip), c,
                                        self._fetch, self.allocatable, self._service_env(pod))
            env_map = dict(pairs)
            env = merge_image_env([f"HOSTNAME={hostname_env(pod)}",
                                   *(image.config.get("Env") or [])], pairs)
            args = container_args(c, image.config, env_map)
            mounts = self.volumes.container_mounts(pod, c, env_map) if self.volumes else []
            verify_run_as_non_root(pod, c, image.config)
        except (ConfigError, NoCommandError) as e:
            self.waiting[key] = Waiting(e.reason, str(e))
            self.events.emit(pod, ev.FAILED, f"Error: {e}", warning=True, container=name)
            return CONFIG_RETRY
        log_path = os.path.join(self.pod_log_dir(pod), name, f"{attempt}.log")
        cid = secrets.token_hex(16)
        term_log = os.path.join(self.pod_log_dir(pod), name, f".termination-{attempt}")
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(log_path)  # a stale log of an instance that never ran
        open(term_log, "w").close()
        rec = ContainerRecord(
            id=cid, pod_uid=uid, namespace=meta.get("namespace") or "default",
            pod_name=meta["name"], name=name, attempt=attempt, init=init,
            image=c.get("image", ""), image_ref=image.ref, image_name=image.name,
            log_path=log_path, termination_log=term_log, created_at=time.time(),
            fallback_to_logs=c.get("terminationMessagePolicy") == "FallbackToLogsOnError",
            stop_signal=str(image.config.get("StopSignal") or ""),
        )
        config = build_config(pod, c, sandbox, args, env, working_dir(c, image.config),
                              image.config, term_log, extra_mounts=mounts)
        if pid_namespace is not None:
            config.pid = Namespace.join(pid_namespace)
        config.oom_score_adj = max(self.oom_score_floor, oom_score_adj(
            pod, c, qos_class(pod), memory_bytes(self.allocatable)))
        self.records.put(rec)
        try:
            await self.rt.create_container(rec, config, image, qos_class(pod))
        except Exception as e:  # noqa: BLE001 - surfaced in status and events
            self.records.remove(cid)
            self.waiting[key] = Waiting("CreateContainerError", str(e))
            self.events.emit(pod, ev.FAILED, f"Error: {e}", warning=True, container=name)
            log.warning("creating container %s of %s/%s: %s", name, rec.namespace, rec.pod_name, e)
            return CONFIG_RETRY
        self.events.emit(pod, ev.CREATED, f"Created container {name}", container=name)
        try:
            sandbox = await self._network_ready(pod, sandbox)
        except Exception as e:  # noqa: BLE001 - the sandbox is gone; the next sync remakes it
            self._sandboxes.pop(uid, None)
            await self._remove_instance(rec, keep_log=False)
            self.events.emit(pod, ev.FAILED_CREATE_POD_SANDBOX,
                             f"Failed to create pod sandbox: {e}", warning=True)
            return CONFIG_RETRY
        try:
            await self.rt.start_container(cid)
        except Exception as e:  # noqa: BLE001
            self.waiting[key] = Waiting("RunContainerError", str(e))
            self.events.emit(pod, ev.FAILED, f"Error: {e}", warning=True, container=name)
            return CONFIG_RETRY
        self.waiting.pop(key, None)
        self._infos[cid] = ContainerInfo(rec, "running", started_at=datetime.now(UTC))
        self._watch(rec)
        self.events.emit(pod, ev.STARTED, f"Started container {name}", container=name)
        await self._gc_instances(uid, name)
        post_start = (c.get("lifecycle") or {}).get("postStart")
        if post_start:
            grace = float((pod.get("spec") or {}).get("terminationGracePeriodSeconds") or 30)
            err = await run_hook(self.rt, cid, post_start, c, sandbox.ip, grace)
            if err:
                self.events.emit(pod, ev.FAILED_POST_START_HOOK, err, warning=True,
                                 container=name)
                await self._stop_container(pod, c, rec, 0, reason="FailedPostStartHook")
        return 0.0

    async def _gc_instances(self, uid: str, name: str) -> None:
        """Keep the current and the previous instance (for `logs --previous`)."""
        recs = sorted((r for r in self.records.for_pod(uid) if r.name == name),
                      key=lambda r: r.attempt)
        for old in recs[:-2]:
            await self._remove_instance(old, keep_log=False)

    async def _remove_instance(self, rec: ContainerRecord, keep_log: bool = True) -> None:
        with contextlib.suppress(Exception):
            await self.rt.remove_container(rec)
        task = self._waiters.pop(rec.id, None)
        if task:
            task.cancel()
        self._infos.pop(rec.id, None)
        self.records.remove(rec.id)
        if not keep_log:
            for path in (rec.log_path, rec.termination_log):
                with contextlib.suppress(OSError):
                    os.unlink(path)

    # -- status -----------------------------------------------------------------------------

    def _publish(self, pod: dict[str, Any], sandbox: SandboxInfo | None,
                 infos: dict[str, list[ContainerInfo]]) -> str:
        status = self.compute_status(pod, sandbox, infos)
        meta = pod["metadata"]
        self.set_status(meta["uid"], meta.get("namespace") or "default", meta["name"], status)
        return str(status["phase"])

    def compute_status(self, pod: dict[str, Any], sandbox: SandboxInfo | None,
                       infos: dict[str, list[ContainerInfo]]) -> dict[str, Any]:
        meta, spec = pod["metadata"], pod.get("spec") or {}
        uid = meta["uid"]
        runtime = self.rt.runtime_name
        init_specs = spec.get("initContainers") or []
        init_statuses = []
        blocked = False
        for c in init_specs:
            inst = infos.get(c["name"], [])
            w = self.waiting.get((uid, c["name"]))
            if inst and inst[-1].exited and inst[-1].exit_code != 0 and w is None and \
                    (spec.get("restartPolicy") or "Always") != "Never":
                w = Waiting(CRASH_LOOP_BACK_OFF, "")
            cs = container_status(c, inst, w, runtime,
                                  default_waiting=POD_INITIALIZING if blocked else "PodInitializing")
            cs["ready"] = bool(inst and inst[-1].exited and inst[-1].exit_code == 0)
            cs["started"] = bool(inst and inst[-1].status == "running")
            init_statuses.append(cs)
            blocked = True
        init_pending = any(not cs["ready"] for cs in init_statuses)
        statuses = []
        for c in spec.get("containers") or []:
            w = self.waiting.get((uid, c["name"]))
            default = "PodInitializing" if init_pending else "ContainerCreating"
            inst = infos.get(c["name"], [])
            cs = container_status(c, inst, w, runtime, default_waiting=default)
            if cs["ready"]:  # running: the probes say whether it started and is ready
                cs["started"] = self.probes.started(uid, c, inst[-1].id)
                cs["ready"] = self.probes.ready(uid, c, inst[-1].id)
            statuses.append(cs)
        phase = pod_phase(pod, init_statuses, statuses)
        previous = pod.get("status") or {}
        now = rfc3339()
        conds = pod_conditions(pod, phase, sandbox is not None, init_statuses, statuses)
        keep_transition_times(conds, self._conditions.get(uid, previous.get("conditions")), now)
        self._conditions[uid] = [dict(c) for c in conds]
        for old in previous.get("conditions") or []:
            if old.get("type") == "PodScheduled":
                conds[-1] = old
        conds += other_conditions(previous.get("conditions"))
        status: dict[str, Any] = {
            "phase": phase,
            "conditions": conds,
            "hostIP": self.node_ip,
            "hostIPs": [{"ip": self.node_ip}],
            "startTime": self._start_times.get(uid) or previous.get("startTime") or now,
            "qosClass": qos_class(pod),
            "containerStatuses": statuses,
        }
        ip = sandbox.ip if sandbox else previous.get("podIP")
        if ip:
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        if init_statuses:
            status["initContainerStatuses"] = init_statuses
        ephemeral = [ephemeral_status(c, infos.get(c["name"], []),
                                      self.waiting.get((uid, c["name"])), runtime)
                     for c in spec.get("ephemeralContainers") or []]
        if ephemeral:
            status["ephemeralContainerStatuses"] = ephemeral
        return status

    # -- probes -----------------------------------------------------------------------------

    def _sync_probes(self, pod: dict[str, Any], sandbox: SandboxInfo | None,
                     infos: dict[str, list[ContainerInfo]]) -> None:
        """Probe workers for the running instances of the pod's app containers."""
        running = []
        for c in (pod.get("spec") or {}).get("containers") or []:
            inst = infos.get(c["name"])
            if inst and inst[-1].status == "running":
                started = inst[-1].started_at
                running.append((c, inst[-1].id, started.timestamp() if started else time.time()))
        self.probes.sync_pod(pod, sandbox.ip if sandbox else "", running)

    def _on_probe_failure(self, pod: dict[str, Any], c: dict[str, Any], cid: str,
                          spec: ProbeSpec) -> None:
        task = asyncio.get_running_loop().create_task(self._kill_for_probe(pod, c, cid, spec))
        self._probe_kills.add(task)
        task.add_done_callback(self._probe_kills.discard)

    async def _kill_for_probe(self, pod: dict[str, Any], c: dict[str, Any], cid: str,
                              spec: ProbeSpec) -> None:
        """A failed liveness or startup probe: kill the container; the restartPolicy decides
        whether the next sync starts it again."""
        rec = self.records.get(cid)
        if rec is None:
            return
        pod_spec = pod.get("spec") or {}
        restart = (pod_spec.get("restartPolicy") or "Always") != "Never"
        grace = spec.termination_grace
        if grace is None:
            grace = float(pod_spec.get("terminationGracePeriodSeconds", 30) or 0)
        try:
            await self._stop_container(pod, c, rec, grace,
                                       message=killing_message(c["name"], spec, restart))
        finally:
            self.requeue(rec.pod_uid, 0)

    # -- stopping, ending, evicting ---------------------------------------------------------

    def pod_log_dir(self, pod: dict[str, Any]) -> str:
        meta = pod["metadata"]
        return os.path.join(self.logs_dir,
                            f"{meta.get('namespace') or 'default'}_{meta['name']}_{meta['uid']}")

    async def _stop_container(self, pod: dict[str, Any] | None, c: dict[str, Any] | None,
                              rec: ContainerRecord, grace: float, reason: str = "",
                              message: str = "") -> None:
        info = await self.info(rec)
        if info.exited:
            return
        ip = self._sandboxes[rec.pod_uid].ip if rec.pod_uid in self._sandboxes else ""
        await stop_container(self.rt, self.events, pod, c, rec, grace, ip,
                             reason=reason, message=message)
        self._infos.pop(rec.id, None)

    async def _stop_all(self, uid: str, pod: dict[str, Any] | None, grace: float) -> None:
        specs: dict[str, dict[str, Any]] = {}
        if pod is not None:
            spec = pod.get("spec") or {}
            for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
                specs[c["name"]] = c
        latest: dict[str, ContainerRecord] = {}
        for rec in self.records.for_pod(uid):
            if rec.name not in latest or rec.attempt > latest[rec.name].attempt:
                latest[rec.name] = rec
        await asyncio.gather(*(self._stop_container(pod, specs.get(r.name), r, grace)
                               for r in latest.values()))

    async def _finish_terminal(self, uid: str) -> None:
        """A pod that ended: its containers stay (for logs), its sandbox and IP go."""
        if uid in self._terminated:
            return
        self.probes.remove_pod(uid)
        await self._stop_all(uid, None, 0)
        await self.rt.remove_sandbox(uid)
        self._sandboxes.pop(uid, None)
        if self.volumes is not None:  # emptyDirs stay until the pod is deleted
            await self.volumes.unmount_terminated(uid)
        self._terminated.add(uid)

    async def evict(self, pod: dict[str, Any], message: str) -> None:
        """Evict the pod (memory pressure or local storage over its limit): an Evicted event,
        its containers killed at once, phase Failed with reason Evicted. Run by its worker."""
        meta = pod["metadata"]
        uid = meta["uid"]
        self.evictions.pop(uid, None)
        self.events.emit(pod, ev.EVICTED, message, warning=True)
        await self._stop_all(uid, pod, EVICTION_GRACE)
        status = self.compute_status(pod, self._sandboxes.get(uid), await self.instances(uid))
        self.set_status(uid, meta.get("namespace") or "default", meta["name"],
                        evicted_status(status, message, rfc3339()))
        await self._finish_terminal(uid)

    async def terminate(self, pod: dict[str, Any]) -> None:
        """Graceful deletion: preStop, SIGTERM, grace period, SIGKILL, teardown, DELETE.

        A pod held by a finalizer stays in the API after that: later syncs of it do nothing,
        so its last status (containers terminated) is not overwritten."""
        meta = pod["metadata"]
        uid = meta["uid"]
        if uid not in self._torn_down:
            self.probes.remove_pod(uid)
            grace = meta.get("deletionGracePeriodSeconds")
            if grace is None:
                grace = (pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30)
            await self._stop_all(uid, pod, float(grace))
            infos = await self.instances(uid)
            if uid not in self._terminated:
                sandbox = self._sandboxes.get(uid)
                status = self.compute_status(pod, sandbox, infos)
                self.set_status(uid, meta.get("namespace") or "default", meta["name"], status)
            await self.cleanup(uid, grace=0, pod=pod)
            self._torn_down.add(uid)
        if uid in self._delete_sent:
            return
        try:
            await self.client.delete("pods", meta["name"], meta.get("namespace"),
                                     grace_period=0, preconditions={"uid": uid})
        except NotFound:
            pass
        self._delete_sent.add(uid)

    async def cleanup(self, uid: str, grace: float, pod: dict[str, Any] | None = None) -> None:
        """Stop and remove everything of a pod (its logs included) on this node."""
        self.probes.remove_pod(uid)
        await self._stop_all(uid, pod, grace)
        recs = self.records.for_pod(uid)
        for rec in recs:
            await self._remove_instance(rec, keep_log=False)
        await self.rt.remove_sandbox(uid)
        self._sandboxes.pop(uid, None)
        if self.volumes is not None:
            await self.volumes.unmount_pod(uid)
        if pod is not None:
            shutil.rmtree(self.pod_log_dir(pod), ignore_errors=True)
        else:
            for rec in recs:
                shutil.rmtree(os.path.dirname(os.path.dirname(rec.log_path)), ignore_errors=True)
        self.crash_backoff.forget_prefix(uid)
        self.images.forget_pod(uid)
        for key in [k for k in self.waiting if k[0] == uid]:
            del self.waiting[key]
        self._start_times.pop(uid, None)
        self._conditions.pop(uid, None)
        self._terminated.discard(uid)
        self._torn_down.discard(uid)
        self._delete_sent.discard(uid)
        self.evictions.pop(uid, None)
