"""Server-side apply and field ownership, as `kubectl apply --server-side` sees them."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kubelite.api.patch import ApplyConflict, FieldSet, PatchError, record_update, server_side_apply

from .strategies import patch_settings

POD = "io.k8s.api.core.v1.Pod"
T0, T1, T2, T3 = (
    "2024-05-01T10:00:00Z",
    "2024-05-01T11:00:00Z",
    "2024-05-01T12:00:00Z",
    "2024-05-01T13:00:00Z",
)


def config(image: str = "nginx:1", **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "default", "labels": labels or {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": image, "ports": [{"containerPort": 80}]}]},
    }


def apply(
    live: dict[str, Any] | None,
    cfg: dict[str, Any],
    manager: str = "kubectl",
    force: bool = False,
    now: str = T1,
) -> dict[str, Any]:
    return server_side_apply(
        live, cfg, manager=manager, force=force, definition=POD, api_version="v1", now=now
    )


def update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    manager: str,
    now: str = T2,
    subresource: str = "",
) -> dict[str, Any]:
    return record_update(
        old,
        new,
        manager=manager,
        definition=POD,
        api_version="v1",
        now=now,
        subresource=subresource,
    )


def stored(obj: dict[str, Any]) -> dict[str, Any]:
    """What the API server would store after a write: system fields and defaults filled in."""
    out = copy.deepcopy(obj)
    out["metadata"].setdefault("uid", "1234")
    out["metadata"].setdefault("creationTimestamp", T0)
    for c in out["spec"]["containers"]:
        for p in c.get("ports", []):
            p.setdefault("protocol", "TCP")
        c.setdefault("imagePullPolicy", "IfNotPresent")
    out.setdefault("status", {"phase": "Pending"})
    return out


def entries(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{e['manager']}/{e['operation']}": e for e in obj["metadata"].get("managedFields", [])}


def owned(obj: dict[str, Any], key: str) -> FieldSet:
    return FieldSet.from_fields_v1(entries(obj)[key]["fieldsV1"])


IMAGE = ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")


def test_create_records_the_applier() -> None:
    obj = apply(None, config())
    assert obj["spec"] == config()["spec"]
    [entry] = obj["metadata"]["managedFields"]
    assert {k: v for k, v in entry.items() if k != "fieldsV1"} == {
        "manager": "kubectl",
        "operation": "Apply",
        "apiVersion": "v1",
        "time": T1,
        "fieldsType": "FieldsV1",
    }
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {"f:app": {}}},
        "f:spec": {
            "f:containers": {
                'k:{"name":"c"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}
                    },
                }
            }
        },
    }


def test_second_identical_apply_returns_the_live_object() -> None:
    live = stored(apply(None, config()))
    again = apply(live, config(), now=T3)
    assert again == live
    assert again is not live


def test_changing_a_value_updates_object_and_time() -> None:
    live = stored(apply(None, config()))
    out = apply(live, config(image="nginx:2"), now=T2)
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    assert (
        out["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    )  # fields nobody applied stay
    assert entries(out)["kubectl/Apply"]["time"] == T2


def test_status_in_the_configuration_is_ignored() -> None:
    live = stored(apply(None, config()))
    cfg = config()
    cfg["status"] = {"phase": "Succeeded"}
    out = apply(live, cfg, now=T2)
    assert out == live


def test_conflict_with_client_side_apply_manager() -> None:
    live = update(None, stored(config()), "kubectl-client-side-apply", now=T0)
    with pytest.raises(ApplyConflict) as err:
        apply(live, config(image="nginx:2"))
    assert err.value.conflicts == [
        ('.spec.containers[name="c"].image', "kubectl-client-side-apply")
    ]
    assert err.value.message() == (
        'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using v1: .spec.containers[name="c"].image'
    )
    assert err.value.causes() == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-client-side-apply" using v1',
            "field": '.spec.containers[name="c"].image',
        }
    ]


def test_several_conflicts_use_the_plural_message() -> None:
    live = update(None, stored(config()), "kubectl-client-side-apply", now=T0)
    with pytest.raises(ApplyConflict) as err:
        apply(live, config(image="nginx:2", app="api"))
    assert err.value.message() == (
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using v1:\n'
        "- .metadata.labels.app\n"
        '- .spec.containers[name="c"].image'
    )
    assert len(err.value.causes()) == 2


def test_conflict_between_appliers_names_the_other_applier_plainly() -> None:
    live = stored(apply(None, config(), manager="ci"))
    with pytest.raises(ApplyConflict) as err:
        apply(live, config(image="nginx:2"), manager="me")
    assert err.value.message().endswith('conflict with "ci": .spec.containers[name="c"].image')


def test_force_takes_ownership() -> None:
    live = update(None, stored(config()), "kubectl-client-side-apply", now=T0)
    out = apply(live, config(image="nginx:2"), force=True)
    assert out["spec"]["containers"][0]["image"] == "nginx:2"
    assert IMAGE in owned(out, "kubectl/Apply")
    assert IMAGE not in owned(out, "kubectl-client-side-apply/Update")
    # The update manager keeps what it still owns, e.g. the defaulted pull policy.
    assert ("f:spec", "f:containers", 'k:{"name":"c"}', "f:imagePullPolicy") in owned(
        out, "kubectl-client-side-apply/Update"
    )


def test_identical_values_are_shared_without_conflict() -> None:
    live = stored(apply(None, config(), manager="ci"))
    out = apply(live, config(), manager="me")
    assert IMAGE in owned(out, "ci/Apply") and IMAGE in owned(out, "me/Apply")
    assert out["spec"] == live["spec"]


def test_fields_no_longer_applied_are_removed() -> None:
    live = stored(apply(None, config(app="web", tier="fe")))
    out = apply(live, config(app="web"), now=T2)
    assert out["metadata"]["labels"] == {"app": "web"}
    assert ("f:metadata", "f:labels", "f:tier") not in owned(out, "kubectl/Apply")
    assert out["metadata"]["uid"] == "1234" and out["metadata"]["name"] == "web"


def test_removed_container_disappears_whole() -> None:
    cfg = config()
    cfg["spec"]["containers"].append({"name": "side", "image": "busybox"})
    live = stored(apply(None, cfg))
    out = apply(live, config(), now=T2)
    assert [c["name"] for c in out["spec"]["containers"]] == ["c"]


def test_fields_another_manager_shares_are_kept() -> None:
    live = stored(apply(None, config(app="web", tier="fe")))
    live = apply(live, config(app="web", tier="fe"), manager="other")
    out = apply(live, config(app="web"), now=T2)
    assert out["metadata"]["labels"] == {"app": "web", "tier": "fe"}


def test_fields_an_update_manager_set_are_kept() -> None:
    live = stored(apply(None, config()))
    labelled = copy.deepcopy(live)
    labelled["metadata"]["labels"]["env"] = "prod"
    live = update(live, labelled, "kubectl-label")
    out = apply(live, config(), now=T3)
    assert out["metadata"]["labels"] == {"app": "web", "env": "prod"}


def test_apply_entries_come_before_update_entries() -> None:
    live = update(None, stored(config()), "kubectl-create", now=T0)
    out = apply(live, config(), manager="kubectl")
    assert [e["operation"] for e in out["metadata"]["managedFields"]] == ["Apply", "Update"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (
            lambda c: c["metadata"].__setitem__("managedFields", []),
            "metadata.managedFields must be nil",
        ),
        (lambda c: c.__setitem__("apiVersion", "v2"), "Incorrect version specified in apply patch"),
        (lambda c: c["spec"]["containers"].append({"image": "x"}), 'omits key field "name"'),
        (lambda c: c["spec"]["containers"].append({"name": "c"}), "duplicate entries for key"),
    ],
)
def test_bad_configurations_are_patch_errors(mutate: Any, message: str) -> None:
    cfg = config()
    mutate(cfg)
    with pytest.raises(PatchError, match=message):
        apply(None, cfg)


def test_inputs_are_not_modified() -> None:
    live = stored(apply(None, config()))
    live_copy, cfg = copy.deepcopy(live), config(image="x", app="z")
    apply(live, cfg, now=T2)
    assert live == live_copy and cfg == config(image="x", app="z")


# ------------------------------------------------------------------------------ record_update


def test_create_by_update_manager_owns_what_it_set() -> None:
    obj = update(None, config(), "kubectl-create", now=T0)
    [entry] = obj["metadata"]["managedFields"]
    assert (
        entry["manager"] == "kubectl-create"
        and entry["operation"] == "Update"
        and entry["time"] == T0
    )
    assert entry["fieldsV1"] == {
        "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {
            "f:containers": {
                'k:{"name":"c"}': {
                    ".": {},
                    "f:image": {},
                    "f:name": {},
                    "f:ports": {
                        ".": {},
                        'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}},
                    },
                }
            }
        },
    }


def test_update_takes_changed_fields_from_other_managers() -> None:
    live = stored(apply(None, config()))
    changed = copy.deepcopy(live)
    changed["spec"]["containers"][0]["image"] = "nginx:9"
    out = update(live, changed, "kubectl-set")
    assert owned(out, "kubectl-set/Update") == FieldSet([IMAGE])
    assert IMAGE not in owned(out, "kubectl/Apply")
    assert entries(out)["kubectl/Apply"]["time"] == T1


def test_update_that_changes_nothing_keeps_managed_fields() -> None:
    live = stored(apply(None, config()))
    same = copy.deepcopy(live)
    assert update(live, same, "kubectl-edit") == live


def test_update_removing_a_field_drops_it_from_owners() -> None:
    live = stored(apply(None, config(app="web", tier="fe")))
    changed = copy.deepcopy(live)
    del changed["metadata"]["labels"]["tier"]
    out = update(live, changed, "kubectl-label")
    assert ("f:metadata", "f:labels", "f:tier") not in owned(out, "kubectl/Apply")
    assert "kubectl-label/Update" not in entries(out)


def test_status_subresource_tracks_only_status() -> None:
    live = stored(apply(None, config()))
    changed = copy.deepcopy(live)
    changed["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}
    changed["metadata"]["labels"]["sneaky"] = "x"
    out = update(live, changed, "kubelet", subresource="status")
    entry = entries(out)["kubelet/Update"]
    assert entry["subresource"] == "status"
    assert set(entry["fieldsV1"]) == {"f:status"}
    assert entry["fieldsV1"]["f:status"]["f:conditions"] == {
        ".": {},  # the list itself appeared
        'k:{"type":"Ready"}': {".": {}, "f:status": {}, "f:type": {}},
    }


def test_status_writers_never_conflict_with_appliers() -> None:
    live = stored(apply(None, config()))
    changed = copy.deepcopy(live)
    changed["status"] = {"phase": "Running"}
    live = update(live, changed, "kubelet", subresource="status")
    assert ("f:status", "f:phase") in owned(live, "kubelet/Update")
    # An Apply that sets status is ignored on the main resource: no conflict, no change.
    cfg = config()
    cfg["status"] = {"phase": "Failed"}
    assert apply(live, cfg, now=T3) == live


def test_conflict_message_names_a_subresource_manager() -> None:
    err = ApplyConflict(
        [(".status.phase", "kubelet")],
        described={"kubelet": '"kubelet" with subresource "status" using v1'},
    )
    assert (
        err.message()
        == 'Apply failed with 1 conflict: conflict with "kubelet" with subresource "status" using v1: .status.phase'
    )


def test_status_write_does_not_claim_spec_fields() -> None:
    live = stored(apply(None, config()))
    changed = copy.deepcopy(live)
    changed["spec"]["containers"][0]["image"] = "nginx:9"
    out = update(live, changed, "kubelet", subresource="status")
    assert "kubelet/Update" not in entries(out)
    assert IMAGE in owned(out, "kubectl/Apply")


def test_managed_fields_sent_with_an_update_are_honoured_and_empty_entry_clears() -> None:
    live = stored(apply(None, config()))
    cleared = copy.deepcopy(live)
    cleared["metadata"]["managedFields"] = [{}]
    assert "managedFields" not in update(live, cleared, "kubectl-patch")["metadata"]
    dropped = copy.deepcopy(live)
    del dropped["metadata"]["managedFields"]
    assert (
        update(live, dropped, "kubectl-replace")["metadata"]["managedFields"]
        == live["metadata"]["managedFields"]
    )


# -------------------------------------------------------------------------------- properties

labels = st.dictionaries(
    st.sampled_from(["app", "tier", "env"]), st.sampled_from(["a", "b"]), max_size=3
)
containers = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["c", "d", "e"]), "image": st.sampled_from(["x", "y"])},
        optional={
            "ports": st.lists(
                st.fixed_dictionaries({"containerPort": st.sampled_from([80, 443])}),
                max_size=2,
                unique_by=lambda p: p["containerPort"],
            ),
            "args": st.lists(st.sampled_from(["-a", "-b"]), max_size=2),
            "env": st.lists(
                st.fixed_dictionaries(
                    {"name": st.sampled_from(["A", "B"]), "value": st.sampled_from(["1", "2"])}
                ),
                max_size=2,
                unique_by=lambda e: e["name"],
            ),
        },
    ),
    min_size=1,
    max_size=3,
    unique_by=lambda c: c["name"],
)


@st.composite
def pod_configs(draw: st.DrawFn) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "p"}
    if draw(st.booleans()):
        meta["labels"] = draw(labels)
    if draw(st.booleans()):
        meta["finalizers"] = draw(
            st.lists(st.sampled_from(["a.io/x", "b.io/y"]), max_size=2, unique=True)
        )
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": draw(containers)},
    }


@patch_settings
@given(pod_configs(), pod_configs(), st.sampled_from(["kubectl", "other"]))
def test_server_side_apply_is_idempotent(
    first: dict[str, Any], second: dict[str, Any], manager: str
) -> None:
    live = apply(None, first, manager="kubectl", force=True)
    try:
        once = apply(live, second, manager=manager, force=False, now=T2)
    except ApplyConflict:
        once = apply(live, second, manager=manager, force=True, now=T2)
    assert apply(once, second, manager=manager, force=False, now=T3) == once


@patch_settings
@given(pod_configs(), pod_configs())
def test_reapplying_after_a_change_yields_what_was_applied(
    first: dict[str, Any], second: dict[str, Any]
) -> None:
    live = apply(None, first)
    out = apply(live, second, now=T2)
    # The only manager applied `second`: the object is exactly that configuration.
    body = copy.deepcopy(out)
    del body["metadata"]["managedFields"]
    assert _normalize(body) == _normalize(second)


def _normalize(obj: dict[str, Any]) -> dict[str, Any]:
    """Sort keyed lists by name so the comparison ignores merge order."""
    out = copy.deepcopy(obj)
    out["spec"]["containers"].sort(key=lambda c: c["name"])
    for c in out["spec"]["containers"]:
        for field in ("ports", "env"):
            if field in c:
                c[field].sort(key=lambda x: json.dumps(x, sort_keys=True))
    if "finalizers" in out["metadata"]:
        out["metadata"]["finalizers"].sort()
    return out
