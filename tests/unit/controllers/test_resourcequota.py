"""Quota arithmetic (pure) and the ResourceQuota controller against an in-memory API."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.api.quantity import canonical
from kubelite.api.quota import missing_constraints, pod_requests_limits, pod_usage, used_by_pods
from kubelite.controllers.resourcequota import ResourceQuotaController
from tests.unit.sim.fake_client import FakeClient

Obj = dict[str, Any]


def pod(name: str, containers: list[Obj], init: list[Obj] | None = None, phase: str = "Running",
        **spec: Any) -> Obj:
    s: Obj = {"containers": containers, **spec}
    if init:
        s["initContainers"] = init
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": s, "status": {"phase": phase}}


def c(name: str, req: dict[str, str] | None = None, lim: dict[str, str] | None = None) -> Obj:
    return {"name": name, "resources": {"requests": req or {}, "limits": lim or {}}}


def text(usage: dict[str, Any]) -> dict[str, str]:
    return {k: canonical(v) for k, v in usage.items()}


def test_pod_requests_sum_containers_and_take_the_largest_init_container() -> None:
    p = pod("p", [c("a", {"cpu": "100m", "memory": "64Mi"}), c("b", {"cpu": "200m"})],
            init=[c("i", {"cpu": "1", "memory": "10Mi"})], overhead={"cpu": "50m"})
    requests, limits = pod_requests_limits(p)
    assert text(requests) == {"cpu": "1050m", "memory": "64Mi"}
    assert limits == {}


def test_pod_usage_names_and_end_of_life() -> None:
    p = pod("p", [c("a", {"cpu": "250m", "memory": "1Gi"}, {"cpu": "500m", "memory": "1Gi"})])
    assert text(pod_usage(p)) == {
        "count/pods": "1", "pods": "1", "cpu": "250m", "requests.cpu": "250m", "memory": "1Gi",
        "requests.memory": "1Gi", "limits.cpu": "500m", "limits.memory": "1Gi"}
    assert text(pod_usage(pod("done", [c("a", {"cpu": "1"})], phase="Failed"))) == {"count/pods": "1"}


def test_missing_constraints_only_for_cpu_and_memory() -> None:
    p = pod("p", [c("a", {"cpu": "1"}), c("b")])
    assert missing_constraints(p, ["requests.storage", "pods"]) == ""
    assert missing_constraints(p, ["requests.cpu", "limits.memory"]) == (
        "must specify limits.memory for: a,b; requests.cpu for: b")


def test_used_by_pods_respects_scopes() -> None:
    quota = {"spec": {"hard": {"pods": "10", "requests.cpu": "4"}, "scopes": ["NotBestEffort"]}}
    pods = [pod("a", [c("a", {"cpu": "1"})]), pod("b", [c("b")]), pod("d", [c("d", {"cpu": "2"})])]
    assert text(used_by_pods(quota, pods)) == {"pods": "2", "requests.cpu": "3"}


@pytest.fixture
async def client() -> AsyncIterator[FakeClient]:
    fake = FakeClient()
    ctrl = ResourceQuotaController(fake)  # type: ignore[arg-type]
    await ctrl.start()
    try:
        yield fake
    finally:
        await ctrl.stop()


async def eventually_status(fake: FakeClient, want: Obj, timeout: float = 2.0) -> Obj:
    deadline = time.monotonic() + timeout
    status: Obj = {}
    while time.monotonic() < deadline:
        q = fake.get_obj("resourcequotas", "q", "ns") or {}
        status = q.get("status") or {}
        if status == want:
            return status
        await asyncio.sleep(0.02)
    raise AssertionError(f"quota status {status} never became {want}")


async def test_controller_writes_hard_and_used_and_follows_pods(client: FakeClient) -> None:
    await client.put_direct("resourcequotas", {"metadata": {"name": "q", "namespace": "ns"},
                                               "spec": {"hard": {"pods": "5", "requests.memory": "1Gi",
                                                                 "count/configmaps": "3"}}})
    await eventually_status(client, {"hard": {"pods": "5", "requests.memory": "1Gi", "count/configmaps": "3"},
                                     "used": {"pods": "0", "requests.memory": "0", "count/configmaps": "0"}})
    await client.put_direct("pods", pod("a", [c("a", {"memory": "256Mi"})]))
    await client.put_direct("configmaps", {"metadata": {"name": "cm", "namespace": "ns"}})
    await client.put_direct("pods", pod("b", [c("b", {"memory": "128Mi"})]))
    await eventually_status(client, {"hard": {"pods": "5", "requests.memory": "1Gi", "count/configmaps": "3"},
                                     "used": {"pods": "2", "requests.memory": "384Mi",
                                              "count/configmaps": "1"}})
    await client.delete("pods", "a", "ns")
    await eventually_status(client, {"hard": {"pods": "5", "requests.memory": "1Gi", "count/configmaps": "3"},
                                     "used": {"pods": "1", "requests.memory": "128Mi",
                                              "count/configmaps": "1"}})
