"""Status strategies: how a write to a kind's `/status` subresource is prepared and validated.

Kubernetes' registry gives every kind with a status subresource a second strategy
(podStatusStrategy, nodeStatusStrategy...): its PrepareForUpdate keeps what the stored object
says outside status, and its ValidateUpdate is the kind's ValidateXStatusUpdate. The generic
store uses it for PUT, PATCH and server-side apply on `/status`, and so knows no kind.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from kubelite.api.defaults import apply_defaults
from kubelite.api.registry import Kind
from kubelite.api.strategy.base import _meta
from kubelite.api.types import core_v1
from kubelite.api.validation.errors import FieldError
from kubelite.api.validation.meta import validate_object_meta_update

StatusValidator = Callable[[Any, Any], list[FieldError]]


class StatusStrategy:
    """Keeps the spec and the server's metadata; labels and annotations may change."""

    # Deployments and ReplicaSets: labels change only through the main resource.
    keeps_labels = False
    # As the kind's own strategy says (status strategies embed it in Kubernetes).
    allow_unconditional_update = True

    def __init__(self, kind: Kind, validator: StatusValidator | None = None) -> None:
        self.kind = kind
        self._validator = validator

    def prepare_for_update(self, new: Any, old: Any) -> None:
        if hasattr(new, "spec"):
            new.spec = old.spec
        new_meta, old_meta = _meta(new), _meta(old)
        labels = old_meta.labels if self.keeps_labels else new_meta.labels
        new.metadata = msgspec.structs.replace(
            old_meta, labels=labels, annotations=new_meta.annotations,
            resource_version=new_meta.resource_version,
            managed_fields=new_meta.managed_fields)  # an apply has recorded its own

    def validate_update(self, new: Any, old: Any) -> list[FieldError]:
        """The kind's ValidateXStatusUpdate (each includes ValidateObjectMetaUpdate)."""
        if self._validator is not None:
            return self._validator(new, old)
        return validate_object_meta_update(getattr(new, "metadata", None),
                                           getattr(old, "metadata", None))

    async def validate_async(self, new: Any, old: Any) -> list[FieldError]:
        """What the generic store calls (a status write is always an update)."""
        return self.validate_update(new, old)


class LabelKeepingStatusStrategy(StatusStrategy):
    """Deployments and ReplicaSets (their status strategies reset labels too)."""

    keeps_labels = True


class PodStatusStrategy(StatusStrategy):
    """podStatusStrategy: ownerReferences stay (old kubelets corrupt them), and a status
    written without qosClass keeps the stored one (old kubelets drop it on rejection)."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        super().prepare_for_update(new, old)
        pod: core_v1.Pod = new
        before: core_v1.Pod = old
        if pod.status is not None and not pod.status.qos_class and before.status is not None:
            pod.status.qos_class = before.status.qos_class


class ServiceStatusStrategy(StatusStrategy):
    """A load balancer ingress IP without an ipMode gets "VIP", as defaulting gives it."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        super().prepare_for_update(new, old)
        svc: core_v1.Service = new
        balancer = svc.status.load_balancer if svc.status is not None else None
        for ingress in balancer.ingress or [] if balancer is not None else []:
            if ingress.ip and ingress.ip_mode is None:
                ingress.ip_mode = "VIP"


class PodEphemeralContainersStrategy(StatusStrategy):
    """pods/ephemeralcontainers (dropNonEphemeralContainerUpdates): the stored pod with only
    spec.ephemeralContainers (and labels and annotations) from the request."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        pod: core_v1.Pod = new
        ephemeral = pod.spec.ephemeral_containers if pod.spec is not None else None
        super().prepare_for_update(new, old)
        before: core_v1.Pod = old
        pod.status = before.status
        pod.spec = msgspec.structs.replace(before.spec or core_v1.PodSpec(containers=[]),
                                           ephemeral_containers=ephemeral)
        apply_defaults(pod)  # as decoding does for every write: the new container's defaults


class NamespaceFinalizeStrategy(StatusStrategy):
    """namespaces/finalize (namespace finalizeStrategy): only spec.finalizers change."""

    def prepare_for_update(self, new: Any, old: Any) -> None:
        ns: core_v1.Namespace = new
        finalizers = ns.spec.finalizers if ns.spec is not None else None
        new.metadata = old.metadata
        new.status = old.status
        new.spec = msgspec.structs.replace(old.spec or core_v1.NamespaceSpec(),
                                           finalizers=finalizers)


__all__ = ["LabelKeepingStatusStrategy", "NamespaceFinalizeStrategy", "PodEphemeralContainersStrategy",
           "PodStatusStrategy", "ServiceStatusStrategy",
           "StatusStrategy", "StatusValidator"]
