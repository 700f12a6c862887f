"""The client-side apply annotation in server-side apply: the `kubectl` manager takes over what
client-side apply set (lastAppliedManager), keeps the annotation in step (lastAppliedUpdater),
and kubectl's own ownership migration (csaupgrade's JSON patch) is accepted.

The conflict cases are those of Kubernetes' lastappliedmanager_test.go."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from kubelite.api.patch import (
    ApplyConflict,
    apply_json_patch,
    record_update,
    server_side_apply,
)
from kubelite.api.patch.lastapplied import LAST_APPLIED, encode_last_applied, go_json

DEPLOYMENT = ("io.k8s.api.apps.v1.Deployment", "apps/v1")
SERVICE = ("io.k8s.api.core.v1.Service", "v1")
POD = ("io.k8s.api.core.v1.Pod", "v1")
T0, T1, T2 = "2024-05-01T10:00:00Z", "2024-05-01T11:00:00Z", "2024-05-01T12:00:00Z"
CSA = "test_client_side_apply"


def load(text: str) -> dict[str, Any]:
    return dict(yaml.safe_load(text))


def with_last_applied(obj: dict[str, Any], last: str) -> dict[str, Any]:
    out = json.loads(json.dumps(obj))
    out["metadata"].setdefault("annotations", {})[LAST_APPLIED] = last
    return out


def client_side(kind: tuple[str, str], original: str, last: str | None = None) -> dict[str, Any]:
    """The object as a client-side apply left it: annotation set, fields owned by CSA."""
    obj = load(original)
    text = encode_last_applied(load(last if last is not None else original)) if last != "" else ""
    return record_update(
        None, with_last_applied(obj, text), manager=CSA, definition=kind[0],
        api_version=kind[1], now=T0,
    )


def apply(
    kind: tuple[str, str], live: dict[str, Any], cfg: dict[str, Any], manager: str,
    force: bool = False,
) -> dict[str, Any]:
    return server_side_apply(
        live, cfg, manager=manager, force=force, definition=kind[0], api_version=kind[1], now=T1
    )


DEPLOY_SAME = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: my-deployment
  labels: {app: my-app}
spec:
  replicas: 3
  selector: {matchLabels: {app: my-app}}
  template:
    metadata: {labels: {app: my-app}}
    spec:
      containers:
      - {name: my-c, image: my-image}
"""
# no labels, two containers
DEPLOY_LAST = DEPLOY_SAME.replace("  labels: {app: my-app}\nspec", "spec").replace(
    "- {name: my-c, image: my-image}", "- {name: my-c, image: my-image-v1}\n"
    "      - {name: my-c2, image: my-image2}"
)
# against DEPLOY_LAST: the label is missing from it, replicas and the image differ
DEPLOY_DRIFTED = DEPLOY_SAME.replace("replicas: 3", "replicas: 100").replace(
    "my-image}", "my-image-v2}"
)
DEPLOY_NEW = (
    DEPLOY_SAME.replace("my-app", "my-new-label").replace("replicas: 3", "replicas: 333")
    .replace("my-image}", "my-image-new}")
)
SMALL = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: my-deployment}\nspec: {replicas: 3}\n"
SMALL_100 = SMALL.replace("replicas: 3", "replicas: 100")
IMAGE_PATH = '.spec.template.spec.containers[name="my-c"].image'

CASES = [
    pytest.param(
        "kubectl", DEPLOY_LAST, DEPLOY_DRIFTED, DEPLOY_NEW,
        {".metadata.labels.app", ".spec.replicas", IMAGE_PATH},
        id="fields-that-drifted-from-last-applied-conflict",
    ),
    pytest.param(
        "kubectl", DEPLOY_SAME, DEPLOY_SAME.replace("replicas: 3", "replicas: 100"),
        DEPLOY_SAME.replace("app: my-app}\nspec", "app: my-new-label}\nspec"),
        {".spec.replicas"}, id="only-the-drifted-field-conflicts",
    ),
    pytest.param("kubectl", None, DEPLOY_SAME, DEPLOY_NEW.replace("my-image-new", "my-image"),
                 set(), id="everything-as-last-applied-is-taken-over"),
    pytest.param(
        "not_kubectl", DEPLOY_SAME.replace("my-image", "my-image-v1"),
        DEPLOY_SAME.replace("replicas: 3", "replicas: 100").replace("my-image", "my-image-v2"),
        DEPLOY_NEW,
        {".metadata.labels.app", ".spec.replicas", ".spec.selector",
         ".spec.template.metadata.labels.app", IMAGE_PATH},
        id="other-appliers-are-not-upgraded",
    ),
    pytest.param("kubectl", None, SMALL, SMALL_100, set(), id="small-object"),
    pytest.param("kubectl", SMALL.replace("apps/v1", "extensions/v1beta1"), SMALL, SMALL_100,
                 {".spec.replicas"}, id="last-applied-of-another-version"),
    pytest.param("kubectl", "apiVersion: foo\nkind: bar\nspec: not an object\n", SMALL, SMALL_100,
                 {".spec.replicas"}, id="last-applied-not-this-kind"),
    pytest.param("kubectl", "", SMALL, SMALL_100, {".spec.replicas"}, id="empty-last-applied"),
]


@pytest.mark.parametrize(("manager", "last", "original", "applied", "conflicts"), CASES)
def test_apply_over_client_side_apply(
    manager: str, last: str | None, original: str, applied: str, conflicts: set[str]
) -> None:
    live = client_side(DEPLOYMENT, original, last)
    cfg = load(applied)
    if conflicts:
        with pytest.raises(ApplyConflict) as caught:
            apply(DEPLOYMENT, live, cfg, manager)
        assert {path for path, _ in caught.value.conflicts} == conflicts
        assert {who for _, who in caught.value.conflicts} == {CSA}
        out = apply(DEPLOYMENT, live, cfg, manager, force=True)  # forcing still resolves them
    else:
        out = apply(DEPLOYMENT, live, cfg, manager)
    assert out["spec"]["replicas"] == cfg["spec"]["replicas"]
    if "template" in cfg["spec"]:
        assert out["spec"]["template"] == cfg["spec"]["template"]


def test_the_upgrade_takes_ownership_from_the_client_side_manager() -> None:
    live = client_side(DEPLOYMENT, DEPLOY_SAME)
    out = apply(DEPLOYMENT, live, load(DEPLOY_NEW), "kubectl")
    owners = {e["manager"]: e for e in out["metadata"]["managedFields"]}
    assert owners["kubectl"]["operation"] == "Apply"
    assert "f:replicas" in owners["kubectl"]["fieldsV1"]["f:spec"]
    csa = owners[CSA]["fieldsV1"]
    assert "f:spec" not in csa or "f:replicas" not in csa["f:spec"]
    assert csa["f:metadata"]["f:labels"] == {}  # the map, not its keys
    # the client-side manager keeps what kubectl did not apply: its annotation
    assert csa["f:metadata"]["f:annotations"] == {".": {}, f"f:{LAST_APPLIED}": {}}


SERVICE_LIVE = """
apiVersion: v1
kind: Service
metadata: {name: test}
spec:
  ports: [{name: https, port: 443, protocol: TCP, targetPort: 8443}]
  selector: {old: test}
"""
SERVICE_NEW = SERVICE_LIVE.replace("8443", "8444").replace("old: test", "new: test")
POD_LIVE = """
apiVersion: v1
kind: Pod
metadata: {name: test, namespace: test}
spec:
  containers:
  - {name: doJob, image: "some.registry/app:latest", args: [-v=2], command: [controller]}
  nodeName: definetlyControlPlane
  nodeSelector: {node-role.kubernetes.io/master: ""}
"""
POD_NEW = POD_LIVE.replace("definetlyControlPlane", "another").replace(
    '{node-role.kubernetes.io/master: ""}', "{}"
)


@pytest.mark.parametrize(
    ("kind", "original", "applied", "conflicts"),
    [
        (SERVICE, SERVICE_LIVE, SERVICE_NEW,
         {".spec.selector", '.spec.ports[port=443,protocol="TCP"].targetPort'}),
        (POD, POD_LIVE, POD_NEW, {".spec.nodeSelector", ".spec.nodeName"}),
    ],
    ids=["service", "pod"],
)
def test_kubectl_may_change_what_it_applied_others_may_not(
    kind: tuple[str, str], original: str, applied: str, conflicts: set[str]
) -> None:
    live = client_side(kind, original)
    with pytest.raises(ApplyConflict) as caught:
        apply(kind, live, load(applied), "not_kubectl")
    assert {path for path, _ in caught.value.conflicts} == conflicts
    out = apply(kind, live, load(applied), "kubectl")
    for key, value in load(applied)["spec"].items():
        assert out["spec"][key] == value


# ------------------------------------------------------------------ lastAppliedUpdater


def test_kubectl_apply_rewrites_the_annotation_others_leave_it() -> None:
    live = client_side(DEPLOYMENT, DEPLOY_SAME)
    cfg = load(DEPLOY_SAME.replace("replicas: 3", "replicas: 4"))
    cfg["metadata"]["annotations"] = {LAST_APPLIED: "nonempty", "team": "a"}
    kept = apply(DEPLOYMENT, live, cfg, "NOT-KUBECTL", force=True)
    assert kept["metadata"]["annotations"][LAST_APPLIED] == "nonempty"

    synced = apply(DEPLOYMENT, live, cfg, "kubectl", force=True)
    text = synced["metadata"]["annotations"][LAST_APPLIED]
    assert text.endswith("}\n")
    assert json.loads(text)["spec"]["replicas"] == 4
    # the configuration as sent, without the annotation itself
    assert json.loads(text)["metadata"]["annotations"] == {"team": "a"}


def test_the_rewrite_takes_no_ownership() -> None:
    """As kubectl sends it (no annotation in the manifest): the write is outside field
    management, so the annotation stays with its owner and kubectl's entry is unchanged."""
    live = client_side(DEPLOYMENT, DEPLOY_SAME)
    cfg = load(DEPLOY_SAME.replace("replicas: 3", "replicas: 4"))
    out = apply(DEPLOYMENT, live, cfg, "kubectl", force=True)
    assert json.loads(out["metadata"]["annotations"][LAST_APPLIED]) == cfg
    owners = {e["manager"]: e["fieldsV1"] for e in out["metadata"]["managedFields"]}
    assert "f:annotations" not in owners["kubectl"]["f:metadata"]
    assert f"f:{LAST_APPLIED}" in owners[CSA]["f:metadata"]["f:annotations"]


def test_the_annotation_is_only_rewritten_where_it_exists() -> None:
    live = record_update(None, load(DEPLOY_SAME), manager="kubectl-create",
                         definition=DEPLOYMENT[0], api_version=DEPLOYMENT[1], now=T0)
    out = apply(DEPLOYMENT, live, load(DEPLOY_SAME), "kubectl", force=True)
    assert "annotations" not in out["metadata"]


def test_an_identical_kubectl_apply_after_the_sync_changes_nothing() -> None:
    live = client_side(DEPLOYMENT, DEPLOY_SAME)
    first = apply(DEPLOYMENT, live, load(DEPLOY_SAME), "kubectl")
    again = apply(DEPLOYMENT, first, load(DEPLOY_SAME), "kubectl")
    assert again == first


def test_an_annotation_grown_too_large_is_dropped() -> None:
    """TestLargeLastApplied: the annotations' 256 KiB limit drops the annotation instead."""
    cm = ("io.k8s.api.core.v1.ConfigMap", "v1")
    small = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cm"},
             "data": {"k": "v"}}
    live = client_side(cm, json.dumps(small))
    big = json.loads(json.dumps(small))
    big["data"].update({f"key-{i:05d}-{'x' * 40}": "A" for i in range(6000)})
    out = apply(cm, live, big, "kubectl")
    assert LAST_APPLIED not in out["metadata"].get("annotations", {})
    assert len(out["data"]) == 6001


# --------------------------------------------------------------- kubectl's own migration


def test_kubectls_managed_fields_migration_patch_is_accepted() -> None:
    """csaupgrade.UpgradeManagedFieldsPatch: kubectl rewrites managedFields with a JSON patch
    (fieldManager=kubectl); the server keeps exactly what it was sent and adds no entry."""
    live = client_side(DEPLOYMENT, DEPLOY_SAME)
    live["metadata"]["resourceVersion"] = "7"
    applied = apply(DEPLOYMENT, live, load(DEPLOY_SAME), "kubectl")
    entries = applied["metadata"]["managedFields"]
    ssa = next(e for e in entries if e["manager"] == "kubectl")
    csa = next(e for e in entries if e["manager"] == CSA)
    merged = json.loads(json.dumps(ssa))
    merged["fieldsV1"]["f:metadata"]["f:annotations"] = csa["fieldsV1"]["f:metadata"][
        "f:annotations"]
    patch = [
        {"op": "replace", "path": "/metadata/managedFields", "value": [merged]},
        {"op": "replace", "path": "/metadata/resourceVersion", "value": "7"},
    ]
    patched = apply_json_patch(applied, patch)
    out = record_update(applied, patched, manager="kubectl", definition=DEPLOYMENT[0],
                        api_version=DEPLOYMENT[1], now=T2)
    assert out["metadata"]["managedFields"] == [merged]


# --------------------------------------------------------------------------- encoding


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ({"b": 1, "a": [True, None, "x"]}, '{"a":[true,null,"x"],"b":1}'),
        ({"s": "<a & b>\u2028é"}, '{"s":"\\u003ca \\u0026 b\\u003e\\u2028é"}'),
        ([1.0, 0.5, 1e21, 1e-7, 1.5e-5, 123456789.25], "[1,0.5,1e+21,1e-7,0.000015,123456789.25]"),
        ("tab\tnew\nline", '"tab\\tnew\\nline"'),
    ],
)
def test_go_json_encodes_as_encoding_json(value: Any, text: str) -> None:
    assert go_json(value) == text


def test_the_annotation_is_encoded_as_kubectl_encodes_it() -> None:
    """kubectl's client-side annotation of this manifest, byte for byte."""
    cfg = load(SMALL)
    cfg["metadata"]["annotations"] = {}
    assert encode_last_applied(cfg) == (
        '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"annotations":{},'
        '"name":"my-deployment"},"spec":{"replicas":3}}\n'
    )
