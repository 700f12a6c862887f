"""The built-in IngressClass, made once at each API server start if missing (as k3s installs
traefik's `traefik` class from its manifests): `kubelite`, controller
`kubelite.io/ingress-controller` (traefik's is `traefik.io/ingress-controller`), annotated as
the default class, so Ingresses that name no class get it (admission_ingress.py). Deleting it
lasts until the next start; annotating it `is-default-class: "false"` is kept."""

from __future__ import annotations

from typing import Any

from kubelite.client import AlreadyExists, ApiClient, NotFound
from kubelite.ingress.model import CLASS_NAME, CONTROLLER, DEFAULT_CLASS_ANNOTATION


def ingress_class() -> dict[str, Any]:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
                         "labels": {"app.kubernetes.io/managed-by": "kubelite"}},
            "spec": {"controller": CONTROLLER}}


async def ensure_ingress_class(client: ApiClient) -> None:
    try:
        await client.get("ingressclasses", CLASS_NAME, raw=True)
    except NotFound:
        try:
            await client.create("ingressclasses", ingress_class(), raw=True)
        except AlreadyExists:
            pass  # another API server made it first
