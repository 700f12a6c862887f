"""Field sets in FieldsV1 form and the structured-merge-diff operations behind apply."""

from __future__ import annotations

import pytest

from kubelite.api.patch import FieldSet, PatchError, path_string
from kubelite.api.patch.schema import schema_for
from kubelite.api.patch.structured import compare, ensure_named_fields, merge, remove_items

POD = "io.k8s.api.core.v1.Pod"


def test_field_set_of_a_pod_in_fields_v1_form() -> None:
    obj = {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
    }
    assert FieldSet.from_object(obj, POD).to_fields_v1() == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}, "f:name": {}}}},
    }


def test_list_kinds_give_key_value_and_leaf_elements() -> None:
    obj = {
        "metadata": {
            "finalizers": ["x.io/f"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "K", "name": "n", "uid": "u"}],
        },
        "spec": {
            "containers": [{"name": "c", "ports": [{"containerPort": 80}], "args": ["a"]}],
            "nodeSelector": {"disk": "ssd"},
            "tolerations": [{"key": "k"}],
        },
    }
    fields = FieldSet.from_object(obj, POD).to_fields_v1()
    assert fields["f:metadata"]["f:finalizers"] == {'v:"x.io/f"': {}}
    assert fields["f:metadata"]["f:ownerReferences"] == {'k:{"uid":"u"}': {}}  # atomic element
    container = fields["f:spec"]["f:containers"]['k:{"name":"c"}']
    # protocol is a key field Kubernetes defaults to TCP
    assert container["f:ports"] == {
        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
    }
    assert container["f:args"] == {}
    assert fields["f:spec"]["f:nodeSelector"] == {}  # atomic map
    assert fields["f:spec"]["f:tolerations"] == {}  # atomic list


def test_empty_and_null_values_are_owned_leaves() -> None:
    obj = {"spec": {"securityContext": {}, "hostname": None}}
    assert FieldSet.from_object(obj, POD).to_fields_v1() == {
        "f:spec": {"f:hostname": {}, "f:securityContext": {}}
    }


def test_fields_v1_round_trip() -> None:
    data = {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}},
    }
    fs = FieldSet.from_fields_v1(data)
    assert ("f:metadata", "f:labels") in fs
    assert ("f:metadata",) not in fs
    assert fs.to_fields_v1() == data


@pytest.mark.parametrize("bad", [{"f:a": []}, {"x:y": {}}, {"f:a": {"nope": {}}}])
def test_malformed_fields_v1_is_rejected(bad: dict[str, object]) -> None:
    with pytest.raises(PatchError):
        FieldSet.from_fields_v1(bad)


@pytest.mark.parametrize(
    ("path", "printed"),
    [
        (("f:spec", 'k:{"name":"c"}', "f:image"), '.spec[name="c"].image'),
        (
            ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image"),
            '.spec.containers[name="c"].image',
        ),
        (
            ("f:spec", "f:ports", 'k:{"port":80,"protocol":"TCP"}'),
            '.spec.ports[port=80,protocol="TCP"]',
        ),
        (("f:metadata", "f:finalizers", 'v:"a/b"'), '.metadata.finalizers[="a/b"]'),
        (("f:x", "i:3"), ".x[3]"),
    ],
)
def test_paths_print_like_kubernetes(path: tuple[str, ...], printed: str) -> None:
    assert path_string(path) == printed


def test_merge_keeps_live_only_items_in_place_and_follows_config_order() -> None:
    schema = schema_for(POD)
    live = {"spec": {"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}}
    config = {"spec": {"containers": [{"name": "c", "image": "x"}, {"name": "a"}, {"name": "d"}]}}
    merged = merge(live, config, schema)
    assert merged["spec"]["containers"] == [
        {"name": "b"},
        {"name": "c", "image": "x"},
        {"name": "a"},
        {"name": "d"},
    ]


def test_merge_replaces_atomic_values_and_null_removes() -> None:
    schema = schema_for(POD)
    live = {
        "spec": {
            "tolerations": [{"key": "a"}, {"key": "b"}],
            "hostname": "h",
            "nodeSelector": {"a": "1"},
        }
    }
    config = {"spec": {"tolerations": [{"key": "c"}], "hostname": None, "nodeSelector": {"b": "2"}}}
    assert merge(live, config, schema) == {
        "spec": {"tolerations": [{"key": "c"}], "nodeSelector": {"b": "2"}}
    }


def test_compare_reports_added_modified_removed() -> None:
    schema = schema_for(POD)
    old = {
        "metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {"containers": [{"name": "c", "image": "x"}]},
    }
    new = {
        "metadata": {"labels": {"a": "9"}, "annotations": {"n": "v"}},
        "spec": {"containers": [{"name": "c", "image": "x"}, {"name": "d"}]},
    }
    c = compare(old, new, schema)
    assert c.modified == {("f:metadata", "f:labels", "f:a")}
    assert c.removed == {("f:metadata", "f:labels", "f:b")}
    d = ("f:spec", "f:containers", 'k:{"name":"d"}')
    assert c.added == {
        ("f:metadata", "f:annotations"),
        ("f:metadata", "f:annotations", "f:n"),
        d,
        (*d, "f:name"),
    }


def test_remove_items_drops_emptied_parents() -> None:
    schema = schema_for(POD)
    obj = {
        "metadata": {"name": "p", "labels": {"a": "1"}},
        "spec": {"containers": [{"name": "c"}, {"name": "d"}]},
    }
    out = remove_items(
        obj,
        {("f:metadata", "f:labels", "f:a"), ("f:spec", "f:containers", 'k:{"name":"d"}')},
        schema,
    )
    assert out == {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]}}


def test_ensure_named_fields_adds_struct_parents_not_map_keys() -> None:
    schema = schema_for(POD)
    paths = {("f:metadata", "f:labels", "f:app"), ("f:spec", "f:overhead", "f:cpu")}
    out = ensure_named_fields(paths, schema)
    assert {
        ("f:metadata",),
        ("f:metadata", "f:labels"),
        ("f:spec",),
        ("f:spec", "f:overhead"),
    } <= out
