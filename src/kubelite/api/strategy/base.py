"""The generic strategy: what every kind's create, update and status update go through.

The API server's handlers know no kind. For each write they call, in order,
`prepare_for_create` / `prepare_for_update` (on a create, then `admit_create`, once
managedFields are recorded), then the matching `validate*`; a non-empty error list becomes a
422 Invalid. Writes to `/status` go through the kind's status strategy (`status.py`) instead. Metadata that the server owns
(uid, timestamps, resourceVersion, generateName) is not touched here.

Besides the write hooks, a strategy carries what Kubernetes' generic store takes as options
beside it (`store.go`): whether an update may leave out resourceVersion
(AllowUnconditionalUpdate), whether DELETE answers with the object (ReturnDeletedObject), the
delete hooks (CheckGracefulDelete, prepare for delete, ShouldDeleteDuringUpdate) and names
that may never be deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kubelite.api.defaults import apply_defaults
from kubelite.api.registry import Kind
from kubelite.api.types.meta_v1 import ObjectMeta
from kubelite.api.validation import names
from kubelite.api.validation.errors import FieldError
from kubelite.api.validation.meta import validate_object_meta, validate_object_meta_update

Validator = Callable[[Any], list[FieldError]]
UpdateValidator = Callable[[Any, Any], list[FieldError]]


def _meta(obj: Any) -> ObjectMeta:
    if getattr(obj, "metadata", None) is None:
        obj.metadata = ObjectMeta()
    meta: ObjectMeta = obj.metadata
    return meta


class Strategy:
    """Defaults, status handling and validation for one kind."""

    # Kinds whose spec changes bump metadata.generation (apps kinds, PDBs).
    tracks_generation = False
    # Whether annotation changes bump the generation too (Deployments: rollbacks).
    generation_follows_annotations = False
    # Whether a create keeps the status the client sent (Nodes register with theirs).
    keeps_status_on_create = False
    # An update without metadata.resourceVersion (or "0") overwrites whatever is stored
    # (AllowUnconditionalUpdate); when False it is a 422, as for Leases and PDBs.
    allow_unconditional_update = True
    # A PUT of an object that does not exist creates it (AllowCreateOnUpdate).
    allow_create_on_update = False
    # Whether DELETE gives a grace period (RESTGracefulDeleteStrategy: Pods).
    graceful_delete = False
    # DELETE answers with the removed object rather than a Success Status (ReturnDeletedObject).
    return_deleted_object = False
    # Kinds never stored: the handler that answers a POST of one ("binding", "access-review").
    served_by = ""
    # Names DELETE refuses with 403 Forbidden, and the reason it gives.
    protected_names: frozenset[str] = frozenset()
    protected_reason = "this object may not be deleted"

    def __init__(self, kind: Kind, validator: Validator | None = None,
                 update_validator: UpdateValidator | None = None) -> None:
        self.kind = kind
        self._validator = validator
        self._update_validator = update_validator

    @property
    def has_status_subresource(self) -> bool:
        return self.kind.has_subresource("status")

    # Preparation ---------------------------------------------------------------------------

    def defaults(self, obj: Any) -> None:
        apply_defaults(obj)

    def initial_status(self, obj: Any) -> None:
        """Set the status a new object starts with (after the client's status is dropped)."""

    def prepare_for_create(self, obj: Any) -> None:
        if self.has_status_subresource and not self.keeps_status_on_create \
                and hasattr(obj, "status"):
            obj.status = None
        self.defaults(obj)
        self.initial_status(obj)
        if self.tracks_generation:
            _meta(obj).generation = 1

    def admit_create(self, obj: Any) -> None:
        """What built-in mutating admission adds to a new object (a pod's service account,
        default tolerations, priority). It runs after the create's managedFields are
        recorded, as in Kubernetes, so nobody owns what it adds."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        """Keep the old status (it changes only through /status); bump generation on spec change."""
        if self.has_status_subresource and hasattr(new, "status"):
            new.status = old.status
        self.defaults(new)
        if self.tracks_generation:
            new_meta, old_meta = _meta(new), _meta(old)
            generation = old_meta.generation or 1
            changed = getattr(new, "spec", None) != getattr(old, "spec", None)
            if self.generation_follows_annotations:
                changed = changed or new_meta.annotations != old_meta.annotations
            new_meta.generation = generation + 1 if changed else generation

    # Deletion ------------------------------------------------------------------------------

    def check_graceful_delete(self, obj: Any, requested: int | None) -> int | None:
        """The grace period a delete of `obj` gets, or None when the kind deletes at once
        (CheckGracefulDelete; `requested` is DeleteOptions.gracePeriodSeconds)."""
        return None

    def pending_finalizers(self, obj: Any) -> bool:
        """Whether something besides metadata.finalizers holds the object after its delete
        (a Namespace's spec.finalizers)."""
        return False

    def prepare_for_delete(self, obj: Any) -> None:
        """Mark an object that a delete leaves in place (a Namespace turns Terminating)."""

    def delete_during_update(self, new: Any, old: Any) -> bool:
        """Whether an update removes the object (ShouldDeleteDuringUpdate): it is being
        deleted, its last finalizer went, and no grace period is still running."""
        if old.metadata.deletion_timestamp is None or new.metadata.finalizers:
            return False
        if self.pending_finalizers(new):
            return False
        return not old.metadata.deletion_grace_period_seconds

    def unknown_fields(self, body: dict[str, Any]) -> list[str]:
        """Paths in a request body the kind's schema would drop, for kinds whose schema is
        not in api/definitions.json (custom resources); built-in kinds are checked there."""
        return []

    # Validation ----------------------------------------------------------------------------

    def validate(self, obj: Any) -> list[FieldError]:
        if self._validator is not None:
            return self._validator(obj)
        return validate_object_meta(getattr(obj, "metadata", None), self.kind.namespaced,
                                    names.name_is_dns_subdomain)

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        errs = validate_object_meta_update(getattr(new, "metadata", None),
                                           getattr(old, "metadata", None))
        if self._update_validator is not None:
            return errs + self._update_validator(new, old)
        return errs + self.validate(new)

    async def validate_async(self, new: Any, old: Any | None) -> list[FieldError]:
        """What the generic store calls: `validate` on a create (`old` None), else
        `validate_update`. Kinds whose validation can take long (a custom kind's CEL rules
        over a big object) override it to leave the event loop meanwhile."""
        return self.validate(new) if old is None else self.validate_update(new, old)

