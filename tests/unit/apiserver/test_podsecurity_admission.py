"""The PodSecurity plugin in the object store's admission chain: enforce refuses, audit
annotates, warn records warnings for the request; exempt users and runtime classes pass; pod
updates that change nothing it looks at are not re-checked; tightening a namespace warns about
its pods, grouped by reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from kubelite.api import podsecurity as ps
from kubelite.api import status as st
from kubelite.api.registry import by_resource
from kubelite.apiserver import request_context
from kubelite.apiserver.auth import User
from kubelite.apiserver.podsecurity import PodSecurity
from kubelite.apiserver.podsecurity_config import PodSecurityConfig
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore

PODS, NAMESPACES = by_resource("", "v1", "pods"), by_resource("", "v1", "namespaces")
DEPLOYMENTS = by_resource("apps", "v1", "deployments")
ENFORCE, AUDIT, WARN = (f"pod-security.kubernetes.io/{m}" for m in ("enforce", "audit", "warn"))
CONFIG = PodSecurityConfig(exempt_usernames=frozenset({"ci-bot"}), exempt_runtime_classes=frozenset({"kata"}))


@pytest.fixture
async def objs(tmp_path: Path) -> AsyncIterator[ObjectStore]:
    store = SqliteStore(str(tmp_path / "state.db"))
    await store.start()
    try:
        yield ObjectStore(store, admission=[PodSecurity(store, CONFIG)])
    finally:
        await store.close()


def privileged(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {
        "containers": [{"name": "c", "image": "busybox", "securityContext": {"privileged": True}}], **spec}}


async def namespace(objs: ObjectStore, name: str, labels: dict[str, str] | None = None) -> None:
    await objs.create(NAMESPACES, None, {"metadata": {"name": name, "labels": labels or {}}}, WriteOptions())


async def as_user(user: str, write: Any) -> request_context.RequestContext:
    token = request_context.begin(User(user, ()))
    try:
        await write
        ctx = request_context.current()
        assert ctx is not None
        return ctx
    finally:
        request_context.end(token)


async def test_enforce_audit_and_warn(objs: ObjectStore) -> None:
    await namespace(objs, "team", {ENFORCE: "baseline", AUDIT: "restricted", WARN: "restricted", f"{WARN}-version": "v1.22"})
    with pytest.raises(st.Forbidden) as e:
        await objs.create(PODS, "team", privileged("p"), WriteOptions())
    assert e.value.message == ('pods "p" is forbidden: violates PodSecurity "baseline:latest": '
                               'privileged (container "c" must not set securityContext.privileged=true)')
    assert e.value.details == {"name": "p", "kind": "pods"}
    plain = {"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    ctx = await as_user("alice", objs.create(PODS, "team", plain, WriteOptions()))
    assert ctx.warnings == ['would violate PodSecurity "restricted:v1.22": allowPrivilegeEscalation != false '
                            '(container "c" must set securityContext.allowPrivilegeEscalation=false), '
                            'unrestricted capabilities (container "c" must set securityContext.capabilities.drop=["ALL"]), '
                            'runAsNonRoot != true (pod or container "c" must set securityContext.runAsNonRoot=true), '
                            'seccompProfile (pod or container "c" must set securityContext.seccompProfile.type to '
                            '"RuntimeDefault" or "Localhost")']
    assert ctx.audit_annotations["pod-security.kubernetes.io/enforce-policy"] == "baseline:latest"
    # runAsUser only exists from v1.23 on, so the audit (latest) and warn (v1.22) texts differ
    assert ctx.audit_annotations["pod-security.kubernetes.io/audit-violations"].startswith(
        'would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false')


async def test_exemptions(objs: ObjectStore) -> None:
    await namespace(objs, "locked", {ENFORCE: "restricted"})
    ctx = await as_user("ci-bot", objs.create(PODS, "locked", privileged("by-bot"), WriteOptions()))
    assert ctx.audit_annotations == {"pod-security.kubernetes.io/exempt": "user"}
    await objs.create(PODS, "locked", privileged("kata", runtimeClassName="kata"), WriteOptions())
    with pytest.raises(st.Forbidden):
        await objs.create(PODS, "locked", privileged("runc", runtimeClassName="runc"), WriteOptions())


async def test_only_significant_pod_updates_are_checked(objs: ObjectStore) -> None:
    await namespace(objs, "later")
    await objs.create(PODS, "later", privileged("p"), WriteOptions())
    await objs.patch(NAMESPACES, None, "later", "application/merge-patch+json",
                     {"metadata": {"labels": {ENFORCE: "baseline"}}}, WriteOptions())
    # a label change passes; a new image is evaluated and refused
    await objs.patch(PODS, "later", "p", "application/merge-patch+json", {"metadata": {"labels": {"a": "b"}}}, WriteOptions())
    with pytest.raises(st.Forbidden):
        await objs.patch(PODS, "later", "p", "application/strategic-merge-patch+json",
                         {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}, WriteOptions())


async def test_workloads_are_warned_never_refused(objs: ObjectStore) -> None:
    await namespace(objs, "apps", {ENFORCE: "restricted", WARN: "baseline"})
    template = privileged("ignored")
    deployment = {"metadata": {"name": "web"}, "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": template["spec"]}}}
    ctx = await as_user("alice", objs.create(DEPLOYMENTS, "apps", deployment, WriteOptions()))
    assert ctx.warnings == ['would violate PodSecurity "baseline:latest": privileged '
                            '(container "c" must not set securityContext.privileged=true)']
    # a write that leaves the template alone (scale, status) is not re-checked
    ctx = await as_user("alice", objs.patch(DEPLOYMENTS, "apps", "web", "application/merge-patch+json",
                                            {"spec": {"replicas": 3}}, WriteOptions()))
    assert ctx.warnings == []


async def test_tightening_a_namespace_warns_per_reason(objs: ObjectStore) -> None:
    await namespace(objs, "crowd")
    for name in ("p3", "p1", "p2"):
        await objs.create(PODS, "crowd", privileged(name), WriteOptions())
    await objs.create(PODS, "crowd", privileged("net", hostNetwork=True), WriteOptions())
    ctx = await as_user("alice", objs.patch(NAMESPACES, None, "crowd", "application/merge-patch+json",
                                            {"metadata": {"labels": {ENFORCE: "baseline"}}}, WriteOptions()))
    assert ctx.warnings == [
        'existing pods in namespace "crowd" violate the new PodSecurity enforce level "baseline:latest"',
        "net: host namespaces, privileged",
        "p1 (and 2 other pods): privileged",
    ]
    with pytest.raises(st.Invalid) as e:
        await objs.patch(NAMESPACES, None, "crowd", "application/merge-patch+json",
                         {"metadata": {"labels": {WARN: "loud"}}}, WriteOptions())
    assert e.value.message == ('Namespace "crowd" is invalid: metadata.labels[pod-security.kubernetes.io/warn]: '
                               'Invalid value: "loud": must be one of privileged, baseline, restricted')


def test_levels_are_exported() -> None:
    assert ps.Policy().fully_privileged()
