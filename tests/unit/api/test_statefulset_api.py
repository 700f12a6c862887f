"""StatefulSet defaults and validation as Kubernetes 1.32's apps/v1."""

from __future__ import annotations

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.types import apps_v1
from kubelite.api.validation.statefulset import validate_stateful_set, validate_stateful_set_update

BODY = {"metadata": {"name": "web", "namespace": "default"},
        "spec": {"serviceName": "web", "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                     {"name": "c", "image": "busybox",
                      "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                     "accessModes": ["ReadWriteOnce"],
                     "resources": {"requests": {"storage": "1Gi"}}}}]}}


def sts(**spec: object) -> apps_v1.StatefulSet:
    body = {**BODY, "spec": {**BODY["spec"], **spec}}  # type: ignore[dict-item]
    obj = msgspec.convert(body, apps_v1.StatefulSet, from_attributes=False,
                          dec_hook=None, str_keys=True)
    apply_defaults(obj)
    return obj


def test_defaults() -> None:
    spec = sts().spec
    assert spec is not None and spec.update_strategy is not None
    assert (spec.replicas, spec.pod_management_policy, spec.revision_history_limit) == \
        (1, "OrderedReady", 10)
    assert spec.update_strategy.type == "RollingUpdate"
    assert spec.update_strategy.rolling_update is not None
    assert spec.update_strategy.rolling_update.partition == 0
    policy = spec.persistent_volume_claim_retention_policy
    assert policy is not None and (policy.when_deleted, policy.when_scaled) == ("Retain", "Retain")


def test_claim_template_mounts_are_valid_and_bad_values_are_not() -> None:
    assert validate_stateful_set(sts()) == []
    errs = {e.field for e in validate_stateful_set(sts(podManagementPolicy="Sometimes"))}
    assert errs == {"spec.podManagementPolicy"}
    errs = {e.field for e in validate_stateful_set(
        sts(updateStrategy={"type": "OnDelete", "rollingUpdate": {"partition": 1}}))}
    assert errs == {"spec.updateStrategy.rollingUpdate"}


def test_update_may_change_replicas_and_template_only() -> None:
    old = sts()
    assert validate_stateful_set_update(sts(replicas=3), old) == []
    errs = validate_stateful_set_update(sts(serviceName="other"), old)
    assert [e.field for e in errs] == ["spec"] and "are forbidden" in errs[0].detail
