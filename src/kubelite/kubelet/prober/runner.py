"""Run one probe once against one container instance (pkg/kubelet/prober/prober.go runProbe)."""

from __future__ import annotations

from typing import Any

from kubelite.kubelet.prober.exec import ExecSync, probe_exec
from kubelite.kubelet.prober.grpc import probe_grpc
from kubelite.kubelet.prober.http import probe_http, probe_url
from kubelite.kubelet.prober.results import Outcome, Result
from kubelite.kubelet.prober.spec import ProbeSpec
from kubelite.kubelet.prober.tcp import probe_tcp


class PortError(ValueError):
    """A probe's port names no port of the container, or is out of range."""


def resolve_port(value: Any, container: dict[str, Any]) -> int:
    """A port number, or the containerPort of the container port with that name."""
    port = -1
    if isinstance(value, int):
        port = value
    elif isinstance(value, str):
        for p in container.get("ports") or []:
            if p.get("name") == value:
                port = int(p["containerPort"])
                break
        else:
            if not value.isdigit():
                raise PortError(f"port {value} not found")
            port = int(value)
    if 0 < port < 65536:
        return port
    raise PortError(f"invalid port number: {port}")


async def run_probe(spec: ProbeSpec, container: dict[str, Any], pod_ip: str, cid: str,
                    exec_sync: ExecSync) -> Outcome:
    """The probe's outcome: Unknown when it cannot be run at all (a bad port name)."""
    handler = spec.handler
    try:
        if handler.get("exec") is not None:
            argv = list(handler["exec"].get("command") or [])
            return await probe_exec(exec_sync, cid, argv, spec.timeout)
        if handler.get("httpGet") is not None:
            get = handler["httpGet"]
            url = probe_url(get.get("scheme") or "HTTP", get.get("host") or pod_ip,
                            resolve_port(get.get("port"), container), get.get("path") or "")
            headers = [(h.get("name", ""), h.get("value", ""))
                       for h in get.get("httpHeaders") or [] if h.get("name")]
            return await probe_http(url, headers, spec.timeout)
        if handler.get("tcpSocket") is not None:
            sock = handler["tcpSocket"]
            return await probe_tcp(sock.get("host") or pod_ip,
                                   resolve_port(sock.get("port"), container), spec.timeout)
        if handler.get("grpc") is not None:
            grpc = handler["grpc"]
            port = int(grpc.get("port") or 0)
            if not 0 < port < 65536:
                raise PortError(f"invalid port number: {port}")
            return await probe_grpc(pod_ip, port, grpc.get("service") or "", spec.timeout)
    except PortError as e:
        return Outcome(Result.UNKNOWN, str(e))
    return Outcome(Result.UNKNOWN, "missing probe handler")
