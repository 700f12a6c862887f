"""The enforcer's bookkeeping (network/policy/enforcer.py), with informer caches filled by hand
and nft replaced by a recorder: what `admit` waits for, which copy of a pod wins."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from kubelite.network.policy import enforcer as enforcer_module
from kubelite.network.policy.enforcer import PolicyEnforcer

NODE = "n1"
DENY = {"metadata": {"name": "deny", "namespace": "prod"},
        "spec": {"podSelector": {"matchLabels": {"app": "new"}}, "policyTypes": ["Ingress"]}}


def pod(uid: str, ip: str, app: str, node: str = NODE) -> dict[str, Any]:
    return {"metadata": {"name": uid, "namespace": "prod", "uid": uid, "labels": {"app": app}},
            "spec": {"nodeName": node, "containers": []}, "status": {"podIP": ip, "phase": "Running"}}


@pytest.fixture
def enforcer(monkeypatch: pytest.MonkeyPatch) -> tuple[PolicyEnforcer, list[str]]:
    scripts: list[str] = []

    async def record(script: str, *args: str) -> str:
        scripts.append(script)
        return ""

    monkeypatch.setattr(enforcer_module, "run_nft", record)
    e = PolicyEnforcer(object(), "kubelite_t_pol", node_name=NODE, bridge="klt0",  # type: ignore[arg-type]
                       gateway="10.42.0.1", batch_delay=0)
    return e, scripts


def fill(monkeypatch: pytest.MonkeyPatch, e: PolicyEnforcer, pods: list[dict[str, Any]],
         policies: list[dict[str, Any]]) -> None:
    monkeypatch.setattr(e.pods, "list", lambda: pods)
    monkeypatch.setattr(e.policies, "list", lambda: policies)
    monkeypatch.setattr(e.namespaces, "list", lambda: [])


async def test_admit_returns_once_the_address_is_applied(
        enforcer: tuple[PolicyEnforcer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    e, scripts = enforcer
    fill(monkeypatch, e, [], [DENY])
    loop = asyncio.create_task(e._loop())
    try:
        await e.admit({"metadata": {"uid": "b", "namespace": "prod", "labels": {"app": "new"}},
                       "spec": {"containers": []}}, "10.42.0.7")  # not in the informer yet
        assert "elements = { 10.42.0.7 }" in scripts[-1]  # isolated: the kubelet's copy is local
    finally:
        loop.cancel()


async def test_a_reused_address_belongs_to_the_admitted_pod(
        enforcer: tuple[PolicyEnforcer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    e, scripts = enforcer
    fill(monkeypatch, e, [pod("old", "10.42.0.7", "old"), pod("b", "", "new")], [DENY])
    e.admitted["b"] = ("10.42.0.7", pod("b", "", "new"))
    infos = {p.ip: p for p in e.pod_infos()}
    assert infos["10.42.0.7"].uid == "b" and infos["10.42.0.7"].labels == {"app": "new"}
    assert infos["10.42.0.1"].labels == {"k8s-app": "kube-dns"}  # the node-local DNS
    await e.sync()
    assert "elements = { 10.42.0.7 }" in scripts[-1]
    e.forget("b")
    await e.sync()
    assert "10.42.0.7" not in scripts[-1].split("chain forward")[0]  # "old" is not selected


async def test_unchanged_tables_are_not_applied_again(
        enforcer: tuple[PolicyEnforcer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    e, scripts = enforcer
    fill(monkeypatch, e, [pod("a", "10.42.0.5", "new")], [DENY])
    assert await e.sync() is True
    assert await e.sync() is False
    assert len(scripts) == 1
    assert scripts[0].startswith("add table ip kubelite_t_pol\ndelete table ip kubelite_t_pol\n")


async def test_admit_does_not_wait_for_a_pod_no_policy_selects(
        enforcer: tuple[PolicyEnforcer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    e, scripts = enforcer
    fill(monkeypatch, e, [], [DENY])
    await asyncio.wait_for(e.admit(pod("c", "", "other"), "10.42.0.8"), 1)  # no sync loop runs
    assert scripts == [] and e.admitted["c"][0] == "10.42.0.8" and e._changed.is_set()


async def test_admit_waits_when_the_table_knows_the_address_from_a_former_pod(
        enforcer: tuple[PolicyEnforcer, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    e, scripts = enforcer
    allow_old = {"metadata": {"name": "allow", "namespace": "prod"}, "spec": {
        "podSelector": {"matchLabels": {"app": "new"}}, "ingress": [{"from": [{"podSelector": {
            "matchLabels": {"app": "old"}}}]}]}}
    pods = [pod("a", "10.42.0.5", "new"), pod("old", "10.42.0.9", "old")]
    fill(monkeypatch, e, pods, [allow_old])
    await e.sync()
    assert e.applied_model.mentions("10.42.0.9") and not e.applied_model.mentions("10.42.0.10")
    pods.pop()  # the old pod is gone; a pod no policy selects gets its address
    loop = asyncio.create_task(e._loop())
    try:
        await e.admit(pod("c", "", "other"), "10.42.0.9")
        assert "10.42.0.9" not in e.applied  # type: ignore[operator]
    finally:
        loop.cancel()
