"""Per-namespace service account plumbing: the `default` ServiceAccount and `kube-root-ca.crt`.

Kubernetes runs two small controllers for this (serviceaccount and root-ca-cert-publisher);
both are "given a namespace, make sure an object exists", so one controller does both here.
Pods need both: admission gives every pod the `default` account and a projected volume that
reads `ca.crt` from the `kube-root-ca.crt` ConfigMap of its namespace.
"""

from __future__ import annotations

import logging
import ssl
from typing import Any

from kubelite.client import AlreadyExists, ApiClient, NotFound
from kubelite.controllers.base import Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

DEFAULT_ACCOUNT = "default"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
ROOT_CA_KEY = "ca.crt"
DESCRIPTION_ANNOTATION = "kubernetes.io/description"
ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters.")


def ca_bundle_of(client: ApiClient) -> str:
    """The PEM CA bundle a client trusts for the API server ("" over plain HTTP).

    `kubelite server` builds its controllers' client from DATA_DIR/tls/ca.crt only, so the
    certificates its TLS context loaded are exactly the cluster CA.
    """
    ctx = getattr(client, "_ssl", None)
    if not isinstance(ctx, ssl.SSLContext):
        return ""
    return "".join(ssl.DER_cert_to_PEM_cert(der) for der in ctx.get_ca_certs(binary_form=True))


def root_ca_configmap(namespace: str, ca_pem: str) -> Obj:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": ROOT_CA_CONFIGMAP, "namespace": namespace,
                         "annotations": {DESCRIPTION_ANNOTATION: ROOT_CA_DESCRIPTION}},
            "data": {ROOT_CA_KEY: ca_pem}}


def _key(obj: Obj) -> str:
    meta = obj["metadata"]
    return str(meta.get("namespace") or meta["name"])


class ServiceAccountController(Controller):
    """Every active namespace has a `default` ServiceAccount and the root CA ConfigMap."""

    name = "serviceaccount"

    def __init__(self, client: ApiClient, ca_pem: str | None = None) -> None:
        super().__init__(client)
        self.ca_pem = ca_bundle_of(client) if ca_pem is None else ca_pem

    def setup(self) -> None:
        self.namespaces = self.informer("namespaces", raw=True)
        self.accounts = self.informer("serviceaccounts", raw=True,
                                      field_selector=f"metadata.name={DEFAULT_ACCOUNT}")
        self.configmaps = self.informer("configmaps", raw=True,
                                        field_selector=f"metadata.name={ROOT_CA_CONFIGMAP}")
        self.namespaces.on_add(lambda ns: self.queue.add(_key(ns)))
        self.namespaces.on_update(lambda _old, ns: self.queue.add(_key(ns)))
        for informer in (self.accounts, self.configmaps):
            informer.on_update(lambda _old, obj: self.queue.add(_key(obj)))
            informer.on_delete(lambda obj: self.queue.add(_key(obj)))

    async def reconcile(self, key: str) -> float | None:
        ns = self.namespaces.get_by_name(key)
        if ns is None or ns["metadata"].get("deletionTimestamp") \
                or (ns.get("status") or {}).get("phase") == "Terminating":
            return None
        if self.accounts.get_by_name(DEFAULT_ACCOUNT, key) is None:
            await self._create({"apiVersion": "v1", "kind": "ServiceAccount",
                                "metadata": {"name": DEFAULT_ACCOUNT, "namespace": key}}, key)
        await self._publish_root_ca(key)
        return None

    async def _create(self, obj: Obj, namespace: str) -> None:
        try:
            await self.client.create(obj["kind"], obj, namespace, raw=True)
        except AlreadyExists:
            pass
        except NotFound:  # the namespace went away meanwhile
            pass

    async def _publish_root_ca(self, namespace: str) -> None:
        current = self.configmaps.get_by_name(ROOT_CA_CONFIGMAP, namespace)
        wanted = root_ca_configmap(namespace, self.ca_pem)
        if current is None:
            await self._create(wanted, namespace)
            return
        annotations = current["metadata"].get("annotations") or {}
        if (current.get("data") or {}) == wanted["data"] \
                and annotations.get(DESCRIPTION_ANNOTATION) == ROOT_CA_DESCRIPTION:
            return
        meta = dict(current["metadata"],
                    annotations={**annotations, DESCRIPTION_ANNOTATION: ROOT_CA_DESCRIPTION})
        await self.client.update("configmaps", {**current, "metadata": meta,
                                                "data": wanted["data"]}, raw=True)
