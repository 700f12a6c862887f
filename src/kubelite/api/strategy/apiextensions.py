"""The strategy of CustomResourceDefinitions themselves (apiextensions' strategy.go): defaults,
storedVersions kept up to date, the generation on spec changes, and the cleanup finalizer a
delete adds so the objects of the CRD go first (apiserver/customresources.py removes them)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from kubelite.api.crd.validation import validate_crd, validate_crd_update
from kubelite.api.strategy.base import Strategy, _meta
from kubelite.api.strategy.status import StatusStrategy
from kubelite.api.types import apiextensions_v1 as ext
from kubelite.api.validation.errors import FieldError
from kubelite.api.validation.meta import validate_object_meta_update

CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
INLINE_LIMIT = 32 * 1024  # bytes of CRD whose validation stays on the event loop
TERMINATING = "Terminating"


def _storage_version(crd: ext.CustomResourceDefinition) -> str | None:
    return next((v.name for v in crd.spec.versions or [] if v.storage), None)


def set_condition(crd: ext.CustomResourceDefinition, condition: ext.CustomResourceDefinitionCondition,
                  now: str) -> None:
    """SetCRDCondition: replace the condition of that type; its transition time moves only
    when its status does."""
    status = crd.status or ext.CustomResourceDefinitionStatus()
    crd.status = status
    conditions = list(status.conditions or [])
    for i, existing in enumerate(conditions):
        if existing.type == condition.type:
            keep = existing.status == condition.status and existing.last_transition_time
            condition.last_transition_time = existing.last_transition_time if keep else now
            conditions[i] = condition
            break
    else:
        condition.last_transition_time = now
        conditions.append(condition)
    status.conditions = conditions


def _now() -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class CustomResourceDefinitionStrategy(Strategy):
    tracks_generation = True

    def defaults(self, obj: Any) -> None:
        crd: ext.CustomResourceDefinition = obj
        names = crd.spec.names
        if not names.singular and names.kind:
            names.singular = names.kind.lower()
        if not names.list_kind and names.kind:
            names.list_kind = names.kind + "List"
        if crd.spec.conversion is None:
            crd.spec.conversion = ext.CustomResourceConversion(strategy="None")

    def prepare_for_create(self, obj: Any) -> None:
        crd: ext.CustomResourceDefinition = obj
        self.defaults(crd)
        storage = _storage_version(crd)
        crd.status = ext.CustomResourceDefinitionStatus(
            accepted_names=ext.CustomResourceDefinitionNames(kind="", plural=""),
            stored_versions=[storage] if storage else None)
        _meta(crd).generation = 1

    def prepare_for_update(self, new: Any, old: Any) -> None:
        super().prepare_for_update(new, old)
        crd: ext.CustomResourceDefinition = new
        storage = _storage_version(crd)
        if crd.status is not None and storage:
            stored = list(crd.status.stored_versions or [])
            if storage not in stored:
                crd.status.stored_versions = [*stored, storage]

    def pending_finalizers(self, obj: Any) -> bool:
        """The first delete never removes a CRD at once: it adds the cleanup finalizer."""
        return _meta(obj).deletion_timestamp is None

    def prepare_for_delete(self, obj: Any) -> None:
        crd: ext.CustomResourceDefinition = obj
        meta = _meta(crd)
        if CLEANUP_FINALIZER not in (meta.finalizers or []):
            meta.finalizers = [*(meta.finalizers or []), CLEANUP_FINALIZER]
        set_condition(crd, ext.CustomResourceDefinitionCondition(
            type=TERMINATING, status="True", reason="InstanceDeletionPending",
            message="CustomResourceDefinition marked for deletion; CustomResource deletion will begin soon",
        ), _now())

    def validate(self, obj: Any) -> list[FieldError]:
        return validate_crd(obj)

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        return validate_crd_update(new, old)

    async def validate_async(self, new: Any, old: Any | None) -> list[FieldError]:
        """Checking a big CRD's schemas takes a while (~10 µs per schema node): done in a
        worker thread, so the event loop keeps serving meanwhile."""
        if len(msgspec.json.encode(new)) <= INLINE_LIMIT:
            return await super().validate_async(new, old)
        if old is None:
            return await asyncio.to_thread(self.validate, new)
        return await asyncio.to_thread(self.validate_update, new, old)


class CustomResourceDefinitionStatusStrategy(StatusStrategy):
    """statusStrategy: spec, labels, annotations, owners and generation stay; finalizers may
    change (the cleanup controller removes its own through /status)."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        crd: ext.CustomResourceDefinition = new
        before: ext.CustomResourceDefinition = old
        crd.spec = before.spec
        new_meta, old_meta = _meta(crd), _meta(before)
        crd.metadata = msgspec.structs.replace(
            new_meta, labels=old_meta.labels, annotations=old_meta.annotations,
            owner_references=old_meta.owner_references, generation=old_meta.generation)

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        return validate_object_meta_update(new.metadata, old.metadata)
