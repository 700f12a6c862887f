"""The API server's own control loops (kube-apiserver's pkg/controlplane): the `kubernetes`
Service and its endpoints, and the cluster DNS Service. They run in the API server process
but write only through the HTTP API client, like every other component."""

from kubelite.controlplane.kubernetes_service import KubernetesServiceController, Leases

__all__ = ["KubernetesServiceController", "Leases"]
