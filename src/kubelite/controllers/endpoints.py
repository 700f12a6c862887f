"""Endpoints: for each Service with a selector, the IPs and ports of the pods it selects.

Ready pods go to `addresses`, pods not ready to `notReadyAddresses`; terminating and finished
pods are left out (unless the Service publishes not-ready addresses). Pods whose target ports
resolve to different numbers land in different subsets, as Kubernetes' RepackSubsets does.
The pure helpers here (`selected_pods`, `resolve_ports`, `pod_ready`...) are shared with the
EndpointSlice controller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kubelite.client import AlreadyExists, Informer, NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]
PortKey = tuple[tuple[str, int, str, str], ...]  # (name, port, protocol, appProtocol) per port

HEADLESS_LABEL = "service.kubernetes.io/headless"


# -- pure helpers -------------------------------------------------------------------------

def meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def key_of(obj: Obj) -> str:
    m = meta(obj)
    return f"{m.get('namespace')}/{m.get('name')}"


def selector_of(svc: Obj) -> dict[str, str]:
    return dict((svc.get("spec") or {}).get("selector") or {})


def selects(selector: dict[str, str], pod: Obj) -> bool:
    labels = meta(pod).get("labels") or {}
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_ip(pod: Obj) -> str:
    status = pod.get("status") or {}
    ips = status.get("podIPs") or []
    return str(status.get("podIP") or (ips[0].get("ip") if ips else "") or "")


def pod_ready(pod: Obj) -> bool:
    """The pod's Ready condition is True (what the kubelet reports from its readiness probes)."""
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def pod_terminating(pod: Obj) -> bool:
    return bool(meta(pod).get("deletionTimestamp"))


def pod_finished(pod: Obj) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def selected_pods(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """The pods the Service selects that have an IP and have not finished, sorted by IP."""
    selector = selector_of(svc)
    ns = meta(svc).get("namespace")
    chosen = [p for p in pods if meta(p).get("namespace") == ns and selects(selector, p)
              and pod_ip(p) and not pod_finished(p)]
    return sorted(chosen, key=lambda p: (_ip_sort_key(pod_ip(p)), meta(p).get("name", "")))


def _ip_sort_key(ip: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in ip.split("."))
    except ValueError:
        return (1 << 16,)


def container_port(pod: Obj, name: str, protocol: str) -> int | None:
    """The number of the pod's container port called `name` with `protocol`."""
    spec = pod.get("spec") or {}
    for container in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for port in container.get("ports") or []:
            if port.get("name") == name and (port.get("protocol") or "TCP") == protocol:
                return int(port["containerPort"])
    return None


def resolve_ports(svc: Obj, pod: Obj) -> PortKey:
    """The Service's ports as this pod serves them; ports whose named target it lacks are left out."""
    out: list[tuple[str, int, str, str]] = []
    for port in (svc.get("spec") or {}).get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        target = port.get("targetPort", port.get("port"))
        number: int | None
        if isinstance(target, int):
            number = target
        elif isinstance(target, str) and target.isdigit():
            number = int(target)
        else:
            number = container_port(pod, str(target), protocol)
        if number:
            out.append((port.get("name") or "", number, protocol, port.get("appProtocol") or ""))
    return tuple(out)


def port_dicts(ports: PortKey) -> list[Obj]:
    """EndpointPort objects (the same shape in core/v1 and discovery/v1)."""
    result = []
    for name, number, protocol, app_protocol in ports:
        port: Obj = {"port": number, "protocol": protocol}
        if name:
            port["name"] = name
        if app_protocol:
            port["appProtocol"] = app_protocol
        result.append(port)
    return result


def pod_reference(pod: Obj) -> Obj:
    m = meta(pod)
    return {"kind": "Pod", "namespace": m.get("namespace"), "name": m.get("name"), "uid": m.get("uid")}


def pod_hostname(svc: Obj, pod: Obj) -> str:
    """A pod's hostname in the Service's DNS, when its subdomain names the Service."""
    spec = pod.get("spec") or {}
    if spec.get("hostname") and spec.get("subdomain") == meta(svc).get("name"):
        return str(spec["hostname"])
    return ""


def is_headless(svc: Obj) -> bool:
    return (svc.get("spec") or {}).get("clusterIP") == "None"


def endpoint_labels(svc: Obj) -> dict[str, str]:
    labels = dict(meta(svc).get("labels") or {})
    if is_headless(svc):
        labels[HEADLESS_LABEL] = ""
    return labels


def desired_subsets(svc: Obj, pods: list[Obj]) -> list[Obj]:
    """The Endpoints `subsets` for a Service given every pod of its namespace."""
    publish_all = bool((svc.get("spec") or {}).get("publishNotReadyAddresses"))
    groups: dict[PortKey, tuple[list[Obj], list[Obj]]] = {}
    for pod in selected_pods(svc, pods):
        if pod_terminating(pod) and not publish_all:
            continue
        ports = resolve_ports(svc, pod)
        if not ports and (svc.get("spec") or {}).get("ports"):
            continue
        address: Obj = {"ip": pod_ip(pod), "targetRef": pod_reference(pod)}
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            address["nodeName"] = node
        hostname = pod_hostname(svc, pod)
        if hostname:
            address["hostname"] = hostname
        ready, not_ready = groups.setdefault(ports, ([], []))
        (ready if publish_all or pod_ready(pod) else not_ready).append(address)
    subsets = []
    for ports, (ready, not_ready) in groups.items():
        subset: Obj = {}
        if ready:
            subset["addresses"] = ready
        if not_ready:
            subset["notReadyAddresses"] = not_ready
        if ports:
            subset["ports"] = port_dicts(ports)
        subsets.append(subset)
    return subsets


# -- wiring shared with the EndpointSlice controller --------------------------------------

def watch_services_and_pods(controller: Controller,
                            enqueue: Callable[[str], None]) -> tuple[Informer, Informer]:
    """Informers on Services and Pods; any change that may touch a Service enqueues its key."""
    services = controller.informer("services", raw=True,
                                   indexers={"namespace": lambda o: [meta(o).get("namespace", "")]})
    pods = controller.informer("pods", raw=True,
                               indexers={"namespace": lambda o: [meta(o).get("namespace", "")]})
    services.on_add(lambda svc: enqueue(key_of(svc)))
    services.on_update(lambda old, new: enqueue(key_of(new)))
    services.on_delete(lambda svc: enqueue(key_of(svc)))

    def pod_changed(*versions: Obj) -> None:
        ns = meta(versions[-1]).get("namespace", "")
        for svc in services.by_index("namespace", ns):
            selector = selector_of(svc)
            if any(selects(selector, pod) for pod in versions):
                enqueue(key_of(svc))

    pods.on_add(pod_changed)
    pods.on_update(pod_changed)
    pods.on_delete(pod_changed)
    return services, pods


class EndpointsController(Controller):
    """Keeps one core/v1 Endpoints per selecting Service in step with its pods."""

    name = "endpoints"
    workers = 2

    def setup(self) -> None:
        self.services, self.pods = watch_services_and_pods(self, self.queue.add)
        self.endpoints = self.informer("endpoints", raw=True)
        self.endpoints.on_delete(lambda ep: self.queue.add(key_of(ep)))

    async def reconcile(self, key: str) -> float | None:
        namespace, name = key.split("/", 1)
        svc = self.services.get(key)
        current = self.endpoints.get(key)
        if svc is None:
            if current is not None:
                try:
                    await self.client.delete("endpoints", name, namespace)
                except NotFound:
                    pass
            return None
        if not selector_of(svc):
            return None  # Endpoints of a Service without a selector are the user's
        subsets = desired_subsets(svc, self.pods.by_index("namespace", namespace))
        labels = endpoint_labels(svc)
        if current is not None and (current.get("subsets") or []) == subsets \
                and (meta(current).get("labels") or {}) == labels:
            return None
        body: Obj = {"apiVersion": "v1", "kind": "Endpoints",
                     "metadata": {"name": name, "namespace": namespace, "labels": labels},
                     "subsets": subsets}
        if current is None:
            try:
                await self.client.create("endpoints", body, namespace, raw=True)
                return None
            except AlreadyExists:
                current = await self.client.get("endpoints", name, namespace, raw=True)
        body["metadata"]["resourceVersion"] = meta(current)["resourceVersion"]
        await self.client.update("endpoints", body, raw=True)  # a Conflict is retried
        return None
