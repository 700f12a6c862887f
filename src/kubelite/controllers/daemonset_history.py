"""A DaemonSet's ControllerRevisions: one per template, what `kubectl rollout history/undo`
reads (pkg/controller/daemon/update.go: constructHistory, snapshot, cleanupHistory).

A revision is named `<ds>-<hash>`, carries the template's labels plus
`controller-revision-hash`, the DaemonSet's annotations, and as data the strategic merge patch
that puts its template back (`{"spec":{"template":{..., "$patch":"replace"}}}`).
"""

from __future__ import annotations

import copy
from typing import Any

from kubelite.controllers.daemonset_plan import HASH_LABEL
from kubelite.controllers.podutil import meta, owner_reference
from kubelite.controllers.rollout import template_hash

Obj = dict[str, Any]


def revision_data(ds: Obj) -> Obj:
    """getPatch: the template, replacing whatever template the DaemonSet then has."""
    template = copy.deepcopy((ds.get("spec") or {}).get("template") or {})
    template["$patch"] = "replace"
    return {"spec": {"template": template}}


def current_hash(ds: Obj) -> str:
    spec = ds.get("spec") or {}
    collisions = (ds.get("status") or {}).get("collisionCount")
    return template_hash(spec.get("template") or {}, collisions)


def new_revision(ds: Obj, hash_: str, number: int) -> Obj:
    m = meta(ds)
    labels = dict((((ds.get("spec") or {}).get("template") or {}).get("metadata") or {})
                  .get("labels") or {})
    labels[HASH_LABEL] = hash_
    rev_meta: Obj = {"name": f"{m['name']}-{hash_}", "namespace": m.get("namespace"),
                     "labels": labels,
                     "ownerReferences": [owner_reference(ds, "apps/v1", "DaemonSet")]}
    if m.get("annotations"):
        rev_meta["annotations"] = dict(m["annotations"])
    return {"apiVersion": "apps/v1", "kind": "ControllerRevision", "metadata": rev_meta,
            "data": revision_data(ds), "revision": number}


def stale_revisions(revisions: list[Obj], live_hashes: set[str], current: str,
                    limit: int) -> list[Obj]:
    """cleanupHistory: the oldest revisions beyond `limit` that no live pod still uses."""
    unused = [r for r in revisions
              if (meta(r).get("labels") or {}).get(HASH_LABEL) not in live_hashes | {current}]
    excess = len(unused) - limit
    if excess <= 0:
        return []
    return sorted(unused, key=lambda r: int(r.get("revision") or 0))[:excess]
