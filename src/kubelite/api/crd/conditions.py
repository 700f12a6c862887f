"""The status a CRD gets from the naming and establishing controllers of apiextensions
(naming_controller.go, establishing_controller.go), computed purely from the CRD and the
others of its group: acceptedNames, NamesAccepted, Established."""

from __future__ import annotations

import copy
from typing import Any

NAMES_ACCEPTED = "NamesAccepted"
ESTABLISHED = "Established"
TERMINATING = "Terminating"

Obj = dict[str, Any]


def _taken(group: str, name: str, crds: list[Obj]) -> tuple[set[str], set[str]]:
    """getAcceptedNamesForGroup: resource names and kinds the group's other CRDs hold."""
    resources: set[str] = set()
    kinds: set[str] = set()
    for other in crds:
        spec = other.get("spec") or {}
        if spec.get("group") != group or (other.get("metadata") or {}).get("name") == name:
            continue
        accepted = (other.get("status") or {}).get("acceptedNames") or {}
        resources.update(n for n in (accepted.get("plural"), accepted.get("singular")) if n)
        resources.update(accepted.get("shortNames") or [])
        kinds.update(n for n in (accepted.get("kind"), accepted.get("listKind")) if n)
    return resources, kinds


def _conflict(requested: str | None, accepted: str | None, used: set[str]) -> str | None:
    """equalToAcceptedOrFresh."""
    if requested == accepted or requested not in used:
        return None
    return f'"{requested}" is already in use'


def condition(crd: Obj, kind: str) -> Obj | None:
    for c in (crd.get("status") or {}).get("conditions") or []:
        if c.get("type") == kind:
            found: Obj = c
            return found
    return None


def is_true(crd: Obj, kind: str) -> bool:
    c = condition(crd, kind)
    return c is not None and c.get("status") == "True"


def names_and_conditions(crd: Obj, crds: list[Obj]) -> tuple[Obj, Obj, Obj]:
    """(acceptedNames, NamesAccepted, Established) as the two controllers leave them."""
    spec = crd.get("spec") or {}
    requested: Obj = spec.get("names") or {}
    accepted: Obj = (crd.get("status") or {}).get("acceptedNames") or {}
    new = copy.deepcopy(accepted) or {"plural": "", "kind": ""}
    resources, kinds = _taken(str(spec.get("group", "")), str((crd.get("metadata") or {}).get("name", "")), crds)
    accepted_cond: Obj = {"type": NAMES_ACCEPTED, "status": "Unknown"}

    def refuse(reason: str, message: str) -> None:
        accepted_cond.update(status="False", reason=reason, message=message)

    for field, reason, used in (("plural", "PluralConflict", resources),
                                ("singular", "SingularConflict", resources)):
        problem = _conflict(requested.get(field), accepted.get(field), used)
        if problem:
            refuse(reason, problem)
        elif requested.get(field) is not None:
            new[field] = requested[field]
    if (requested.get("shortNames") or []) != (accepted.get("shortNames") or []):
        mine = set(accepted.get("shortNames") or [])
        problems = [p for s in requested.get("shortNames") or [] if s not in mine
                    for p in [_conflict(s, "", resources)] if p]
        if problems:
            refuse("ShortNamesConflict", ", ".join(problems) if len(problems) == 1
                   else "[" + ", ".join(problems) + "]")
        elif requested.get("shortNames"):
            new["shortNames"] = list(requested["shortNames"])
        else:
            new.pop("shortNames", None)
    for field, reason in (("kind", "KindConflict"), ("listKind", "ListKindConflict")):
        problem = _conflict(requested.get(field), accepted.get(field), kinds)
        if problem:
            refuse(reason, problem)
        elif requested.get(field) is not None:
            new[field] = requested[field]
    if requested.get("categories"):
        new["categories"] = list(requested["categories"])
    else:
        new.pop("categories", None)
    if accepted_cond["status"] == "Unknown":
        accepted_cond.update(status="True", reason="NoConflicts", message="no conflicts found")
    established = condition(crd, ESTABLISHED)
    established = dict(established) if established else {
        "type": ESTABLISHED, "status": "False", "reason": "NotAccepted",
        "message": "not all names are accepted"}
    if established.get("status") != "True" and accepted_cond["status"] == "True":
        # the establishing controller follows at once (one API server's worth of caches)
        established = {"type": ESTABLISHED, "status": "True", "reason": "InitialNamesAccepted",
                       "message": "the initial names have been accepted"}
    return new, accepted_cond, established


def set_condition(crd: Obj, cond: Obj, now: str) -> None:
    """SetCRDCondition on a dict: lastTransitionTime moves only when the status does."""
    status = crd.setdefault("status", {})
    conditions = status.setdefault("conditions", []) or []
    status["conditions"] = conditions
    for i, existing in enumerate(conditions):
        if existing.get("type") == cond.get("type"):
            same = existing.get("status") == cond.get("status") and existing.get("lastTransitionTime")
            conditions[i] = {**cond, "lastTransitionTime": existing["lastTransitionTime"] if same else now}
            return
    conditions.append({**cond, "lastTransitionTime": now})


def with_naming_status(crd: Obj, crds: list[Obj], now: str) -> Obj:
    """A copy of `crd` with the status the controllers give it."""
    out = copy.deepcopy(crd)
    names, accepted, established = names_and_conditions(crd, crds)
    out.setdefault("status", {})["acceptedNames"] = names
    set_condition(out, accepted, now)
    set_condition(out, established, now)
    return out
