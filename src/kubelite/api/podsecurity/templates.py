"""Where a pod spec lives in each kind that carries one (Kubernetes' DefaultPodSpecExtractor), and
which pod updates are worth evaluating again (only images and seccomp annotations can change in
a pod's spec)."""

from __future__ import annotations

from typing import Any

SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
SECCOMP_CONTAINER_ANNOTATION_PREFIX = "container.seccomp.security.alpha.kubernetes.io/"

# (group, kind) -> the path to its pod template
_TEMPLATE_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("", "PodTemplate"): ("template",),
    ("", "ReplicationController"): ("spec", "template"),
    ("apps", "ReplicaSet"): ("spec", "template"),
    ("apps", "Deployment"): ("spec", "template"),
    ("apps", "StatefulSet"): ("spec", "template"),
    ("apps", "DaemonSet"): ("spec", "template"),
    ("batch", "Job"): ("spec", "template"),
    ("batch", "CronJob"): ("spec", "jobTemplate", "spec", "template"),
}


def is_pod(group: str, kind: str) -> bool:
    return group == "" and kind == "Pod"


def is_namespace(group: str, kind: str) -> bool:
    return group == "" and kind == "Namespace"


def has_pod_template(group: str, kind: str) -> bool:
    return (group, kind) in _TEMPLATE_PATHS


def pod_template(group: str, kind: str, obj: dict[str, Any]) -> dict[str, Any] | None:
    """The pod template of a workload object, None when it has none."""
    node: Any = obj
    for step in _TEMPLATE_PATHS[(group, kind)]:
        node = node.get(step) if isinstance(node, dict) else None
    return node if isinstance(node, dict) else None


def is_significant_pod_update(pod: dict[str, Any], old: dict[str, Any]) -> bool:
    """Whether an update changed what PodSecurity looks at (as admission.go isSignificantPodUpdate)."""
    annotations = (pod.get("metadata") or {}).get("annotations") or {}
    old_annotations = (old.get("metadata") or {}).get("annotations") or {}
    if annotations.get(SECCOMP_POD_ANNOTATION) != old_annotations.get(SECCOMP_POD_ANNOTATION):
        return True
    spec, old_spec = pod.get("spec") or {}, old.get("spec") or {}

    def changed(c: dict[str, Any], o: dict[str, Any]) -> bool:
        key = SECCOMP_CONTAINER_ANNOTATION_PREFIX + c.get("name", "")
        return c.get("image") != o.get("image") or annotations.get(key) != old_annotations.get(key)

    for field in ("containers", "initContainers"):
        new_list, old_list = spec.get(field) or [], old_spec.get(field) or []
        if len(new_list) != len(old_list) or any(changed(c, o) for c, o in zip(new_list, old_list, strict=True)):
            return True
    old_ephemeral = {c.get("name"): c for c in old_spec.get("ephemeralContainers") or ()}
    for c in spec.get("ephemeralContainers") or ():
        o = old_ephemeral.get(c.get("name"))
        if o is None or changed(c, o):
            return True
    return False
