"""Unknown fields: Kubernetes' paths, did-you-mean suggestions and message texts."""

from __future__ import annotations

from typing import Any

from kubelite.api.fieldcheck import (
    UnknownField,
    strict_error_message,
    suggest,
    unknown_fields,
    warning_messages,
)

POD = "io.k8s.api.core.v1.Pod"


def _pod(container: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"},
            "spec": {"containers": [container], **spec}}


def test_known_pod_has_no_unknown_fields() -> None:
    pod = _pod({"name": "a", "image": "nginx", "resources": {"limits": {"cpu": 1}},
                "env": [{"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]},
               nodeSelector={"any-key": "v"},
               volumes=[{"name": "v", "emptyDir": {}}])
    pod["metadata"]["managedFields"] = [{"fieldsV1": {"f:spec": {"f:anything": {}}}}]
    assert unknown_fields(pod, POD) == []


def test_seed_manifest_resource_typos() -> None:
    """The seed manifest's `resouces:` and `limit:` under a container."""
    pod = _pod({"image": "blabla:latest", "name": "jose",
                "resouces": {"cpu": "500m", "memory": "128Mi"},
                "limit": {"cpu": "1000m", "memory": "256Mi"}})
    assert unknown_fields(pod, POD) == [
        UnknownField("spec.containers[0].resouces", "resources"),
        UnknownField("spec.containers[0].limit", "resources.limits"),
    ]


def test_strict_message() -> None:
    fields = [UnknownField("spec.containers[0].resouces", "resources"), UnknownField("spec.foo")]
    assert strict_error_message(fields) == (
        'strict decoding error: unknown field "spec.containers[0].resouces", '
        'did you mean "resources"?, unknown field "spec.foo"')


def test_warning_messages_one_per_field() -> None:
    fields = [UnknownField("spec.foo"), UnknownField("spec.nodeselector", "nodeSelector")]
    assert warning_messages(fields) == [
        'unknown field "spec.foo"',
        'unknown field "spec.nodeselector", did you mean "nodeSelector"?']
    assert warning_messages(fields, with_suggestions=False)[1] == 'unknown field "spec.nodeselector"'


def test_paths_through_lists_and_maps() -> None:
    pod = _pod({"name": "a", "ports": [{"containerPort": 1}, {"containerPort": 2, "protcol": "TCP"}]},
               volumes=[{"name": "v", "emptydir": {}}])
    assert [f.path for f in unknown_fields(pod, POD)] == [
        "spec.containers[0].ports[1].protcol", "spec.volumes[0].emptydir"]


def test_top_level_unknown_field() -> None:
    assert unknown_fields({"kind": "Pod", "spek": {}}, POD) == [UnknownField("spek", "spec")]


def test_case_only_difference_is_suggested() -> None:
    assert suggest("restartpolicy", "io.k8s.api.core.v1.PodSpec") == "restartPolicy"


def test_nothing_close_means_no_suggestion() -> None:
    assert suggest("zzzzzz", "io.k8s.api.core.v1.PodSpec") is None


def test_deployment_template_is_walked() -> None:
    dep = {"spec": {"selector": {"matchLabels": {"a": "b"}},
                    "template": {"spec": {"containers": [{"name": "a", "imagee": "x"}]}}}}
    assert unknown_fields(dep, "io.k8s.api.apps.v1.Deployment") == [
        UnknownField("spec.template.spec.containers[0].imagee", "image")]


def test_a_repeated_spec_gives_the_same_answer_from_memory() -> None:
    """Creates of one template repeat their spec: the walk is remembered by content."""
    typo = {"containers": [{"name": "c", "image": "i", "resouces": {}}]}
    for _ in range(3):
        found = unknown_fields({"metadata": {"name": "x", "labelz": {}}, "spec": typo}, "io.k8s.api.core.v1.Pod")
        assert [f.path for f in found] == ["metadata.labelz", "spec.containers[0].resouces"]
    fixed = {"containers": [{"name": "c", "image": "i", "resources": {}}]}
    assert unknown_fields({"spec": fixed}, "io.k8s.api.core.v1.Pod") == []
