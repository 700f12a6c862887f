"""Probes and lifecycle handlers: exactly one handler, sane timings, valid ports."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    forbidden,
    invalid,
    not_supported,
    required,
)

NEGATIVE = "must be greater than or equal to 0"
HTTP_SCHEMES = ("HTTP", "HTTPS")


def validate_port_num_or_name(port: int | str, path: str) -> list[FieldError]:
    if isinstance(port, int):
        return [invalid(path, port, m) for m in names.is_valid_port_num(port)]
    return [invalid(path, port, m) for m in names.is_valid_port_name(port)]


def _http_get(action: core_v1.HTTPGetAction, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not action.path:
        errs.append(required(child(path, "path")))
    errs += validate_port_num_or_name(action.port, child(path, "port"))
    if (action.scheme or "") not in HTTP_SCHEMES:
        errs.append(not_supported(child(path, "scheme"), action.scheme or "", HTTP_SCHEMES))
    for header in action.http_headers or []:
        if not header.name or any(c in header.name for c in " \t:()<>@,;\\\"/[]?={}"):
            errs.append(invalid(child(path, "httpHeaders"), header.name,
                                "a valid HTTP header must consist of alphanumeric characters "
                                "or '-' (e.g. 'X-Header-Name', regex used for validation is "
                                "'[-A-Za-z0-9]+')"))
    return errs


def _handlers(handler: core_v1.Probe | core_v1.LifecycleHandler,
              grace_period: int | None, path: str) -> list[FieldError]:
    """validateHandler: exactly one of exec, httpGet, tcpSocket, grpc (probes), sleep (hooks)."""
    errs: list[FieldError] = []
    count = 0

    def one(name: str) -> bool:
        nonlocal count
        if count:
            errs.append(forbidden(child(path, name), "may not specify more than 1 handler type"))
            return False
        count += 1
        return True

    if handler.exec is not None and one("exec"):
        if not handler.exec.command:
            errs.append(required(child(path, "exec", "command")))
    if handler.http_get is not None and one("httpGet"):
        errs += _http_get(handler.http_get, child(path, "httpGet"))
    if handler.tcp_socket is not None and one("tcpSocket"):
        errs += validate_port_num_or_name(handler.tcp_socket.port,
                                          child(path, "tcpSocket", "port"))
    if isinstance(handler, core_v1.Probe) and handler.grpc is not None and one("grpc"):
        port = handler.grpc.port
        errs += [invalid(child(path, "grpc", "port"), port, m)
                 for m in names.is_valid_port_num(port)]
    if isinstance(handler, core_v1.LifecycleHandler) and handler.sleep is not None \
            and one("sleep"):
        seconds = handler.sleep.seconds
        limit = 30 if grace_period is None else grace_period
        if seconds <= 0 or seconds > limit:
            errs.append(invalid(child(path, "sleep", "seconds"), seconds,
                                "must be greater than 0 and less than "
                                f"terminationGracePeriodSeconds ({limit})"))
    if count == 0:
        errs.append(required(path, "must specify a handler type"))
    return errs


def validate_probe(probe: core_v1.Probe | None, grace_period: int | None,
                   path: str) -> list[FieldError]:
    if probe is None:
        return []
    errs = _handlers(probe, grace_period, path)
    for attr, name in (("initial_delay_seconds", "initialDelaySeconds"),
                       ("timeout_seconds", "timeoutSeconds"),
                       ("period_seconds", "periodSeconds"),
                       ("success_threshold", "successThreshold"),
                       ("failure_threshold", "failureThreshold")):
        value = getattr(probe, attr)
        if value is not None and value < 0:
            errs.append(invalid(child(path, name), value, NEGATIVE))
    tgps = probe.termination_grace_period_seconds
    if tgps is not None and tgps <= 0:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), tgps,
                            "must be greater than 0"))
    return errs


def validate_liveness_or_startup(probe: core_v1.Probe | None, grace_period: int | None,
                                 path: str) -> list[FieldError]:
    if probe is None:
        return []
    errs = validate_probe(probe, grace_period, path)
    success = probe.success_threshold if probe.success_threshold is not None else 1
    if success != 1:
        errs.append(invalid(child(path, "successThreshold"), success, "must be 1"))
    return errs


def validate_readiness(probe: core_v1.Probe | None, grace_period: int | None,
                       path: str) -> list[FieldError]:
    if probe is None:
        return []
    errs = validate_probe(probe, grace_period, path)
    if probe.termination_grace_period_seconds is not None:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"),
                            probe.termination_grace_period_seconds,
                            "must not be set for readinessProbes"))
    return errs


def validate_lifecycle(lifecycle: core_v1.Lifecycle | None, grace_period: int | None,
                       path: str) -> list[FieldError]:
    if lifecycle is None:
        return []
    errs: list[FieldError] = []
    if lifecycle.post_start is not None:
        errs += _handlers(lifecycle.post_start, grace_period, child(path, "postStart"))
    if lifecycle.pre_stop is not None:
        errs += _handlers(lifecycle.pre_stop, grace_period, child(path, "preStop"))
    return errs
