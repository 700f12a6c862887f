"""The one-pass managedFields of a create equal what the general diff records."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubelite.api.patch import apply, record_update
from kubelite.api.patch.schema import schema_for

from .strategies import json_values, patch_settings

NOW = "2024-01-01T00:00:00Z"
POD = "io.k8s.api.core.v1.Pod"

POD_OBJ: dict[str, Any] = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "p", "namespace": "default", "uid": "u", "creationTimestamp": NOW,
                 "labels": {"app": "x", "tier": "web"}, "annotations": {},
                 "finalizers": ["a", "b"], "ownerReferences": [
                     {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "1"}]},
    "spec": {
        "containers": [
            {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "10m"}},
             "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
             "env": [{"name": "A", "value": "1"}, {"name": "A", "value": "dup"}],
             "volumeMounts": [{"name": "v", "mountPath": "/v"}], "command": ["sh", "-c"]},
            {"name": "d", "image": "nginx", "args": []},
        ],
        "volumes": [{"name": "v", "emptyDir": {}}],
        "tolerations": [{"key": "k", "operator": "Exists"}],
        "nodeSelector": {},
        "restartPolicy": "Always",
    },
    "status": {"phase": "Pending"},
}

CASES: list[tuple[str, dict[str, Any]]] = [
    (POD, POD_OBJ),
    (POD, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bare"}, "spec": {"containers": []}}),
    ("io.k8s.api.core.v1.ConfigMap", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "only-name"}}),
    ("io.k8s.api.core.v1.ConfigMap", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {}},
                                      "data": {"a": "1", "b": ""}, "binaryData": {}}),
    ("io.k8s.api.core.v1.Service", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                    "spec": {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"},
                                                       {"port": 80}], "selector": {"a": "b"}, "clusterIPs": ["10.0.0.1"],
                                             "type": "ClusterIP"}}),
    ("io.k8s.api.apps.v1.Deployment", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d", "generation": 1},
                                       "spec": {"replicas": 2, "selector": {"matchLabels": {"a": "b"}},
                                                "template": {"metadata": {"labels": {"a": "b"}},
                                                             "spec": {"containers": [{"name": "c", "image": "i"}]}}}}),
    ("io.k8s.api.core.v1.Node", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"},
                                 "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]},
                                 "status": {"capacity": {"cpu": "2"}}}),
    ("io.k8s.api.core.v1.Namespace", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"},
                                      "spec": {"finalizers": ["kubernetes"]}}),
    ("io.k8s.api.core.v1.Pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "nulls", "labels": None},
                                "spec": None}),
    ("io.k8s.api.core.v1.Pod", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "odd"},
                                "spec": {"containers": [{"image": "no-name"}, "not-an-object"], "extra": {"x": [1]}}}),
    ("io.k8s.api.apps.v1.Deployment", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "null-template"},
                                       "spec": {"selector": None, "template": {"metadata": None, "spec": None}}}),
    ("io.k8s.api.apps.v1.Deployment", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "empty-template"},
                                       "spec": {"template": {"metadata": {}, "spec": {"containers": None}}}}),
    ("no.such.Definition", {"apiVersion": "v1", "kind": "X", "metadata": {"name": "x"}, "spec": {"a": [1, 2], "b": {}}}),
]


def general(definition: str, obj: dict[str, Any]) -> dict[str, Any]:
    return apply._record_diff(None, obj, {}, schema_for(definition), manager="m", api_version="v1",
                              now=NOW, subresource="")


def created(definition: str, obj: dict[str, Any]) -> dict[str, Any]:
    return apply.record_create(obj, manager="m", definition=definition, api_version="v1", now=NOW)


@pytest.mark.parametrize(("definition", "obj"), CASES, ids=[c[1]["metadata"]["name"] for c in CASES])
def test_create_fields_match_the_general_diff(definition: str, obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    assert created(definition, obj) == general(definition, obj)
    assert obj == before  # the input is left alone


def test_a_pod_create_owns_its_fields_but_not_status_or_system_metadata() -> None:
    fields = created(POD, POD_OBJ)["metadata"]["managedFields"][0]["fieldsV1"]
    assert "f:status" not in fields
    assert set(fields["f:metadata"]) == {"f:labels", "f:annotations", "f:finalizers", "f:ownerReferences"}
    containers = fields["f:spec"]["f:containers"]
    assert list(containers) == ['k:{"name":"c"}', 'k:{"name":"d"}']
    assert containers['k:{"name":"c"}']["."] == {}
    assert 'k:{"containerPort":53,"protocol":"UDP"}' in containers['k:{"name":"c"}']["f:ports"]


def test_a_create_that_sets_nothing_ownable_has_no_managed_fields() -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "managedFields": [{}]}}
    assert "managedFields" not in created("io.k8s.api.core.v1.ConfigMap", obj)["metadata"]


def test_record_update_without_old_takes_the_create_path_unless_managers_are_sent() -> None:
    sent = created(POD, POD_OBJ)["metadata"]["managedFields"]
    obj = {**POD_OBJ, "metadata": {**POD_OBJ["metadata"], "managedFields": sent}}
    kept = record_update(None, obj, manager="other", definition=POD, api_version="v1", now=NOW)
    # the sent entry is honoured, then loses every field the create sets to "other"
    assert [e["manager"] for e in kept["metadata"]["managedFields"]] == ["other"]
    fresh = record_update(None, POD_OBJ, manager="m", definition=POD, api_version="v1", now=NOW)
    assert fresh == general(POD, POD_OBJ)


@patch_settings
@given(extra=st.dictionaries(st.sampled_from(["labels", "annotations", "spec", "data", "x"]), json_values, max_size=3),
       containers=st.lists(st.dictionaries(st.sampled_from(["name", "image", "ports", "env", "args"]), json_values, max_size=4),
                           max_size=3))
def test_random_objects_match_the_general_diff(extra: dict[str, Any], containers: list[Any]) -> None:
    obj: dict[str, Any] = copy.deepcopy(POD_OBJ)
    obj["spec"]["containers"] = containers
    for key, value in extra.items():
        if key in ("labels", "annotations"):
            obj["metadata"][key] = value
        else:
            obj["spec"][key] = value
    assert created(POD, obj) == general(POD, obj)
