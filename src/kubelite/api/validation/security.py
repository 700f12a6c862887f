"""Pod and container security contexts: ids in range, seccomp, privilege combinations."""

from __future__ import annotations

from kubelite.api.types import core_v1
from kubelite.api.validation import names
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    index,
    invalid,
    not_supported,
    required,
)

SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
PROC_MOUNT_TYPES = ("Default", "Unmasked")
FS_GROUP_CHANGE_POLICIES = ("Always", "OnRootMismatch")
MAX_ID = 2147483647


def _id(value: int | None, path: str) -> list[FieldError]:
    if value is not None and not 0 <= value <= MAX_ID:
        return [invalid(path, value, names.inclusive_range_error(0, MAX_ID))]
    return []


def _seccomp(profile: core_v1.SeccompProfile | None, path: str) -> list[FieldError]:
    if profile is None:
        return []
    if profile.type not in SECCOMP_TYPES:
        return [not_supported(child(path, "type"), profile.type, SECCOMP_TYPES)]
    if profile.type == "Localhost" and not profile.localhost_profile:
        return [required(child(path, "localhostProfile"),
                         "must be set when seccomp type is Localhost")]
    if profile.type != "Localhost" and profile.localhost_profile is not None:
        return [invalid(child(path, "localhostProfile"), profile.localhost_profile,
                        "can only be set when seccomp type is Localhost")]
    return []


def validate_security_context(sc: core_v1.SecurityContext | None, path: str) -> list[FieldError]:
    """A container's securityContext."""
    if sc is None:
        return []
    errs = _id(sc.run_as_user, child(path, "runAsUser"))
    errs += _id(sc.run_as_group, child(path, "runAsGroup"))
    if sc.proc_mount is not None and sc.proc_mount not in PROC_MOUNT_TYPES:
        errs.append(not_supported(child(path, "procMount"), sc.proc_mount, PROC_MOUNT_TYPES))
    errs += _seccomp(sc.seccomp_profile, child(path, "seccompProfile"))
    if sc.allow_privilege_escalation is False:
        if sc.privileged:
            errs.append(invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false and "
                                          "`privileged` to true"))
        for cap in (sc.capabilities.add or []) if sc.capabilities else []:
            if cap == "CAP_SYS_ADMIN":
                errs.append(invalid(path, sc, "cannot set `allowPrivilegeEscalation` to false "
                                              "and `capabilities.Add` CAP_SYS_ADMIN"))
    return errs


def validate_pod_security_context(spec: core_v1.PodSpec, path: str) -> list[FieldError]:
    """spec.securityContext, plus the shareProcessNamespace/hostPID conflict kept beside it."""
    sc = spec.security_context
    if sc is None:
        return []
    errs = _id(sc.fs_group, child(path, "fsGroup"))
    errs += _id(sc.run_as_user, child(path, "runAsUser"))
    errs += _id(sc.run_as_group, child(path, "runAsGroup"))
    for i, g in enumerate(sc.supplemental_groups or []):
        errs += _id(g, index(child(path, "supplementalGroups"), i))
    if spec.share_process_namespace and spec.host_pid:
        errs.append(invalid(child(path, "shareProcessNamespace"), True,
                            "ShareProcessNamespace and HostPID cannot both be enabled"))
    seen: set[str] = set()
    for i, sysctl in enumerate(sc.sysctls or []):
        p = child(index(child(path, "sysctls"), i), "name")
        if not sysctl.name:
            errs.append(required(p))
        elif sysctl.name in seen:
            errs.append(duplicate(p, sysctl.name))
        seen.add(sysctl.name)
    if sc.fs_group_change_policy is not None and \
            sc.fs_group_change_policy not in FS_GROUP_CHANGE_POLICIES:
        errs.append(not_supported(child(path, "fsGroupChangePolicy"), sc.fs_group_change_policy,
                                  FS_GROUP_CHANGE_POLICIES))
    errs += _seccomp(sc.seccomp_profile, child(path, "seccompProfile"))
    return errs
