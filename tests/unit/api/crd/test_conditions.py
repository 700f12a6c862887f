"""The naming and establishing controllers' status: accepted names, conflicts in a group."""

from __future__ import annotations

from typing import Any

from kubelite.api.crd.conditions import names_and_conditions, set_condition, with_naming_status


def crd(plural: str, kind: str, group: str = "example.com", short: list[str] | None = None,
        accepted: dict[str, Any] | None = None) -> dict[str, Any]:
    names = {"plural": plural, "singular": plural.rstrip("s"), "kind": kind, "listKind": kind + "List"}
    if short:
        names["shortNames"] = short
    obj: dict[str, Any] = {"metadata": {"name": f"{plural}.{group}"},
                           "spec": {"group": group, "names": names}}
    if accepted is not None:
        obj["status"] = {"acceptedNames": accepted}
    return obj


def test_fresh_names_are_accepted_and_established() -> None:
    one = crd("widgets", "Widget", short=["wd"])
    names, accepted, established = names_and_conditions(one, [one])
    assert names == {"plural": "widgets", "singular": "widget", "kind": "Widget",
                     "listKind": "WidgetList", "shortNames": ["wd"]}
    assert accepted == {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                        "message": "no conflicts found"}
    assert established["status"] == "True" and established["reason"] == "InitialNamesAccepted"


def test_a_kind_taken_in_the_group_is_refused() -> None:
    first = crd("widgets", "Widget", accepted={"plural": "widgets", "singular": "widget",
                                                "kind": "Widget", "listKind": "WidgetList"})
    second = crd("gizmos", "Widget")
    names, accepted, established = names_and_conditions(second, [first, second])
    assert accepted["status"] == "False"
    assert accepted["reason"] == "ListKindConflict"  # the last conflict found names the reason
    assert "kind" not in names or names["kind"] == ""
    assert established == {"type": "Established", "status": "False", "reason": "NotAccepted",
                           "message": "not all names are accepted"}


def test_short_name_conflict_and_other_groups_do_not_count() -> None:
    first = crd("widgets", "Widget", accepted={"plural": "widgets", "shortNames": ["w"], "kind": "Widget"})
    clash = crd("wombats", "Wombat", short=["w"])
    elsewhere = crd("wombats", "Wombat", group="other.io", short=["w"])
    assert names_and_conditions(clash, [first, clash])[1]["reason"] == "ShortNamesConflict"
    assert names_and_conditions(clash, [first, clash])[1]["message"] == '"w" is already in use'
    assert names_and_conditions(elsewhere, [first, elsewhere])[1]["status"] == "True"


def test_transition_time_moves_only_with_status() -> None:
    obj: dict[str, Any] = {}
    set_condition(obj, {"type": "Established", "status": "True"}, "t1")
    set_condition(obj, {"type": "Established", "status": "True", "reason": "x"}, "t2")
    assert obj["status"]["conditions"] == [{"type": "Established", "status": "True", "reason": "x",
                                            "lastTransitionTime": "t1"}]
    set_condition(obj, {"type": "Established", "status": "False"}, "t3")
    assert obj["status"]["conditions"][0]["lastTransitionTime"] == "t3"


def test_with_naming_status_does_not_touch_its_input() -> None:
    one = crd("widgets", "Widget")
    out = with_naming_status(one, [one], "now")
    assert "status" not in one
    assert [c["type"] for c in out["status"]["conditions"]] == ["NamesAccepted", "Established"]
