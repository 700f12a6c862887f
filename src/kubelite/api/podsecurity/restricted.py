"""The Restricted checks of the Pod Security Standards (on top of Baseline), as
k8s.io/pod-security-admission/policy's check_*.go, messages word for word. None means allowed."""

from __future__ import annotations

from typing import Any

from kubelite.api.podsecurity.baseline import explicit_seccomp_setters, seccomp_setters_forbidden
from kubelite.api.podsecurity.result import (
    Forbidden,
    containers,
    containers_phrase,
    is_windows,
    join_quote,
    pluralize,
    pod_security_context,
    security_context,
)

Meta = dict[str, Any]
Spec = dict[str, Any]


def allow_privilege_escalation_1_8(meta: Meta, spec: Spec) -> Forbidden | None:
    bad = [c.get("name", "") for c in containers(spec) if security_context(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return Forbidden("allowPrivilegeEscalation != false",
                     f"{containers_phrase(bad)} must set securityContext.allowPrivilegeEscalation=false")


def allow_privilege_escalation_1_25(meta: Meta, spec: Spec) -> Forbidden | None:
    """Windows pods cannot set it (API validation refuses it), so they pass."""
    return None if is_windows(spec) else allow_privilege_escalation_1_8(meta, spec)


def capabilities_restricted_1_22(meta: Meta, spec: Spec) -> Forbidden | None:
    missing_drop: list[str] = []
    adding: list[str] = []
    added: set[str] = set()
    for c in containers(spec):
        caps = security_context(c).get("capabilities")
        name = c.get("name", "")
        if caps is None:
            missing_drop.append(name)
            continue
        if "ALL" not in (caps.get("drop") or ()):
            missing_drop.append(name)
        extra = [cap for cap in caps.get("add") or () if cap != "NET_BIND_SERVICE"]
        if extra:
            adding.append(name)
            added.update(extra)
    details = []
    if missing_drop:
        details.append(f'{containers_phrase(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{containers_phrase(adding)} must not include {join_quote(sorted(added))} "
                       "in securityContext.capabilities.add")
    return Forbidden("unrestricted capabilities", "; ".join(details)) if details else None


def capabilities_restricted_1_25(meta: Meta, spec: Spec) -> Forbidden | None:
    return None if is_windows(spec) else capabilities_restricted_1_22(meta, spec)


# Volume sources Restricted allows; any other (hostPath, nfs, ...) is named in the message.
ALLOWED_VOLUME_SOURCES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                          "persistentVolumeClaim", "projected", "secret")
# The order Kubernetes looks for the source a refused volume uses.
RESTRICTED_VOLUME_SOURCES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs",
    "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte",
    "azureDisk", "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos",
)


def restricted_volumes_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    bad: list[str] = []
    types: set[str] = set()
    for volume in spec.get("volumes") or ():
        if any(volume.get(source) is not None for source in ALLOWED_VOLUME_SOURCES):
            continue
        bad.append(volume.get("name", ""))
        types.add(next((s for s in RESTRICTED_VOLUME_SOURCES if volume.get(s) is not None), "unknown"))
    if not bad:
        return None
    return Forbidden("restricted volume types", (
        f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} {pluralize('uses', 'use', len(bad))} "
        f"{pluralize('restricted volume type', 'restricted volume types', len(types))} {join_quote(sorted(types))}"))


def run_as_non_root_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    setters: list[str] = []
    pod_value = pod_security_context(spec).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    explicit: list[str] = []
    implicit: list[str] = []
    for c in containers(spec):
        value = security_context(c).get("runAsNonRoot")
        if value is False:
            explicit.append(c.get("name", ""))
        elif value is None and pod_value is not True:
            implicit.append(c.get("name", ""))
    if explicit:
        setters.append(containers_phrase(explicit))
    if setters:
        return Forbidden("runAsNonRoot != true", f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return Forbidden("runAsNonRoot != true", f"pod or {containers_phrase(implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_user_1_23(meta: Meta, spec: Spec) -> Forbidden | None:
    setters = ["pod"] if pod_security_context(spec).get("runAsUser") == 0 else []
    bad = [c.get("name", "") for c in containers(spec) if security_context(c).get("runAsUser") == 0]
    if bad:
        setters.append(containers_phrase(bad))
    return Forbidden("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") if setters else None


def seccomp_profile_restricted_1_19(meta: Meta, spec: Spec) -> Forbidden | None:
    setters, values, pod_valid, unset = explicit_seccomp_setters(spec)
    if setters:
        return seccomp_setters_forbidden(setters, values)
    if unset and not pod_valid:
        return Forbidden("seccompProfile", f'pod or {containers_phrase(unset)} must set securityContext.seccompProfile.type '
                         'to "RuntimeDefault" or "Localhost"')
    return None


def seccomp_profile_restricted_1_25(meta: Meta, spec: Spec) -> Forbidden | None:
    return None if is_windows(spec) else seccomp_profile_restricted_1_19(meta, spec)
