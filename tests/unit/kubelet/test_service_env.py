"""A pod's Service variables (kubelet's getServiceEnvVarMap, envvars.FromServices) and HOSTNAME."""

from __future__ import annotations

from typing import Any

from kubelite.kubelet.envvars import container_env, from_services, service_env
from kubelite.kubelet.pod_spec import hostname_env, pod_hostname


def svc(name: str, namespace: str = "default", ip: str = "10.43.0.20", ports: Any = None) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"clusterIP": ip, "ports": ports or [{"port": 80, "protocol": "TCP"}]}}


KUBERNETES = svc("kubernetes", ip="10.43.0.1", ports=[{"name": "https", "port": 443, "protocol": "TCP"}])


def test_from_services_gives_kubernetes_names_and_docker_links() -> None:
    redis = svc("redis-primary", ports=[{"name": "redis", "port": 6379, "protocol": "TCP"},
                                        {"name": "dns-udp", "port": 53, "protocol": "UDP"}])
    assert dict(from_services([redis])) == {
        "REDIS_PRIMARY_SERVICE_HOST": "10.43.0.20",
        "REDIS_PRIMARY_SERVICE_PORT": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_REDIS": "6379",
        "REDIS_PRIMARY_SERVICE_PORT_DNS_UDP": "53",
        "REDIS_PRIMARY_PORT": "tcp://10.43.0.20:6379",
        "REDIS_PRIMARY_PORT_6379_TCP": "tcp://10.43.0.20:6379",
        "REDIS_PRIMARY_PORT_6379_TCP_PROTO": "tcp",
        "REDIS_PRIMARY_PORT_6379_TCP_PORT": "6379",
        "REDIS_PRIMARY_PORT_6379_TCP_ADDR": "10.43.0.20",
        "REDIS_PRIMARY_PORT_53_UDP": "udp://10.43.0.20:53",
        "REDIS_PRIMARY_PORT_53_UDP_PROTO": "udp",
        "REDIS_PRIMARY_PORT_53_UDP_PORT": "53",
        "REDIS_PRIMARY_PORT_53_UDP_ADDR": "10.43.0.20",
    }


def test_service_env_takes_master_services_always_and_own_namespace_with_links() -> None:
    services = [KUBERNETES, svc("web", "shop"), svc("db", "other"), svc("headless", "shop", ip="None"),
                {"metadata": {"name": "ext", "namespace": "shop"}, "spec": {"type": "ExternalName"}}]
    linked = service_env(services, "shop", True)
    assert linked["KUBERNETES_SERVICE_HOST"] == "10.43.0.1" and linked["KUBERNETES_SERVICE_PORT"] == "443"
    assert linked["KUBERNETES_SERVICE_PORT_HTTPS"] == "443"
    assert linked["KUBERNETES_PORT_443_TCP_ADDR"] == "10.43.0.1"
    assert linked["WEB_SERVICE_HOST"] == "10.43.0.20"
    assert not any(k.startswith(("DB_", "HEADLESS_", "EXT_")) for k in linked)
    unlinked = service_env(services, "shop", False)
    assert "WEB_SERVICE_HOST" not in unlinked and unlinked["KUBERNETES_SERVICE_HOST"] == "10.43.0.1"


def test_a_namespaced_kubernetes_service_wins_over_the_master_one() -> None:
    mine = svc("kubernetes", "shop", ip="10.43.5.5")
    for order in ([KUBERNETES, mine], [mine, KUBERNETES]):
        assert service_env(order, "shop", True)["KUBERNETES_SERVICE_HOST"] == "10.43.5.5"


async def test_user_env_overrides_service_variables_and_may_refer_to_them() -> None:
    async def fetch(kind: str, namespace: str, name: str) -> None:
        return None

    container = {"name": "c", "env": [{"name": "WEB_SERVICE_PORT", "value": "8080"},
                                      {"name": "API", "value": "https://$(KUBERNETES_SERVICE_HOST)"}]}
    services = service_env([KUBERNETES, svc("web")], "default", True)
    env = await container_env({"metadata": {"namespace": "default"}}, container, fetch, services=services)
    names = [k for k, _ in env]
    assert names[:2] == ["WEB_SERVICE_PORT", "API"]  # the container's own first, in order
    assert dict(env)["WEB_SERVICE_PORT"] == "8080" and dict(env)["API"] == "https://10.43.0.1"
    assert names.count("WEB_SERVICE_PORT") == 1 and "WEB_SERVICE_HOST" in names


def test_hostname_is_the_pods_or_the_nodes() -> None:
    pod = {"metadata": {"name": "x" * 62 + "-abc"}, "spec": {}}
    assert pod_hostname(pod) == "x" * 62  # 63 characters without the trailing '-'
    assert hostname_env({"metadata": {"name": "web"}, "spec": {"hostname": "box"}}) == "box"
    import socket
    assert hostname_env({"metadata": {"name": "web"}, "spec": {"hostNetwork": True}}) == socket.gethostname()
