"""Pod defaulting (pkg/apis/core/v1/defaults.go) and the admission plugins that fill in pods.

`default_pod_spec` is what every pod spec gets, templates included; `default_pod` adds the
pod-only parts; `admit_pod` does what the ServiceAccount and DefaultTolerationSeconds
admission plugins do when a pod is created (Priority is apiserver/admission_priority.py).
"""

from __future__ import annotations

from kubelite.api.defaults.quantities import canonical_resource_list, canonical_value
from kubelite.api.defaults.service_account import mount_service_account_token
from kubelite.api.types import core_v1

DEFAULT_GRACE_PERIOD = 30
DEFAULT_SCHEDULER = "default-scheduler"
DEFAULT_MODE = 0o644
TERMINATION_MESSAGE_PATH = "/dev/termination-log"
DEFAULT_TOLERATION_SECONDS = 300
NOT_READY_TAINT = "node.kubernetes.io/not-ready"
UNREACHABLE_TAINT = "node.kubernetes.io/unreachable"


def image_tag(image: str) -> str:
    """The tag of an image reference; "latest" when there is neither tag nor digest."""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        return last.rsplit(":", 1)[1]
    return "" if digest else "latest"


def default_probe(probe: core_v1.Probe | None) -> None:
    if probe is None:
        return
    if probe.timeout_seconds is None:
        probe.timeout_seconds = 1
    if probe.period_seconds is None:
        probe.period_seconds = 10
    if probe.success_threshold is None:
        probe.success_threshold = 1
    if probe.failure_threshold is None:
        probe.failure_threshold = 3
    _default_handler(probe)
    if probe.grpc is not None and probe.grpc.service is None:
        probe.grpc.service = ""


def _default_handler(handler: core_v1.Probe | core_v1.LifecycleHandler | None) -> None:
    if handler is None or handler.http_get is None:
        return
    if not handler.http_get.path:
        handler.http_get.path = "/"
    if not handler.http_get.scheme:
        handler.http_get.scheme = "HTTP"


def default_container(ctr: core_v1.Container) -> None:
    if not ctr.image_pull_policy:
        ctr.image_pull_policy = "Always" if image_tag(ctr.image or "") == "latest" \
            else "IfNotPresent"
    if not ctr.termination_message_path:
        ctr.termination_message_path = TERMINATION_MESSAGE_PATH
    if not ctr.termination_message_policy:
        ctr.termination_message_policy = "File"
    for port in ctr.ports or []:
        if not port.protocol:
            port.protocol = "TCP"
    for var in ctr.env or []:
        if var.value_from is not None and var.value_from.field_ref is not None \
                and not var.value_from.field_ref.api_version:
            var.value_from.field_ref.api_version = "v1"
        if var.value_from is not None and var.value_from.resource_field_ref is not None:
            ref = var.value_from.resource_field_ref
            if ref.divisor is not None:
                ref.divisor = canonical_value(ref.divisor)
    default_probe(ctr.liveness_probe)
    default_probe(ctr.readiness_probe)
    default_probe(ctr.startup_probe)
    if ctr.lifecycle is not None:
        _default_handler(ctr.lifecycle.post_start)
        _default_handler(ctr.lifecycle.pre_stop)
    if ctr.resources is not None:
        canonical_resource_list(ctr.resources.limits)
        canonical_resource_list(ctr.resources.requests)


def default_volume(vol: core_v1.Volume) -> None:
    sources = [getattr(vol, f) for f in vol.__struct_fields__ if f != "name"]
    if all(s is None for s in sources):
        vol.empty_dir = core_v1.EmptyDirVolumeSource()
    for src in (vol.config_map, vol.secret, vol.downward_api, vol.projected):
        if src is not None and src.default_mode is None:
            src.default_mode = DEFAULT_MODE
    if vol.host_path is not None and vol.host_path.type is None:
        vol.host_path.type = ""
    if vol.empty_dir is not None and vol.empty_dir.size_limit is not None:
        vol.empty_dir.size_limit = canonical_value(vol.empty_dir.size_limit)
    if vol.downward_api is not None:
        for item in vol.downward_api.items or []:
            if item.field_ref is not None and not item.field_ref.api_version:
                item.field_ref.api_version = "v1"
    if vol.ephemeral is not None and vol.ephemeral.volume_claim_template is not None:
        claim_spec = vol.ephemeral.volume_claim_template.spec
        if claim_spec.volume_mode is None:
            claim_spec.volume_mode = "Filesystem"


def _host_network_ports(containers: list[core_v1.Container] | None) -> None:
    for ctr in containers or []:
        for port in ctr.ports or []:
            if not port.host_port:
                port.host_port = port.container_port


def default_pod_spec(spec: core_v1.PodSpec) -> None:
    """SetDefaults_PodSpec and everything nested in it (used for templates too)."""
    if not spec.dns_policy:
        spec.dns_policy = "ClusterFirst"
    if not spec.restart_policy:
        spec.restart_policy = "Always"
    if spec.host_network:
        _host_network_ports(spec.containers)
        _host_network_ports(spec.init_containers)
    if spec.security_context is None:
        spec.security_context = core_v1.PodSecurityContext()
    if spec.termination_grace_period_seconds is None:
        spec.termination_grace_period_seconds = DEFAULT_GRACE_PERIOD
    if not spec.scheduler_name:
        spec.scheduler_name = DEFAULT_SCHEDULER
    for ctr in list(spec.containers) + list(spec.init_containers or []):
        default_container(ctr)
    for ephemeral in spec.ephemeral_containers or []:
        default_container(ephemeral)  # type: ignore[arg-type] # the same common fields
    for vol in spec.volumes or []:
        default_volume(vol)
    canonical_resource_list(spec.overhead)
    if spec.resources is not None:
        canonical_resource_list(spec.resources.limits)
        canonical_resource_list(spec.resources.requests)


def _requests_from_limits(containers: list[core_v1.Container] | None) -> None:
    for ctr in containers or []:
        res = ctr.resources
        if res is None or res.limits is None:
            continue
        if res.requests is None:
            res.requests = {}
        for name, value in res.limits.items():
            res.requests.setdefault(name, value)


def default_pod(pod: core_v1.Pod) -> None:
    """SetDefaults_Pod: the pod spec defaults plus requests copied from limits."""
    if pod.spec is None:
        return
    _requests_from_limits(pod.spec.containers)
    _requests_from_limits(pod.spec.init_containers)
    if pod.spec.enable_service_links is None:
        pod.spec.enable_service_links = True
    default_pod_spec(pod.spec)


def _tolerates(tolerations: list[core_v1.Toleration], taint_key: str) -> bool:
    return any((not t.key or t.key == taint_key) and (not t.effect or t.effect == "NoExecute")
               for t in tolerations)


def admit_pod(pod: core_v1.Pod) -> None:
    """What admission adds to a new pod: its service account and default tolerations."""
    spec = pod.spec
    if spec is None:
        return
    if not spec.service_account_name:
        spec.service_account_name = spec.service_account or "default"
    spec.service_account = spec.service_account_name
    mount_service_account_token(pod)
    tolerations = list(spec.tolerations or [])
    for taint in (NOT_READY_TAINT, UNREACHABLE_TAINT):
        if not _tolerates(tolerations, taint):
            tolerations.append(core_v1.Toleration(
                key=taint, operator="Exists", effect="NoExecute",
                toleration_seconds=DEFAULT_TOLERATION_SECONDS))
    spec.tolerations = tolerations
