"""Generic REST storage: create, get, list, update, patch and delete for any kind.

Knows no kind in particular: per-kind behaviour comes from the kind's strategy
(`api/strategy`: write hooks, status and other subresource strategies, delete hooks and the
store options ReturnDeletedObject, AllowUnconditionalUpdate, AllowCreateOnUpdate), the
schema (`api/definitions.json`) and the registry entry. This is Kubernetes' generic registry
store (`store.go`) in Python; what a DELETE decides is in `deletion.py`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import os
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from kubelite.api import status as st
from kubelite.api.fieldcheck import (
    UnknownField,
    strict_error_message,
    unknown_fields,
    warning_messages,
)
from kubelite.api.patch import (
    ApplyConflict,
    PatchError,
    apply_json_patch,
    apply_merge_patch,
    apply_strategic_merge_patch,
    created_managed_fields,
    go_repr,
    record_update,
    server_side_apply,
)
from kubelite.api.registry import Kind, by_kind
from kubelite.api.strategy import Strategy, strategy_for, write_strategy_for
from kubelite.api.types.meta_v1 import ManagedFieldsEntry
from kubelite.api.unmarshal import restore_error
from kubelite.api.validation.errors import FieldError, invalid_message, required, status_causes
from kubelite.apiserver import deletion, objects
from kubelite.apiserver.decoding import convert_body
from kubelite.apiserver.meta_shape import check_meta_shape
from kubelite.apiserver.query import parse_resource_version
from kubelite.apiserver.storeerrors import translated
from kubelite.store.interface import (
    CompactedError,
    FutureRevisionError,
    KeyNotFoundError,
    RevisionConflictError,
    Store,
)

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (MERGE_PATCH, JSON_PATCH, STRATEGIC_PATCH, APPLY_PATCH)

_NAME_SUFFIX_CHARS = "bcdfghjklmnpqrstvwxz2456789"
_ManagedFields = list[ManagedFieldsEntry]
CONFLICT_RETRIES = 50  # re-reads of an object whose write lost a race, before answering 409


class _RandomBytes:
    """os.urandom read in blocks: one getrandom() syscall per 256 uids instead of one each."""

    def __init__(self, block: int = 4096) -> None:
        self._block = block
        self._buf = b""
        self._pos = 0

    def take(self, n: int) -> bytes:
        if self._pos + n > len(self._buf):
            self._buf = os.urandom(self._block)
            self._pos = 0
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        return out

    def reset(self) -> None:
        self._buf = b""
        self._pos = 0


_random_bytes = _RandomBytes()
os.register_at_fork(after_in_child=_random_bytes.reset)  # a child must not reuse our bytes


def new_uid() -> str:
    """A random (version 4) UUID, as Kubernetes gives every object."""
    return str(uuid.UUID(bytes=_random_bytes.take(16), version=4))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


_last_stamp: tuple[int, str] = (0, "")


def now_rfc3339() -> str:
    """The current time in RFC 3339, formatted once per second (every write stamps one or two)."""
    global _last_stamp
    second = int(time.time())
    if _last_stamp[0] != second:
        _last_stamp = (second, time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)))
    return _last_stamp[1]


@dataclass
class WriteOptions:
    """Query parameters that shape a write."""

    dry_run: bool = False
    field_manager: str = ""
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    force: bool = False


class WriteResult:
    """The outcome of a write: the object (JSON bytes or a dict, each made from the other only
    when asked), the HTTP code, warnings, and a Status `body` to answer instead of the object.

    Writes hand back the bytes they stored, so a create answers without decoding and
    re-encoding the object it just encoded.
    """

    __slots__ = ("_data", "_obj", "body", "code", "warnings")

    def __init__(
        self,
        obj: dict[str, Any] | None = None,
        code: int = 200,
        warnings: list[str] | None = None,
        body: dict[str, Any] | None = None,
        *,
        data: bytes | None = None,
    ) -> None:
        if obj is None and data is None:
            raise ValueError("a WriteResult needs the object or its bytes")
        self._obj = obj
        self._data = data
        self.code = code
        self.warnings = warnings if warnings is not None else []
        self.body = body

    @property
    def obj(self) -> dict[str, Any]:
        if self._obj is None:
            assert self._data is not None
            self._obj = objects.decode(self._data)
        return self._obj

    @property
    def data(self) -> bytes:
        if self._data is None:
            self._data = objects.encode(self._obj)
        return self._data


@dataclass
class ListPage:
    items: list[bytes]
    revision: int
    continue_token: str = ""
    remaining: int | None = None


Admission = Callable[[Kind, str, msgspec.Struct, "msgspec.Struct | None"], Any]
# Run once an object is gone from the store, with its last state (Kubernetes' AfterDelete).
AfterDelete = Callable[[Kind, dict[str, Any]], Awaitable[None]]
log = logging.getLogger(__name__)


def _invalid(kind: Kind, name: str, errors: list[FieldError]) -> st.Invalid:
    return st.Invalid(
        invalid_message(kind.kind, name, errors, kind.group),
        name=name, group=kind.group, kind=kind.kind, causes=status_causes(errors),
    )


def _resource_version_required(kind: Kind, name: str) -> st.Invalid:
    """store.go Update of a kind without AllowUnconditionalUpdate, sent no resourceVersion
    (its GroupKind is made of the resource, as Kubernetes' TODO there says)."""
    qualified = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
    message = "Invalid value: 0x0: must be specified for an update"
    return st.Invalid(
        f'{qualified} "{name}" is invalid: metadata.resourceVersion: {message}',
        name=name, group=kind.group, kind=kind.plural,
        causes=[{"reason": "FieldValueInvalid", "message": message,
                 "field": "metadata.resourceVersion"}],
    )


def _check_restorable(kind: Kind, patched: Any, patch: Any) -> None:
    """A strategic merge patch result goes through Kubernetes' unstructured converter, which
    refuses a value of the wrong type in its own words (a 422 on the field "patch")."""
    error = restore_error(kind.definition, patched) if kind.definition else None
    if error:
        value = json.dumps(go_repr(patch), ensure_ascii=False)
        cause = f"Invalid value: {value}: {error}"
        raise st.Invalid(f' "" is invalid: patch: {cause}', causes=[
            {"reason": "FieldValueInvalid", "message": cause, "field": "patch"}])


def _patch_precondition(patch_type: str, patch: Any) -> str | None:
    """The resourceVersion a patch itself demands (an optimistic-concurrency precondition)."""
    if patch_type == JSON_PATCH:
        if isinstance(patch, list):
            for op in patch:
                if isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" and op.get("op") in ("replace", "add", "test"):
                    value = op.get("value")
                    return str(value) if value else None
        return None
    if isinstance(patch, dict) and isinstance(patch.get("metadata"), dict):
        value = patch["metadata"].get("resourceVersion")
        return str(value) if value else None
    return None


def _continue_token(revision: int, last_key: str) -> str:
    raw = msgspec.json.encode({"v": "meta.k8s.io/v1", "rv": revision, "start": last_key})
    return base64.urlsafe_b64encode(raw).decode()


def _parse_continue(token: str) -> tuple[int, str]:
    try:
        data = msgspec.json.decode(base64.urlsafe_b64decode(token.encode()))
        return int(data["rv"]), str(data["start"])
    except (binascii.Error, ValueError, KeyError, TypeError, msgspec.DecodeError) as e:
        raise st.BadRequest(f"invalid continue token: {e}") from None


class ObjectStore:
    """All object reads and writes of the API server, for every kind."""

    def __init__(self, store: Store, admission: list[Admission] | None = None,
                 after_delete: list[AfterDelete] | None = None) -> None:
        self.store = store
        self.admission = admission or []
        self.after_delete = after_delete or []

    # ----- helpers

    def _check_fields(self, kind: Kind, body: dict[str, Any], opts: WriteOptions) -> list[str]:
        if opts.field_validation == "Ignore":
            return []
        if kind.custom is not None:  # what the CRD's schema prunes
            unknown = [UnknownField(path) for path in strategy_for(kind).unknown_fields(body)]
        elif not kind.definition:
            return []
        else:
            unknown = unknown_fields(body, kind.definition)
        if not unknown:
            return []
        if opts.field_validation == "Strict":
            raise st.BadRequest(strict_error_message(unknown))
        return warning_messages(unknown)

    @staticmethod
    def _check_type_meta(kind: Kind, body: dict[str, Any]) -> None:
        api_version = body.get("apiVersion")
        body_kind = body.get("kind")
        if body_kind and body_kind != kind.kind:
            # the codec decodes the kind the body names, then fails to convert it into this one
            version = str(api_version or "").rpartition("/")[2]
            internal = kind.group.split(".")[0] or "core"
            raise st.BadRequest(
                f'{body_kind} in version "{version}" cannot be handled as a {kind.kind}: '
                f"converting ({version}.{body_kind}) to ({internal}.{kind.kind}): unknown conversion")
        if api_version and api_version != kind.api_version:
            raise st.BadRequest(f"the API version in the data ({api_version}) does not match the "
                                f"expected API version ({kind.api_version})")
        body["apiVersion"] = kind.api_version
        body["kind"] = kind.kind

    @staticmethod
    def _convert(kind: Kind, body: dict[str, Any], name: str) -> Any:
        return convert_body(body, kind.type, kind=kind.kind, version=kind.version,
                            definition=kind.definition, name=name, group=kind.group)

    async def _get_kv(self, kind: Kind, namespace: str | None, name: str) -> Any:
        kv = await self.store.get(objects.object_key(kind, namespace, name))
        if kv is None:
            raise st.not_found(kind.plural, name, kind.group)
        return kv

    def _managed(
        self, kind: Kind, old: dict[str, Any] | None, new: Any, opts: WriteOptions,
        subresource: str = "",
    ) -> Any:
        """`new` (a struct) with managedFields updated for a non-apply write."""
        if not opts.field_manager:
            return new
        meta = new.metadata
        if old is None and not subresource and not meta.managed_fields:
            # a create that sends no managedFields: one walk over the new object
            entries = created_managed_fields(
                objects.to_dict(new), manager=opts.field_manager, definition=kind.definition,
                api_version=kind.api_version, now=now_rfc3339(),
            )
            meta.managed_fields = msgspec.convert(entries, _ManagedFields) if entries else None
            return new
        updated = record_update(
            old, objects.to_dict(new), manager=opts.field_manager, definition=kind.definition,
            api_version=kind.api_version, now=now_rfc3339(), subresource=subresource,
        )
        meta.managed_fields = msgspec.convert(
            updated.get("metadata", {}).get("managedFields"), _ManagedFields | None
        )
        return new

    async def _admit(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        for admit in self.admission:
            result = admit(kind, namespace, obj, old)
            if hasattr(result, "__await__"):
                await result

    async def _removed(self, kind: Kind, last: dict[str, Any]) -> None:
        """Free what the removed object held outside the store (a Service's IPs and ports), in
        the request that removed it; a failure is logged, never undoes the delete."""
        for hook in self.after_delete:
            try:
                await hook(kind, last)
            except Exception:  # noqa: BLE001 - the object is gone either way
                log.exception("after-delete hook for %s failed", kind.plural)

    # ----- reads

    async def get(self, kind: Kind, namespace: str | None, name: str) -> bytes:
        kv = await self._get_kv(kind, namespace, name)
        return objects.with_resource_version(kv.value, kv.mod_revision)

    async def list(
        self,
        kind: Kind,
        namespace: str | None,
        *,
        matches: Callable[[dict[str, Any]], bool] | None = None,
        limit: int = 0,
        continue_token: str = "",
        revision: int = 0,
        exact_name: str | None = None,
    ) -> ListPage:
        prefix = objects.collection_prefix(kind, namespace)
        start_after = ""
        if continue_token:
            revision, start_after = _parse_continue(continue_token)
        if exact_name is not None:
            prefix = objects.object_key(kind, namespace, exact_name) if namespace or not kind.namespaced else prefix
        items: list[bytes] = []
        chunk = max(limit, 500) if limit else 0
        try:
            while True:
                page = await self.store.list(prefix, revision=revision, limit=chunk, start_after=start_after)
                revision = page.revision
                for kv in page.items:
                    if exact_name is not None and not kv.key.endswith("/" + exact_name):
                        continue
                    data = objects.with_resource_version(kv.value, kv.mod_revision)
                    if matches is not None and not matches(objects.decode(data)):
                        continue
                    items.append(data)
                    if limit and len(items) >= limit:
                        more = kv is not page.items[-1] or page.more
                        token = _continue_token(revision, kv.key) if more else ""
                        return ListPage(items, revision, token)
                if not page.more or not page.items:
                    return ListPage(items, revision)
                start_after = page.items[-1].key
        except CompactedError:
            raise st.Gone(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter, or use the continue "
                "token in this response to retrieve the remainder of the results. Continuing "
                "with the provided token results in an inconsistent list - objects that were "
                "created, modified, or deleted between the time the first chunk was returned "
                "and now may show up in the list."
                if continue_token else f"too old resource version: {revision}"
            ) from None
        except FutureRevisionError as e:
            raise st.too_large_resource_version(e.requested, e.current) from None

    # ----- create

    async def create(
        self, kind: Kind, namespace: str | None, body: dict[str, Any], opts: WriteOptions
    ) -> WriteResult:
        warnings = self._check_fields(kind, body, opts)
        self._check_type_meta(kind, body)
        check_meta_shape(kind, body)
        meta = body.get("metadata")
        if meta is None:
            meta = body["metadata"] = {}
        if not isinstance(meta, dict):
            raise st.BadRequest(f"{kind.kind} in version \"{kind.version}\" cannot be handled as a {kind.kind}: metadata must be an object")
        if kind.namespaced:
            body_ns = meta.get("namespace")
            if body_ns and namespace and body_ns != namespace:
                raise st.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            name = meta["generateName"] + "".join(random.choices(_NAME_SUFFIX_CHARS, k=5))
            meta["name"] = name
        obj = self._convert(kind, body, name)
        self._init_meta(obj.metadata)
        strategy = strategy_for(kind)
        strategy.prepare_for_create(obj)
        if not name:
            errors = [required("metadata.name", "name or generateName is required")]
            raise _invalid(kind, name, errors)
        obj = self._managed(kind, None, obj, opts)  # before admission changes it, as Kubernetes does
        strategy.admit_create(obj)
        errors = await strategy.validate_async(obj, None)
        if errors:
            raise _invalid(kind, name, errors)
        await self._admit(kind, namespace or "", obj, None)
        data = objects.encode_for_store(obj)
        if opts.dry_run:
            return WriteResult(code=201, warnings=warnings, data=data)
        with translated(kind, name, "create"):
            revision = await self.store.create(objects.object_key(kind, namespace, name), data)
        return WriteResult(code=201, warnings=warnings, data=objects.with_resource_version(data, revision))

    @staticmethod
    def _init_meta(meta: Any) -> None:
        meta.uid = new_uid()
        meta.creation_timestamp = now_rfc3339()
        meta.resource_version = None
        meta.deletion_timestamp = None
        meta.deletion_grace_period_seconds = None
        meta.self_link = None
        if meta.generate_name is not None and not meta.generate_name:
            meta.generate_name = None

    # ----- update and patch

    async def update(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        body: dict[str, Any],
        opts: WriteOptions,
        subresource: str = "",
    ) -> WriteResult:
        warnings = self._check_fields(kind, body, opts)
        self._check_type_meta(kind, body)
        check_meta_shape(kind, body)
        if body.get("metadata") is None:  # "metadata": null is an empty one, as in Go
            body["metadata"] = {}
        meta = body["metadata"]
        if not isinstance(meta, dict):
            raise st.BadRequest("metadata must be an object")
        if meta.get("name") and meta["name"] != name:
            raise st.BadRequest(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if kind.namespaced and meta.get("namespace") and meta["namespace"] != namespace:
            raise st.BadRequest("the namespace of the provided object does not match the namespace sent on the request")
        want = meta.get("resourceVersion")
        want_rev = parse_resource_version(str(want)) if want else 0
        for _ in range(CONFLICT_RETRIES):
            kv = await self.store.get(objects.object_key(kind, namespace, name))
            if kv is None:
                if subresource or not strategy_for(kind).allow_create_on_update:
                    raise st.not_found(kind.plural, name, kind.group)
                try:  # AllowCreateOnUpdate: a PUT of a missing object creates it
                    return await self.create(kind, namespace, dict(body), opts)
                except st.AlreadyExists:
                    continue
            if not want_rev and not write_strategy_for(kind, subresource).allow_unconditional_update:
                raise _resource_version_required(kind, name)
            if want_rev and want_rev != kv.mod_revision:
                raise st.conflict(kind.plural, name, st.STALE_OBJECT, kind.group)
            try:
                result = await self._write_update(kind, namespace, name, kv, body, opts, subresource)
            except st.Conflict:
                if want_rev:
                    raise
                continue  # an unconditional update lost a race: retry on the new state, as Kubernetes does
            result.warnings[:0] = warnings
            return result
        raise st.conflict(kind.plural, name, st.STALE_OBJECT, kind.group)

    async def _write_update(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        kv: Any,
        body: dict[str, Any],
        opts: WriteOptions,
        subresource: str,
        managed_done: bool = False,
    ) -> WriteResult:
        """Validate `body` as the new state of the object stored in `kv`, and write it."""
        body.setdefault("metadata", {})
        body["metadata"]["name"] = name
        if kind.namespaced:
            body["metadata"]["namespace"] = namespace
        new: Any = self._convert(kind, body, name)
        old_data = objects.with_resource_version(kv.value, kv.mod_revision)
        old_dict = objects.decode(old_data)
        old: Any = msgspec.convert(old_dict, kind.type)
        self._keep_system_meta(new.metadata, old.metadata)
        # /status and other subresources have strategies of their own (what they keep, how
        # they validate)
        strategy = write_strategy_for(kind, subresource)
        strategy.prepare_for_update(new, old)
        errors = await strategy.validate_async(new, old)
        if errors:
            raise _invalid(kind, name, errors)
        await self._admit(kind, namespace or "", new, old)
        if not managed_done:
            new = self._managed(kind, old_dict, new, opts, subresource)
        data = objects.encode_for_store(new)
        if data == kv.value:
            return WriteResult(old_dict, data=old_data)  # a no-op write keeps its resourceVersion
        key = objects.object_key(kind, namespace, name)
        if opts.dry_run:
            return WriteResult(data=objects.with_resource_version(data, kv.mod_revision))
        with translated(kind, name, "update"):
            if strategy_for(kind).delete_during_update(new, old):
                await self.store.delete(key, kv.mod_revision)  # the last finalizer went: so does the object
                result = WriteResult(data=data)
                await self._removed(kind, result.obj)
                return result
            revision = await self.store.update(key, data, kv.mod_revision)
        return WriteResult(data=objects.with_resource_version(data, revision))

    @staticmethod
    def _keep_system_meta(new: Any, old: Any) -> None:
        new.uid = old.uid
        new.creation_timestamp = old.creation_timestamp
        new.deletion_timestamp = old.deletion_timestamp
        new.deletion_grace_period_seconds = old.deletion_grace_period_seconds
        new.generation = old.generation
        new.resource_version = None
        if new.generate_name is None:
            new.generate_name = old.generate_name
        if new.managed_fields is None:
            new.managed_fields = old.managed_fields

    async def patch(
        self,
        kind: Kind,
        namespace: str | None,
        name: str,
        patch_type: str,
        patch: Any,
        opts: WriteOptions,
        subresource: str = "",
    ) -> WriteResult:
        """Apply a patch, retrying on write conflicts as the Kubernetes API server does."""
        if patch_type == APPLY_PATCH and not opts.field_manager:
            raise st.BadRequest("PATCH, application/apply-patch+yaml requires fieldManager parameter")
        want = _patch_precondition(patch_type, patch)
        for _ in range(CONFLICT_RETRIES):
            kv = await self.store.get(objects.object_key(kind, namespace, name))
            if kv is None:
                if patch_type != APPLY_PATCH or subresource:
                    raise st.not_found(kind.plural, name, kind.group)
                try:
                    return await self._apply_create(kind, namespace, name, patch, opts)
                except st.AlreadyExists:
                    continue  # another apply created it first: apply to what it made
            current = objects.as_served(
                kind, objects.decode(objects.with_resource_version(kv.value, kv.mod_revision)))
            patched, managed_done = self._apply_patch(kind, current, patch_type, patch, opts,
                                                      subresource)
            if not isinstance(patched, dict):
                raise st.BadRequest("the patch must produce a JSON object")
            check_meta_shape(kind, patched)
            warnings = self._check_fields(kind, patched, opts)
            meta = patched.get("metadata")
            if not isinstance(meta, dict):
                raise st.BadRequest("metadata must be an object")
            if want and want != current["metadata"].get("resourceVersion"):
                raise st.conflict(kind.plural, name, st.STALE_OBJECT, kind.group)
            if meta.get("name", name) != name:
                raise st.BadRequest(f"the name of the object ({meta.get('name')}) does not match the name on the URL ({name})")
            if meta.get("uid", current["metadata"].get("uid")) != current["metadata"].get("uid"):
                raise st.conflict(kind.plural, name, f"Precondition failed: UID in precondition: {meta.get('uid')}, UID in object meta: {current['metadata'].get('uid')}", kind.group)
            self._check_type_meta(kind, patched)
            try:
                result = await self._write_update(
                    kind, namespace, name, kv, patched, opts, subresource, managed_done
                )
            except st.Conflict:
                if want:
                    raise
                continue
            result.warnings[:0] = warnings
            return result
        raise st.conflict(kind.plural, name, st.STALE_OBJECT, kind.group)

    def _apply_patch(
        self, kind: Kind, current: dict[str, Any], patch_type: str, patch: Any, opts: WriteOptions,
        subresource: str = "",
    ) -> tuple[Any, bool]:
        try:
            if patch_type == JSON_PATCH:
                if not isinstance(patch, list):
                    raise st.BadRequest("json patch must be an array of operations")
                return apply_json_patch(current, patch), False
            if not isinstance(patch, dict):
                raise st.BadRequest("the patch must be a JSON object")
            if patch_type == MERGE_PATCH:
                return apply_merge_patch(current, patch), False
            if patch_type == STRATEGIC_PATCH:
                patched = apply_strategic_merge_patch(current, patch, kind.definition)
                _check_restorable(kind, patched, patch)
                return patched, False
            self._check_apply_body(kind, patch)
            return server_side_apply(
                current, patch, manager=opts.field_manager, force=opts.force,
                definition=kind.definition, api_version=kind.api_version, now=now_rfc3339(),
                subresource=subresource,
            ), True
        except ApplyConflict as c:
            raise st.Conflict(c.message(), name=current["metadata"].get("name", ""),
                              group=kind.group, kind=kind.plural, causes=c.causes()) from None
        except PatchError as e:
            error = {422: st.Invalid, 413: st.RequestEntityTooLarge}.get(e.code, st.BadRequest)
            raise error(e.message) from None

    @staticmethod
    def _check_apply_body(kind: Kind, body: dict[str, Any]) -> None:
        check_meta_shape(kind, body)
        if body.get("apiVersion") != kind.api_version or body.get("kind") != kind.kind:
            raise st.BadRequest(
                f"invalid object type: /{kind.api_version}, Kind={body.get('kind', '')}"
                if body.get("kind") != kind.kind
                else f"the API version in the data ({body.get('apiVersion')}) does not match the expected API version ({kind.api_version})"
            )

    async def _apply_create(
        self, kind: Kind, namespace: str | None, name: str, patch: Any, opts: WriteOptions
    ) -> WriteResult:
        if not isinstance(patch, dict):
            raise st.BadRequest("the patch must be a JSON object")
        self._check_apply_body(kind, patch)
        meta = patch.get("metadata") or {}
        if meta.get("name") and meta["name"] != name:
            raise st.BadRequest(f"the name of the object ({meta['name']}) does not match the name on the URL ({name})")
        try:
            created = server_side_apply(
                None, patch, manager=opts.field_manager, force=opts.force,
                definition=kind.definition, api_version=kind.api_version, now=now_rfc3339(),
            )
        except PatchError as e:
            raise st.BadRequest(str(e)) from None
        created.setdefault("metadata", {})["name"] = name
        plain = WriteOptions(opts.dry_run, "", opts.field_validation, opts.force)
        result = await self.create(kind, namespace, created, plain)
        return result

    # ----- delete

    async def delete(
        self, kind: Kind, namespace: str | None, name: str, options: dict[str, Any], opts: WriteOptions
    ) -> WriteResult:
        for _ in range(CONFLICT_RETRIES):
            kv = await self._get_kv(kind, namespace, name)
            try:
                return await self._delete_once(kind, namespace, name, kv, options, opts)
            except RevisionConflictError:
                continue  # changed since read: decide again on its new state
            except KeyNotFoundError:
                raise st.not_found(kind.plural, name, kind.group) from None  # a concurrent delete won
        raise st.conflict(kind.plural, name, st.STALE_OBJECT, kind.group)

    async def _delete_once(
        self, kind: Kind, namespace: str | None, name: str, kv: Any,
        options: dict[str, Any], opts: WriteOptions,
    ) -> WriteResult:
        """store.go Delete: mark the object (grace period, finalizers) or remove it now."""
        strategy = strategy_for(kind)
        if name in strategy.protected_names:
            qualified = f"{kind.plural}.{kind.group}" if kind.group else kind.plural
            raise st.Forbidden(f'{qualified} "{name}" is forbidden: {strategy.protected_reason}',
                               name=name, group=kind.group, kind=kind.plural)
        current = objects.decode(objects.with_resource_version(kv.value, kv.mod_revision))
        obj: Any = msgspec.convert(current, kind.type)
        meta = obj.metadata
        _check_preconditions(kind, name, meta.uid, kv.mod_revision, options)
        at = now()
        decision = deletion.before_delete(strategy, obj, deletion.requested_grace(options), at)
        if decision.pending:  # a grace period runs already: nothing changes
            return self._deleted_result(kind, strategy, current)
        meta.finalizers = deletion.gc_finalizers(list(meta.finalizers or []), options) or None
        key = objects.object_key(kind, namespace, name)
        held = bool(meta.finalizers) or strategy.pending_finalizers(obj)
        if not held and not (decision.graceful and meta.deletion_grace_period_seconds):
            # a graceful kind deleted with no grace answers as marked (Kubernetes writes the
            # mark, then deletes: the mark alone is skipped here, one write instead of two)
            marked = objects.to_dict(obj) if decision.graceful else None
            return await self._delete_now(kind, strategy, key, kv, current, opts, marked)
        if not decision.graceful:
            deletion.mark_as_deleting(obj, at)
        strategy.prepare_for_delete(obj)
        data = objects.encode_for_store(obj)
        # 202 only where Kubernetes keeps it, for an explicit orphanDependents=false
        code = 202 if options.get("orphanDependents") is False else 200
        if opts.dry_run or data == kv.value:  # a repeated delete changes nothing: no new revision
            return WriteResult(code=code, data=objects.with_resource_version(data, kv.mod_revision))
        revision = await self.store.update(key, data, kv.mod_revision)
        return WriteResult(code=code, data=objects.with_resource_version(data, revision))

    async def _delete_now(self, kind: Kind, strategy: Strategy, key: str, kv: Any,
                          current: dict[str, Any], opts: WriteOptions,
                          marked: dict[str, Any] | None = None) -> WriteResult:
        """Remove the object from the store at once (no grace, no finalizers left); `marked`
        is what to answer with instead of the stored object (it has deletionTimestamp)."""
        if opts.dry_run:
            return self._deleted_result(kind, strategy, marked or current)
        deleted = await self.store.delete(key, kv.mod_revision)
        last = objects.decode(objects.with_resource_version(deleted.value, deleted.mod_revision))
        await self._removed(kind, last)
        if marked is not None:
            marked["metadata"]["resourceVersion"] = last["metadata"].get("resourceVersion")
        return self._deleted_result(kind, strategy, marked or last)

    @staticmethod
    def _deleted_result(kind: Kind, strategy: Strategy, last: dict[str, Any]) -> WriteResult:
        """finalizeDelete: the object itself where the kind says so (ReturnDeletedObject),
        else a Success Status naming it."""
        if strategy.return_deleted_object:
            return WriteResult(last, 200)
        meta = last.get("metadata", {})
        body = st.success_status(meta.get("name", ""), kind.group, kind.plural, meta.get("uid", ""))
        return WriteResult(last, 200, body=body)


def _check_preconditions(kind: Kind, name: str, uid: str | None, revision: int,
                         options: dict[str, Any]) -> None:
    """DeleteOptions.preconditions: the uid and resourceVersion the client saw."""
    pre = options.get("preconditions") or {}
    if pre.get("uid") and pre["uid"] != uid:
        raise st.conflict(kind.plural, name, f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {uid}", kind.group)
    if pre.get("resourceVersion") and str(pre["resourceVersion"]) != str(revision):
        raise st.conflict(kind.plural, name, f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, ResourceVersion in meta: {revision}", kind.group)


def kind_of(api_version: str, kind: str) -> Kind | None:
    group, _, version = api_version.rpartition("/")
    return by_kind(group, version, kind)
