"""The Endpoints and EndpointSlice controllers against an in-memory API (pure helpers first)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.controllers.endpoints import EndpointsController, desired_subsets, resolve_ports
from kubelite.controllers.endpointslices import (
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    EndpointSliceController,
    desired_slices,
)
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]


def svc(name: str = "web", selector: dict[str, str] | None = None, ports: list[Obj] | None = None,
        **spec: Any) -> Obj:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"team": "a"}},
            "spec": {"selector": {"app": "web"} if selector is None else selector,
                     "ports": ports or [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
                     **spec}}


def pod(name: str, ip: str, *, ready: bool = True, labels: dict[str, str] | None = None,
        port_name: str = "http", port: int = 8080, terminating: bool = False, phase: str = "Running",
        namespace: str = "default") -> Obj:
    meta: Obj = {"name": name, "namespace": namespace, "uid": f"uid-{name}",
                 "labels": {"app": "web"} if labels is None else labels}
    if terminating:
        meta["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"nodeName": "node-1", "containers": [
                {"name": "app", "image": "x", "ports": [{"name": port_name, "containerPort": port, "protocol": "TCP"}]}]},
            "status": {"phase": phase, "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


# -- pure helpers -------------------------------------------------------------------------

def test_ready_and_not_ready_addresses_with_refs_and_named_port() -> None:
    pods = [pod("b", "10.0.0.12", ready=False), pod("a", "10.0.0.3"), pod("c", "10.0.0.2"),
            pod("other", "10.0.0.9", labels={"app": "db"}), pod("gone", "10.0.0.7", terminating=True),
            pod("done", "10.0.0.8", phase="Succeeded"), pod("far", "10.0.0.4", namespace="prod")]
    subsets = desired_subsets(svc(), pods)
    assert len(subsets) == 1
    subset = subsets[0]
    assert [a["ip"] for a in subset["addresses"]] == ["10.0.0.2", "10.0.0.3"]  # numeric IP order
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.0.0.12"]
    assert subset["addresses"][1] == {"ip": "10.0.0.3", "nodeName": "node-1",
                                      "targetRef": {"kind": "Pod", "namespace": "default", "name": "a", "uid": "uid-a"}}
    assert subset["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]


def test_pods_with_different_target_ports_get_separate_subsets_and_unresolvable_are_dropped() -> None:
    pods = [pod("a", "10.0.0.2", port=8080), pod("b", "10.0.0.3", port=9090),
            pod("c", "10.0.0.4", port_name="metrics")]
    subsets = desired_subsets(svc(), pods)
    assert sorted((s["ports"][0]["port"], [a["ip"] for a in s["addresses"]]) for s in subsets) == [
        (8080, ["10.0.0.2"]), (9090, ["10.0.0.3"])]


def test_target_port_by_number_and_udp_protocol() -> None:
    service = svc(ports=[{"name": "dns", "port": 53, "targetPort": 5353, "protocol": "UDP"},
                         {"name": "web", "port": 80, "targetPort": "http", "protocol": "TCP"}])
    assert resolve_ports(service, pod("a", "10.0.0.2")) == (("dns", 5353, "UDP", ""), ("web", 8080, "TCP", ""))


def test_publish_not_ready_addresses_lists_everyone_as_ready() -> None:
    subsets = desired_subsets(svc(publishNotReadyAddresses=True), [pod("a", "10.0.0.2", ready=False)])
    assert [a["ip"] for a in subsets[0]["addresses"]] == ["10.0.0.2"] and "notReadyAddresses" not in subsets[0]


def test_slices_carry_conditions_labels_owner_and_keep_terminating_pods() -> None:
    pods = [pod("a", "10.0.0.2"), pod("b", "10.0.0.3", ready=False), pod("c", "10.0.0.4", terminating=True)]
    slices = desired_slices(svc(), pods)
    assert len(slices) == 1
    (name, es), = slices.items()
    assert name.startswith("web-") and len(name) == len("web-") + 5
    assert es["addressType"] == "IPv4" and es["apiVersion"] == "discovery.k8s.io/v1"
    assert es["metadata"]["labels"] == {"team": "a", SERVICE_NAME_LABEL: "web",
                                        MANAGED_BY_LABEL: "endpointslice-controller.k8s.io"}
    assert es["metadata"]["ownerReferences"][0]["uid"] == "uid-web"
    conditions = {e["addresses"][0]: e["conditions"] for e in es["endpoints"]}
    assert conditions == {
        "10.0.0.2": {"ready": True, "serving": True, "terminating": False},
        "10.0.0.3": {"ready": False, "serving": False, "terminating": False},
        "10.0.0.4": {"ready": False, "serving": True, "terminating": True},
    }
    assert es["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert desired_slices(svc(), pods).keys() == slices.keys()  # names are stable


def test_more_than_100_endpoints_are_split_and_empty_service_has_placeholder() -> None:
    pods = [pod(f"p{i}", f"10.1.{i // 250}.{i % 250 + 1}") for i in range(230)]
    slices = desired_slices(svc(), pods)
    assert sorted(len(s["endpoints"]) for s in slices.values()) == [30, 100, 100]
    empty = desired_slices(svc(), [])
    assert [s["endpoints"] for s in empty.values()] == [[]]


# -- controllers against the fake API -----------------------------------------------------

@pytest.fixture
async def running() -> AsyncIterator[FakeClient]:
    client = FakeClient()
    controllers = [EndpointsController(client), EndpointSliceController(client)]  # type: ignore[arg-type]
    for c in controllers:
        await c.start()
    try:
        yield client
    finally:
        for c in controllers:
            await c.stop()


def ready_ips(client: FakeClient) -> list[str]:
    ep = client.get_obj("endpoints", "web", "default") or {}
    return [a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or []]


def not_ready_ips(client: FakeClient) -> list[str]:
    ep = client.get_obj("endpoints", "web", "default") or {}
    return [a["ip"] for s in ep.get("subsets") or [] for a in s.get("notReadyAddresses") or []]


def slice_ready(client: FakeClient) -> dict[str, bool]:
    out = {}
    for (plural, _, _), es in client.objects.items():
        if plural == "endpointslices":
            for e in es["endpoints"]:
                out[e["addresses"][0]] = e["conditions"]["ready"]
    return out


async def test_endpoints_follow_readiness_and_pod_deletion(running: FakeClient) -> None:
    client = running
    await client.put_direct("services", svc())
    for name, ip in (("a", "10.0.0.2"), ("b", "10.0.0.3"), ("c", "10.0.0.4")):
        await client.put_direct("pods", pod(name, ip))
    await eventually(lambda: ready_ips(client) == ["10.0.0.2", "10.0.0.3", "10.0.0.4"], timeout=1.0)
    await eventually(lambda: slice_ready(client) == {"10.0.0.2": True, "10.0.0.3": True, "10.0.0.4": True},
                     timeout=1.0)

    await client.put_direct("pods", pod("b", "10.0.0.3", ready=False))
    start = time.monotonic()
    await eventually(lambda: not_ready_ips(client) == ["10.0.0.3"], timeout=1.0)
    assert time.monotonic() - start < 1.0  # the controllers promise under 1 s
    assert ready_ips(client) == ["10.0.0.2", "10.0.0.4"]
    await eventually(lambda: slice_ready(client).get("10.0.0.3") is False, timeout=1.0)

    await client.put_direct("pods", pod("c", "10.0.0.4", terminating=True))
    await eventually(lambda: ready_ips(client) == ["10.0.0.2"], timeout=1.0)
    await client.delete("pods", "c", "default")
    await eventually(lambda: "10.0.0.4" not in slice_ready(client), timeout=1.0)
    endpoints_writes = client.count("update", "endpoints")
    await client.put_direct("pods", pod("zz", "10.9.9.9", labels={"app": "other"}))
    await asyncio.sleep(0.1)
    assert client.count("update", "endpoints") == endpoints_writes  # unrelated pods write nothing


async def test_service_deletion_removes_endpoints_and_slices(running: FakeClient) -> None:
    client = running
    await client.put_direct("pods", pod("a", "10.0.0.2"))
    await client.put_direct("services", svc())
    await eventually(lambda: ready_ips(client) == ["10.0.0.2"] and len(slice_ready(client)) == 1,
                     timeout=1.0)
    await client.delete("services", "web", "default")
    await eventually(lambda: client.get_obj("endpoints", "web", "default") is None
                     and not any(p == "endpointslices" for p, _, _ in client.objects),
                     timeout=1.0)


async def test_service_without_selector_is_left_alone(running: FakeClient) -> None:
    client = running
    await client.put_direct("pods", pod("a", "10.0.0.2"))
    manual = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": "ext", "namespace": "default"},
              "subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}
    await client.put_direct("endpoints", manual)
    await client.put_direct("services", svc("ext", selector={}))
    await asyncio.sleep(0.2)
    assert client.get_obj("endpoints", "ext", "default")["subsets"][0]["addresses"] == [{"ip": "192.0.2.1"}]
    assert client.count("update", "endpoints") == 0 and client.count("create", "endpointslices") == 0
