"""A StatefulSet's history as ControllerRevisions (pkg/controller/history and the set's
revision helpers in stateful_set_utils.go), as pure functions over JSON dicts.

A revision's `data` is the patch that restores the set's template
(`{"spec": {"template": {..., "$patch": "replace"}}}`): `kubectl rollout undo` applies it as a
strategic merge patch. Its name is `SET-HASH`, its pods carry that name in the
controller-revision-hash label.
"""

from __future__ import annotations

import copy
import json

from kubelite.controllers.podutil import Obj, meta, owner_reference
from kubelite.controllers.rollout import _prune, safe_hash
from kubelite.controllers.statefulset_identity import API_VERSION, KIND, REVISION_LABEL, spec


def revision_data(sts: Obj) -> Obj:
    """getPatch: the set's template, marked to replace whatever template a patch meets."""
    template = copy.deepcopy(spec(sts).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def template_of(revision: Obj) -> Obj:
    """The pod template a revision restores."""
    template = dict(((revision.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    return template


def same_data(a: Obj, b: Obj) -> bool:
    return bool(_prune(a.get("data") or {}) == _prune(b.get("data") or {}))


def new_revision(sts: Obj, number: int, collision_count: int) -> Obj:
    """history.NewControllerRevision for the set's current template."""
    data = revision_data(sts)
    digest = safe_hash(json.dumps(_prune(data), sort_keys=True, separators=(",", ":")),
                       collision_count)
    labels = dict((spec(sts).get("template") or {}).get("metadata", {}).get("labels") or {})
    labels[REVISION_LABEL] = digest
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{meta(sts)['name']}-{digest}",
                         "namespace": meta(sts).get("namespace"), "labels": labels,
                         "ownerReferences": [owner_reference(sts, API_VERSION, KIND)]},
            "data": data, "revision": number}


def sort_revisions(revisions: list[Obj]) -> list[Obj]:
    return sorted(revisions, key=lambda r: (int(r.get("revision") or 0),
                                            meta(r).get("creationTimestamp") or "",
                                            meta(r).get("name", "")))


def next_number(revisions: list[Obj]) -> int:
    return max((int(r.get("revision") or 0) for r in revisions), default=0) + 1


def history_to_drop(revisions: list[Obj], live: set[str], limit: int) -> list[Obj]:
    """truncateHistory: the oldest revisions that no pod, nor the current or update revision,
    uses, beyond revisionHistoryLimit."""
    history = [r for r in sort_revisions(revisions) if meta(r).get("name") not in live]
    return history[:max(0, len(history) - limit)]
