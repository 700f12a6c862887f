"""The token controller's one remaining job in Kubernetes 1.32: fill a Secret of type
`kubernetes.io/service-account-token` that names a service account (annotation
`kubernetes.io/service-account.name`) with a long-lived token, the cluster CA and the namespace.

Nothing else gets a long-lived token. The token comes from the TokenRequest API, bound to the
Secret with the longest lifetime the API allows, so it stops authenticating once the Secret
(or the service account) is deleted, as a legacy token does.
"""

from __future__ import annotations

import base64
import logging
from typing import Any

from kubelite.client import ApiClient, NotFound
from kubelite.controllers.base import Controller
from kubelite.controllers.serviceaccount import ca_bundle_of

log = logging.getLogger(__name__)

Obj = dict[str, Any]

SECRET_TYPE = "kubernetes.io/service-account-token"
NAME_ANNOTATION = "kubernetes.io/service-account.name"
UID_ANNOTATION = "kubernetes.io/service-account.uid"
LONG_LIVED_SECONDS = 1 << 32  # TokenRequest's maximum


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def wants_token(secret: Obj) -> bool:
    annotations = secret["metadata"].get("annotations") or {}
    return secret.get("type") == SECRET_TYPE and bool(annotations.get(NAME_ANNOTATION)) \
        and not (secret.get("data") or {}).get("token")


class ServiceAccountTokenController(Controller):
    name = "serviceaccount-token"

    def __init__(self, client: ApiClient, ca_pem: str | None = None) -> None:
        super().__init__(client)
        self.ca_pem = ca_bundle_of(client) if ca_pem is None else ca_pem

    def setup(self) -> None:
        self.secrets = self.informer("secrets", raw=True)
        self.secrets.on_add(lambda s: self.queue.add(_key(s)) if wants_token(s) else None)
        self.secrets.on_update(lambda _old, s: self.queue.add(_key(s)) if wants_token(s) else None)

    async def reconcile(self, key: str) -> float | None:
        namespace, name = key.split("/", 1)
        secret = self.secrets.get_by_name(name, namespace)
        if secret is None or not wants_token(secret):
            return None
        meta = secret["metadata"]
        account = meta["annotations"][NAME_ANNOTATION]
        try:
            sa = await self.client.get("serviceaccounts", account, namespace, raw=True)
            answer = await self.client.request(
                "POST", self.client.path("serviceaccounts", namespace, account) + "/token",
                body={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                      "spec": {"expirationSeconds": LONG_LIVED_SECONDS,
                               "boundObjectRef": {"apiVersion": "v1", "kind": "Secret", "name": name,
                                                  "uid": meta["uid"]}}})
        except NotFound:  # the account (or the Secret) is not there (yet): an add event retries
            return 5.0
        data = {**(secret.get("data") or {}), "token": _b64(answer["status"]["token"]),
                "namespace": _b64(namespace)}
        if self.ca_pem:
            data["ca.crt"] = _b64(self.ca_pem)
        annotations = {**meta["annotations"], UID_ANNOTATION: sa["metadata"].get("uid", "")}
        await self.client.update("secrets", {**secret, "metadata": {**meta, "annotations": annotations},
                                             "data": data}, raw=True)
        return None
