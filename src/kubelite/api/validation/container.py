"""Containers and init containers (validateContainers in pkg/apis/core/validation)."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_found,
    not_supported,
    required,
)
from kubelite.api.validation.image import validate_image
from kubelite.api.validation.probes import (
    validate_lifecycle,
    validate_liveness_or_startup,
    validate_probe,
    validate_readiness,
)
from kubelite.api.validation.resources import validate_requirements
from kubelite.api.validation.security import validate_security_context
from kubelite.api.validation.volumes import validate_local_descending_path

PROTOCOLS = ("SCTP", "TCP", "UDP")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs",
                   "status.podIP", "status.podIPs")
RESOURCE_FIELD_PATHS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory",
                        "requests.cpu", "requests.ephemeral-storage", "requests.memory")
MOUNT_PROPAGATIONS = ("Bidirectional", "HostToContainer", "None")


def _ports(ports: list[core_v1.ContainerPort] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, port in enumerate(ports or []):
        p = index(path, i)
        if port.name:
            msgs = names.is_valid_port_name(port.name)
            if msgs:
                errs += [invalid(child(p, "name"), port.name, m) for m in msgs]
            elif port.name in seen:
                errs.append(duplicate(child(p, "name"), port.name))
            else:
                seen.add(port.name)
        if port.container_port == 0:
            errs.append(required(child(p, "containerPort")))
        else:
            errs += [invalid(child(p, "containerPort"), port.container_port, m)
                     for m in names.is_valid_port_num(port.container_port)]
        if port.host_port:
            errs += [invalid(child(p, "hostPort"), port.host_port, m)
                     for m in names.is_valid_port_num(port.host_port)]
        if not port.protocol:
            errs.append(required(child(p, "protocol")))
        elif port.protocol not in PROTOCOLS:
            errs.append(not_supported(child(p, "protocol"), port.protocol, PROTOCOLS))
    return errs


def _field_ref(ref: core_v1.ObjectFieldSelector, path: str) -> list[FieldError]:
    if not ref.api_version:
        return [required(child(path, "apiVersion"))]
    if not ref.field_path:
        return [required(child(path, "fieldPath"))]
    if ref.api_version != "v1":
        return [invalid(child(path, "fieldPath"), ref.field_path,
                        f"error converting fieldPath: unsupported pod version: {ref.api_version}")]
    fp = ref.field_path
    if "[" in fp and fp.endswith("]"):
        base, _, rest = fp.partition("[")
        subscript = rest[:-1].strip("'")
        if base == "metadata.annotations":
            return [invalid(path, subscript, m) for m in names.is_qualified_name(subscript.lower())]
        if base == "metadata.labels":
            return [invalid(path, subscript, m) for m in names.is_qualified_name(subscript)]
        return [invalid(path, base, "does not support subscript")]
    if fp not in ENV_FIELD_PATHS:
        return [not_supported(child(path, "fieldPath"), fp, ENV_FIELD_PATHS)]
    return []


def _key_selector(name: str | None, key: str, path: str) -> list[FieldError]:
    errs = [invalid(child(path, "name"), name or "", m)
            for m in names.name_is_dns_subdomain(name or "")]
    if not key:
        errs.append(required(child(path, "key")))
    else:
        errs += [invalid(child(path, "key"), key, m) for m in names.is_config_map_key(key)]
    return errs


def _value_from(env: core_v1.EnvVar, path: str) -> list[FieldError]:
    src = env.value_from
    if src is None:
        return []
    errs: list[FieldError] = []
    count = 0
    if src.field_ref is not None:
        count += 1
        errs += _field_ref(src.field_ref, child(path, "fieldRef"))
    if src.resource_field_ref is not None:
        count += 1
        ref = src.resource_field_ref
        if not ref.resource:
            errs.append(required(child(path, "resourceFieldRef", "resource")))
        elif ref.resource not in RESOURCE_FIELD_PATHS and not ref.resource.startswith(
                ("limits.hugepages-", "requests.hugepages-")):
            errs.append(not_supported(child(path, "resourceFieldRef", "resource"), ref.resource,
                                      RESOURCE_FIELD_PATHS))
    if src.config_map_key_ref is not None:
        count += 1
        ref_cm = src.config_map_key_ref
        errs += _key_selector(ref_cm.name, ref_cm.key, child(path, "configMapKeyRef"))
    if src.secret_key_ref is not None:
        count += 1
        ref_s = src.secret_key_ref
        errs += _key_selector(ref_s.name, ref_s.key, child(path, "secretKeyRef"))
    if count == 0:
        errs.append(invalid(path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, "
                                      "`configMapKeyRef` or `secretKeyRef`"))
    elif env.value:
        errs.append(invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errs.append(invalid(path, "", "may not have more than one field specified at a time"))
    return errs


def _env(env: list[core_v1.EnvVar] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in enumerate(env or []):
        p = index(path, i)
        if not var.name:
            errs.append(required(child(p, "name")))
        else:
            errs += [invalid(child(p, "name"), var.name, m)
                     for m in names.is_relaxed_env_var_name(var.name)]
        errs += _value_from(var, child(p, "valueFrom"))
    return errs


def _env_from(sources: list[core_v1.EnvFromSource] | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, src in enumerate(sources or []):
        p = index(path, i)
        if src.prefix:
            errs += [invalid(child(p, "prefix"), src.prefix, m)
                     for m in names.is_relaxed_env_var_name(src.prefix)]
        count = 0
        for ref, field_name in ((src.config_map_ref, "configMapRef"),
                                (src.secret_ref, "secretRef")):
            if ref is not None:
                count += 1
                errs += [invalid(child(p, field_name, "name"), ref.name or "", m)
                         for m in names.name_is_dns_subdomain(ref.name or "")]
        if count == 0:
            errs.append(invalid(p, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errs.append(invalid(p, "", "may not have more than one field specified at a time"))
    return errs


def _volume_mounts(mounts: list[core_v1.VolumeMount] | None, volumes: set[str],
                   path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    mount_points: set[str] = set()
    for i, m in enumerate(mounts or []):
        p = index(path, i)
        if not m.name:
            errs.append(required(child(p, "name")))
        if m.name not in volumes:
            errs.append(not_found(child(p, "name"), m.name))
        if not m.mount_path:
            errs.append(required(child(p, "mountPath")))
        if m.mount_path in mount_points:
            errs.append(invalid(child(p, "mountPath"), m.mount_path, "must be unique"))
        mount_points.add(m.mount_path)
        # Kubernetes reports subPath errors without the mount's index; so do we.
        if m.sub_path:
            errs += validate_local_descending_path(m.sub_path, child(path, "subPath"))
        if m.sub_path_expr:
            if m.sub_path:
                errs.append(invalid(child(p, "subPathExpr"), m.sub_path_expr,
                                    "subPathExpr and subPath are mutually exclusive"))
            errs += validate_local_descending_path(m.sub_path_expr, child(p, "subPathExpr"))
        if m.mount_propagation is not None and m.mount_propagation not in MOUNT_PROPAGATIONS:
            errs.append(not_supported(child(p, "mountPropagation"), m.mount_propagation,
                                      MOUNT_PROPAGATIONS))
    return errs


def _common(ctr: core_v1.Container, volumes: set[str], path: str) -> list[FieldError]:
    """validateContainerCommon: what holds for app and init containers alike."""
    errs: list[FieldError] = []
    if not ctr.name:
        errs.append(required(child(path, "name")))
    else:
        errs += [invalid(child(path, "name"), ctr.name, m) for m in names.is_dns1123_label(ctr.name)]
    if not ctr.image:
        errs.append(required(child(path, "image")))
    else:
        errs += validate_image(ctr.image, child(path, "image"))
    policy = ctr.termination_message_policy
    if not policy:
        errs.append(required(child(path, "terminationMessagePolicy")))
    elif policy not in TERMINATION_MESSAGE_POLICIES:
        errs.append(not_supported(child(path, "terminationMessagePolicy"), policy,
                                  TERMINATION_MESSAGE_POLICIES))
    errs += _ports(ctr.ports, child(path, "ports"))
    errs += _env(ctr.env, child(path, "env"))
    errs += _env_from(ctr.env_from, child(path, "envFrom"))
    errs += _volume_mounts(ctr.volume_mounts, volumes, child(path, "volumeMounts"))
    if not ctr.image_pull_policy:
        errs.append(required(child(path, "imagePullPolicy")))
    elif ctr.image_pull_policy not in PULL_POLICIES:
        errs.append(not_supported(child(path, "imagePullPolicy"), ctr.image_pull_policy,
                                  PULL_POLICIES))
    res = ctr.resources
    if res is not None:
        errs += validate_requirements(res.limits, res.requests, child(path, "resources"))
    errs += validate_security_context(ctr.security_context, child(path, "securityContext"))
    return errs


def _host_port_conflicts(containers: list[core_v1.Container], path: str,
                         seen: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    for ci, ctr in enumerate(containers):
        for pi, port in enumerate(ctr.ports or []):
            if not port.host_port:
                continue
            text = f"{port.host_ip or ''}/{port.protocol or ''}/{port.host_port}"
            if text in seen:
                errs.append(duplicate(child(index(child(index(path, ci), "ports"), pi),
                                            "hostPort"), text))
            seen.add(text)
    return errs


def validate_containers(containers: list[core_v1.Container], volumes: set[str],
                        grace_period: int | None, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    if not containers:
        errs.append(required(path))
    seen: set[str] = set()
    for i, ctr in enumerate(containers):
        p = index(path, i)
        errs += _common(ctr, volumes, p)
        errs += validate_lifecycle(ctr.lifecycle, grace_period, child(p, "lifecycle"))
        errs += validate_liveness_or_startup(ctr.liveness_probe, grace_period,
                                             child(p, "livenessProbe"))
        errs += validate_readiness(ctr.readiness_probe, grace_period, child(p, "readinessProbe"))
        errs += validate_liveness_or_startup(ctr.startup_probe, grace_period,
                                             child(p, "startupProbe"))
        if ctr.restart_policy is not None:
            errs.append(forbidden(child(p, "restartPolicy"),
                                  "may not be set for non-init containers"))
        if ctr.name in seen:
            errs.append(duplicate(child(p, "name"), ctr.name))
        else:
            seen.add(ctr.name)
    errs += _host_port_conflicts(containers, path, set())
    return errs


def validate_init_containers(init: list[core_v1.Container] | None,
                             containers: list[core_v1.Container], volumes: set[str],
                             grace_period: int | None, path: str) -> list[FieldError]:
    """Init containers: names unique across app containers; probes only for sidecars."""
    errs: list[FieldError] = []
    seen = {c.name for c in containers}
    for i, ctr in enumerate(init or []):
        p = index(path, i)
        errs += _common(ctr, volumes, p)
        if ctr.name in seen:
            errs.append(duplicate(child(p, "name"), ctr.name))
        elif ctr.name:
            seen.add(ctr.name)
        sidecar = ctr.restart_policy == "Always"
        if ctr.restart_policy is not None and not sidecar:
            errs.append(not_supported(child(p, "restartPolicy"), ctr.restart_policy, ["Always"]))
        if sidecar:
            errs += validate_lifecycle(ctr.lifecycle, grace_period, child(p, "lifecycle"))
            errs += validate_liveness_or_startup(ctr.liveness_probe, grace_period,
                                                 child(p, "livenessProbe"))
            errs += validate_readiness(ctr.readiness_probe, grace_period,
                                       child(p, "readinessProbe"))
            errs += validate_liveness_or_startup(ctr.startup_probe, grace_period,
                                                 child(p, "startupProbe"))
        else:
            why = "may not be set for init containers without restartPolicy=Always"
            for value, name in ((ctr.lifecycle, "lifecycle"),
                                (ctr.liveness_probe, "livenessProbe"),
                                (ctr.readiness_probe, "readinessProbe"),
                                (ctr.startup_probe, "startupProbe")):
                if value is not None:
                    errs.append(forbidden(child(p, name), why))
    errs += _host_port_conflicts(list(init or []), path, set())
    return errs


__all__ = ["validate_containers", "validate_init_containers", "validate_probe"]


# validateFieldAllowList: fields an ephemeral container may not set (no resources or
# scheduling guarantees, never restarted, not a service endpoint).
EPHEMERAL_FORBIDDEN = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle",
                       "resources", "resizePolicy")
EPHEMERAL_FORBIDDEN_DETAIL = "cannot be set for an Ephemeral Container"


def _as_container(ec: core_v1.EphemeralContainer) -> core_v1.Container:
    """The common container fields of an ephemeral container, to check them as any other."""
    fields = {f: getattr(ec, f) for f in ec.__struct_fields__ if f != "target_container_name"}
    return core_v1.Container(**fields)


def validate_ephemeral_containers(ephemeral: list[core_v1.EphemeralContainer] | None,
                                  containers: list[core_v1.Container],
                                  init: list[core_v1.Container] | None, volumes: set[str],
                                  path: str) -> list[FieldError]:
    """validateEphemeralContainers: names unique across all of the pod's containers, a
    targetContainerName naming a container or init container, no ports, probes, lifecycle,
    resources or restartPolicy."""
    errs: list[FieldError] = []
    others = {c.name for c in containers} | {c.name for c in init or []}
    seen: set[str] = set()
    for i, ec in enumerate(ephemeral or []):
        p = index(path, i)
        if ec.name in others or ec.name in seen:
            errs.append(duplicate(child(p, "name"), ec.name))
        elif ec.name:
            seen.add(ec.name)
        if ec.target_container_name and ec.target_container_name not in others:
            errs.append(not_found(child(p, "targetContainerName"), ec.target_container_name))
        errs += _common(_as_container(ec), volumes, p)
        for field in EPHEMERAL_FORBIDDEN:
            if _set(ec, field):
                errs.append(forbidden(child(p, field), EPHEMERAL_FORBIDDEN_DETAIL))
        if ec.restart_policy is not None:
            errs.append(forbidden(child(p, "restartPolicy"), EPHEMERAL_FORBIDDEN_DETAIL))
    return errs


def _set(ec: core_v1.EphemeralContainer, json_name: str) -> bool:
    """Whether a field is set to something other than its empty value (resources: {} is
    what clients send for "none")."""
    attr = next(f for f, n in zip(ec.__struct_fields__, ec.__struct_encode_fields__, strict=True)
                if n == json_name)
    value = getattr(ec, attr)
    if isinstance(value, core_v1.ResourceRequirements):
        return bool(value.limits or value.requests or value.claims)
    return bool(value)
