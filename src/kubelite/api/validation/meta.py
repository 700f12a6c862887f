"""Object metadata, labels, annotations and label selectors (apimachinery's meta validation)."""

from __future__ import annotations

import re
from collections.abc import Callable

from kubelite.api.types.meta_v1 import Condition, LabelSelector, ObjectMeta, OwnerReference
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
    too_long,
)

NameFn = Callable[[str, bool], list[str]]

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024
FIELD_IMMUTABLE = "field is immutable"
# finalizers.go: IsStandardFinalizerName (the last is the CRD cleanup finalizer apiextensions adds)
STANDARD_FINALIZERS = {"kubernetes", "orphan", "foregroundDeletion", "customresourcecleanup.apiextensions.k8s.io"}
LABEL_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_label_name(name: str, path: str) -> list[FieldError]:
    return [invalid(path, name, m) for m in names.is_qualified_name(name)]


def validate_labels(labels: dict[str, str] | None, path: str) -> list[FieldError]:
    """Label keys and values; Kubernetes reports them all against the map's path."""
    errs: list[FieldError] = []
    for k, v in (labels or {}).items():
        errs += validate_label_name(k, path)
        errs += [invalid(path, v, m) for m in names.is_valid_label_value(v)]
    return errs


def validate_annotations(annotations: dict[str, str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    total = 0
    for k, v in (annotations or {}).items():
        # The rule is a qualified name, except that case does not matter.
        errs += [invalid(path, k, m) for m in names.is_qualified_name(k.lower())]
        total += len(k) + len(v)
    if total > TOTAL_ANNOTATION_SIZE_LIMIT:
        errs.append(too_long(path, "", TOTAL_ANNOTATION_SIZE_LIMIT))
    return errs


def _owner_reference(ref: OwnerReference, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    version = ref.api_version.rpartition("/")[2]
    if not version:
        errs.append(invalid(child(path, "apiVersion"), ref.api_version,
                            "version must not be empty"))
    if not ref.kind:
        errs.append(invalid(child(path, "kind"), ref.kind, "kind must not be empty"))
    if not ref.name:
        errs.append(invalid(child(path, "name"), ref.name, "name must not be empty"))
    if not ref.uid:
        errs.append(invalid(child(path, "uid"), ref.uid, "uid must not be empty"))
    return errs


def validate_owner_references(refs: list[OwnerReference] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    controller = ""
    for ref in refs or []:
        errs += _owner_reference(ref, path)
        if ref.controller:
            current = f"{ref.kind}/{ref.name}"
            if controller:
                errs.append(invalid(path, [_ref_dict(r) for r in refs or []],
                                    "Only one reference can have Controller set to true. "
                                    f'Found "true" in references for {controller} and {current}'))
            else:
                controller = current
    return errs


def _ref_dict(ref: OwnerReference) -> dict[str, object]:
    return {"apiVersion": ref.api_version, "kind": ref.kind, "name": ref.name, "uid": ref.uid}


def validate_finalizers(finalizers: list[str] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in finalizers or []:
        msgs = names.is_qualified_name(f)
        errs += [invalid(path, f, m) for m in msgs]
        if not msgs and "/" not in f and f not in STANDARD_FINALIZERS:
            errs.append(invalid(path, f, "name is neither a standard finalizer name nor is it "
                                         "fully qualified"))
    return errs


def validate_object_meta(meta: ObjectMeta | None, namespaced: bool, name_fn: NameFn,
                         path: str = "metadata") -> list[FieldError]:
    """ValidateObjectMeta: names, namespace, labels, annotations, owners and finalizers."""
    meta = meta or ObjectMeta()
    errs: list[FieldError] = []
    if meta.generate_name:
        errs += [invalid(child(path, "generateName"), meta.generate_name, m)
                 for m in name_fn(meta.generate_name, True)]
    if not meta.name:
        errs.append(required(child(path, "name"), "name or generateName is required"))
    else:
        errs += [invalid(child(path, "name"), meta.name, m) for m in name_fn(meta.name, False)]
    if namespaced:
        if not meta.namespace:
            errs.append(required(child(path, "namespace")))
        else:
            errs += [invalid(child(path, "namespace"), meta.namespace, m)
                     for m in names.name_is_dns_label(meta.namespace)]
    elif meta.namespace:
        errs.append(forbidden(child(path, "namespace"), "not allowed on this type"))
    if meta.generation is not None and meta.generation < 0:
        errs.append(invalid(child(path, "generation"), meta.generation,
                            "must be greater than or equal to 0"))
    errs += validate_labels(meta.labels, child(path, "labels"))
    errs += validate_annotations(meta.annotations, child(path, "annotations"))
    errs += validate_owner_references(meta.owner_references, child(path, "ownerReferences"))
    errs += validate_finalizers(meta.finalizers, child(path, "finalizers"))
    return errs


def validate_immutable(new: object, old: object, path: str) -> list[FieldError]:
    return [] if new == old else [invalid(path, new, FIELD_IMMUTABLE)]


def validate_object_meta_update(new: ObjectMeta | None, old: ObjectMeta | None,
                                path: str = "metadata") -> list[FieldError]:
    """ValidateObjectMetaUpdate (resourceVersion preconditions are the API server's job)."""
    new, old = new or ObjectMeta(), old or ObjectMeta()
    errs: list[FieldError] = []
    if old.deletion_timestamp:
        added = set(new.finalizers or []) - set(old.finalizers or [])
        for f in sorted(added):
            errs.append(forbidden(child(path, "finalizers"),
                                  f"no new finalizers can be added if the object is being "
                                  f"deleted, found new finalizers []string{{\"{f}\"}}"))
    if (new.generation or 0) < (old.generation or 0):
        errs.append(invalid(child(path, "generation"), new.generation, "must not be decremented"))
    errs += validate_immutable(new.name, old.name, child(path, "name"))
    errs += validate_immutable(new.namespace, old.namespace, child(path, "namespace"))
    errs += validate_immutable(new.uid, old.uid, child(path, "uid"))
    errs += validate_immutable(new.creation_timestamp, old.creation_timestamp,
                               child(path, "creationTimestamp"))
    errs += validate_immutable(new.deletion_timestamp, old.deletion_timestamp,
                               child(path, "deletionTimestamp"))
    errs += validate_immutable(new.deletion_grace_period_seconds,
                               old.deletion_grace_period_seconds,
                               child(path, "deletionGracePeriodSeconds"))
    errs += validate_labels(new.labels, child(path, "labels"))
    errs += validate_annotations(new.annotations, child(path, "annotations"))
    errs += validate_owner_references(new.owner_references, child(path, "ownerReferences"))
    errs += validate_finalizers(new.finalizers, child(path, "finalizers"))
    return errs


def validate_label_selector(selector: LabelSelector | None, path: str) -> list[FieldError]:
    """metav1 LabelSelector: matchLabels plus In/NotIn/Exists/DoesNotExist expressions."""
    if selector is None:
        return []
    errs = validate_labels(selector.match_labels, child(path, "matchLabels"))
    for i, req in enumerate(selector.match_expressions or []):
        p = index(child(path, "matchExpressions"), i)
        values = req.values or []
        if req.operator in ("In", "NotIn"):
            if not values:
                errs.append(required(child(p, "values"),
                                     "must be specified when `operator` is 'In' or 'NotIn'"))
        elif req.operator in ("Exists", "DoesNotExist"):
            if values:
                errs.append(forbidden(child(p, "values"), "may not be specified when "
                                                          "`operator` is 'Exists' or 'DoesNotExist'"))
        else:
            errs.append(invalid(child(p, "operator"), req.operator, "not a valid selector operator"))
        errs += validate_label_name(req.key, child(p, "key"))
        for j, v in enumerate(values):
            errs += [invalid(index(child(p, "values"), j), v, m)
                     for m in names.is_valid_label_value(v)]
    return errs


def validate_enum(value: str | None, path: str, supported: tuple[str, ...],
                  allow_empty: bool = False) -> list[FieldError]:
    """Required-and-one-of check used for the many string enums of the API."""
    if not value:
        return [] if allow_empty else [required(path)]
    if value not in supported:
        return [not_supported(path, value, supported)]
    return []


CONDITION_STATUSES = ("False", "True", "Unknown")
CONDITION_REASON_FMT = "[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?"
CONDITION_REASON_MSG = ("a condition reason must start with alphabetic character, optionally "
                        "followed by a string of alphanumeric characters or '_,:', and must end "
                        "with an alphanumeric character or '_'")
_CONDITION_REASON = re.compile(f"^{CONDITION_REASON_FMT}$")
MAX_CONDITION_REASON = 1024
MAX_CONDITION_MESSAGE = 32 * 1024


def validate_condition(cond: Condition, path: str) -> list[FieldError]:
    """metav1 ValidateCondition: the shape every metav1.Condition must have."""
    errs = validate_label_name(cond.type, child(path, "type"))
    if cond.status not in CONDITION_STATUSES:
        errs.append(not_supported(child(path, "status"), cond.status, CONDITION_STATUSES))
    if cond.observed_generation is not None and cond.observed_generation < 0:
        errs.append(invalid(child(path, "observedGeneration"), cond.observed_generation,
                            "must be greater than or equal to zero"))
    if not cond.last_transition_time:
        errs.append(required(child(path, "lastTransitionTime"), "must be set"))
    if not cond.reason:
        errs.append(required(child(path, "reason"), "must be set"))
    else:
        if not _CONDITION_REASON.match(cond.reason):
            errs.append(invalid(child(path, "reason"), cond.reason, names.regex_error(
                CONDITION_REASON_MSG, CONDITION_REASON_FMT, "my_name", "MY_NAME", "MyName",
                "ReasonA,ReasonB", "ReasonA:ReasonB")))
        if len(cond.reason) > MAX_CONDITION_REASON:
            errs.append(too_long(child(path, "reason"), cond.reason, MAX_CONDITION_REASON))
    if len(cond.message) > MAX_CONDITION_MESSAGE:
        errs.append(too_long(child(path, "message"), cond.message, MAX_CONDITION_MESSAGE))
    return errs


def validate_conditions(conditions: list[Condition] | None, path: str) -> list[FieldError]:
    """metav1 ValidateConditions: each condition valid, each type once."""
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, cond in enumerate(conditions or []):
        if cond.type in seen:
            errs.append(duplicate(child(index(path, i), "type"), cond.type))
        seen.add(cond.type)
        errs += validate_condition(cond, index(path, i))
    return errs
