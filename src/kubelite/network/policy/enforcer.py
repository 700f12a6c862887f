"""The per-node NetworkPolicy enforcer: policies, pods and namespaces in, one nft table out.

Changes are batched for `batch_delay` seconds, compiled (model.py), rendered (ruleset.py) and,
if the text differs from what is applied, the table is replaced in one `nft -f -` transaction:
a policy, label or pod change is atomic on this node, never a rule-by-rule edit.

No window for a new pod: the kubelet calls `admit(pod, ip)` between CNI ADD and the first
container start (kubelet/host_runtime.py), which returns, when a policy selects the pod or the
applied table still holds its address (from a pod that had it before), only once a ruleset with
the new classification is applied (the first sync started after the call). An address the node
learnt that way wins over what the pods informer says, whose copy lags behind the kubelet's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import Any

from kubelite.client import ApiClient, Informer
from kubelite.network.policy.model import (
    Compiled,
    PodInfo,
    compile_rules,
    dns_pod,
    pod_info,
    selects,
)
from kubelite.network.policy.ruleset import render, transaction
from kubelite.proxy.nft import NftError, delete_table, run_nft, sync_loop

log = logging.getLogger(__name__)

Obj = dict[str, Any]
ADMIT_TIMEOUT = 30.0  # then the sandbox fails and the pod worker tries again


class PolicyEnforcer:
    """NetworkPolicy for this node's pods, in the nft table `table` (unique per cluster).

    `bridge` is the pod bridge (only its traffic is looked at); `gateway`, its address, is
    where the node-local DNS server answers (seen by policies as a kube-dns pod). Like the
    service proxy, `stop()` leaves the table in place so pods stay protected while the agent
    restarts; `remove_table` (`--cleanup`) deletes it.
    """

    def __init__(self, client: ApiClient, table: str, *, node_name: str, bridge: str,
                 gateway: str = "", batch_delay: float = 0.02) -> None:
        self.table = table
        self.node_name = node_name
        self.bridge = bridge
        self.gateway = gateway
        self.batch_delay = batch_delay
        self.policies = Informer(client, "networkpolicies", raw=True)
        self.pods = Informer(client, "pods", raw=True)
        self.namespaces = Informer(client, "namespaces", raw=True)
        self.admitted: dict[str, tuple[str, Obj]] = {}  # pod uid -> (address, pod) from the kubelet
        self._infos: dict[str, tuple[Obj, str | None, PodInfo | None]] = {}  # uid -> what pod_info made of
        self.applied: str | None = None
        self.applied_model = Compiled()  # what `applied` was rendered from
        self.syncs = 0
        self.last_sync = 0.0
        self._changed = asyncio.Event()
        self._generation = 0  # bumped by every change; a sync applies what it saw
        self._applied_generation = -1
        self._applied_event = asyncio.Condition()
        self._tasks: list[asyncio.Task[Any]] = []
        for informer in (self.policies, self.pods, self.namespaces):
            informer.on_add(self._mark)
            informer.on_update(self._on_update)
            informer.on_delete(self._mark)
        self.pods.on_delete(self._on_pod_deleted)

    # -- events ------------------------------------------------------------------------------

    def _mark(self, *_: Any) -> None:
        self._generation += 1
        self._changed.set()

    def _on_update(self, old: Obj, new: Obj) -> None:
        if _relevant(old) != _relevant(new):
            self._mark()

    def _on_pod_deleted(self, pod: Obj) -> None:
        uid = (pod.get("metadata") or {}).get("uid", "")
        self.admitted.pop(uid, None)
        self._infos.pop(uid, None)

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Watch, apply the first ruleset, then keep it in step."""
        bridge_netfilter()
        self._tasks += [self.policies.start(), self.pods.start(), self.namespaces.start()]
        for informer in (self.policies, self.pods, self.namespaces):
            await informer.has_synced()
        await self.sync()
        self._tasks.append(asyncio.create_task(self._loop(), name=f"netpol-{self.table}"))

    async def stop(self) -> None:
        """Stop watching; the table stays (pods keep their protection)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for informer in (self.policies, self.pods, self.namespaces):
            await informer.stop()

    async def admit(self, pod: Obj, ip: str) -> None:
        """Classify a new local pod address; returns once the applied table includes it."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        for other, (address, _) in list(self.admitted.items()):
            if address == ip and other != uid:  # the address went to a new pod
                del self.admitted[other]
        self.admitted[uid] = (ip, pod)
        self._mark()
        meta = pod.get("metadata") or {}
        selected = any(selects(p, meta.get("namespace", ""), meta.get("labels") or {})
                       for p in self.policies.list())
        if not selected and not self.applied_model.mentions(ip):
            # No policy isolates it and the table does not know its address (from a pod that
            # had it before): rules that would allow it refuse it until the next sync (closed,
            # never open). Pods start unslowed.
            return
        wanted = self._generation
        async with self._applied_event:
            try:
                await asyncio.wait_for(self._applied_event.wait_for(
                    lambda: self._applied_generation >= wanted), ADMIT_TIMEOUT)
            except TimeoutError:
                raise NftError(f"network policy: pod address {ip} not applied within "
                               f"{ADMIT_TIMEOUT:.0f}s (table {self.table})") from None

    def forget(self, uid: str) -> None:
        """The pod's sandbox is gone: its address no longer counts as its."""
        if self.admitted.pop(uid, None) is not None:
            self._mark()

    # -- compiling and applying ----------------------------------------------------------------

    def pod_infos(self) -> list[PodInfo]:
        """Every pod with an address, this node's from the kubelet first, and the DNS pod."""
        infos: dict[str, PodInfo] = {}
        admitted_ips = {ip for ip, _ in self.admitted.values()}
        seen: set[str] = set()
        for pod in self.pods.list():
            uid = (pod.get("metadata") or {}).get("uid", "")
            entry = self.admitted.get(uid)
            if entry is None and (pod.get("status") or {}).get("podIP") in admitted_ips:
                continue  # a stale copy of a pod whose address the kubelet gave to another
            info = self._info(uid, pod, entry[0] if entry else None)
            seen.add(uid)
            if info is not None:
                infos.setdefault(info.ip, replace(info, local=True) if entry else info)
        for uid, (ip, pod) in self.admitted.items():
            if uid not in seen:
                info = pod_info(pod, self.node_name, ip)
                if info is not None:
                    infos[ip] = replace(info, local=True)  # the kubelet runs it: it is ours
        if self.gateway:
            infos.setdefault(self.gateway, dns_pod(self.gateway))
        return list(infos.values())

    def _info(self, uid: str, pod: Obj, ip: str | None) -> PodInfo | None:
        """pod_info, remembered while the informer holds the same object (pods change rarely)."""
        cached = self._infos.get(uid)
        if cached is not None and cached[0] is pod and cached[1] == ip:
            return cached[2]
        info = pod_info(pod, self.node_name, ip)
        self._infos[uid] = (pod, ip, info)
        return info

    def compile(self) -> Compiled:
        policies = self.policies.list()
        if not policies:
            return Compiled()
        namespaces = {(ns.get("metadata") or {}).get("name", ""): (ns.get("metadata") or {}).get("labels") or {}
                      for ns in self.namespaces.list()}
        return compile_rules(policies, self.pod_infos(), namespaces)

    async def sync(self) -> bool:
        """Compile and apply now; True when nft was run."""
        self._changed.clear()
        generation = self._generation
        try:
            model = self.compile()
            text = render(self.table, model, self.bridge)
            ran = text != self.applied
            if ran:
                await run_nft(transaction(self.table, text))
                self.applied = text
                self.applied_model = model
                self.syncs += 1
                self.last_sync = time.monotonic()
        except BaseException:
            self.applied = None
            raise
        async with self._applied_event:
            self._applied_generation = generation
            self._applied_event.notify_all()
        return ran

    async def _loop(self) -> None:
        await sync_loop(self._changed, self.batch_delay, self.sync, self._sync_failed)

    def _sync_failed(self, e: Exception) -> None:
        log.warning("network policy: syncing table %s failed: %s", self.table, e)


def _relevant(obj: Obj) -> tuple[Any, ...]:
    """What of a policy, pod or namespace can change a ruleset (most pod status updates,
    readiness for one, change nothing)."""
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    return ((obj.get("metadata") or {}).get("labels"), spec if "podSelector" in spec else None,
            spec.get("nodeName"), spec.get("hostNetwork"), status.get("podIP"), status.get("phase"),
            [c.get("ports") for c in spec.get("containers") or []])


BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def bridge_netfilter() -> bool:
    """Make bridged pod-to-pod packets (two pods of one node) pass the `ip` hooks, as k3s does
    for its policy controller: the sysctl is per network namespace and on by default, but a
    host may have turned it off. Whether it is on (else same-node traffic is not policed)."""
    try:
        with open(BRIDGE_NF) as f:
            if f.read().strip() == "1":
                return True
        with open(BRIDGE_NF, "w") as f:
            f.write("1")
        return True
    except OSError as e:
        log.warning("network policy: traffic between pods of this node is not policed (%s: %s)",
                    BRIDGE_NF, e)
        return False


async def remove_table(table: str) -> None:
    """`--cleanup`: the table, left behind by an agent that stopped."""
    with contextlib.suppress(NftError, OSError):
        await delete_table(table)
