"""EndpointSlices (discovery.k8s.io/v1): the same pods as Endpoints, with per-endpoint conditions.

Unlike Endpoints, slices keep terminating pods (ready false, terminating true, serving as the
pod's readiness), so proxies can drain them. Slices are grouped by resolved port set and cut at
100 endpoints, named `<service>-<5 chars>` from a hash of group and chunk so a reconcile finds
the same names again, labelled `kubernetes.io/service-name` and owned by the Service.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from kubelite.client import AlreadyExists, NotFound
from kubelite.controllers.base import Controller
from kubelite.controllers.endpoints import (
    PortKey,
    endpoint_labels,
    meta,
    pod_hostname,
    pod_ip,
    pod_ready,
    pod_reference,
    pod_terminating,
    port_dicts,
    resolve_ports,
    selected_pods,
    selector_of,
    watch_services_and_pods,
)

log = logging.getLogger(__name__)

Obj = dict[str, Any]
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
MANAGED_BY = "endpointslice-controller.k8s.io"
MAX_ENDPOINTS_PER_SLICE = 100
API_VERSION = "discovery.k8s.io/v1"


def endpoint_for(svc: Obj, pod: Obj) -> Obj:
    """One discovery/v1 Endpoint for a pod, with its ready/serving/terminating conditions."""
    publish_all = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    terminating = pod_terminating(pod)
    serving = pod_ready(pod)
    endpoint: Obj = {
        "addresses": [pod_ip(pod)],
        "conditions": {"ready": publish_all or (serving and not terminating),
                       "serving": publish_all or serving, "terminating": terminating},
        "targetRef": pod_reference(pod),
    }
    node = (pod.get("spec") or {}).get("nodeName")
    if node:
        endpoint["nodeName"] = node
    hostname = pod_hostname(svc, pod)
    if hostname:
        endpoint["hostname"] = hostname
    return endpoint


def slice_name(service: str, ports: PortKey, chunk: int) -> str:
    digest = hashlib.sha256(repr((ports, chunk)).encode()).hexdigest()
    letters = "".join("bcdfghjklmnpqrstvwxz2456789"[int(digest[i:i + 2], 16) % 27] for i in range(0, 10, 2))
    return f"{service[:57]}-{letters}"


def desired_slices(svc: Obj, pods: list[Obj]) -> dict[str, Obj]:
    """The EndpointSlices a Service should have, by name."""
    m = meta(svc)
    groups: dict[PortKey, list[Obj]] = {}
    for pod in selected_pods(svc, pods):
        ports = resolve_ports(svc, pod)
        if not ports and (svc.get("spec") or {}).get("ports"):
            continue
        groups.setdefault(ports, []).append(endpoint_for(svc, pod))
    if not groups:
        groups[()] = []  # a placeholder slice, as Kubernetes keeps for a Service with no endpoints
    labels = {**endpoint_labels(svc), SERVICE_NAME_LABEL: m["name"], MANAGED_BY_LABEL: MANAGED_BY}
    owner = {"apiVersion": "v1", "kind": "Service", "name": m["name"], "uid": m.get("uid"),
             "controller": True, "blockOwnerDeletion": True}
    slices: dict[str, Obj] = {}
    for ports, endpoints in groups.items():
        for chunk, start in enumerate(range(0, max(len(endpoints), 1), MAX_ENDPOINTS_PER_SLICE)):
            name = slice_name(m["name"], ports, chunk)
            body: Obj = {
                "apiVersion": API_VERSION, "kind": "EndpointSlice",
                "metadata": {"name": name, "namespace": m["namespace"], "labels": labels,
                             "ownerReferences": [owner]},
                "addressType": "IPv4",
                "endpoints": endpoints[start:start + MAX_ENDPOINTS_PER_SLICE],
            }
            if ports:
                body["ports"] = port_dicts(ports)
            slices[name] = body
    return slices


def same_slice(current: Obj, desired: Obj) -> bool:
    cm, dm = meta(current), meta(desired)
    return ((current.get("endpoints") or []) == desired["endpoints"]
            and (current.get("ports") or []) == (desired.get("ports") or [])
            and (cm.get("labels") or {}) == dm["labels"]
            and current.get("addressType") == desired["addressType"])


class EndpointSliceController(Controller):
    """Keeps the EndpointSlices of each selecting Service in step with its pods."""

    name = "endpointslice"
    workers = 2

    def setup(self) -> None:
        self.services, self.pods = watch_services_and_pods(self, self.queue.add)

        def service_of(es: Obj) -> list[str]:
            labels = meta(es).get("labels") or {}
            if labels.get(MANAGED_BY_LABEL) != MANAGED_BY or SERVICE_NAME_LABEL not in labels:
                return []
            return [f"{meta(es).get('namespace')}/{labels[SERVICE_NAME_LABEL]}"]

        self.slices = self.informer("endpointslices", raw=True, indexers={"service": service_of})
        def enqueue(*versions: Obj) -> None:
            for key in service_of(versions[-1]):
                self.queue.add(key)

        self.slices.on_add(enqueue)
        self.slices.on_update(enqueue)
        self.slices.on_delete(enqueue)

    async def reconcile(self, key: str) -> float | None:
        namespace, _ = key.split("/", 1)
        svc = self.services.get(key)
        current = {meta(es)["name"]: es for es in self.slices.by_index("service", key)}
        if svc is None or not selector_of(svc):
            desired: dict[str, Obj] = {}
        else:
            desired = desired_slices(svc, self.pods.by_index("namespace", namespace))
        for name, body in desired.items():
            await self._write(namespace, body, current.get(name))
        for name in current.keys() - desired.keys():
            try:
                await self.client.delete("endpointslices", name, namespace)
            except NotFound:
                pass
        return None

    async def _write(self, namespace: str, body: Obj, current: Obj | None) -> None:
        if current is not None and same_slice(current, body):
            return
        if current is None:
            try:
                await self.client.create("endpointslices", body, namespace, raw=True)
                return
            except AlreadyExists:
                current = await self.client.get("endpointslices", meta(body)["name"], namespace, raw=True)
        body["metadata"]["resourceVersion"] = meta(current)["resourceVersion"]
        await self.client.update("endpointslices", body, raw=True)
