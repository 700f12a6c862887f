"""The built-in Ingress controller and ServiceLB on two machines, with the real kubectl: an
Ingress routes two hosts and two paths to two Services whose pods run on both machines,
through each machine's port 80, and HTTPS with the certificate of a Secret (checked as
served, by SNI); a running request survives a configuration change; a `type: LoadBalancer`
Service gets the machines' addresses and answers on them."""

from __future__ import annotations

import base64
import datetime as dt
import http.client
import json
import socket
import ssl
import threading
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.helpers.machines import MachineCluster, machine_cluster
from tests.helpers.wait import until

pytestmark = pytest.mark.root

HTTP, HTTPS = 80, 443  # each machine is a network namespace of its own: the default ports are free
PATHS = ("/", "/two/", "/two/x/")  # directories: busybox httpd serves their index.html
# Each pod answers on every path of PATHS with "<service> <pod>"; /cgi-bin/slow waits for the
# file /tmp/release (and says it started by making /tmp/started).
SERVE = ("for d in " + " ".join(PATHS) + "; do mkdir -p /www$d; echo \"$SVC $(hostname)\" > /www$d/index.html; done; "
         "mkdir -p /www/cgi-bin; echo '#!/bin/sh' > /www/cgi-bin/slow; "
         "echo 'touch /tmp/started; while [ ! -f /tmp/release ]; do sleep 0.1; done; "
         "echo Content-Type: text/plain; echo; echo slow done' >> /www/cgi-bin/slow; "
         "chmod +x /www/cgi-bin/slow; exec busybox httpd -f -p 8080 -h /www")


def pod(name: str, service: str, node: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"svc": service}},
            "spec": {"nodeName": node, "terminationGracePeriodSeconds": 0, "containers": [{
                "name": "web", "image": "busybox", "command": ["sh", "-c", SERVE],
                "env": [{"name": "SVC", "value": service}],
                "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}}


def service(name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": {"svc": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}],
                     **spec}}


def backend(name: str, port: dict[str, Any]) -> dict[str, Any]:
    return {"service": {"name": name, "port": port}}


def ingress(extra_paths: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """a.example.com: / -> one, /two -> two (its port by name); *.b.example.com: / -> two."""
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "web"},
            "spec": {"tls": [{"hosts": ["a.example.com"], "secretName": "a-tls"}], "rules": [
                {"host": "a.example.com", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": backend("one", {"number": 80})},
                    {"path": "/two", "pathType": "Prefix", "backend": backend("two", {"name": "http"})},
                    {"path": "/cgi-bin/slow", "pathType": "Exact", "backend": backend("slow", {"number": 80})},
                    *extra_paths]}},
                {"host": "*.b.example.com", "http": {"paths": [
                    {"path": "/", "pathType": "Prefix", "backend": backend("two", {"number": 80})}]}}]}}


def tls_secret() -> tuple[dict[str, Any], bytes]:
    """A kubernetes.io/tls Secret for a.example.com, and its certificate (PEM) to trust."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "a.example.com")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("a.example.com")]), critical=False)
            .sign(key, hashes.SHA256()))
    crt = cert.public_bytes(serialization.Encoding.PEM)
    pem_key = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a-tls"}, "type": "kubernetes.io/tls",
              "data": {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(pem_key).decode()}}
    return secret, crt


def get(address: str, host: str, path: str, port: int = HTTP, timeout: float = 5) -> tuple[int, str]:
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace").strip()
    except OSError as e:
        return 0, str(e)
    finally:
        conn.close()


def apply(mc: MachineCluster, *objects: dict[str, Any]) -> None:
    mc.server.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def ready(mc: MachineCluster, names: list[str]) -> bool:
    out = mc.server.kubectl("get", "pods", "-o", "json", check=False).stdout
    pods = {p["metadata"]["name"]: p for p in json.loads(out or '{"items": []}')["items"]}
    return all(any(c.get("type") == "Ready" and c.get("status") == "True"
                   for c in (pods.get(n, {}).get("status") or {}).get("conditions") or []) for n in names)


def answers(address: str, host: str, path: str, port: int = HTTP, tries: int = 12) -> set[str]:
    """The pods (hostnames) that answered `tries` requests, "" for other answers."""
    seen = set()
    for _ in range(tries):
        status, body = get(address, host, path, port)
        seen.add(body if status == 200 else f"{status} {body}")
    return seen


def peer_certificate(address: str, sni: str) -> bytes:
    """The certificate (DER) served on the HTTPS port to a client asking for `sni`."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((address, HTTPS), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=sni) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


def wait_answers(address: str, host: str, path: str, expected: set[str], what: str, port: int = HTTP) -> None:
    """Until the requests are answered by exactly the `expected` pods (the last answers in the error)."""
    last: list[set[str]] = []

    def check() -> bool:
        last[:] = [answers(address, host, path, port)]
        return last[0] == expected

    try:
        until(check, timeout=60, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}; last answers: {last}") from None


def test_ingress_routes_hosts_paths_and_tls_through_each_machine(tmp_path: Path) -> None:
    with machine_cluster(tmp_path, 2) as mc:
        a, b = mc.machines
        for m in (a, b):
            mc.join(m, "--ingress-http-port", str(HTTP), "--ingress-https-port", str(HTTPS))
        secret, crt = tls_secret()
        pods = [pod(f"{svc}-{i}", svc, m.node_name) for svc in ("one", "two") for i, m in enumerate((a, b))]
        pods.append(pod("slow-0", "slow", b.node_name))
        apply(mc, secret, *pods, service("one"), service("two"), service("slow"), ingress())
        until(lambda: ready(mc, [p["metadata"]["name"] for p in pods]), timeout=120, what="pods ready")

        # the default class was given, and the status lists both machines
        got = json.loads(mc.server.kubectl("get", "ingress", "web", "-o", "json").stdout)
        assert got["spec"]["ingressClassName"] == "kubelite"
        until(lambda: sorted(i["ip"] for i in json.loads(mc.server.kubectl(
            "get", "ingress", "web", "-o", "json").stdout)["status"]["loadBalancer"].get("ingress", []))
            == sorted([a.address, b.address]), timeout=30, what="the Ingress's addresses")

        one = {"one one-0", "one one-1"}
        two = {"two two-0", "two two-1"}
        for m in (a, b):  # each machine routes to pods on both machines
            wait_answers(m.address, "a.example.com", "/", one, f"a.example.com/ through {m.node_name}")
            wait_answers(m.address, "a.example.com:80", "/two/", two, f"a.example.com/two/ through {m.node_name}")
            wait_answers(m.address, "a.example.com", "/two/x/", two, f"a.example.com/two/x/ through {m.node_name}")
            assert answers(m.address, "A.Example.com", "/", tries=4) <= one  # hosts ignore case
            assert answers(m.address, "x.b.example.com", "/", tries=6) <= two
            assert answers(m.address, "b.example.com", "/", tries=1) == {"404 404 page not found"}
            assert answers(m.address, "y.x.b.example.com", "/", tries=1) == {"404 404 page not found"}

        # HTTPS: the Secret's certificate, chosen by SNI, on both machines
        context = ssl.create_default_context(cadata=crt.decode())
        for m in (a, b):
            def served(m: Any = m) -> bytes:
                try:
                    with socket.create_connection((m.address, HTTPS), timeout=5) as raw, \
                            context.wrap_socket(raw, server_hostname="a.example.com") as tls:
                        tls.sendall(b"GET /two/ HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n")
                        reply = b""
                        while chunk := tls.recv(4096):  # to the end: the body may come apart
                            reply += chunk
                        return reply
                except OSError:
                    return b""
            reply = until(served, timeout=60, what=f"HTTPS through {m.node_name}")
            assert reply.startswith(b"HTTP/1.1 200") and b"two two-" in reply
            secret_der = x509.load_pem_x509_certificate(crt).public_bytes(serialization.Encoding.DER)
            assert peer_certificate(m.address, "a.example.com") == secret_der
            assert peer_certificate(m.address, "other.example.com") != secret_der  # the default one

        # a running request survives a configuration change (haproxy reloads)
        result: list[tuple[int, str]] = []
        slow = threading.Thread(target=lambda: result.append(
            get(a.address, "a.example.com", "/cgi-bin/slow", timeout=120)))
        slow.start()
        until(lambda: mc.server.kubectl("exec", "slow-0", "--", "test", "-f", "/tmp/started",
                                        check=False).returncode == 0, timeout=30, what="the slow request running")
        extra = {"path": "/two/x/", "pathType": "Exact", "backend": backend("one", {"number": 80})}
        apply(mc, ingress((extra,)))  # /two/x/ moves from two to one
        until(lambda: get(a.address, "a.example.com", "/two/x/")[1].startswith("one "), timeout=30,
              what="the new rule served")  # the reload happened while the request ran
        mc.server.kubectl("exec", "slow-0", "--", "touch", "/tmp/release")
        slow.join(timeout=60)
        assert result == [(200, "slow done")]


def test_load_balancer_service_gets_the_machines_addresses_and_answers(tmp_path: Path) -> None:
    with machine_cluster(tmp_path, 2) as mc:
        a, b = mc.machines
        for m in (a, b):
            mc.join(m, "--ingress-http-port", "0", "--ingress-https-port", "0")
        no_node_port = service("one", type="LoadBalancer", allocateLoadBalancerNodePorts=False,
                               ports=[{"name": "http", "port": 8082, "targetPort": 8080}])
        no_node_port["metadata"]["name"] = "bare"
        apply(mc, pod("one-0", "one", a.node_name), pod("one-1", "one", b.node_name),
              service("one", type="LoadBalancer", ports=[{"name": "http", "port": 8081, "targetPort": 8080}]),
              no_node_port)
        until(lambda: ready(mc, ["one-0", "one-1"]), timeout=120, what="pods ready")

        def external_ips() -> list[str]:
            svc = json.loads(mc.server.kubectl("get", "service", "one", "-o", "json").stdout)
            return [i["ip"] for i in svc["status"].get("loadBalancer", {}).get("ingress", [])]

        assert until(lambda: sorted(external_ips()), timeout=30, what="LoadBalancer addresses") == \
            sorted([a.address, b.address])
        row = mc.server.kubectl("get", "service", "one").stdout.splitlines()[1].split()
        assert row[1] == "LoadBalancer" and row[3] == ",".join(sorted([a.address, b.address]))
        bare = json.loads(mc.server.kubectl("get", "service", "bare", "-o", "json").stdout)
        assert "nodePort" not in bare["spec"]["ports"][0]  # allocateLoadBalancerNodePorts: false
        for m in (a, b):
            wait_answers(m.address, "any", "/", {"one one-0", "one one-1"},
                         f"the LoadBalancer port on {m.node_name}", port=8081)
            wait_answers(m.address, "any", "/", {"one one-0", "one one-1"},
                         f"the LoadBalancer without a NodePort on {m.node_name}", port=8082)
