"""The resolv.conf a pod's sandbox gets from its dnsPolicy, through the agent's translation."""

from __future__ import annotations

from typing import Any

from kubelite.kubelet.host_runtime import sandbox_config
from kubelite.kubelet.pod_spec import sandbox_spec
from kubelite.runtime.sandbox import resolv_conf


def _pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "ns", "uid": "u"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], **spec}}


def _resolv(pod: dict[str, Any], tmp_host: str) -> str:
    cfg = sandbox_config(sandbox_spec(pod, ["10.96.0.10"], "cluster.local"), "cluster.local")
    return resolv_conf(cfg.dns, host_resolv=tmp_host)


def test_dns_policy_none_without_dns_config_is_an_empty_resolv_conf(tmp_path: Any) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 192.0.2.53\nsearch node.example\n")
    assert _resolv(_pod(dnsPolicy="None"), str(host)) == ""


def test_dns_policy_none_with_dns_config_is_just_that(tmp_path: Any) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 192.0.2.53\n")
    pod = _pod(dnsPolicy="None", dnsConfig={"nameservers": ["1.1.1.1"], "searches": ["a.b"]})
    assert _resolv(pod, str(host)) == "nameserver 1.1.1.1\nsearch a.b\n"


def test_cluster_first_points_at_cluster_dns(tmp_path: Any) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("")
    text = _resolv(_pod(), str(host))
    assert text.startswith("nameserver 10.96.0.10\nsearch ns.svc.cluster.local svc.cluster.local")
    assert "options ndots:5" in text
