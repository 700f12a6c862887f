"""Strategic merge patch, checked with the patches kubectl really sends."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubelite.api.patch import (
    PatchError,
    apply_merge_patch,
    apply_strategic_merge_patch,
    merge_keys_for,
)

from .strategies import json_objects, patch_settings

POD = "io.k8s.api.core.v1.Pod"
DEPLOYMENT = "io.k8s.api.apps.v1.Deployment"


def pod() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "labels": {"app": "web", "tier": "fe"},
            "annotations": {"note": "x"},
            "finalizers": ["a.example/one", "b.example/two"],
            "ownerReferences": [
                {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}
            ],
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "nginx",
                    "args": ["--a", "--b"],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "ports": [
                        {"containerPort": 80, "protocol": "TCP"},
                        {"containerPort": 443, "protocol": "TCP"},
                    ],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                },
                {"name": "side", "image": "busybox"},
            ],
            "tolerations": [{"key": "k1", "operator": "Exists"}],
            "volumes": [{"name": "data", "emptyDir": {}}],
        },
        "status": {
            "conditions": [
                {"type": "Ready", "status": "False"},
                {"type": "PodScheduled", "status": "True"},
            ]
        },
    }


def smp(
    patch: dict[str, Any], original: dict[str, Any] | None = None, definition: str = POD
) -> dict[str, Any]:
    return apply_strategic_merge_patch(pod() if original is None else original, patch, definition)


def test_kubectl_apply_patch_removing_label_container_port_and_env() -> None:
    # The patch kubectl 1.27-1.33 sent when a label, a container, a port and env were removed.
    patch = {
        "metadata": {"labels": {"tier": None}},
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [
                {
                    "$setElementOrder/ports": [{"containerPort": 443}],
                    "env": None,
                    "name": "app",
                    "ports": [{"$patch": "delete", "containerPort": 80}],
                },
                {"$patch": "delete", "name": "side"},
            ],
        },
    }
    result = smp(patch)
    assert result["metadata"]["labels"] == {"app": "web"}
    [app] = result["spec"]["containers"]
    assert app["name"] == "app" and "env" not in app
    assert app["ports"] == [{"containerPort": 443, "protocol": "TCP"}]
    assert app["volumeMounts"] == [{"name": "data", "mountPath": "/data"}]


def test_container_ports_merge_on_container_port() -> None:
    result = smp(
        {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "ports": [{"containerPort": 443, "name": "https"}, {"containerPort": 8080}],
                    }
                ]
            }
        }
    )
    ports = result["spec"]["containers"][0]["ports"]
    assert ports == [
        {"containerPort": 80, "protocol": "TCP"},
        {"containerPort": 443, "protocol": "TCP", "name": "https"},
        {"containerPort": 8080},
    ]


def test_volume_mounts_merge_on_mount_path() -> None:
    result = smp(
        {
            "spec": {
                "containers": [
                    {
                        "name": "app",
                        "volumeMounts": [
                            {"mountPath": "/data", "readOnly": True},
                            {"name": "cfg", "mountPath": "/etc/cfg"},
                        ],
                    }
                ]
            }
        }
    )
    assert result["spec"]["containers"][0]["volumeMounts"] == [
        {"name": "data", "mountPath": "/data", "readOnly": True},
        {"name": "cfg", "mountPath": "/etc/cfg"},
    ]


def test_env_merges_on_name_and_set_element_order_reorders() -> None:
    patch = {
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "$setElementOrder/env": [{"name": "C"}, {"name": "B"}, {"name": "A"}],
                    "env": [{"name": "C", "value": "3"}, {"name": "B", "value": "22"}],
                }
            ]
        }
    }
    env = smp(patch)["spec"]["containers"][0]["env"]
    assert env == [
        {"name": "C", "value": "3"},
        {"name": "B", "value": "22"},
        {"name": "A", "value": "1"},
    ]


def test_without_set_element_order_new_elements_lead_in_patch_order() -> None:
    # apimachinery's mergeSortedSlice: an item the live order does not know wins the comparison,
    # so new elements come before the server-only ones (kubectl always sends $setElementOrder).
    patch = {"spec": {"containers": [{"name": "z", "image": "z"}, {"name": "y", "image": "y"}]}}
    assert [c["name"] for c in smp(patch)["spec"]["containers"]] == ["z", "y", "app", "side"]


def test_set_element_order_appends_new_elements_where_kubectl_says() -> None:
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}, {"name": "side"}, {"name": "z"}],
            "containers": [{"name": "z", "image": "z"}],
        }
    }
    assert [c["name"] for c in smp(patch)["spec"]["containers"]] == ["app", "side", "z"]


def test_set_element_order_places_new_container_first() -> None:
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "init"}, {"name": "app"}, {"name": "side"}],
            "containers": [{"name": "init", "image": "i"}],
        }
    }
    assert [c["name"] for c in smp(patch)["spec"]["containers"]] == ["init", "app", "side"]


def test_conditions_merge_on_type() -> None:
    patch = {
        "status": {
            "conditions": [
                {"type": "Ready", "status": "True"},
                {"type": "Initialized", "status": "True"},
            ]
        }
    }
    assert smp(patch)["status"]["conditions"] == [
        {"type": "Ready", "status": "True"},
        {"type": "Initialized", "status": "True"},
        {"type": "PodScheduled", "status": "True"},
    ]


def test_owner_references_merge_on_uid() -> None:
    patch = {
        "metadata": {
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": "n", "uid": "u2"}]
        }
    }
    refs = smp(patch)["metadata"]["ownerReferences"]
    assert sorted(o["uid"] for o in refs) == ["u1", "u2"]
    assert refs[1] == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u1"}


@pytest.mark.parametrize(
    ("patch", "path", "expected"),
    [
        (
            {"spec": {"tolerations": [{"key": "k2", "operator": "Exists"}]}},
            ("spec", "tolerations"),
            [{"key": "k2", "operator": "Exists"}],
        ),
        (
            {"spec": {"containers": [{"name": "app", "args": ["--c"]}]}},
            ("spec", "containers", 0, "args"),
            ["--c"],
        ),
        (
            {"spec": {"containers": [{"name": "app", "command": ["sh"]}]}},
            ("spec", "containers", 0, "command"),
            ["sh"],
        ),
    ],
)
def test_atomic_lists_are_replaced(
    patch: dict[str, Any], path: tuple[Any, ...], expected: Any
) -> None:
    value: Any = smp(patch)
    for step in path:
        value = value[step]
    assert value == expected


def test_finalizers_merge_as_a_set() -> None:
    result = smp({"metadata": {"finalizers": ["b.example/two", "c.example/three"]}})
    assert result["metadata"]["finalizers"] == ["a.example/one", "b.example/two", "c.example/three"]


def test_delete_from_primitive_list() -> None:
    result = smp({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example/one"]}})
    assert result["metadata"]["finalizers"] == ["b.example/two"]


def test_null_deletes_and_maps_merge_recursively() -> None:
    result = smp({"metadata": {"annotations": {"note": None, "new": "y"}, "labels": None}})
    assert result["metadata"]["annotations"] == {"new": "y"}
    assert "labels" not in result["metadata"]


def test_nulls_inside_new_values_are_dropped() -> None:
    result = smp({"spec": {"nodeSelector": {"disk": "ssd", "gone": None}}})
    assert result["spec"]["nodeSelector"] == {"disk": "ssd"}


def test_patch_replace_directive_on_map() -> None:
    original = pod()
    original["spec"]["nodeSelector"] = {"a": "1", "b": "2"}
    result = smp({"spec": {"nodeSelector": {"$patch": "replace", "c": "3"}}}, original)
    assert result["spec"]["nodeSelector"] == {"c": "3"}


def test_patch_delete_directive_on_map_empties_it() -> None:
    original = pod()
    original["spec"]["securityContext"] = {"runAsUser": 1}
    assert (
        smp({"spec": {"securityContext": {"$patch": "delete"}}}, original)["spec"][
            "securityContext"
        ]
        == {}
    )


def test_patch_replace_directive_in_list() -> None:
    patch = {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}}
    assert smp(patch)["spec"]["containers"] == [{"name": "only", "image": "x"}]


def test_retain_keys_on_deployment_strategy() -> None:
    deploy = {
        "spec": {
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}},
            "replicas": 2,
        }
    }
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    assert apply_strategic_merge_patch(deploy, patch, DEPLOYMENT)["spec"] == {
        "strategy": {"type": "Recreate"},
        "replicas": 2,
    }


def test_retain_keys_on_volume_switches_source() -> None:
    patch = {
        "spec": {
            "volumes": [
                {"$retainKeys": ["configMap", "name"], "name": "data", "configMap": {"name": "cm"}}
            ]
        }
    }
    assert smp(patch)["spec"]["volumes"] == [{"name": "data", "configMap": {"name": "cm"}}]


def test_unknown_type_behaves_like_merge_patch() -> None:
    original = {"spec": {"items": [1, 2], "m": {"a": 1}}}
    patch = {"spec": {"items": [3], "m": {"b": 2}}}
    assert apply_strategic_merge_patch(
        original, patch, "example.com.v1.Widget"
    ) == apply_merge_patch(original, patch)


def test_inputs_are_not_modified() -> None:
    original = pod()
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [{"name": "app", "image": "x"}, {"$patch": "delete", "name": "side"}],
        }
    }
    patch_copy = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [{"name": "app", "image": "x"}, {"$patch": "delete", "name": "side"}],
        }
    }
    smp(patch, original)
    assert original == pod()
    assert patch == patch_copy


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (
            {"spec": {"containers": [{"image": "x"}]}},
            "map: map[image:x] does not contain declared merge key: name",
        ),
        (
            {"spec": {"securityContext": {"$patch": "merge"}}},
            "unknown patch type: merge in map: map[$patch:merge]",
        ),
        (
            {"spec": {"containers": [{"$patch": "merge", "name": "app"}]}},
            "merging lists cannot yet be specified in the patch",
        ),
        ({"spec": {"strategy": {"$retainKeys": "type"}}}, "invalid patch format of retainKeys"),
        (
            {"spec": {"$retainKeys": ["nodeName"], "hostname": "h"}},
            "patch content doesn't match retainKeys list",
        ),
        (
            {"spec": {"$setElementOrder/containers": "app"}},
            "invalid patch format of setElementOrder list",
        ),
    ],
)
def test_malformed_patches_are_rejected(patch: dict[str, Any], message: str) -> None:
    with pytest.raises(PatchError) as err:
        smp(patch)
    assert str(err.value) == message


def test_unprocessable_patches_carry_422() -> None:
    with pytest.raises(PatchError) as err:
        smp({"spec": {"$retainKeys": ["nodeName"], "hostname": "h"}})
    assert err.value.code == 422
    with pytest.raises(PatchError) as err:
        smp({"metadata": {"finalizers": [["nested"]]}})
    assert (err.value.message, err.value.code) == ("lists of lists are not supported", 422)


def test_set_element_order_must_agree_with_patch_list() -> None:
    patch = {
        "spec": {
            "$setElementOrder/containers": [{"name": "app"}],
            "containers": [{"name": "other", "image": "x"}],
        }
    }
    with pytest.raises(PatchError, match="doesn't match"):
        smp(patch)


def test_merge_keys_come_from_the_schema() -> None:
    keys = merge_keys_for(POD)
    assert keys["spec.containers"] == "name"
    assert keys["spec.containers.ports"] == "containerPort"
    assert keys["spec.containers.volumeMounts"] == "mountPath"
    assert keys["metadata.ownerReferences"] == "uid"
    assert keys["status.conditions"] == "type"
    assert keys["metadata.finalizers"] == ""
    assert "spec.tolerations" not in keys and "spec.containers.args" not in keys


# ------------------------------------------------------------------------------- properties

names = st.sampled_from(["app", "side", "new"])
directive_values = st.sampled_from(["delete", "replace", "merge", "bogus"])


@st.composite
def container_patches(draw: st.DrawFn) -> dict[str, Any]:
    item: dict[str, Any] = {"name": draw(names)}
    if draw(st.booleans()):
        item["image"] = draw(st.sampled_from(["a", "b"]))
    if draw(st.booleans()):
        item["$patch"] = draw(directive_values)
    if draw(st.booleans()):
        item["ports"] = [
            {"containerPort": p, **({"$patch": "delete"} if d else {})}
            for p, d in draw(
                st.lists(st.tuples(st.sampled_from([80, 443, 9]), st.booleans()), max_size=3)
            )
        ]
    if draw(st.booleans()):
        item["$setElementOrder/ports"] = [
            {"containerPort": p} for p in draw(st.lists(st.sampled_from([80, 443, 9]), max_size=3))
        ]
    if draw(st.booleans()):
        item["env"] = None
    if draw(st.booleans()):
        item["$retainKeys"] = draw(
            st.lists(st.sampled_from(["name", "image", "ports"]), max_size=3)
        )
    return item


@st.composite
def pod_patches(draw: st.DrawFn) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if draw(st.booleans()):
        spec["containers"] = draw(st.lists(container_patches(), max_size=3))
    if draw(st.booleans()):
        spec["$setElementOrder/containers"] = [
            {"name": n} for n in draw(st.lists(names, max_size=3))
        ]
    if draw(st.booleans()):
        spec["nodeSelector"] = draw(
            st.dictionaries(
                st.sampled_from(["a", "$patch", "b"]),
                st.sampled_from(["x", "replace", "delete"]),
                max_size=2,
            )
        )
    if draw(st.booleans()):
        spec["tolerations"] = [{"key": "k", "$patch": "delete"}]
    meta: dict[str, Any] = {}
    if draw(st.booleans()):
        meta["finalizers"] = draw(st.lists(st.sampled_from(["a.example/one", "x"]), max_size=2))
    if draw(st.booleans()):
        meta["$deleteFromPrimitiveList/finalizers"] = draw(
            st.lists(st.sampled_from(["a.example/one", "x"]), max_size=2)
        )
    return {"metadata": meta, "spec": spec}


def _dollar_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [k for k in value if k.startswith("$")] + [
            x for v in value.values() for x in _dollar_keys(v)
        ]
    if isinstance(value, list):
        return [x for v in value for x in _dollar_keys(v)]
    return []


@patch_settings
@given(pod_patches(), st.booleans())
def test_strategic_patch_never_leaves_directive_keys(
    patch: dict[str, Any], empty_original: bool
) -> None:
    original = {"metadata": {"name": "p"}} if empty_original else pod()
    try:
        result = apply_strategic_merge_patch(original, patch, POD)
    except PatchError:
        return
    assert _dollar_keys(result) == []


@patch_settings
@given(json_objects, json_objects)
def test_without_schema_strategic_equals_merge_patch(
    original: dict[str, Any], patch: dict[str, Any]
) -> None:
    assert apply_strategic_merge_patch(original, patch, "no.such.Type") == apply_merge_patch(
        original, patch
    )
