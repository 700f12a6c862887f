"""DefaultIngressClass: a new Ingress naming no class gets the newest default class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubelite.api.registry import by_resource
from kubelite.apiserver.admission import NamespaceLifecycle
from kubelite.apiserver.admission_ingress import DefaultIngressClass
from kubelite.apiserver.rest import ObjectStore, WriteOptions
from kubelite.store.sqlite import SqliteStore

INGRESSES = by_resource("networking.k8s.io", "v1", "ingresses")
CLASSES = by_resource("networking.k8s.io", "v1", "ingressclasses")
NAMESPACES = by_resource("", "v1", "namespaces")
DEFAULT = {"ingressclass.kubernetes.io/is-default-class": "true"}


def ingress(name: str, cls: str | None = None, **annotations: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"defaultBackend": {"service": {"name": "web", "port": {"number": 80}}}}
    if cls is not None:
        spec["ingressClassName"] = cls
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "annotations": annotations}, "spec": spec}


def ingress_class(name: str, default: bool) -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": name, "annotations": DEFAULT if default else {}},
            "spec": {"controller": "example.com/" + name}}


async def test_the_newest_default_class_is_given(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    await store.start()
    try:
        objects = ObjectStore(store, admission=[NamespaceLifecycle(store), DefaultIngressClass(store)])
        opts = WriteOptions()
        await objects.create(NAMESPACES, None, {"apiVersion": "v1", "kind": "Namespace",
                                                "metadata": {"name": "default"}}, opts)
        none = (await objects.create(INGRESSES, "default", ingress("a"), opts)).obj
        assert "ingressClassName" not in none["spec"]
        await objects.create(CLASSES, None, ingress_class("plain", False), opts)
        await objects.create(CLASSES, None, ingress_class("b-default", True), opts)
        await objects.create(CLASSES, None, ingress_class("a-default", True), opts)
        # created in the same second: the first name wins, as Kubernetes' sort does
        got = (await objects.create(INGRESSES, "default", ingress("b"), opts)).obj
        assert got["spec"]["ingressClassName"] == "a-default"
        mine = (await objects.create(INGRESSES, "default", ingress("c", "plain"), opts)).obj
        assert mine["spec"]["ingressClassName"] == "plain"
        old_way = ingress("d", **{"kubernetes.io/ingress.class": "nginx"})
        annotated = (await objects.create(INGRESSES, "default", old_way, opts)).obj
        assert "ingressClassName" not in annotated["spec"]
    finally:
        await store.close()
