"""What makes a StatefulSet pod itself (pkg/controller/statefulset/stateful_set_utils.go), as
pure functions over JSON dicts: its ordinal name and labels, its hostname and subdomain (the
per-pod DNS name through the headless Service), its claims `TEMPLATE-SET-ORDINAL`, and the
owner references the PVC retention policy asks of those claims."""

from __future__ import annotations

import copy
import re

from kubelite.controllers.podutil import Obj, meta, owner_reference, uid_of

KIND = "StatefulSet"
API_VERSION = "apps/v1"
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
REVISION_LABEL = "controller-revision-hash"
_ORDINAL = re.compile(r"^(.*)-([0-9]+)$")


def spec(sts: Obj) -> Obj:
    return sts.get("spec") or {}


def start_ordinal(sts: Obj) -> int:
    return int((spec(sts).get("ordinals") or {}).get("start") or 0)


def replicas(sts: Obj) -> int:
    value = spec(sts).get("replicas")
    return 1 if value is None else int(value)


def ordinal_of(pod: Obj) -> int:
    """The pod's ordinal from its name, or -1 (getParentNameAndOrdinal)."""
    m = _ORDINAL.match(str(meta(pod).get("name", "")))
    return int(m.group(2)) if m else -1


def is_member(sts: Obj, pod: Obj) -> bool:
    m = _ORDINAL.match(str(meta(pod).get("name", "")))
    return m is not None and m.group(1) == meta(sts).get("name")


def in_range(sts: Obj, ordinal: int) -> bool:
    start = start_ordinal(sts)
    return start <= ordinal < start + replicas(sts)


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{meta(sts)['name']}-{ordinal}"


def claim_name(template_name: str, sts: Obj, ordinal: int) -> str:
    return f"{template_name}-{meta(sts)['name']}-{ordinal}"


def revision_of(pod: Obj) -> str:
    return str((meta(pod).get("labels") or {}).get(REVISION_LABEL, ""))


def claims_for(sts: Obj, ordinal: int) -> dict[str, Obj]:
    """The PVCs of one ordinal, by their template (volume) name (getPersistentVolumeClaims)."""
    selector_labels = (spec(sts).get("selector") or {}).get("matchLabels") or {}
    out: dict[str, Obj] = {}
    for template in spec(sts).get("volumeClaimTemplates") or []:
        tmeta = template.get("metadata") or {}
        labels = {**(tmeta.get("labels") or {}), **selector_labels}
        claim_meta: Obj = {"name": claim_name(tmeta["name"], sts, ordinal),
                           "namespace": meta(sts).get("namespace"), "labels": labels}
        if tmeta.get("annotations"):
            claim_meta["annotations"] = dict(tmeta["annotations"])
        out[tmeta["name"]] = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                              "metadata": claim_meta,
                              "spec": copy.deepcopy(template.get("spec") or {})}
    return out


def new_pod(sts: Obj, template: Obj, ordinal: int, revision: str) -> Obj:
    """Pod `ordinal` of the set from `template` at `revision` (newVersionedStatefulSetPod):
    identity labels, hostname and subdomain, and a volume for each claim template."""
    tmeta = template.get("metadata") or {}
    name = pod_name(sts, ordinal)
    labels = {**(tmeta.get("labels") or {}), POD_NAME_LABEL: name,
              POD_INDEX_LABEL: str(ordinal), REVISION_LABEL: revision}
    pod_meta: Obj = {"name": name, "namespace": meta(sts).get("namespace"), "labels": labels,
                     "ownerReferences": [owner_reference(sts, API_VERSION, KIND)]}
    if tmeta.get("annotations"):
        pod_meta["annotations"] = dict(tmeta["annotations"])
    pod_spec = copy.deepcopy(template.get("spec") or {})
    pod_spec["hostname"] = name
    if spec(sts).get("serviceName"):
        pod_spec["subdomain"] = spec(sts)["serviceName"]
    claims = claims_for(sts, ordinal)
    volumes = [{"name": vol, "persistentVolumeClaim": {"claimName": meta(claim)["name"]}}
               for vol, claim in claims.items()]
    volumes += [v for v in pod_spec.get("volumes") or [] if v.get("name") not in claims]
    if volumes:
        pod_spec["volumes"] = volumes
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def missing_identity_labels(sts: Obj, pod: Obj) -> dict[str, str]:
    """Identity labels the pod lacks or has wrong (identityMatches, for updateIdentity)."""
    labels = meta(pod).get("labels") or {}
    want = {POD_NAME_LABEL: meta(pod)["name"], POD_INDEX_LABEL: str(ordinal_of(pod))}
    return {k: v for k, v in want.items() if labels.get(k) != v}


def _ref(owner: Obj, api_version: str, kind: str) -> Obj:
    return {"apiVersion": api_version, "kind": kind, "name": meta(owner)["name"],
            "uid": uid_of(owner)}


def claim_owner_refs(claim: Obj, sts: Obj, pod: Obj) -> list[Obj] | None:
    """The claim's owner references under the retention policy, or None when they already
    match (updateClaimOwnerRefForSetAndPod): whenDeleted=Delete makes the set an owner;
    whenScaled=Delete makes a scaled-down pod the owner, so the claim goes with it."""
    policy = spec(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    when_deleted = policy.get("whenDeleted") or "Retain"
    when_scaled = policy.get("whenScaled") or "Retain"
    scaled_down = not in_range(sts, ordinal_of(pod))
    own_by_pod = when_scaled == "Delete" and scaled_down
    own_by_set = when_deleted == "Delete" and not own_by_pod
    refs = list(meta(claim).get("ownerReferences") or [])
    kept = [r for r in refs if r.get("uid") not in (uid_of(sts), uid_of(pod))]
    wanted = kept + ([_ref(sts, API_VERSION, KIND)] if own_by_set else []) \
        + ([_ref(pod, "v1", "Pod")] if own_by_pod else [])
    have = {(r.get("uid"), r.get("kind")) for r in refs}
    if have == {(r.get("uid"), r.get("kind")) for r in wanted}:
        return None
    return wanted
