"""Pods: create, update and status update, as pkg/apis/core/validation does it in 1.32."""

from __future__ import annotations

from kubelite.api.priority import PREEMPTION_POLICIES
from kubelite.api.types import core_v1
from kubelite.api.types.meta_v1 import ObjectMeta
from kubelite.api.validation import names
from kubelite.api.validation.container import (
    validate_containers,
    validate_ephemeral_containers,
    validate_init_containers,
)
from kubelite.api.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from kubelite.api.validation.meta import (
    validate_immutable,
    validate_labels,
    validate_object_meta,
    validate_object_meta_update,
)
from kubelite.api.validation.scheduling import (
    validate_affinity,
    validate_tolerations,
    validate_topology_spread,
)
from kubelite.api.validation.security import validate_pod_security_context
from kubelite.api.validation.volumes import validate_volumes

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
MAX_INT32 = 2147483647
NEGATIVE = "must be greater than or equal to 0"

POD_UPDATE_FORBIDDEN = (
    "pod updates may not change fields other than `spec.containers[*].image`,"
    "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
    "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


def _spec(pod: core_v1.Pod) -> core_v1.PodSpec:
    return pod.spec if pod.spec is not None else core_v1.PodSpec(containers=[])


def _enum(value: str | None, path: str, supported: tuple[str, ...]) -> list[FieldError]:
    if not value:
        return [required(path)]
    if value not in supported:
        return [not_supported(path, value, supported)]
    return []


def _host_network_ports(spec: core_v1.PodSpec, path: str) -> list[FieldError]:
    if not spec.host_network:
        return []
    errs: list[FieldError] = []
    for field, ctrs in (("containers", spec.containers), ("initContainers", spec.init_containers)):
        for i, ctr in enumerate(ctrs or []):
            for j, port in enumerate(ctr.ports or []):
                if port.host_port and port.host_port != port.container_port:
                    p = child(index(child(index(child(path, field), i), "ports"), j), "hostPort")
                    errs.append(invalid(p, port.host_port,
                                        "must match `containerPort` when `hostNetwork` is true"))
    return errs


def _dns_config(spec: core_v1.PodSpec, path: str) -> list[FieldError]:
    cfg = spec.dns_config
    if spec.dns_policy == "None" and (cfg is None or not cfg.nameservers):
        if cfg is None:
            return [required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        return [required(child(path, "nameservers"),
                         "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    errs: list[FieldError] = []
    for i, ns in enumerate((cfg.nameservers if cfg else None) or []):
        errs += [invalid(index(child(path, "nameservers"), i), ns, m) for m in names.is_valid_ip(ns)]
    return errs


def _scheduling_gates(gates: list[core_v1.PodSchedulingGate] | None,
                      path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, gate in enumerate(gates or []):
        errs += [invalid(index(path, i), gate.name, m) for m in names.is_qualified_name(gate.name)]
        if gate.name in seen:
            errs.append(duplicate(index(path, i), gate.name))
        seen.add(gate.name)
    return errs


def _name_list(value: str | None, path: str) -> list[FieldError]:
    if not value:
        return []
    return [invalid(path, value, m) for m in names.is_dns1123_subdomain(value)]


def validate_pod_spec(spec: core_v1.PodSpec, path: str = "spec") -> list[FieldError]:
    """ValidatePodSpec, in Kubernetes' order so that messages come out in the same order."""
    grace = spec.termination_grace_period_seconds
    volumes, errs = validate_volumes(spec.volumes, child(path, "volumes"))
    vol_names = set(volumes)
    errs += validate_containers(spec.containers, vol_names, grace, child(path, "containers"))
    errs += validate_init_containers(spec.init_containers, spec.containers, vol_names, grace,
                                     child(path, "initContainers"))
    errs += validate_ephemeral_containers(spec.ephemeral_containers, spec.containers,
                                          spec.init_containers, vol_names,
                                          child(path, "ephemeralContainers"))
    errs += _host_network_ports(spec, path)
    errs += _enum(spec.restart_policy, child(path, "restartPolicy"), RESTART_POLICIES)
    errs += _enum(spec.dns_policy, child(path, "dnsPolicy"), DNS_POLICIES)
    errs += validate_labels(spec.node_selector, child(path, "nodeSelector"))
    errs += validate_pod_security_context(spec, child(path, "securityContext"))
    for i, secret in enumerate(spec.image_pull_secrets or []):
        if not secret.name:
            errs.append(required(child(index(child(path, "imagePullSecrets"), i), "name")))
    errs += validate_affinity(spec.affinity, child(path, "affinity"))
    errs += _dns_config(spec, child(path, "dnsConfig"))
    for i, gate in enumerate(spec.readiness_gates or []):
        p = child(index(child(path, "readinessGates"), i), "conditionType")
        errs += [invalid(p, gate.condition_type, m)
                 for m in names.is_qualified_name(gate.condition_type)]
    errs += validate_topology_spread(spec.topology_spread_constraints,
                                     child(path, "topologySpreadConstraints"))
    errs += _name_list(spec.service_account_name, child(path, "serviceAccountName"))
    errs += _name_list(spec.node_name, child(path, "nodeName"))
    if spec.active_deadline_seconds is not None:
        ads = spec.active_deadline_seconds
        if not 1 <= ads <= MAX_INT32:
            errs.append(invalid(child(path, "activeDeadlineSeconds"), ads,
                                names.inclusive_range_error(1, MAX_INT32)))
    for value, name in ((spec.hostname, "hostname"), (spec.subdomain, "subdomain")):
        if value:
            errs += [invalid(child(path, name), value, m) for m in names.is_dns1123_label(value)]
    if spec.tolerations:
        errs += validate_tolerations(spec.tolerations, child(path, "tolerations"))
    errs += _name_list(spec.priority_class_name, child(path, "priorityClassName"))
    if spec.preemption_policy is not None and spec.preemption_policy not in PREEMPTION_POLICIES:
        errs.append(not_supported(child(path, "preemptionPolicy"), spec.preemption_policy,
                                  PREEMPTION_POLICIES))
    if grace is not None and grace < 0:
        errs.append(invalid(child(path, "terminationGracePeriodSeconds"), grace, NEGATIVE))
    errs += _scheduling_gates(spec.scheduling_gates, child(path, "schedulingGates"))
    return errs


def validate_pod_template(template: core_v1.PodTemplateSpec | None, path: str,
                          restart_policies: tuple[str, ...] = ("Always",),
                          owner: str = "ReplicaSet") -> list[FieldError]:
    """A pod template inside a workload: labels, annotations and spec; the restart policies
    the owning kind allows (Jobs: OnFailure and Never)."""
    if template is None:
        return [required(path)]
    meta = template.metadata or ObjectMeta()
    errs = validate_labels(meta.labels, child(path, "metadata", "labels"))
    if template.spec is None:
        errs.append(required(child(path, "spec", "containers")))
        return errs
    errs += validate_pod_spec(template.spec, child(path, "spec"))
    policy = template.spec.restart_policy
    if policy not in restart_policies and not (policy is None and "Always" in restart_policies):
        errs.append(not_supported(child(path, "spec", "restartPolicy"),
                                  policy or "", list(restart_policies)))
    if template.spec.active_deadline_seconds is not None and owner != "Job":
        errs.append(forbidden(child(path, "spec", "activeDeadlineSeconds"),
                              f"activeDeadlineSeconds in {owner} is not Supported"))
    return errs


def validate_pod(pod: core_v1.Pod) -> list[FieldError]:
    """ValidatePodCreate."""
    errs = validate_object_meta(pod.metadata, True, names.name_is_dns_subdomain)
    spec = _spec(pod)
    errs += validate_pod_spec(spec)
    if spec.ephemeral_containers:
        errs.append(forbidden(child("spec", "ephemeralContainers"), "cannot be set on create"))
    if spec.scheduling_gates and spec.node_name:
        errs.append(forbidden(child("spec", "nodeName"),
                              "cannot be set until all schedulingGates have been cleared"))
    return errs


def _toleration_key(t: core_v1.Toleration) -> tuple[object, ...]:
    return (t.key, t.operator, t.value, t.effect)


def _only_added_tolerations(new: list[core_v1.Toleration] | None,
                            old: list[core_v1.Toleration] | None,
                            path: str) -> list[FieldError]:
    new_keys = [_toleration_key(t) for t in new or []]
    for t in old or []:
        if _toleration_key(t) not in new_keys:
            return [forbidden(path, "existing toleration can not be modified except its "
                                    "tolerationSeconds")]
    return validate_tolerations(new, path)


def _only_deleted_gates(new: list[core_v1.PodSchedulingGate] | None,
                        old: list[core_v1.PodSchedulingGate] | None,
                        path: str) -> list[FieldError]:
    old_names = {g.name for g in old or []}
    for g in new or []:
        if g.name not in old_names:
            return [forbidden(path, "only deletion is allowed, but found new scheduling gate "
                                    f"'{g.name}'")]
    return []


def _diff(old: object, new: object, path: str, out: list[str]) -> None:
    """Lines naming what differs between two JSON-like values (for the Forbidden message)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for k in list(old) + [k for k in new if k not in old]:
            _diff(old.get(k), new.get(k), f"{path}.{k}" if path else k, out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _diff(a, b, f"{path}[{i}]", out)
    elif old != new:
        import json

        out.append(f"-  {path}: {json.dumps(old)}")
        out.append(f"+  {path}: {json.dumps(new)}")


def _pod_spec_diff(old: core_v1.PodSpec, new: core_v1.PodSpec) -> str:
    import msgspec

    lines: list[str] = []
    _diff(msgspec.to_builtins(old), msgspec.to_builtins(new), "spec", lines)
    return "\n".join(lines)


def _munged(new: core_v1.PodSpec, old: core_v1.PodSpec) -> core_v1.PodSpec:
    """The new spec with every field a pod update may change set back to its old value."""
    import msgspec

    munged = msgspec.structs.replace(new)
    munged.containers = [msgspec.structs.replace(c, image=o.image)
                         for c, o in zip(new.containers, old.containers, strict=True)]
    if new.init_containers is not None and old.init_containers is not None:
        munged.init_containers = [
            msgspec.structs.replace(c, image=o.image)
            for c, o in zip(new.init_containers, old.init_containers, strict=True)]
    munged.active_deadline_seconds = old.active_deadline_seconds
    munged.scheduling_gates = old.scheduling_gates
    munged.tolerations = old.tolerations
    old_grace = old.termination_grace_period_seconds
    if old_grace is not None and old_grace < 0 and munged.termination_grace_period_seconds == 1:
        munged.termination_grace_period_seconds = old_grace
    return munged


def _same_length(new: list[core_v1.Container] | None, old: list[core_v1.Container] | None,
                 path: str) -> list[FieldError]:
    if len(new or []) != len(old or []):
        return [forbidden(path, "pod updates may not add or remove containers")]
    errs: list[FieldError] = []
    for i, ctr in enumerate(new or []):
        if not ctr.image:
            errs.append(required(child(index(path, i), "image")))
        elif ctr.image != ctr.image.strip():
            errs.append(invalid(child(index(path, i), "image"), ctr.image,
                                "must not have leading or trailing whitespace"))
    return errs


def validate_pod_update(new: core_v1.Pod, old: core_v1.Pod) -> list[FieldError]:
    """ValidatePodUpdate: only images, activeDeadlineSeconds, tolerations (additions),
    schedulingGates (removals) and a negative grace period set to 1 may change."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs += validate_object_meta(new.metadata, True, names.name_is_dns_subdomain)
    new_spec, old_spec = _spec(new), _spec(old)
    errs += validate_pod_spec(new_spec)
    spec_path = "spec"
    for field, n, o in (("containers", new_spec.containers, old_spec.containers),
                        ("initContainers", new_spec.init_containers, old_spec.init_containers)):
        container_errs = _same_length(n, o, child(spec_path, field))
        errs += container_errs
        if container_errs and container_errs[0].detail.startswith("pod updates may not add"):
            return errs
    ads_path = child(spec_path, "activeDeadlineSeconds")
    new_ads, old_ads = new_spec.active_deadline_seconds, old_spec.active_deadline_seconds
    if new_ads is not None:
        if not 0 <= new_ads <= MAX_INT32:
            errs.append(invalid(ads_path, new_ads, names.inclusive_range_error(0, MAX_INT32)))
            return errs
        if old_ads is not None and old_ads < new_ads:
            errs.append(invalid(ads_path, new_ads, "must be less than or equal to previous value"))
            return errs
    elif old_ads is not None:
        errs.append(invalid(ads_path, None, "must not update from a positive integer to nil "
                                            "value"))
    errs += _only_added_tolerations(new_spec.tolerations, old_spec.tolerations,
                                    child(spec_path, "tolerations"))
    errs += _only_deleted_gates(new_spec.scheduling_gates, old_spec.scheduling_gates,
                                child(spec_path, "schedulingGates"))
    if new_spec == old_spec:
        return errs
    munged = _munged(new_spec, old_spec)
    if munged != old_spec:
        errs.append(forbidden(spec_path, POD_UPDATE_FORBIDDEN + "\n"
                              + _pod_spec_diff(old_spec, munged)))
    return errs


MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


def validate_pod_ephemeral_containers_update(new: core_v1.Pod,
                                             old: core_v1.Pod) -> list[FieldError]:
    """ValidatePodEphemeralContainersUpdate: the new pod is valid, and the ephemeral
    containers it had are all still there, unchanged (they may only be added to)."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    errs += validate_object_meta(new.metadata, True, names.name_is_dns_subdomain)
    errs += validate_pod_spec(_spec(new))
    if old.metadata is not None and MIRROR_POD_ANNOTATION in (old.metadata.annotations or {}):
        return [forbidden("", "static pods do not support ephemeral containers")]
    import msgspec

    path = child("spec", "ephemeralContainers")
    by_name = {ec.name: ec for ec in _spec(new).ephemeral_containers or []}
    for before in _spec(old).ephemeral_containers or []:
        after = by_name.get(before.name)
        if after is None:
            errs.append(forbidden(path, f'existing ephemeral containers "{before.name}" '
                                        "may not be removed\n"))
        elif after != before:
            lines: list[str] = []
            _diff(msgspec.to_builtins(before), msgspec.to_builtins(after), "", lines)
            errs.append(forbidden(path, f'existing ephemeral containers "{before.name}" '
                                        "may not be changed\n" + "\n".join(lines)))
    return errs


def _terminated(status: core_v1.ContainerStatus) -> core_v1.ContainerStateTerminated | None:
    return status.state.terminated if status.state is not None else None


def _state_transitions(new: list[core_v1.ContainerStatus] | None,
                       old: list[core_v1.ContainerStatus] | None, restart_policy: str | None,
                       path: str, restartable: frozenset[str] = frozenset()) -> list[FieldError]:
    """ValidateContainerStateTransition: a container that may not restart must not leave the
    terminated state (paths index the old list, as Kubernetes does)."""
    if restart_policy == "Always":
        return []
    errs: list[FieldError] = []
    for i, before in enumerate(old or []):
        ended = _terminated(before)
        if ended is None or before.name in restartable:
            continue
        if restart_policy == "OnFailure" and ended.exit_code != 0:
            continue
        for status in new or []:
            if status.name == before.name and _terminated(status) is None:
                errs.append(forbidden(child(index(path, i), "state"),
                                      "may not be transitioned to non-terminated state"))
    return errs


# validatePodConditions: these condition types are the system's; others are qualified names.
SYSTEM_POD_CONDITIONS = ("PodScheduled", "Ready", "Initialized")
ONE_IP_PER_FAMILY = "may specify no more than one IP for each IP family"


def _effective_ips(single: str | None, listed: list[core_v1.PodIP] | list[core_v1.HostIP] | None,
                   ) -> list[str]:
    """The IP list Kubernetes validates: the v1 singular field wins when both are set and
    differ, and stands alone when the list is empty (Convert_v1_PodStatus_To_core_PodStatus)."""
    ips = [ip.ip for ip in listed or []]
    if single and (not ips or ips[0] != single):
        return [single]
    return ips


def _validate_ips(ips: list[str], existing: list[str], path: str) -> list[FieldError]:
    """validatePodIPs / validateHostIPs: valid addresses (ones already stored may stay), at
    most one per IP family."""
    import ipaddress

    errs: list[FieldError] = []
    for i, ip in enumerate(ips):
        if ip not in existing:
            errs += [invalid(index(path, i), ip, m) for m in names.is_valid_ip(ip)]
    if len(ips) > 1:
        try:
            families = [ipaddress.ip_address(ip).version for ip in ips]
        except ValueError:
            return errs
        if len(ips) > 2 or families[0] == families[1]:
            errs.append(invalid(path, [{"ip": ip} for ip in ips], ONE_IP_PER_FAMILY))
    return errs


def validate_pod_status_update(new: core_v1.Pod, old: core_v1.Pod) -> list[FieldError]:
    """ValidatePodStatusUpdate: what a kubelet (or anyone) may write to pods/status."""
    errs = validate_object_meta_update(new.metadata, old.metadata)
    new_status = new.status or core_v1.PodStatus()
    old_status = old.status or core_v1.PodStatus()
    for i, cond in enumerate(new_status.conditions or []):
        if cond.type not in SYSTEM_POD_CONDITIONS:
            # Kubernetes roots this path at "metadata" (fldPath is reused): keep its words
            p = child(index(child("metadata", "conditions"), i), "Type")
            errs += [invalid(p, cond.type, m) for m in names.is_qualified_name(cond.type)]
    status_path = "status"
    if _spec(new).node_name != _spec(old).node_name:
        errs.append(forbidden(child(status_path, "nodeName"), "may not be changed directly"))
    nominated = new_status.nominated_node_name
    if nominated and nominated != old_status.nominated_node_name:
        errs += [invalid(child(status_path, "nominatedNodeName"), nominated, m)
                 for m in names.is_dns1123_subdomain(nominated)]
    errs += validate_immutable(new_status.qos_class or "", old_status.qos_class or "",
                               child(status_path, "qosClass"))
    old_spec = _spec(old)
    errs += _state_transitions(new_status.container_statuses, old_status.container_statuses,
                               old_spec.restart_policy, child(status_path, "containerStatuses"))
    sidecars = frozenset(c.name for c in old_spec.init_containers or []
                         if c.restart_policy == "Always")
    errs += _state_transitions(new_status.init_container_statuses,
                               old_status.init_container_statuses, old_spec.restart_policy,
                               child(status_path, "initContainerStatuses"), sidecars)
    errs += _state_transitions(new_status.ephemeral_container_statuses,
                               old_status.ephemeral_container_statuses, "Never",
                               child(status_path, "ephemeralContainerStatuses"))
    errs += _validate_ips(_effective_ips(new_status.pod_ip, new_status.pod_ips),
                          _effective_ips(old_status.pod_ip, old_status.pod_ips),
                          child(status_path, "podIPs"))
    errs += _validate_ips(_effective_ips(new_status.host_ip, new_status.host_ips),
                          _effective_ips(old_status.host_ip, old_status.host_ips),
                          child(status_path, "hostIPs"))
    return errs
