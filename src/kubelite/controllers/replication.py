"""ReplicationController controller: the ReplicaSet controller over v1 ReplicationControllers.

Kubernetes runs the ReplicaSet logic for RCs (pkg/controller/replication wraps each RC as a
ReplicaSet); here the same class serves another resource, owner kind and apiVersion, and
`selector_of` reads an RC's map selector as matchLabels.
"""

from __future__ import annotations

from kubelite.controllers.replicaset import ReplicaSetController


class ReplicationControllerController(ReplicaSetController):
    """The kube-controller-manager "replicationcontroller" controller."""

    name = "replication"
    owner_kind = "ReplicationController"
    resource = "replicationcontrollers"
    owner_api_version = "v1"
