"""LimitRanger and ResourceQuota admission through the API server's generic object store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver.admission import NamespaceLifecycle
from kubelite.apiserver.admission_quota import (
    LIMIT_RANGER_ANNOTATION,
    admission_plugins,
    defaulted_item,
    limit_errors,
)
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore


def _kind(plural: str) -> Any:
    kind = by_resource("", "v1", plural)
    assert kind is not None
    return kind


PODS, NAMESPACES, QUOTAS, LIMITS, CONFIGMAPS = (
    _kind(p) for p in ("pods", "namespaces", "resourcequotas", "limitranges", "configmaps"))


@pytest.fixture
async def objs(tmp_path: Path) -> AsyncIterator[ObjectStore]:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    try:
        o = ObjectStore(store, admission=[NamespaceLifecycle(store), *admission_plugins(store)])
        await o.create(NAMESPACES, None, {"metadata": {"name": "team"}}, WriteOptions())
        yield o
    finally:
        await store.close()


def pod(name: str, *containers: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"containers": list(containers)}}


def ctr(name: str = "app", requests: dict[str, str] | None = None,
        limits: dict[str, str] | None = None) -> dict[str, Any]:
    res: dict[str, Any] = {}
    if requests:
        res["requests"] = requests
    if limits:
        res["limits"] = limits
    return {"name": name, "image": "busybox", "resources": res}


async def create(objs: ObjectStore, kind: Any, body: dict[str, Any]) -> dict[str, Any]:
    result = await objs.create(kind, "team", body, WriteOptions())
    return result.obj


async def quota(objs: ObjectStore, name: str, hard: dict[str, str], **spec: Any) -> None:
    await create(objs, QUOTAS, {"metadata": {"name": name}, "spec": {"hard": hard, **spec}})


# -- LimitRanger ----------------------------------------------------------------------------

async def test_limit_range_fills_in_missing_requests_and_limits(objs: ObjectStore) -> None:
    await create(objs, LIMITS, {"metadata": {"name": "defaults"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "500m", "memory": "256Mi"},
         "defaultRequest": {"cpu": "100m", "memory": "128Mi"}}]}})
    out = await create(objs, PODS, pod("p", ctr(requests={"memory": "64Mi"})))
    res = out["spec"]["containers"][0]["resources"]
    assert res["requests"] == {"cpu": "100m", "memory": "64Mi"}
    assert res["limits"] == {"cpu": "500m", "memory": "256Mi"}
    assert out["metadata"]["annotations"][LIMIT_RANGER_ANNOTATION] == (
        "LimitRanger plugin set: cpu request for container app; cpu, memory limit for container app")
    assert out["status"]["qosClass"] == "Burstable"


async def test_default_limit_alone_becomes_the_request_and_makes_the_pod_guaranteed(
        objs: ObjectStore) -> None:
    await create(objs, LIMITS, {"metadata": {"name": "d"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "200m", "memory": "100Mi"}}]}})
    out = await create(objs, PODS, pod("g", ctr()))
    res = out["spec"]["containers"][0]["resources"]
    assert res["requests"] == res["limits"] == {"cpu": "200m", "memory": "100Mi"}
    assert out["status"]["qosClass"] == "Guaranteed"


async def test_limit_range_max_refuses_in_kubernetes_words(objs: ObjectStore) -> None:
    await create(objs, LIMITS, {"metadata": {"name": "cap"}, "spec": {"limits": [
        {"type": "Container", "max": {"memory": "1Gi"}, "min": {"cpu": "100m"}}]}})
    with pytest.raises(st.Forbidden) as err:
        await create(objs, PODS, pod("big", ctr(requests={"cpu": "50m"}, limits={"memory": "2Gi"})))
    assert err.value.code == 403
    assert err.value.message == (
        'pods "big" is forbidden: [Minimum cpu usage per Container is 100m, but request is 50m., '
        "Maximum memory usage per Container is 1Gi, but limit is 2Gi.]")


def test_limit_errors_pod_type_and_ratio() -> None:
    lr = {"spec": {"limits": [{"type": "Pod", "max": {"cpu": "1"}},
                              {"type": "Container", "maxLimitRequestRatio": {"cpu": "2"}}]}}
    p = pod("x", ctr("a", {"cpu": "300m"}, {"cpu": "700m"}), ctr("b", {"cpu": "400m"}, {"cpu": "400m"}))
    assert limit_errors(lr, p) == [
        "Maximum cpu usage per Pod is 1, but limit is 1100m.",
        "cpu max limit to request ratio per Container is 2, but provided ratio is 2.333333.",
    ]


def test_limit_range_item_defaulting() -> None:
    item = defaulted_item({"type": "Container", "max": {"cpu": "2"}, "min": {"memory": "1Mi"}})
    assert item["default"] == {"cpu": "2"}
    assert item["defaultRequest"] == {"cpu": "2", "memory": "1Mi"}


async def test_default_limit_below_an_explicit_request_is_invalid(objs: ObjectStore) -> None:
    await create(objs, LIMITS, {"metadata": {"name": "d"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "100m"}}]}})
    with pytest.raises(st.Invalid) as err:
        await create(objs, PODS, pod("p", ctr(requests={"cpu": "500m"})))
    assert "must be less than or equal to cpu limit" in err.value.message


# -- ResourceQuota --------------------------------------------------------------------------

async def test_quota_refuses_the_pod_that_would_exceed_it(objs: ObjectStore) -> None:
    await quota(objs, "compute", {"requests.cpu": "1", "pods": "5"})
    await create(objs, PODS, pod("a", ctr(requests={"cpu": "600m"})))
    with pytest.raises(st.Forbidden) as err:
        await create(objs, PODS, pod("b", ctr(requests={"cpu": "500m"})))
    assert err.value.code == 403
    assert err.value.message == (
        'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, '
        "used: requests.cpu=600m, limited: requests.cpu=1")
    await create(objs, PODS, pod("c", ctr(requests={"cpu": "400m"})))  # exactly fits


async def test_quota_on_cpu_requires_every_container_to_say(objs: ObjectStore) -> None:
    await quota(objs, "q", {"limits.memory": "1Gi", "requests.cpu": "2"})
    with pytest.raises(st.Forbidden) as err:
        await create(objs, PODS, pod("p", ctr("a", {"cpu": "1"}), ctr("b")))
    assert err.value.message == (
        'pods "p" is forbidden: failed quota: q: must specify limits.memory for: a,b; '
        "requests.cpu for: b")


async def test_quota_counts_pods_and_objects(objs: ObjectStore) -> None:
    await quota(objs, "counts", {"pods": "1", "count/configmaps": "1"})
    await create(objs, PODS, pod("one", ctr()))
    with pytest.raises(st.Forbidden) as err:
        await create(objs, PODS, pod("two", ctr()))
    assert "requested: pods=1, used: pods=1, limited: pods=1" in err.value.message
    await create(objs, CONFIGMAPS, {"metadata": {"name": "c1"}})
    with pytest.raises(st.Forbidden) as err:
        await create(objs, CONFIGMAPS, {"metadata": {"name": "c2"}})
    assert err.value.message.startswith('configmaps "c2" is forbidden: exceeded quota: counts, '
                                        "requested: count/configmaps=1")


async def test_finished_pods_do_not_count(objs: ObjectStore) -> None:
    await quota(objs, "q", {"pods": "1"})
    await create(objs, PODS, pod("done", ctr()))
    stored = await objs.get(PODS, "team", "done")
    import json

    body = json.loads(stored)
    body["status"]["phase"] = "Succeeded"
    await objs.update(PODS, "team", "done", body, WriteOptions(), subresource="status")
    await create(objs, PODS, pod("next", ctr()))


async def test_best_effort_scope_only_charges_best_effort_pods(objs: ObjectStore) -> None:
    await quota(objs, "be", {"pods": "1"}, scopes=["BestEffort"])
    await create(objs, PODS, pod("be1", ctr()))
    await create(objs, PODS, pod("burst", ctr(requests={"cpu": "10m"})))
    with pytest.raises(st.Forbidden):
        await create(objs, PODS, pod("be2", ctr()))


async def test_limit_range_defaults_are_charged_by_the_quota(objs: ObjectStore) -> None:
    await create(objs, LIMITS, {"metadata": {"name": "d"}, "spec": {"limits": [
        {"type": "Container", "defaultRequest": {"memory": "300Mi"}}]}})
    await quota(objs, "mem", {"requests.memory": "500Mi"})
    await create(objs, PODS, pod("a", ctr()))
    with pytest.raises(st.Forbidden) as err:
        await create(objs, PODS, pod("b", ctr()))
    assert "requested: requests.memory=300Mi, used: requests.memory=300Mi" in err.value.message
