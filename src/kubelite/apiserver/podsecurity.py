"""Kubernetes' PodSecurity admission plugin (k8s.io/pod-security-admission/admission).

Each namespace chooses, by its `pod-security.kubernetes.io/{enforce,audit,warn}[-version]`
labels, the Pod Security Standard a mode applies (privileged:latest by default, or the
configured defaults). A pod that breaks the enforce level is refused with 403; the audit level
adds an audit annotation; the warn level answers with a Warning header that kubectl prints.
Workloads' pod templates (Deployment, Job, ...) are checked for warn and audit only: their
pods are refused when created. Changing a namespace's enforce label checks the pods already
there and warns about those it would refuse. Exempt users, namespaces and runtime classes come
from the configuration (apiserver/podsecurity_config.py).

The checks themselves are pure functions in api/podsecurity/; this module applies them to
requests. Namespace labels come from an in-memory copy fed by the watch cache.
"""

from __future__ import annotations

import logging
from typing import Any

from kubelite.api import podsecurity as ps
from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.api.validation.errors import FieldError, invalid_message, status_causes
from kubelite.apiserver import objects, request_context
from kubelite.apiserver.admission import NAMESPACES, _CacheCopy
from kubelite.apiserver.podsecurity_config import PodSecurityConfig
from kubelite.store.interface import Store

log = logging.getLogger(__name__)
PODS = by_resource("", "v1", "pods")
MAX_PODS_TO_CHECK = 3000  # existing pods checked when a namespace's enforce level tightens
AUDIT_PREFIX = "pod-security.kubernetes.io/"


class NamespaceLabels(_CacheCopy):
    """Every namespace's labels, listed then followed from the watch cache; a namespace not in
    the copy yet (created a moment ago) is read from the store."""

    task_name = "podsecurity-namespaces"

    def __init__(self, store: Store) -> None:
        assert NAMESPACES is not None
        super().__init__(store, NAMESPACES)
        self._labels: dict[str, dict[str, str]] = {}

    def _put(self, ns: dict[str, Any]) -> None:
        self._labels[ns["metadata"]["name"]] = ns["metadata"].get("labels") or {}

    def _drop(self, ns: dict[str, Any]) -> None:
        self._labels.pop(ns["metadata"]["name"], None)

    def _forget_all(self) -> None:
        self._labels.clear()

    async def get(self, name: str) -> dict[str, str] | None:
        known = self._labels.get(name)
        if known is not None:
            return known
        assert NAMESPACES is not None
        kv = await self.store.get(objects.object_key(NAMESPACES, None, name))
        return None if kv is None else objects.decode(kv.value)["metadata"].get("labels") or {}


class PodSecurity:
    """The admission step: `await plugin(kind, namespace, obj, old)` for every write."""

    def __init__(self, store: Store, config: PodSecurityConfig | None = None) -> None:
        self.store = store
        self.config = config or PodSecurityConfig()
        self.namespaces = NamespaceLabels(store)

    async def start(self, cache: Any) -> None:
        await self.namespaces.start(cache)

    async def stop(self) -> None:
        await self.namespaces.stop()

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if ps.is_namespace(kind.group, kind.kind):
            await self._namespace(obj, old)
        elif ps.is_pod(kind.group, kind.kind):
            await self._pod(kind, namespace, obj, old)
        elif ps.has_pod_template(kind.group, kind.kind):
            await self._workload(kind, namespace, obj, old)

    # ----- pods and workloads

    def _exempt(self, namespace: str) -> bool:
        if namespace and namespace in self.config.exempt_namespaces:
            request_context.add_audit_annotation(AUDIT_PREFIX + "exempt", "namespace")
            return True
        user = request_context.user_name()
        if user and user in self.config.exempt_usernames:
            request_context.add_audit_annotation(AUDIT_PREFIX + "exempt", "user")
            return True
        return False

    async def _policy(self, namespace: str) -> tuple[ps.Policy, list[FieldError]]:
        labels = await self.namespaces.get(namespace)
        if labels is None:
            raise st.InternalError(f"failed to lookup namespace {namespace}")
        return ps.policy_to_evaluate(labels, self.config.defaults)

    async def _pod(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if self._exempt(namespace):
            return
        policy, errors = await self._policy(namespace)
        if not errors and policy.fully_privileged():
            return
        pod = objects.to_dict(obj)
        if old is not None and not ps.is_significant_pod_update(pod, objects.to_dict(old)):
            return  # a status write, a label change: nothing PodSecurity looks at changed
        name = (pod.get("metadata") or {}).get("name", "")
        self._evaluate(policy, errors, pod, enforce=(kind, name))

    async def _workload(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if self._exempt(namespace):
            return
        policy, errors = await self._policy(namespace)
        if not errors and policy.warn.level == ps.PRIVILEGED and policy.audit.level == ps.PRIVILEGED:
            return
        template = ps.pod_template(kind.group, kind.kind, objects.to_dict(obj))
        if template is None:
            return
        if old is not None and template == ps.pod_template(kind.group, kind.kind, objects.to_dict(old)):
            return  # status and scale writes (Kubernetes skips subresources) leave the template alone
        self._evaluate(policy, errors, template, enforce=None)

    def _evaluate(self, policy: ps.Policy, errors: list[FieldError], pod: dict[str, Any],
                  enforce: tuple[Kind, str] | None) -> None:
        """Refuse (enforce, pods only), annotate (audit) and warn, each at its own level:version."""
        meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        runtime_class = spec.get("runtimeClassName")
        if runtime_class and runtime_class in self.config.exempt_runtime_classes:
            request_context.add_audit_annotation(AUDIT_PREFIX + "exempt", "runtimeClass")
            return
        if errors:
            request_context.add_audit_annotation("error", "Failed to parse policy: " + "; ".join(e.message() for e in errors))
        results: dict[ps.LevelVersion, list[ps.Forbidden]] = {}

        def violations(lv: ps.LevelVersion) -> list[ps.Forbidden]:
            if lv not in results:
                results[lv] = ps.evaluate(lv, meta, spec)
            return results[lv]

        if enforce is not None:
            request_context.add_audit_annotation(AUDIT_PREFIX + "enforce-policy", str(policy.enforce))
            found = violations(policy.enforce)
            if found:
                kind, name = enforce
                raise st.Forbidden(
                    f'{kind.plural} "{name}" is forbidden: violates PodSecurity "{policy.enforce}": '
                    f"{ps.forbidden_detail(found)}",
                    name=name, group=kind.group, kind=kind.plural,
                )
        found = violations(policy.audit)
        if found:
            request_context.add_audit_annotation(
                AUDIT_PREFIX + "audit-violations",
                f'would violate PodSecurity "{policy.audit}": {ps.forbidden_detail(found)}')
        found = violations(policy.warn)
        if found:
            request_context.add_warning(f'would violate PodSecurity "{policy.warn}": {ps.forbidden_detail(found)}')

    # ----- namespaces

    async def _namespace(self, obj: Any, old: Any) -> None:
        meta = obj.metadata
        name = meta.name or ""
        policy, errors = ps.policy_to_evaluate(meta.labels, self.config.defaults)
        if old is None:
            if errors:
                raise _invalid_labels(name, errors)
            return
        old_policy, old_errors = ps.policy_to_evaluate(old.metadata.labels, self.config.defaults)
        if errors and errors != old_errors:
            raise _invalid_labels(name, errors)
        new, before = policy.enforce, old_policy.enforce
        if new == before or new.level == ps.PRIVILEGED:
            return
        if new.version == before.version and ps.compare_levels(new.level, before.level) < 1:
            return  # relaxed at the same version: no existing pod can break it
        if name in self.config.exempt_namespaces:
            return
        for warning in await self._existing_pods_warnings(name, new):
            request_context.add_warning(warning)

    async def _existing_pods_warnings(self, namespace: str, enforce: ps.LevelVersion) -> list[str]:
        """admission.go EvaluatePodsInNamespace: one warning per distinct reason, naming the
        lexically first pod and how many others share it."""
        assert PODS is not None
        page = await self.store.list(objects.collection_prefix(PODS, namespace))
        total = len(page.items)
        counts: dict[str, tuple[str, int]] = {}
        for kv in page.items[:MAX_PODS_TO_CHECK]:
            pod = objects.decode(kv.value)
            spec = pod.get("spec") or {}
            if spec.get("runtimeClassName") and spec["runtimeClassName"] in self.config.exempt_runtime_classes:
                continue
            found = ps.evaluate(enforce, pod.get("metadata") or {}, spec)
            if found:
                reason = ps.forbidden_reason(found)
                pod_name = pod["metadata"]["name"]
                first, count = counts.get(reason, (pod_name, 0))
                counts[reason] = (min(first, pod_name), count + 1)
        warnings = []
        if total > MAX_PODS_TO_CHECK:
            warnings.append(f"new PodSecurity enforce level only checked against the first {MAX_PODS_TO_CHECK} "
                            f"of {total} existing pods")
        if counts:
            warnings.append(f'existing pods in namespace "{namespace}" violate the new PodSecurity enforce level '
                            f'"{enforce}"')
        return warnings + sorted(_decorated(first, count, reason) for reason, (first, count) in counts.items())


def _decorated(first: str, count: int, reason: str) -> str:
    if count == 1:
        return f"{first}: {reason}"
    others = count - 1
    return f"{first} (and {others} other pod{'s' if others > 1 else ''}): {reason}"


def _invalid_labels(name: str, errors: list[FieldError]) -> st.Invalid:
    return st.Invalid(invalid_message("Namespace", name, errors), name=name, kind="Namespace",
                      causes=status_causes(errors))
