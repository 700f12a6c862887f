"""Which objects each node may read: the Node authorizer's graph (Kubernetes'
plugin/pkg/auth/authorizer/node graph.go and graph_populator.go), in memory.

A pod bound to a node makes the node reach the Secrets, ConfigMaps, PersistentVolumeClaims
and ServiceAccount it references; a claim reaches the PersistentVolume bound to it, and a
volume reaches the Secrets its spec names. kubelite adds one edge Kubernetes has not: every
node reaches the Secrets an Ingress names in `spec.tls` (each node serves every Ingress with
its built-in controller, ingress/, so each needs those certificates). Edges are counted per node, so two pods of one
node naming the same Secret keep it reachable until both are gone. Only pods with
`spec.nodeName` are in the graph, as in Kubernetes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

SECRET, CONFIGMAP, PVC, PV, SERVICE_ACCOUNT = "secret", "configmap", "pvc", "pv", "serviceaccount"
Ref = tuple[str, str, str]  # (vertex type, namespace, name); namespace "" for PVs
# Volume sources whose `secretRef` (or the named field) names a Secret in the pod's namespace.
_POD_VOLUME_SECRET_REFS = ("azureFile", "cephfs", "cinder", "flexVolume", "iscsi", "rbd", "scaleIO", "storageos")
# PersistentVolume sources' secret references (`name` and optional `namespace`).
_PV_SECRET_FIELDS = ("controllerPublishSecretRef", "nodeStageSecretRef", "nodePublishSecretRef",
                     "controllerExpandSecretRef", "nodeExpandSecretRef", "secretRef")


@dataclass(frozen=True)
class PodEdges:
    node: str
    refs: frozenset[Ref]


def pod_refs(pod: dict[str, Any]) -> frozenset[Ref]:
    """What a pod references, as Kubernetes' podutil.VisitPodSecretNames/ConfigmapNames and
    the graph populator's PVC and service-account edges see it."""
    ns = pod.get("metadata", {}).get("namespace", "")
    spec = pod.get("spec") or {}
    refs: set[Ref] = set()

    def add(kind: str, name: Any) -> None:
        if isinstance(name, str) and name:
            refs.add((kind, ns, name))

    add(SERVICE_ACCOUNT, spec.get("serviceAccountName") or "default")
    for secret in spec.get("imagePullSecrets") or ():
        add(SECRET, (secret or {}).get("name"))
    for container in _containers(spec):
        for env in container.get("env") or ():
            source = (env or {}).get("valueFrom") or {}
            add(SECRET, (source.get("secretKeyRef") or {}).get("name"))
            add(CONFIGMAP, (source.get("configMapKeyRef") or {}).get("name"))
        for env_from in container.get("envFrom") or ():
            add(SECRET, ((env_from or {}).get("secretRef") or {}).get("name"))
            add(CONFIGMAP, ((env_from or {}).get("configMapRef") or {}).get("name"))
    pod_name = pod.get("metadata", {}).get("name", "")
    for volume in spec.get("volumes") or ():
        volume = volume or {}
        add(SECRET, (volume.get("secret") or {}).get("secretName"))
        add(CONFIGMAP, (volume.get("configMap") or {}).get("name"))
        add(PVC, (volume.get("persistentVolumeClaim") or {}).get("claimName"))
        if volume.get("ephemeral") is not None:  # the claim the ephemeral volume controller makes
            add(PVC, f"{pod_name}-{volume.get('name', '')}")
        for source in ((volume.get("projected") or {}).get("sources") or ()):
            add(SECRET, ((source or {}).get("secret") or {}).get("name"))
            add(CONFIGMAP, ((source or {}).get("configMap") or {}).get("name"))
        for field in _POD_VOLUME_SECRET_REFS:
            source = volume.get(field) or {}
            add(SECRET, (source.get("secretRef") or {}).get("name") or source.get("secretName"))
        add(SECRET, ((volume.get("csi") or {}).get("nodePublishSecretRef") or {}).get("name"))
    return frozenset(refs)


def _containers(spec: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for field in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(field) or ():
            if container:
                yield container


def pv_secrets(pv: dict[str, Any]) -> frozenset[tuple[str, str]]:
    """(namespace, name) of every Secret a PersistentVolume's source names."""
    found: set[tuple[str, str]] = set()
    for source in (pv.get("spec") or {}).values():
        if not isinstance(source, dict):
            continue
        for field in _PV_SECRET_FIELDS:
            ref = source.get(field)
            if isinstance(ref, dict) and ref.get("name"):
                found.add((ref.get("namespace") or "", ref["name"]))
    return frozenset(found)


class NodeGraph:
    """Edges from nodes to what their pods reach. Every method is synchronous and cheap:
    the authorizer asks it once per request of a node."""

    def __init__(self) -> None:
        self._pods: dict[tuple[str, str], PodEdges] = {}
        self._reach: dict[str, Counter[Ref]] = {}
        self._pod_uids: dict[tuple[str, str], str] = {}
        self._claim_volume: dict[tuple[str, str], str] = {}  # (ns, claim) -> bound PV name
        self._volume_claims: dict[str, set[tuple[str, str]]] = {}
        self._volume_secrets: dict[str, frozenset[tuple[str, str]]] = {}
        self._ingress_secrets: dict[tuple[str, str], frozenset[tuple[str, str]]] = {}
        self._tls_secrets: Counter[tuple[str, str]] = Counter()

    # ----- feed

    def set_ingress(self, ingress: dict[str, Any]) -> None:
        meta = ingress.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        self.delete_ingress(key)
        names = {(key[0], t["secretName"]) for t in (ingress.get("spec") or {}).get("tls") or ()
                 if isinstance(t, dict) and isinstance(t.get("secretName"), str) and t["secretName"]}
        if names:
            self._ingress_secrets[key] = frozenset(names)
            self._tls_secrets.update(names)

    def delete_ingress(self, key: tuple[str, str]) -> None:
        names = self._ingress_secrets.pop(key, None)
        if names:
            self._tls_secrets.subtract(names)
            for name in names:
                if self._tls_secrets[name] <= 0:
                    del self._tls_secrets[name]

    def set_pod(self, pod: dict[str, Any]) -> None:
        meta = pod.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        node = (pod.get("spec") or {}).get("nodeName") or ""
        if not node:
            self.delete_pod(key)
            return
        edges = PodEdges(node, pod_refs(pod))
        if self._pods.get(key) == edges:
            return
        self.delete_pod(key)
        self._pods[key] = edges
        self._pod_uids[key] = meta.get("uid", "")
        self._reach.setdefault(node, Counter()).update(edges.refs)

    def delete_pod(self, key: tuple[str, str]) -> None:
        edges = self._pods.pop(key, None)
        self._pod_uids.pop(key, None)
        if edges is None:
            return
        reach = self._reach[edges.node]
        reach.subtract(edges.refs)
        for ref in edges.refs:
            if reach[ref] <= 0:
                del reach[ref]
        if not reach:
            del self._reach[edges.node]

    def set_claim(self, pvc: dict[str, Any]) -> None:
        meta = pvc.get("metadata", {})
        key = (meta.get("namespace", ""), meta.get("name", ""))
        self.delete_claim(key)
        volume = (pvc.get("spec") or {}).get("volumeName") or ""
        if volume:
            self._claim_volume[key] = volume
            self._volume_claims.setdefault(volume, set()).add(key)

    def delete_claim(self, key: tuple[str, str]) -> None:
        volume = self._claim_volume.pop(key, None)
        if volume is not None:
            claims = self._volume_claims[volume]
            claims.discard(key)
            if not claims:
                del self._volume_claims[volume]

    def set_volume(self, pv: dict[str, Any]) -> None:
        name = pv.get("metadata", {}).get("name", "")
        secrets = pv_secrets(pv)
        if secrets:
            self._volume_secrets[name] = secrets
        else:
            self._volume_secrets.pop(name, None)

    def delete_volume(self, name: str) -> None:
        self._volume_secrets.pop(name, None)

    def clear(self) -> None:
        self.__init__()  # type: ignore[misc]

    # ----- questions

    def pod_node(self, namespace: str, name: str) -> str | None:
        """The node a pod is bound to, None if unknown or unbound."""
        edges = self._pods.get((namespace, name))
        return edges.node if edges else None

    def pod_uid(self, namespace: str, name: str) -> str:
        return self._pod_uids.get((namespace, name), "")

    def reaches(self, node: str, vertex: str, namespace: str, name: str) -> bool:
        """Whether a path leads from `node` to the object (Kubernetes' hasPathFrom)."""
        if vertex == SECRET and self._tls_secrets[(namespace, name)] > 0:
            return True
        reach = self._reach.get(node)
        if not reach:
            return False
        if vertex == PV:
            return self._volume_reached(reach, name)
        if reach[(vertex, namespace, name)] > 0:
            return True
        if vertex == SECRET:  # through a volume of one of the node's claims
            return any((namespace, name) in secrets and self._volume_reached(reach, volume)
                       for volume, secrets in self._volume_secrets.items())
        return False

    def _volume_reached(self, reach: Counter[Ref], volume: str) -> bool:
        return any(reach[(PVC, ns, claim)] > 0 for ns, claim in self._volume_claims.get(volume, ()))
