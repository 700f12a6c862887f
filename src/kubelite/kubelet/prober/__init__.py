"""Liveness, readiness and startup probes: httpGet, tcpSocket, exec and grpc."""

from kubelite.kubelet.prober.manager import ProbeManager, killing_message, unhealthy_message
from kubelite.kubelet.prober.results import Outcome, Result
from kubelite.kubelet.prober.runner import resolve_port, run_probe
from kubelite.kubelet.prober.spec import ProbeSpec, container_probes, probe_spec

__all__ = ["Outcome", "ProbeManager", "ProbeSpec", "Result", "container_probes",
           "killing_message", "probe_spec", "resolve_port", "run_probe", "unhealthy_message"]
