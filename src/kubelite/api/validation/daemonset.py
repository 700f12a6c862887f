"""DaemonSets and ControllerRevisions (pkg/apis/apps/validation: ValidateDaemonSet...)."""

from __future__ import annotations

from kubelite.api.types import apps_v1
from kubelite.api.validation import names
from kubelite.api.validation.apps import (
    _int_or_percent_value,
    _nonnegative,
    _selector_and_template,
    _selector_update,
    validate_int_or_percent,
)
from kubelite.api.validation.errors import FieldError, child, invalid, not_supported, required
from kubelite.api.validation.meta import validate_object_meta, validate_object_meta_update

UPDATE_STRATEGY_TYPES = ("OnDelete", "RollingUpdate")


def _update_strategy(strategy: apps_v1.DaemonSetUpdateStrategy | None,
                     path: str) -> list[FieldError]:
    """ValidateDaemonSetUpdateStrategy and ValidateRollingUpdateDaemonSet."""
    strategy = strategy or apps_v1.DaemonSetUpdateStrategy()
    if strategy.type == "OnDelete":
        return []
    if strategy.type != "RollingUpdate":
        return [not_supported(child(path, "type"), strategy.type or "", UPDATE_STRATEGY_TYPES)]
    ru = strategy.rolling_update
    if ru is None:
        return [required(child(path, "rollingUpdate"))]
    ru_path = child(path, "rollingUpdate")
    errs = validate_int_or_percent(ru.max_unavailable, child(ru_path, "maxUnavailable"))
    errs += validate_int_or_percent(ru.max_surge, child(ru_path, "maxSurge"))
    unavailable, surge = _int_or_percent_value(ru.max_unavailable), _int_or_percent_value(ru.max_surge)
    if unavailable == 0 and surge == 0:
        errs.append(invalid(child(ru_path, "maxUnavailable"), ru.max_unavailable,
                            "may not be 0 when `maxSurge` is 0"))
    if unavailable != 0 and surge != 0:
        errs.append(invalid(child(ru_path, "maxSurge"), ru.max_surge,
                            "may not be set when maxUnavailable is non-zero"))
    return errs


def validate_daemon_set(ds: apps_v1.DaemonSet) -> list[FieldError]:
    errs = validate_object_meta(ds.metadata, True, names.name_is_dns_subdomain)
    spec = ds.spec
    if spec is None:
        return errs + [required("spec")]
    errs += _selector_and_template(spec.selector, spec.template, "spec")
    errs += _nonnegative(spec.min_ready_seconds, child("spec", "minReadySeconds"))
    errs += _nonnegative(spec.revision_history_limit, child("spec", "revisionHistoryLimit"))
    errs += _update_strategy(spec.update_strategy, child("spec", "updateStrategy"))
    return errs


def validate_daemon_set_update(new: apps_v1.DaemonSet, old: apps_v1.DaemonSet) -> list[FieldError]:
    errs = validate_daemon_set(new)
    errs += _selector_update(new.spec.selector if new.spec else None,
                             old.spec.selector if old.spec else None)
    return errs


def validate_daemon_set_status_update(new: apps_v1.DaemonSet,
                                      old: apps_v1.DaemonSet) -> list[FieldError]:
    """ValidateDaemonSetStatusUpdate: no count is negative."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    status = new.status or apps_v1.DaemonSetStatus(
        current_number_scheduled=0, desired_number_scheduled=0, number_misscheduled=0,
        number_ready=0)
    for field in ("currentNumberScheduled", "numberMisscheduled", "desiredNumberScheduled",
                  "numberReady", "observedGeneration", "updatedNumberScheduled",
                  "numberAvailable", "numberUnavailable", "collisionCount"):
        value = getattr(status, _snake(field))
        errs += _nonnegative(value, child("status", field))
    return errs


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)
