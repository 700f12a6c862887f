"""Server-side apply and field ownership (structured-merge-diff semantics, simplified).

`server_side_apply` merges an applied configuration into the live object, refuses to change
fields another manager owns (unless forced), removes fields this applier stopped applying
that nobody else owns, and records ownership in `metadata.managedFields`.
`record_update` records ownership for ordinary writes (create, update, patch).
"""

from __future__ import annotations

from typing import Any

from ._json import clone, json_equal
from .created import created_fields_v1
from .errors import PatchError
from .fieldpath import FieldSet, Path, path_sort_key, path_string
from .lastapplied import UPGRADING_MANAGER, allowed_conflicts, sync_last_applied
from .managed import (
    APPLY,
    FIELDS_V1,
    UPDATE,
    ManagedEntry,
    ManagerKey,
    decode_managed_fields,
    encode_managed_fields,
    manager_key,
)
from .schema import Schema, schema_for
from .structured import compare, ensure_named_fields, merge, remove_items, to_field_set

CONFLICT_REASON = "FieldManagerConflict"

# Fields nobody owns (managedfields' stripMetaManager).
_STRIPPED: frozenset[Path] = frozenset(
    {("f:apiVersion",), ("f:kind",), ("f:metadata",)}
    | {
        ("f:metadata", f"f:{name}")
        for name in (
            "name",
            "namespace",
            "creationTimestamp",
            "selfLink",
            "uid",
            "clusterName",
            "generation",
            "managedFields",
            "resourceVersion",
        )
    }
)
# System-owned metadata an applied configuration may not set.
_SYSTEM_METADATA = (
    "creationTimestamp",
    "selfLink",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
)
_STATUS: Path = ("f:status",)


class ApplyConflict(Exception):
    """Apply would change fields other managers own; the API server answers 409 Conflict."""

    def __init__(
        self, conflicts: list[tuple[str, str]], *, described: dict[str, str] | None = None
    ) -> None:
        """`conflicts` are (field path, manager name); `described` maps a manager name to the
        way Kubernetes prints it (`"kubectl-client-side-apply" using v1`)."""
        self.conflicts = list(conflicts)
        self.described = dict(described or {})
        super().__init__(self.message())

    def _who(self, manager: str) -> str:
        return self.described.get(manager, f'"{manager}"')

    def message(self) -> str:
        """`Apply failed with 1 conflict: conflict with "m" using v1: .spec.x` (or the plural form)."""
        if len(self.conflicts) == 1:
            path, manager = self.conflicts[0]
            return f"Apply failed with 1 conflict: conflict with {self._who(manager)}: {path}"
        by_manager: dict[str, list[str]] = {}
        for path, manager in self.conflicts:
            by_manager.setdefault(manager, []).append(path)
        lines: list[str] = []
        for manager in sorted(by_manager):
            lines.append(f"conflicts with {self._who(manager)}:")
            lines.extend(f"- {path}" for path in by_manager[manager])
        return f"Apply failed with {len(self.conflicts)} conflicts: " + "\n".join(lines)

    def causes(self) -> list[dict[str, str]]:
        """Status details causes: one FieldManagerConflict per conflicting field."""
        return [
            {
                "reason": CONFLICT_REASON,
                "message": f"conflict with {self._who(manager)}",
                "field": path,
            }
            for path, manager in self.conflicts
        ]


# ------------------------------------------------------------------------------------ helpers


def _body(obj: dict[str, Any] | None) -> dict[str, Any]:
    """The object without managedFields (ownership is not itself owned)."""
    if obj is None:
        return {}
    out = clone(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
    return out


def _tracked(paths: set[Path], subresource: str) -> set[Path]:
    """Drop stripped metadata and the fields this endpoint resets (status, or all but status)."""
    kept = {p for p in paths if p not in _STRIPPED}
    if subresource == "status":
        return {p for p in kept if p[:1] == _STATUS}
    return {p for p in kept if p[:1] != _STATUS}


_SKELETONS: dict[int, dict[str, Any]] = {}


def _skeleton(schema: Schema | None) -> dict[str, Any]:
    """What an empty typed object looks like to Kubernetes (non-pointer structs present),
    so a create does not claim the parents of every field it sets.

    Cached per schema (schemas are cached and immortal); callers only read it.
    """
    if schema is None:
        return {}
    cached = _SKELETONS.get(id(schema))
    if cached is None:
        cached = _SKELETONS[id(schema)] = _build_skeleton(schema)
    return cached


def _build_skeleton(schema: Schema) -> dict[str, Any]:
    def build(s: Schema, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, child in s.fields().items():
            structural = (
                name in ("metadata", "spec", "status", "template") and child.kind == "struct"
            )
            if structural and depth < 4:
                out[name] = build(child, depth + 1)
            elif name in s.required and child.kind in ("list", "map"):
                out[name] = None
        return out

    return build(schema, 0)


def _drop_fields(managers: dict[ManagerKey, ManagedEntry], key: ManagerKey, lost: set[Path]) -> None:
    """Take `lost` away from one manager's fields; a manager left owning nothing goes."""
    entry = managers[key]
    kept = FieldSet(set(entry.fields.paths) - lost)
    if not kept:
        del managers[key]
    elif kept != entry.fields:
        managers[key] = ManagedEntry(
            entry.manager, entry.operation, entry.api_version, kept, entry.time, entry.subresource
        )


def _with_managed_fields(
    obj: dict[str, Any], managers: dict[ManagerKey, ManagedEntry]
) -> dict[str, Any]:
    encoded = encode_managed_fields(managers)
    meta = obj.setdefault("metadata", {})
    if encoded:
        meta["managedFields"] = encoded
    else:
        meta.pop("managedFields", None)
    return obj


def _conflict_error(
    conflicts: dict[ManagerKey, set[Path]], managers: dict[ManagerKey, ManagedEntry]
) -> ApplyConflict:
    items: list[tuple[str, str, Path]] = []
    described: dict[str, str] = {}
    for key, paths in conflicts.items():
        entry = managers[key]
        described[entry.manager] = entry.describe()
        items.extend((entry.manager, entry.describe(), p) for p in paths)
    items.sort(key=lambda t: (t[1], path_sort_key(t[2])))
    return ApplyConflict(
        [(path_string(p), manager) for manager, _, p in items], described=described
    )


# -------------------------------------------------------------------------------------- apply


def server_side_apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    *,
    manager: str,
    force: bool,
    definition: str,
    api_version: str,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """Apply `applied` (the configuration a client sent) to `live` (None when creating).

    On the main resource the configuration's status is ignored; on `subresource="status"`
    only its status is applied, and owned by an entry with that subresource.

    Returns the new object with updated `metadata.managedFields`. Raises ApplyConflict when a
    field the configuration changes belongs to another manager and `force` is false, and
    PatchError for a configuration that cannot be applied. When nothing changes, the result
    equals `live`, so the caller can skip the write.
    """
    if not isinstance(applied, dict):
        raise PatchError("apply patch must be an object")
    if applied.get("apiVersion") not in (None, api_version):
        raise PatchError(
            "Incorrect version specified in apply patch. "
            f"Specified patch version: {applied.get('apiVersion')}, expected: {api_version}"
        )
    config = clone(applied)
    on_status = subresource == "status"
    if on_status:  # the status strategy resets everything else
        sent_meta = config.get("metadata")
        config = {k: v for k, v in config.items() if k in ("apiVersion", "kind", "status")}
        if isinstance(sent_meta, dict):
            config["metadata"] = {k: sent_meta[k] for k in ("name", "namespace") if k in sent_meta}
    else:
        config.pop("status", None)  # status is reset on the main resource
    meta = config.get("metadata")
    if isinstance(meta, dict):
        if meta.get("managedFields") is not None:
            raise PatchError("metadata.managedFields must be nil")
        meta.pop("managedFields", None)
        for name in _SYSTEM_METADATA:
            meta.pop(name, None)

    schema = schema_for(definition)
    managers = decode_managed_fields((live or {}).get("metadata", {}).get("managedFields"))
    original_managers = dict(managers)
    me = manager_key(manager, APPLY, subresource, api_version)
    last = managers.get(me)

    live_body = _body(live)
    config_set = {p for p in to_field_set(config, schema, strict=True)
                  if (p[:1] == _STATUS) == on_status}
    merged = merge(live_body, config, schema)

    # Prune with the full configuration set (metadata.name included), as Kubernetes does
    # before it strips system fields from what it records.
    managers[me] = ManagedEntry(manager, APPLY, api_version, FieldSet(config_set),
                                subresource=subresource)
    if last is not None and last.fields:
        merged = _prune(merged, set(last.fields.paths), managers, schema)
        # Pruning drops collections it emptied; keep those the configuration sets (e.g. `[]`),
        # which Kubernetes' omitempty encoding would hide but our stored objects keep.
        merged = merge(merged, config, schema)
    new_set = FieldSet(_tracked(config_set, subresource))
    me_entry = ManagedEntry(manager, APPLY, api_version, new_set, last.time if last else None,
                            subresource)
    managers[me] = me_entry

    # Which of the other managers' fields this apply changes or removes.
    diff = compare(live_body, merged, schema)
    changed = diff.added | diff.modified
    conflicts: dict[ManagerKey, set[Path]] = {}
    for key, entry in managers.items():
        if key == me:
            continue
        hit = set(entry.fields.paths) & changed
        if hit:
            conflicts[key] = hit
    if conflicts and not force:
        reported = conflicts
        if manager == UPGRADING_MANAGER:
            reported = _not_upgraded(conflicts, live, schema, api_version)
        if reported:
            raise _conflict_error(reported, managers)
    for key in list(managers):
        if key == me:
            continue
        _drop_fields(managers, key, conflicts.get(key, set()) | diff.removed)
    if not me_entry.fields:
        managers.pop(me, None)

    body_changed = not json_equal(live_body, merged)
    set_changed = last is None or last.fields != me_entry.fields
    if me in managers and (body_changed or set_changed or me_entry.time is None):
        managers[me] = ManagedEntry(manager, APPLY, api_version, me_entry.fields, now, subresource)
    if manager == UPGRADING_MANAGER and not on_status:
        # lastAppliedUpdater: outside field management, so it owns nothing and dates nothing.
        # (On status the status strategy resets metadata, so Kubernetes' write is lost there.)
        merged = sync_last_applied(merged, applied)
        body_changed = not json_equal(live_body, merged)
    if live is not None and not body_changed and managers == original_managers:
        return clone(live)
    return _with_managed_fields(merged, managers)


def _not_upgraded(
    conflicts: dict[ManagerKey, set[Path]],
    live: dict[str, Any] | None,
    schema: Schema | None,
    api_version: str,
) -> dict[ManagerKey, set[Path]]:
    """lastAppliedManager: when every conflicting field still holds the value the
    last-applied annotation gave it, the apply goes ahead as if forced (the client-side
    apply upgrade); otherwise only the other conflicts are reported. Returns those."""
    allowed = allowed_conflicts(live, schema, api_version)
    remaining = {key: paths - allowed for key, paths in conflicts.items()}
    return {key: paths for key, paths in remaining.items() if paths}


def _prune(
    merged: dict[str, Any],
    last: set[Path],
    managers: dict[ManagerKey, ManagedEntry],
    schema: Schema | None,
) -> dict[str, Any]:
    """Remove what this applier owned last time, no longer applies, and nobody else owns."""
    last_named = ensure_named_fields(last, schema)
    pruned = remove_items(merged, last_named, schema)
    owned: set[Path] = set()
    for entry in managers.values():
        owned |= entry.fields.paths
    owned = ensure_named_fields(owned, schema)
    merged_set = ensure_named_fields(to_field_set(merged, schema), schema)
    pruned_set = ensure_named_fields(to_field_set(pruned, schema), schema)
    # Add back whatever anyone (this applier's new configuration included) owns...
    pruned = remove_items(merged, merged_set - (pruned_set | owned), schema)
    # ...and only ever remove what this applier owned before.
    pruned_set = ensure_named_fields(to_field_set(pruned, schema), schema)
    result = remove_items(merged, (merged_set - pruned_set) & last_named, schema)
    return result if isinstance(result, dict) else {}


# ------------------------------------------------------------------------------------- update


def record_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    *,
    manager: str,
    definition: str,
    api_version: str,
    now: str,
    subresource: str = "",
) -> dict[str, Any]:
    """`new` with managedFields updated for a create/update/patch by `manager`.

    The manager's Update entry gains every field the write changed; other managers lose them.
    Managed fields sent in `new` are honoured (that is how clients edit them); when absent or
    invalid those of `old` are kept. `[{}]` clears them.
    """
    schema = schema_for(definition)
    sent = (new.get("metadata") or {}).get("managedFields")
    if sent == [{}]:
        managers: dict[ManagerKey, ManagedEntry] = {}
    else:
        managers = {}
        if sent and not subresource:
            try:
                managers = decode_managed_fields(sent)
            except PatchError:
                managers = {}
        if not managers:
            try:
                managers = decode_managed_fields(
                    (old or {}).get("metadata", {}).get("managedFields")
                )
            except PatchError:
                managers = {}

    if old is None and not managers and not subresource:
        return record_create(new, manager=manager, definition=definition,
                             api_version=api_version, now=now)
    return _record_diff(old, new, managers, schema, manager=manager, api_version=api_version,
                        now=now, subresource=subresource)


def _record_diff(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    managers: dict[ManagerKey, ManagedEntry],
    schema: Schema | None,
    *,
    manager: str,
    api_version: str,
    now: str,
    subresource: str,
) -> dict[str, Any]:
    """The general case of `record_update`: diff `old` (or the skeleton) against `new`."""
    old_body = _body(old) if old is not None else _skeleton(schema)
    new_body = _body(new)
    diff = compare(old_body, new_body, schema)
    changed = _tracked(diff.added | diff.modified, subresource)
    removed = _tracked(diff.removed, subresource)

    for key in list(managers):
        _drop_fields(managers, key, changed | removed)

    if changed:
        me = manager_key(manager, UPDATE, subresource, api_version)
        previous = managers.get(me)
        fields = FieldSet(changed) if previous is None else previous.fields.union(FieldSet(changed))
        managers[me] = ManagedEntry(manager, UPDATE, api_version, fields, now, subresource)
    return _with_managed_fields(new_body, managers)


def created_managed_fields(
    new: dict[str, Any], *, manager: str, definition: str, api_version: str, now: str
) -> list[dict[str, Any]]:
    """The managedFields of a create of `new` (which carries none) by `manager`: one Update
    entry owning every field set, or [] when it sets nothing a manager can own.

    The fieldsV1 trees may share nodes with earlier results: encode them, do not change them.
    """
    schema = schema_for(definition)
    fields = created_fields_v1(new, schema, _skeleton(schema), _STRIPPED)
    if not fields:
        return []
    return [{
        "manager": manager, "operation": UPDATE, "apiVersion": api_version, "time": now,
        "fieldsType": FIELDS_V1, "fieldsV1": fields,
    }]


def record_create(
    new: dict[str, Any], *, manager: str, definition: str, api_version: str, now: str
) -> dict[str, Any]:
    """`record_update(None, new, ...)` for a `new` without managedFields of its own."""
    entries = clone(created_managed_fields(
        new, manager=manager, definition=definition, api_version=api_version, now=now
    ))
    out = _body(new)
    meta = out.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    return out
