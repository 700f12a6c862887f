"""The Baseline checks of the Pod Security Standards, one pure function per check version, each
of the pod's metadata and spec (JSON field names), as k8s.io/pod-security-admission/policy's
check_*.go with their forbidden reasons and details word for word. None means allowed."""

from __future__ import annotations

from typing import Any

from kubelite.api.podsecurity.result import (
    Forbidden,
    containers,
    containers_phrase,
    join_quote,
    pluralize,
    pod_security_context,
    quote,
    security_context,
)

Meta = dict[str, Any]
Spec = dict[str, Any]


def privileged_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    bad = [c.get("name", "") for c in containers(spec) if security_context(c).get("privileged") is True]
    if not bad:
        return None
    return Forbidden("privileged", f"{containers_phrase(bad)} must not set securityContext.privileged=true")


def host_namespaces_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    shared = [f"{field}=true" for field in ("hostNetwork", "hostPID", "hostIPC") if spec.get(field) is True]
    return Forbidden("host namespaces", ", ".join(shared)) if shared else None


CAPABILITIES_ALLOWED_1_0 = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
    "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
})


def capabilities_baseline_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    bad: list[str] = []
    added: set[str] = set()
    for c in containers(spec):
        extra = [cap for cap in (security_context(c).get("capabilities") or {}).get("add") or ()
                 if cap not in CAPABILITIES_ALLOWED_1_0]
        if extra:
            bad.append(c.get("name", ""))
            added.update(extra)
    if not bad:
        return None
    return Forbidden("non-default capabilities", f"{containers_phrase(bad)} must not include "
                     f"{join_quote(sorted(added))} in securityContext.capabilities.add")


def host_path_volumes_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    bad = [v.get("name", "") for v in spec.get("volumes") or () if v.get("hostPath") is not None]
    if not bad:
        return None
    return Forbidden("hostPath volumes", f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)}")


def host_ports_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    bad: list[str] = []
    ports: set[str] = set()
    for c in containers(spec):
        used = [str(p["hostPort"]) for p in c.get("ports") or () if p.get("hostPort")]
        if used:
            bad.append(c.get("name", ""))
            ports.update(used)
    if not bad:
        return None
    return Forbidden("hostPort", f"{containers_phrase(bad)} {pluralize('uses', 'use', len(bad))} "
                     f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")


APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def _allowed_apparmor_annotation(value: str) -> bool:
    return not value or value == "runtime/default" or value.startswith("localhost/")


def app_armor_profile_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    setters: list[str] = []
    values: set[str] = set()

    def bad(sc: dict[str, Any]) -> bool:
        profile = sc.get("appArmorProfile")
        if profile is None or profile.get("type") in ("RuntimeDefault", "Localhost"):
            return False
        values.add(profile.get("type") or "")
        return True

    if bad(pod_security_context(spec)):
        setters.append("pod")
    bad_containers = [c.get("name", "") for c in containers(spec) if bad(security_context(c))]
    if bad_containers:
        setters.append(containers_phrase(bad_containers))
    annotations = sorted(f"{k}={quote(v)}" for k, v in (meta.get("annotations") or {}).items()
                         if k.startswith(APPARMOR_ANNOTATION_PREFIX) and not _allowed_apparmor_annotation(v))
    listed = sorted(values) + annotations
    if annotations:
        setters.append(pluralize("annotation", "annotations", len(annotations)))
    if not setters:
        return None
    return Forbidden(pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", len(listed)),
                     f"{' and '.join(setters)} must not set AppArmor profile type to {join_quote(listed)}")


SELINUX_TYPES_1_0 = frozenset({"", "container_t", "container_init_t", "container_kvm_t"})
SELINUX_TYPES_1_31 = SELINUX_TYPES_1_0 | {"container_engine_t"}


def _se_linux_options(spec: Spec, allowed: frozenset[str]) -> Forbidden | None:
    setters: list[str] = []
    types: set[str] = set()
    user = role = False

    def valid(sc: dict[str, Any]) -> bool:
        nonlocal user, role
        opts = sc.get("seLinuxOptions")
        if opts is None:
            return True
        ok = True
        if (opts.get("type") or "") not in allowed:
            ok = False
            types.add(opts.get("type") or "")
        if opts.get("user"):
            ok, user = False, True
        if opts.get("role"):
            ok, role = False, True
        return ok

    if not valid(pod_security_context(spec)):
        setters.append("pod")
    bad = [c.get("name", "") for c in containers(spec) if not valid(security_context(c))]
    if bad:
        setters.append(containers_phrase(bad))
    if not setters:
        return None
    data = [f"{pluralize('type', 'types', len(types))} {join_quote(sorted(types))}"] if types else []
    data += ["user may not be set"] if user else []
    data += ["role may not be set"] if role else []
    return Forbidden("seLinuxOptions",
                     f"{' and '.join(setters)} set forbidden securityContext.seLinuxOptions: {'; '.join(data)}")


def se_linux_options_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    return _se_linux_options(spec, SELINUX_TYPES_1_0)


def se_linux_options_1_31(meta: Meta, spec: Spec) -> Forbidden | None:
    return _se_linux_options(spec, SELINUX_TYPES_1_31)


def proc_mount_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    bad: list[str] = []
    mounts: set[str] = set()
    for c in containers(spec):
        mount = security_context(c).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(c.get("name", ""))
            mounts.add(mount)
    if not bad:
        return None
    return Forbidden("procMount", f"{containers_phrase(bad)} must not set securityContext.procMount to "
                     f"{join_quote(sorted(mounts))}")


SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"
SECCOMP_TYPES = ("RuntimeDefault", "Localhost")


def _valid_seccomp_annotation(value: str) -> bool:
    return value in ("runtime/default", "docker/default") or value.startswith("localhost/")


def seccomp_profile_baseline_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    """Before 1.19 seccomp was set by annotations."""
    annotations = meta.get("annotations") or {}
    keys = [SECCOMP_POD_ANNOTATION] + [SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.get("name", "") for c in containers(spec)]
    bad = sorted({f"{k}={quote(annotations[k])}" for k in keys
                  if k in annotations and not _valid_seccomp_annotation(annotations[k])})
    if not bad:
        return None
    return Forbidden("seccompProfile", f"forbidden {pluralize('annotation', 'annotations', len(bad))} {', '.join(bad)}")


def explicit_seccomp_setters(spec: Spec) -> tuple[list[str], set[str], bool, list[str]]:
    """Who sets a seccomp type other than RuntimeDefault/Localhost (and which types), whether the
    pod sets a valid one, and the containers that set none (shared with the restricted check)."""
    setters: list[str] = []
    values: set[str] = set()
    pod_profile = pod_security_context(spec).get("seccompProfile")
    pod_valid = False
    if pod_profile is not None:
        if pod_profile.get("type") in SECCOMP_TYPES:
            pod_valid = True
        else:
            setters.append("pod")
            values.add(pod_profile.get("type") or "")
    bad: list[str] = []
    unset: list[str] = []
    for c in containers(spec):
        profile = security_context(c).get("seccompProfile")
        if profile is None:
            unset.append(c.get("name", ""))
        elif profile.get("type") not in SECCOMP_TYPES:
            bad.append(c.get("name", ""))
            values.add(profile.get("type") or "")
    if bad:
        setters.append(containers_phrase(bad))
    return setters, values, pod_valid, unset


def seccomp_setters_forbidden(setters: list[str], values: set[str]) -> Forbidden:
    return Forbidden("seccompProfile", f"{' and '.join(setters)} must not set securityContext.seccompProfile.type "
                     f"to {join_quote(sorted(values))}")


def seccomp_profile_baseline_1_19(meta: Meta, spec: Spec) -> Forbidden | None:
    setters, values, _, _ = explicit_seccomp_setters(spec)
    return seccomp_setters_forbidden(setters, values) if setters else None


SYSCTLS_1_0 = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start",
})
SYSCTLS_1_27 = SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
SYSCTLS_1_29 = SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                               "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
SYSCTLS_1_32 = SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}


def _sysctls(spec: Spec, allowed: frozenset[str]) -> Forbidden | None:
    bad = [s.get("name", "") for s in pod_security_context(spec).get("sysctls") or () if s.get("name") not in allowed]
    return Forbidden("forbidden sysctls", ", ".join(bad)) if bad else None


def sysctls_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    return _sysctls(spec, SYSCTLS_1_0)


def sysctls_1_27(meta: Meta, spec: Spec) -> Forbidden | None:
    return _sysctls(spec, SYSCTLS_1_27)


def sysctls_1_29(meta: Meta, spec: Spec) -> Forbidden | None:
    return _sysctls(spec, SYSCTLS_1_29)


def sysctls_1_32(meta: Meta, spec: Spec) -> Forbidden | None:
    return _sysctls(spec, SYSCTLS_1_32)


def _host_process(sc: dict[str, Any]) -> bool:
    return (sc.get("windowsOptions") or {}).get("hostProcess") is True


def windows_host_process_1_0(meta: Meta, spec: Spec) -> Forbidden | None:
    setters = ["pod"] if _host_process(pod_security_context(spec)) else []
    bad = [c.get("name", "") for c in containers(spec) if _host_process(security_context(c))]
    if bad:
        setters.append(containers_phrase(bad))
    if not setters:
        return None
    return Forbidden("hostProcess", f"{' and '.join(setters)} must not set securityContext.windowsOptions.hostProcess=true")
