"""DaemonSet, ReplicationController and PodTemplate: defaults and validation as Kubernetes."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.types import apps_v1, core_v1
from kubelite.api.validation import daemonset, replication
from tests.unit.api.validation.test_kinds import msgs

TEMPLATE = {"metadata": {"labels": {"app": "a"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def ds(**spec: Any) -> apps_v1.DaemonSet:
    obj = msgspec.convert({"metadata": {"name": "x", "namespace": "default"},
                           "spec": {"selector": {"matchLabels": {"app": "a"}},
                                    "template": TEMPLATE, **spec}}, apps_v1.DaemonSet)
    apply_defaults(obj)
    return obj


def rc(**spec: Any) -> core_v1.ReplicationController:
    obj = msgspec.convert({"metadata": {"name": "x", "namespace": "default"},
                           "spec": {"template": TEMPLATE, **spec}}, core_v1.ReplicationController)
    apply_defaults(obj)
    return obj


def test_daemon_set_defaults() -> None:
    spec = ds().spec
    assert spec is not None and spec.update_strategy is not None
    assert spec.update_strategy.type == "RollingUpdate"
    ru = spec.update_strategy.rolling_update
    assert ru is not None and (ru.max_unavailable, ru.max_surge) == (1, 0)
    assert spec.revision_history_limit == 10
    assert msgs(daemonset.validate_daemon_set(ds())) == []


def test_daemon_set_update_strategy_validation() -> None:
    both = ds(updateStrategy={"type": "RollingUpdate",
                              "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 1}})
    assert msgs(daemonset.validate_daemon_set(both)) == [
        "spec.updateStrategy.rollingUpdate.maxSurge: Invalid value: 1: "
        "may not be set when maxUnavailable is non-zero"]
    none = ds(updateStrategy={"type": "RollingUpdate",
                              "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 0}})
    assert msgs(daemonset.validate_daemon_set(none))[0].endswith(
        "may not be 0 when `maxSurge` is 0")
    odd = ds(updateStrategy={"type": "Recreate"})
    assert msgs(daemonset.validate_daemon_set(odd)) == [
        'spec.updateStrategy.type: Unsupported value: "Recreate": supported values: '
        '"OnDelete", "RollingUpdate"']


def test_daemon_set_selector_must_match_and_is_immutable() -> None:
    mismatch = ds(selector={"matchLabels": {"app": "b"}})
    assert any("`selector` does not match template `labels`" in m
               for m in msgs(daemonset.validate_daemon_set(mismatch)))
    new = ds(selector={"matchExpressions": [{"key": "app", "operator": "Exists"}]})
    assert msgs(daemonset.validate_daemon_set_update(new, ds()))[-1].endswith(
        "field is immutable")


def test_replication_controller_selector_defaults_from_the_template() -> None:
    obj = rc()
    assert obj.spec is not None and obj.spec.selector == {"app": "a"}
    assert obj.spec.replicas == 1
    assert obj.metadata is not None and obj.metadata.labels == {"app": "a"}
    assert msgs(replication.validate_replication_controller(obj)) == []
    bad = rc(selector={"app": "b"})
    assert msgs(replication.validate_replication_controller(bad)) == [
        'spec.template.metadata.labels: Invalid value: map[string]string{"app":"a"}: '
        "`selector` does not match template `labels`"]


def test_pod_template_allows_any_restart_policy() -> None:
    pt = msgspec.convert({"metadata": {"name": "x", "namespace": "default"},
                          "template": {"spec": {"containers": [{"name": "c", "image": "b"}],
                                                "restartPolicy": "Never"}}}, core_v1.PodTemplate)
    apply_defaults(pt)
    assert msgs(replication.validate_pod_template_object(pt)) == []
