"""Kubernetes' NodeRestriction admission plugin (plugin/pkg/admission/noderestriction).

The Node authorizer lets every node write nodes, pods/status, evictions, leases and tokens;
this plugin narrows each write to the node's own objects: its own Node (without touching
its taints or labels outside the kubelet's set), mirror pods bound to it, status of pods
bound to it, evictions and tokens of pods bound to it, and its own Lease. Refusals are
403 Forbidden with Kubernetes' words.

Two entry points: `guard` runs before the handler for writes decided by the URL (delete,
eviction, token, another node's name), reading a pod from the store when it needs one (only
for node users); `__call__` is the admission step for creates and updates, where the new and
old objects are known.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec
from aiohttp import web

from kubelite.api import status as st
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects, request_context
from kubelite.apiserver.auth import User
from kubelite.apiserver.authz.node import NODE_LEASE_NAMESPACE, node_name
from kubelite.apiserver.authz.node_graph import SERVICE_ACCOUNT, pod_refs
from kubelite.apiserver.paths import ResourcePath, parse_resource_path
from kubelite.store.interface import Store

NAME = "NodeRestriction"
MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"
NODE_RESTRICTION_LABEL_NAMESPACE = "node-restriction.kubernetes.io"
# kubelet/apis: labels a kubelet may set on its own Node
KUBELET_LABELS = frozenset({
    "kubernetes.io/hostname", "topology.kubernetes.io/zone", "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/region",
    "beta.kubernetes.io/instance-type", "node.kubernetes.io/instance-type",
    "kubernetes.io/os", "kubernetes.io/arch", "beta.kubernetes.io/os", "beta.kubernetes.io/arch",
})
KUBELET_LABEL_NAMESPACES = ("kubelet.kubernetes.io", "node.kubernetes.io")
PODS = by_resource("", "v1", "pods")
_FACT = "noderestriction.path"
_WRITES = {"POST": "CREATE", "PUT": "UPDATE", "PATCH": "UPDATE", "DELETE": "DELETE"}


def _forbidden(resource: str, name: str, why: str, group: str = "") -> st.Forbidden:
    """admission.NewForbidden's `RESOURCE "NAME" is forbidden: WHY`."""
    qualified = f"{resource}.{group}" if group else resource
    return st.Forbidden(f'{qualified} "{name}" is forbidden: {why}', name=name, group=group, kind=resource)


def _label_namespace(label: str) -> str:
    return label.split("/", 1)[0] if "/" in label else ""


def _in_namespace(namespace: str, domain: str) -> bool:
    return namespace == domain or namespace.endswith("." + domain)


def forbidden_labels(modified: set[str]) -> list[str]:
    """The labels a node may not set (Kubernetes' getForbiddenLabels), sorted."""
    out = set()
    for label in modified:
        ns = _label_namespace(label)
        if _in_namespace(ns, NODE_RESTRICTION_LABEL_NAMESPACE):
            out.add(label)
        kubernetes = _in_namespace(ns, "kubernetes.io") or _in_namespace(ns, "k8s.io")
        kubelet = label in KUBELET_LABELS or any(_in_namespace(ns, d) for d in KUBELET_LABEL_NAMESPACES)
        if kubernetes and not kubelet:
            out.add(label)
    return sorted(out)


def modified_labels(new: dict[str, str], old: dict[str, str]) -> set[str]:
    return {k for k in new.keys() | old.keys() if new.get(k) != old.get(k)}


def _plain(obj: Any) -> dict[str, Any]:
    if isinstance(obj, dict):
        return obj
    out: dict[str, Any] = msgspec.to_builtins(obj)
    return out


class NodeRestriction:
    def __init__(self, store: Store) -> None:
        self.store = store

    # ----- before the handler

    async def guard(self, request: web.Request, user: User) -> None:
        node = node_name(user.name, user.groups)
        operation = _WRITES.get(request.method)
        if node is None or operation is None:
            return
        path = _resource_path(request.path)
        if path is None:
            return
        scope = request_context.current()
        if scope is not None:
            scope.facts[_FACT] = path
        kind, name, sub = path.kind, path.name or "", path.subresource or ""
        if kind.group == "" and kind.plural == "nodes" and name and name != node:
            raise _forbidden("nodes", name, f'node "{node}" is not allowed to modify node "{name}"')
        if kind.group == "coordination.k8s.io" and kind.plural == "leases":
            self._lease(node, path.namespace or "", name, operation)
        elif kind.group == "" and kind.plural == "pods" and name:
            await self._pod_write(node, path, operation)
        elif kind.group == "" and kind.plural == "serviceaccounts" and sub == "token" and operation == "CREATE":
            await self._token(node, path.namespace or "", request)

    @staticmethod
    def _lease(node: str, namespace: str, name: str, operation: str) -> None:
        if namespace != NODE_LEASE_NAMESPACE:
            raise _forbidden("leases", name, f'can only access leases in the "{NODE_LEASE_NAMESPACE}" system namespace',
                             "coordination.k8s.io")
        if operation != "CREATE" and name != node:
            raise _forbidden("leases", name, "can only access node lease with the same name as the requesting node",
                             "coordination.k8s.io")

    async def _pod_write(self, node: str, path: ResourcePath, operation: str) -> None:
        name, sub = path.name or "", path.subresource or ""
        if sub == "status":
            return  # decided in admission, against the stored pod
        if sub not in ("", "eviction"):
            raise _forbidden("pods", name, f"unexpected pod subresource \"{sub}\", only 'status' and 'eviction' are allowed")
        if sub == "" and operation != "DELETE":
            raise _forbidden("pods", name, f'unexpected operation "{operation}", node "{node}" can only create and '
                             "delete mirror pods")
        pod = await self._pod(path.namespace or "", name)
        if pod is None:
            return  # the handler answers 404
        if (pod.get("spec") or {}).get("nodeName") != node:
            why = (f'node "{node}" can only delete pods with spec.nodeName set to itself' if sub == "" else
                   f"node {node} can only evict pods with spec.nodeName set to itself")
            raise _forbidden("pods", name, why)

    async def _token(self, node: str, namespace: str, request: web.Request) -> None:
        try:
            body = json.loads(await request.read())
        except ValueError:
            body = None
        ref = ((body or {}).get("spec") or {}).get("boundObjectRef") if isinstance(body, dict) else None
        account = request.path.rstrip("/").split("/")[-2]
        if not isinstance(ref, dict) or ref.get("apiVersion") != "v1" or ref.get("kind") != "Pod" or not ref.get("name"):
            raise _forbidden("serviceaccounts", account, "node requested token not bound to a pod")
        if not ref.get("uid"):
            raise _forbidden("serviceaccounts", account, "node requested token with a pod binding without a uid")
        pod = await self._pod(namespace, ref["name"])
        if pod is None:
            raise st.not_found("pods", ref["name"])
        if ref["uid"] != pod.get("metadata", {}).get("uid"):
            raise _forbidden("serviceaccounts", account,
                             f"the UID in the bound object reference ({ref['uid']}) does not match the UID in record. "
                             "The object might have been deleted and then recreated")
        if (pod.get("spec") or {}).get("nodeName") != node:
            raise _forbidden("serviceaccounts", account, "node requested token bound to a pod scheduled on a different node")

    async def _pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        assert PODS is not None
        kv = await self.store.get(objects.object_key(PODS, namespace, name))
        return None if kv is None else objects.decode(kv.value)

    # ----- admission: creates and updates

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        scope = request_context.current()
        if scope is None or scope.user is None:
            return
        node = node_name(scope.user.name, scope.user.groups)
        if node is None:
            return
        path: ResourcePath | None = scope.facts.get(_FACT)
        sub = path.subresource if path is not None else None
        new = _plain(obj)
        name = new.get("metadata", {}).get("name", "")
        if kind.group == "" and kind.kind == "Node":
            self._admit_node(node, name, new, None if old is None else _plain(old))
        elif kind.group == "" and kind.kind == "Pod":
            if old is None:
                self._admit_mirror_pod(node, name, new)
            elif sub == "status":
                self._admit_pod_status(node, name, new, _plain(old))
        elif kind.group == "coordination.k8s.io" and kind.kind == "Lease" and old is None:
            self._lease(node, namespace, name, "UPDATE")  # the name is known now

    @staticmethod
    def _admit_node(node: str, name: str, new: dict[str, Any], old: dict[str, Any] | None) -> None:
        if name != node:
            raise _forbidden("nodes", name, f'node "{node}" is not allowed to modify node "{name}"')
        new_labels = new.get("metadata", {}).get("labels") or {}
        if old is None:
            bad = forbidden_labels(set(new_labels))
            if bad:
                raise _forbidden("nodes", name, f'node "{node}" is not allowed to set the following labels: {", ".join(bad)}')
            return
        if (new.get("spec") or {}).get("taints") != (old.get("spec") or {}).get("taints"):
            raise _forbidden("nodes", name, f'node "{node}" is not allowed to modify taints')
        bad = forbidden_labels(modified_labels(new_labels, old.get("metadata", {}).get("labels") or {}))
        if bad:
            raise _forbidden("nodes", name, f"is not allowed to modify labels: {', '.join(bad)}")

    @staticmethod
    def _admit_mirror_pod(node: str, name: str, pod: dict[str, Any]) -> None:
        meta, spec = pod.get("metadata", {}), pod.get("spec") or {}
        if MIRROR_POD_ANNOTATION not in (meta.get("annotations") or {}):
            raise _forbidden("pods", name, f'pod does not have "{MIRROR_POD_ANNOTATION}" annotation, node "{node}" '
                             "can only create mirror pods")
        if spec.get("nodeName") != node:
            raise _forbidden("pods", name, f'node "{node}" can only create pods with spec.nodeName set to itself')
        owners = meta.get("ownerReferences") or []
        if len(owners) > 1:
            raise _forbidden("pods", name, f'node "{node}" can only create pods with a single owner reference set to itself')
        if not owners:
            raise _forbidden("pods", name, f'node "{node}" can only create pods with an owner reference set to itself')
        owner = owners[0]
        if owner.get("apiVersion") != "v1" or owner.get("kind") != "Node" or owner.get("name") != node:
            raise _forbidden("pods", name, f'node "{node}" can only create pods with an owner reference set to itself')
        if spec.get("serviceAccountName") not in (None, "", "default"):  # "default" may come from defaulting
            raise _forbidden("pods", name, f'node "{node}" can not create pods that reference a service account')
        refs = {vertex for vertex, _, _ in pod_refs(pod)} - {SERVICE_ACCOUNT}
        for vertex, plural in (("secret", "secrets"), ("configmap", "configmaps"), ("pvc", "persistentvolumeclaims")):
            if vertex in refs:
                raise _forbidden("pods", name, f'node "{node}" can not create pods that reference {plural}')

    @staticmethod
    def _admit_pod_status(node: str, name: str, new: dict[str, Any], old: dict[str, Any]) -> None:
        if (old.get("spec") or {}).get("nodeName") != node:
            raise _forbidden("pods", name, f'node "{node}" can only update pod status for pods with spec.nodeName '
                             "set to itself")
        if (new.get("metadata", {}).get("labels") or {}) != (old.get("metadata", {}).get("labels") or {}):
            raise _forbidden("pods", name, f'node "{node}" cannot update labels through pod status')


def _resource_path(path: str) -> ResourcePath | None:
    """The resource a URL names, None for anything else (the handler answers it)."""
    parts = path.strip("/").split("/")
    try:
        if len(parts) >= 3 and parts[0] == "api":
            return parse_resource_path("", parts[1], parts[2:])
        if len(parts) >= 4 and parts[0] == "apis":
            return parse_resource_path(parts[1], parts[2], parts[3:])
    except st.ApiError:
        return None
    return None
