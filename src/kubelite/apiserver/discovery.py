"""Discovery documents: /version, /api, /apis, /api/v1, /apis/G/V and aggregated discovery.

Everything here is derived from api/registry.py; adding a kind there makes it appear in
every document. The functions are pure and return fresh dicts.
"""

from __future__ import annotations

import platform
from typing import Any

from kubelite.api import registry
from kubelite.api.registry import Kind, Subresource

# The reported minor chooses the kubectl that /usr/bin/kubectl (the gcloud dispatcher) runs.
MAJOR, MINOR, PATCH = "1", "32", "0"
GIT_COMMIT = "70d3cc986aa8221cd1dfb1121852688902d3bf53"
BUILD_DATE = "2024-12-11T17:59:15Z"
GO_VERSION = "go1.23.3"

AGGREGATED_GROUP = "apidiscovery.k8s.io"
AGGREGATED_VERSIONS = ("v2", "v2beta1")  # preferred first

# Subresources that speak an options kind of their parent's group (pods/exec -> PodExecOptions).
_OPTIONS_KINDS = {
    "exec": "{kind}ExecOptions",
    "attach": "{kind}AttachOptions",
    "portforward": "{kind}PortForwardOptions",
    "proxy": "{kind}ProxyOptions",
}

_MACHINES = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "ppc64le": "ppc64le", "s390x": "s390x"}


def version_info() -> dict[str, Any]:
    """The /version document (a Kubernetes v1.32.0 server)."""
    machine = _MACHINES.get(platform.machine(), platform.machine().lower())
    return {
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": f"v{MAJOR}.{MINOR}.{PATCH}",
        "gitCommit": GIT_COMMIT,
        "gitTreeState": "clean",
        "buildDate": BUILD_DATE,
        "goVersion": GO_VERSION,
        "compiler": "gc",
        "platform": f"linux/{machine}",
    }


def api_versions(server_address: str) -> dict[str, Any]:
    """The /api document: the legacy core group's versions."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _groups() -> dict[str, list[str]]:
    """Named groups (not core) and their versions, in registry order."""
    groups: dict[str, list[str]] = {}
    for group, version in registry.group_versions():
        if group:
            groups.setdefault(group, [])
            if version not in groups[group]:
                groups[group].append(version)
    return groups


def api_group_list() -> dict[str, Any]:
    """The /apis document."""
    groups = []
    for name, versions in _groups().items():
        entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
        groups.append({"name": name, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _kinds(group: str, version: str) -> list[Kind]:
    """The group version's kinds sorted by resource name, as kube-apiserver lists them."""
    kinds = [k for k in registry.served_kinds() if k.group == group and k.version == version]
    return sorted(kinds, key=lambda k: k.plural)


def _subresource_gvk(kind: Kind, sub: Subresource) -> tuple[str, str, str]:
    """(group, version, kind) a subresource speaks; the parent's kind unless stated."""
    if sub.kind is not None:
        return sub.kind
    if sub.name in _OPTIONS_KINDS:
        return kind.group, kind.version, _OPTIONS_KINDS[sub.name].format(kind=kind.kind)
    return kind.group, kind.version, kind.kind


def _names(kind: Kind) -> dict[str, list[str]]:
    """shortNames and categories, each only when there are some (Go's omitempty)."""
    names: dict[str, list[str]] = {}
    if kind.short_names:
        names["shortNames"] = list(kind.short_names)
    if kind.categories:
        names["categories"] = list(kind.categories)
    return names


def _resource_entry(kind: Kind) -> dict[str, Any]:
    """A stored resource's APIResource, keys in the order Go's struct writes them."""
    entry: dict[str, Any] = {
        "name": kind.plural,
        "singularName": kind.singular,
        "namespaced": kind.namespaced,
        "kind": kind.kind,
        "verbs": list(kind.verbs),
        **_names(kind),
    }
    if kind.storage_version_hash:
        entry["storageVersionHash"] = kind.storage_version_hash
    return entry


def _subresource_entry(kind: Kind, sub: Subresource) -> dict[str, Any]:
    """A subresource's APIResource: no singular name, short names or storage hash."""
    sub_group, sub_version, sub_kind = _subresource_gvk(kind, sub)
    entry: dict[str, Any] = {
        "name": f"{kind.plural}/{sub.name}",
        "singularName": "",
        "namespaced": kind.namespaced,
    }
    if (sub_group, sub_version) != (kind.group, kind.version):
        entry["group"] = sub_group
        entry["version"] = sub_version
    entry["kind"] = sub_kind
    entry["verbs"] = list(sub.verbs)
    return entry


def api_resource_list(group: str, version: str) -> dict[str, Any] | None:
    """The /api/v1 or /apis/GROUP/VERSION document, or None for an unknown group version.

    Resources come sorted by name, subresources right after their parent, because
    kube-apiserver's installer registers the storage paths in sorted order.
    """
    kinds = _kinds(group, version)
    if not kinds:
        return None
    resources: list[dict[str, Any]] = []
    for kind in kinds:
        resources.append(_resource_entry(kind))
        resources.extend(_subresource_entry(kind, sub) for sub in kind.subresources)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": sorted(resources, key=lambda r: r["name"]),
    }


# -- aggregated discovery (apidiscovery.k8s.io) -----------------------------------------


def aggregated_content_type(version: str) -> str:
    return f"application/json;g={AGGREGATED_GROUP};v={version};as=APIGroupDiscoveryList"


def _offered_version(accept: str) -> str | None:
    """The best apidiscovery version the Accept header offers, or None."""
    offered: set[str] = set()
    for media_range in accept.split(","):
        params = {}
        parts = [p.strip() for p in media_range.split(";")]
        if parts[0] not in ("application/json", "application/*", "*/*"):
            continue
        for param in parts[1:]:
            key, _, value = param.partition("=")
            params[key.strip()] = value.strip()
        if params.get("g") == AGGREGATED_GROUP and params.get("as") == "APIGroupDiscoveryList":
            offered.add(params.get("v", ""))
    return next((v for v in AGGREGATED_VERSIONS if v in offered), None)


def _discovery_resource(kind: Kind) -> dict[str, Any]:
    """An APIResourceDiscovery. Unlike APIResource it has no storageVersionHash field."""
    resource: dict[str, Any] = {
        "resource": kind.plural,
        "responseKind": {"group": kind.group, "version": kind.version, "kind": kind.kind},
        "scope": "Namespaced" if kind.namespaced else "Cluster",
        "singularResource": kind.singular,
        "verbs": list(kind.verbs),
        **_names(kind),
    }
    if kind.subresources:
        subs = []
        for sub in sorted(kind.subresources, key=lambda s: s.name):
            group, version, sub_kind = _subresource_gvk(kind, sub)
            subs.append({
                "subresource": sub.name,
                "responseKind": {"group": group, "version": version, "kind": sub_kind},
                "verbs": list(sub.verbs),
            })
        resource["subresources"] = subs
    return resource


def _discovery_group(group: str, versions: list[str]) -> dict[str, Any]:
    metadata: dict[str, Any] = {"creationTimestamp": None}
    if group:
        metadata["name"] = group
    return {
        "metadata": metadata,
        "versions": [
            {
                "version": version,
                "resources": [_discovery_resource(k) for k in _kinds(group, version)],
                "freshness": "Current",
            }
            for version in versions
        ],
    }


def aggregated(accept: str, core: bool) -> tuple[dict[str, Any], str] | None:
    """Aggregated discovery for /api (core=True) or /apis, with its exact Content-Type.

    None when the Accept header does not ask for apidiscovery.k8s.io (then serve the
    legacy document). v2 is chosen when offered, else v2beta1: a client that only
    offered v2beta1 must never receive v2.
    """
    version = _offered_version(accept)
    if version is None:
        return None
    if core:
        items = [_discovery_group("", ["v1"])]
    else:
        items = [_discovery_group(name, versions) for name, versions in _groups().items()]
    body = {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": f"{AGGREGATED_GROUP}/{version}",
        "metadata": {},
        "items": items,
    }
    return body, aggregated_content_type(version)
