"""Scalar fields that are Go pointers in k8s.io/api, where a zero value is meaningful.

Go's protobuf code writes every non-pointer scalar, zero or not (`generation: 0`,
`hostNetwork: false`), while its JSON (omitempty) leaves zeros out. The decoder drops
zero scalars to give the JSON a real server would store, except for these pointer
fields, where `replicas: 0` or `automountServiceAccountToken: false` is a choice.
"""

from __future__ import annotations

_POINTERS: dict[str, tuple[str, ...]] = {
    "apps.v1.DeploymentSpec": ("replicas", "revisionHistoryLimit", "progressDeadlineSeconds"),
    "apps.v1.ReplicaSetSpec": ("replicas",),
    "core.v1.PodSpec": ("terminationGracePeriodSeconds", "activeDeadlineSeconds",
                        "automountServiceAccountToken", "shareProcessNamespace", "priority",
                        "enableServiceLinks", "setHostnameAsFQDN", "hostUsers", "preemptionPolicy",
                        "runtimeClassName"),
    "core.v1.PodSecurityContext": ("runAsUser", "runAsGroup", "runAsNonRoot", "fsGroup",
                                   "fsGroupChangePolicy", "supplementalGroupsPolicy"),
    "core.v1.SecurityContext": ("privileged", "runAsUser", "runAsGroup", "runAsNonRoot",
                                "readOnlyRootFilesystem", "allowPrivilegeEscalation", "procMount"),
    "core.v1.Probe": ("terminationGracePeriodSeconds",),
    "core.v1.GRPCAction": ("service",),
    "core.v1.ServiceSpec": ("allocateLoadBalancerNodePorts", "ipFamilyPolicy", "loadBalancerClass",
                            "internalTrafficPolicy", "trafficDistribution"),
    "core.v1.ServicePort": ("appProtocol",),
    "core.v1.ClientIPConfig": ("timeoutSeconds",),
    "core.v1.ConfigMap": ("immutable",),
    "core.v1.Secret": ("immutable",),
    "core.v1.ConfigMapVolumeSource": ("defaultMode", "optional"),
    "core.v1.SecretVolumeSource": ("defaultMode", "optional"),
    "core.v1.ProjectedVolumeSource": ("defaultMode",),
    "core.v1.DownwardAPIVolumeSource": ("defaultMode",),
    "core.v1.DownwardAPIVolumeFile": ("mode",),
    "core.v1.KeyToPath": ("mode",),
    "core.v1.ConfigMapKeySelector": ("optional",),
    "core.v1.SecretKeySelector": ("optional",),
    "core.v1.ConfigMapEnvSource": ("optional",),
    "core.v1.SecretEnvSource": ("optional",),
    "core.v1.ConfigMapProjection": ("optional",),
    "core.v1.SecretProjection": ("optional",),
    "core.v1.ServiceAccountTokenProjection": ("expirationSeconds",),
    "core.v1.Toleration": ("tolerationSeconds",),
    "core.v1.TopologySpreadConstraint": ("minDomains", "nodeAffinityPolicy", "nodeTaintsPolicy"),
    "core.v1.PersistentVolumeClaimSpec": ("storageClassName", "volumeMode", "volumeAttributesClassName"),
    "core.v1.ContainerStatus": ("started",),
    "core.v1.ServiceAccount": ("automountServiceAccountToken",),
    "core.v1.VolumeMount": ("recursiveReadOnly",),
    "core.v1.Container": ("restartPolicy",),
    "core.v1.EmptyDirVolumeSource": (),
    "meta.v1.ObjectMeta": ("deletionGracePeriodSeconds",),
    "meta.v1.OwnerReference": ("controller", "blockOwnerDeletion"),
    "meta.v1.DeleteOptions": ("gracePeriodSeconds", "orphanDependents", "propagationPolicy",
                              "ignoreStoreReadErrorWithClusterBreakingPotential"),
    "meta.v1.ListMeta": ("remainingItemCount",),
    "discovery.v1.EndpointConditions": ("ready", "serving", "terminating"),
    "discovery.v1.EndpointPort": ("port", "name", "protocol", "appProtocol"),
    "storage.v1.StorageClass": ("allowVolumeExpansion", "reclaimPolicy", "volumeBindingMode"),
    "coordination.v1.LeaseSpec": ("holderIdentity", "leaseDurationSeconds", "leaseTransitions",
                                  "strategy", "preferredHolder"),
    "policy.v1.PodDisruptionBudgetSpec": ("unhealthyPodEvictionPolicy",),
}

POINTER_FIELDS: frozenset[tuple[str, str]] = frozenset(
    (message, field) for message, fields in _POINTERS.items() for field in fields
)
