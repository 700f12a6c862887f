"""The DefaultIngressClass admission plugin (plugin/pkg/admission/network/defaultingressclass).

A new Ingress that names no class (neither `spec.ingressClassName` nor the old
`kubernetes.io/ingress.class` annotation) gets the IngressClass annotated
`ingressclass.kubernetes.io/is-default-class: "true"`, the newest if several are.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver.admission import newest_default_class
from kubelite.store.interface import Store

INGRESSES = by_resource("networking.k8s.io", "v1", "ingresses")
INGRESS_CLASSES = by_resource("networking.k8s.io", "v1", "ingressclasses")
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
CLASS_ANNOTATION = "kubernetes.io/ingress.class"


class DefaultIngressClass:
    """Mutates Ingresses on create only; an update never changes the class."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if kind is not INGRESSES or old is not None or obj.spec is None:
            return
        if obj.spec.ingress_class_name is not None:
            return
        if CLASS_ANNOTATION in ((obj.metadata.annotations if obj.metadata else None) or {}):
            return
        default = await newest_default_class(self.store, INGRESS_CLASSES, DEFAULT_CLASS_ANNOTATION)
        if default is not None:
            obj.spec.ingress_class_name = default
