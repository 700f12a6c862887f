"""VolumeBinding: a pod lands only where its PersistentVolumeClaims' volumes can be used.

- A bound claim's PersistentVolume may restrict nodes (`spec.nodeAffinity.required`, as
  local volumes do): the pod fits only on matching nodes.
- An unbound claim whose StorageClass says `volumeBindingMode: WaitForFirstConsumer` waits for
  the scheduler: the node must satisfy the class's `allowedTopologies`, and once a node is
  chosen the claim is annotated `volume.kubernetes.io/selected-node: NODE` before the pod is
  bound, so the provisioner creates the volume where the pod runs.
- An unbound claim of any other class (Immediate binding) must be bound by the PV controller
  first: the pod is unschedulable until then.

kube-scheduler's PreBind also waits for the provisioned volume to be bound before binding the
pod; kubelite annotates and binds at once (the kubelet waits for the volume to mount).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kubelite.api.types import core_v1, storage_v1
from kubelite.scheduler._labels import node_selector_matches
from kubelite.scheduler.cache import NodeInfo, Snapshot
from kubelite.scheduler.framework import (
    SKIP,
    SUCCESS,
    ApiPatch,
    CycleState,
    Event,
    Plugin,
    Status,
)

NAME = "VolumeBinding"
REASON_NODE_CONFLICT = "node(s) had volume node affinity conflict"
REASON_BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
REASON_PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"
REASON_UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
REASON_CLAIM_NOT_FOUND = 'persistentvolumeclaim "{name}" not found'
REASON_CLAIM_DELETING = 'persistentvolumeclaim "{name}" is being deleted'
EVENTS = Event.VOLUME | Event.NODE_ADD | Event.NODE_LABEL

SELECTED_NODE_ANNOTATION = "volume.kubernetes.io/selected-node"
WAIT_FOR_FIRST_CONSUMER = "WaitForFirstConsumer"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
_KEY = "PreFilter" + NAME


def claim_names(pod: core_v1.Pod) -> list[str]:
    """The PVCs a pod uses: persistentVolumeClaim volumes and generic ephemeral volumes
    (whose claim is named POD-VOLUME)."""
    spec = pod.spec
    pod_name = (pod.metadata.name if pod.metadata else None) or ""
    names = []
    for v in (spec.volumes if spec else None) or []:
        if v.persistent_volume_claim is not None:
            names.append(v.persistent_volume_claim.claim_name)
        elif v.ephemeral is not None:
            names.append(f"{pod_name}-{v.name}")
    return names


def storage_class_of(claim: core_v1.PersistentVolumeClaim, snapshot: Snapshot
                     ) -> storage_v1.StorageClass | None:
    name = claim.spec.storage_class_name if claim.spec else None
    if name:
        return snapshot.storage_classes.get(name)
    if name is None:  # unset: the default class, as the DefaultStorageClass admission picks
        for sc in snapshot.storage_classes.values():
            if ((sc.metadata.annotations if sc.metadata else None) or {}).get(
                    DEFAULT_CLASS_ANNOTATION) == "true":
                return sc
    return None


def topology_allows(sc: storage_v1.StorageClass, node: NodeInfo) -> bool:
    """allowedTopologies: any term whose every expression's key has one of its values."""
    terms = sc.allowed_topologies or []
    if not terms:
        return True
    return any(all(node.labels.get(r.key) in r.values for r in t.match_label_expressions or [])
               for t in terms)


@dataclass
class _State:
    bound: list[core_v1.PersistentVolume] = field(default_factory=list)  # with node affinity
    missing_pv: bool = False
    delayed: list[tuple[core_v1.PersistentVolumeClaim, storage_v1.StorageClass]] = field(
        default_factory=list)


class VolumeBinding(Plugin):
    NAME = NAME
    EVENTS = EVENTS

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        names = claim_names(pod)
        if not names:
            return SKIP
        snap = state.snapshot
        ns = (pod.metadata.namespace if pod.metadata else None) or ""
        st = _State()
        for name in names:
            claim = snap.claims.get(f"{ns}/{name}")
            if claim is None:
                return Status.unresolvable(REASON_CLAIM_NOT_FOUND.format(name=name))
            if claim.metadata and claim.metadata.deletion_timestamp:
                return Status.unresolvable(REASON_CLAIM_DELETING.format(name=name))
            volume_name = claim.spec.volume_name if claim.spec else None
            if volume_name:
                pv = snap.volumes.get(volume_name)
                if pv is None:
                    st.missing_pv = True
                elif pv.spec and pv.spec.node_affinity and pv.spec.node_affinity.required:
                    st.bound.append(pv)
                continue
            sc = storage_class_of(claim, snap)
            if sc is None or sc.volume_binding_mode != WAIT_FOR_FIRST_CONSUMER:
                return Status.unresolvable(REASON_UNBOUND_IMMEDIATE)
            st.delayed.append((claim, sc))
        state.write(_KEY, st)
        return SUCCESS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        st: _State | None = state.read(_KEY)
        if st is None:
            return SUCCESS
        if st.missing_pv:
            return Status.unresolvable(REASON_PV_NOT_EXIST)
        for pv in st.bound:
            required = pv.spec.node_affinity.required if pv.spec and pv.spec.node_affinity else None
            if required is not None and not node_selector_matches(required, node.node):
                return Status.unresolvable(REASON_NODE_CONFLICT)
        for claim, sc in st.delayed:
            selected = ((claim.metadata.annotations if claim.metadata else None) or {}).get(
                SELECTED_NODE_ANNOTATION)
            if (selected and selected != node.name) or not topology_allows(sc, node):
                return Status.unschedulable(REASON_BIND_CONFLICT)
        return SUCCESS

    def pre_bind(self, state: CycleState, pod: core_v1.Pod, node: str) -> Sequence[ApiPatch]:
        """Annotate each waiting claim with the chosen node (what the provisioner watches)."""
        st: _State | None = state.read(_KEY)
        if st is None:
            return []
        patches = []
        for claim, _ in st.delayed:
            meta = claim.metadata
            annotations = (meta.annotations if meta else None) or {}
            if annotations.get(SELECTED_NODE_ANNOTATION) == node or meta is None:
                continue
            patches.append(ApiPatch("persistentvolumeclaims", meta.namespace, meta.name or "",
                                    {"metadata": {"annotations": {SELECTED_NODE_ANNOTATION: node}}}))
        return patches
