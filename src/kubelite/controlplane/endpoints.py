"""The `kubernetes` Service's Endpoints and EndpointSlice, from the API servers' addresses.

As kube-apiserver's EndpointsAdapter (pkg/controlplane/reconcilers): one Endpoints object
(labelled to be skipped by EndpointSlice mirroring) and one EndpointSlice of the same name,
each listing every live API server's address with the https port; written only when they
differ from what is stored.
"""

from __future__ import annotations

from typing import Any

from kubelite.client import AlreadyExists, ApiClient, Conflict, NotFound
from kubelite.controlplane.system_services import KUBERNETES, PORT_NAME

SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
RETRIES = 5


def endpoints_body(ips: list[str], port: int) -> dict[str, Any]:
    subset: dict[str, Any] = {"ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}
    if ips:
        subset["addresses"] = [{"ip": ip} for ip in ips]
    return {"apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": KUBERNETES, "namespace": "default",
                         "labels": {SKIP_MIRROR_LABEL: "true"}},
            "subsets": [subset]}


def slice_body(ips: list[str], port: int) -> dict[str, Any]:
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": KUBERNETES, "namespace": "default",
                         "labels": {SERVICE_NAME_LABEL: KUBERNETES}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}} for ip in ips],
            "ports": [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]}


async def _put(client: ApiClient, resource: str, wanted: dict[str, Any], fields: tuple[str, ...]) -> None:
    """Create or update `wanted` when `fields` or its labels differ; retried on races with
    another API server (Conflict, AlreadyExists), as the adapter does."""
    name, ns = wanted["metadata"]["name"], wanted["metadata"]["namespace"]
    for attempt in range(RETRIES):
        try:
            try:
                current = await client.get(resource, name, ns, raw=True)
            except NotFound:
                await client.create(resource, wanted, ns, raw=True)
                return
            labels = (current.get("metadata") or {}).get("labels")
            if labels == wanted["metadata"]["labels"] and all(
                    _normal(current.get(f)) == _normal(wanted.get(f)) for f in fields):
                return
            body = {**current, **{f: wanted[f] for f in fields}}
            body["metadata"] = {**current["metadata"], "labels": wanted["metadata"]["labels"]}
            await client.update(resource, body, raw=True)
            return
        except (Conflict, AlreadyExists):
            if attempt == RETRIES - 1:
                raise


def _normal(value: Any) -> Any:
    """Compare as stored: conditions the server fills in are ignored."""
    if isinstance(value, list):
        return [_normal(v) for v in value]
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items() if k not in ("serving", "terminating")}
    return value


async def sync(client: ApiClient, ips: list[str], port: int) -> None:
    """Make the Endpoints and the EndpointSlice of `kubernetes` list exactly `ips`."""
    ips = sorted(set(ips))
    await _put(client, "endpoints", endpoints_body(ips, port), ("subsets",))
    await _put(client, "endpointslices", slice_body(ips, port), ("endpoints", "ports", "addressType"))
