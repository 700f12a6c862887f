"""How custom objects are written: apiextensions-apiserver's customResourceStrategy and
statusStrategy over the generic store. Pruning, defaulting and validation come from the
version's schema (`schema.py`); the object is plain JSON under its top-level fields."""

from __future__ import annotations

import copy
from typing import Any

import msgspec

from kubelite.api import status as st
from kubelite.api.crd.kinds import CustomInfo
from kubelite.api.registry import Kind
from kubelite.api.strategy.base import Strategy, _meta
from kubelite.api.strategy.status import StatusStrategy
from kubelite.api.validation import names
from kubelite.api.validation.errors import FieldError
from kubelite.api.validation.meta import validate_object_meta, validate_object_meta_update


def _info(kind: Kind) -> CustomInfo:
    info: CustomInfo = kind.custom
    return info


def as_dict(obj: Any) -> dict[str, Any]:
    result: dict[str, Any] = msgspec.to_builtins(obj)
    return result


def _content(obj: Any) -> dict[str, Any]:
    """Everything but metadata (what a change of bumps the generation)."""
    return {k: v for k, v in as_dict(obj).items() if k not in ("metadata", "apiVersion", "kind")}


def _write_back(obj: Any, data: dict[str, Any]) -> None:
    """Put the top-level fields of `data` (pruned, defaulted) back on the struct."""
    for field in msgspec.structs.fields(obj):
        if field.encode_name in ("apiVersion", "kind", "metadata"):
            continue
        setattr(obj, field.name, data.get(field.encode_name))


def _prepared(kind: Kind, obj: Any) -> None:
    """Prune and default in place, as decoding does for a custom resource."""
    schema = _info(kind).schema
    if schema is None:
        return
    data = as_dict(obj)
    schema.prune(data)
    schema.default(data)
    _write_back(obj, data)


def _schema_errors(kind: Kind, new: Any, old: Any | None) -> list[FieldError]:
    schema = _info(kind).schema
    if schema is None:
        return []
    return schema.validate(as_dict(new), as_dict(old) if old is not None else None)


async def _schema_errors_async(kind: Kind, new: Any, old: Any | None) -> list[FieldError]:
    """The schema's errors; a big object is validated in a worker thread (its CEL rules may
    take a while), a small one inline."""
    schema = _info(kind).schema
    if schema is None:
        return []
    data = as_dict(new)
    size = len(msgspec.json.encode(data))
    return await schema.validate_async(data, as_dict(old) if old is not None else None, body_size=size)


def _meta_errors(kind: Kind, new: Any, old: Any | None) -> list[FieldError]:
    if old is None:
        return validate_object_meta(getattr(new, "metadata", None), kind.namespaced,
                                    names.name_is_dns_subdomain)
    return validate_object_meta_update(getattr(new, "metadata", None), getattr(old, "metadata", None))


def _path_of(pruned: str) -> str:
    """A pruned field's path, also from a warning already worded `unknown field "PATH"`."""
    prefix = 'unknown field "'
    if pruned.startswith(prefix) and pruned.endswith('"'):
        return pruned[len(prefix):-1]
    return pruned


class CustomResourceStrategy(Strategy):
    """customResourceStrategy: generation 1 on create and +1 on any change besides
    metadata (and status, when /status is a subresource); stored in the storage version."""

    def defaults(self, obj: Any) -> None:
        _prepared(self.kind, obj)

    def unknown_fields(self, body: dict[str, Any]) -> list[str]:
        """The paths pruning would drop from `body` (fieldValidation Warn and Strict)."""
        schema = _info(self.kind).schema
        if schema is None:
            return []
        return [_path_of(p) for p in schema.prune(copy.deepcopy(body))]

    def prepare_for_create(self, obj: Any) -> None:
        if _info(self.kind).terminating:
            raise st.MethodNotAllowed("create not allowed while custom resource definition is terminating")
        if _info(self.kind).status and hasattr(obj, "status"):
            obj.status = None
        self.defaults(obj)
        _meta(obj).generation = 1
        obj.api_version = _info(self.kind).storage_api_version

    def prepare_for_update(self, new: Any, old: Any) -> None:
        if _info(self.kind).status and hasattr(new, "status"):
            new.status = old.status
        self.defaults(new)
        new.api_version = _info(self.kind).storage_api_version
        generation = _meta(old).generation or 1
        changed = _content(new) != _content(old)
        _meta(new).generation = generation + 1 if changed else generation

    def validate(self, obj: Any) -> list[FieldError]:
        return _meta_errors(self.kind, obj, None) + _schema_errors(self.kind, obj, None)

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        return _meta_errors(self.kind, new, old) + _schema_errors(self.kind, new, old)

    async def validate_async(self, new: Any, old: Any | None) -> list[FieldError]:
        return _meta_errors(self.kind, new, old) + await _schema_errors_async(self.kind, new, old)


class CustomResourceStatusStrategy(StatusStrategy):
    """statusStrategy: the stored object with only status (and managedFields) from the write."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        status = getattr(new, "status", None)
        managed = _meta(new).managed_fields
        version = _meta(new).resource_version
        for field in msgspec.structs.fields(old):
            setattr(new, field.name, copy.deepcopy(getattr(old, field.name)))
        new.status = status
        new.metadata = msgspec.structs.replace(_meta(old), managed_fields=managed,
                                               resource_version=version)
        new.api_version = _info(self.kind).storage_api_version
        _prepared(self.kind, new)

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        return _meta_errors(self.kind, new, old) + _schema_errors(self.kind, new, old)

    async def validate_async(self, new: Any, old: Any) -> list[FieldError]:
        return _meta_errors(self.kind, new, old) + await _schema_errors_async(self.kind, new, old)
