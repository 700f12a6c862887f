"""The same kubectl workflow on an etcd-backed server, a restart that keeps every object, and
etcd over TLS with a client certificate (k3s' --datastore-cafile/-certfile/-keyfile)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from tests.helpers.cluster import start_server
from tests.helpers.etcd import make_certs, start_etcd

POD = textwrap.dedent(
    """
    apiVersion: v1
    kind: Pod
    metadata: {name: on-etcd, labels: {app: e}}
    spec:
      containers: [{name: c, image: busybox:1.36}]
    """
)


def test_kubectl_on_etcd_and_restart(tmp_path: Path) -> None:
    (tmp_path / "etcd").mkdir()
    endpoint, stop_etcd = start_etcd(str(tmp_path / "etcd"))
    url = "etcd://" + endpoint.split("://", 1)[1]
    try:
        server = start_server(tmp_path / "data", "--datastore-endpoint", url)
        try:
            assert "pod/on-etcd created" in server.kubectl("apply", "-f", "-", input=POD).stdout
            # as on a real cluster, kubectl takes over what its client-side apply set (the CSA->SSA upgrade)
            server.kubectl("apply", "--server-side", "-f", "-", input=POD.replace("1.36", "1.37"))
            server.kubectl("label", "pod", "on-etcd", "tier=db")
            server.kubectl("create", "configmap", "kept", "--from-literal=a=b")
            server.kubectl("create", "configmap", "dropped", "--from-literal=a=b")
            server.kubectl("delete", "configmap", "dropped")
            table = server.kubectl("get", "pods").stdout
            assert "on-etcd" in table
            port = server.port
        finally:
            server.stop()
        again = start_server(tmp_path / "data", "--datastore-endpoint", url, port=port)
        try:
            pod = json.loads(again.kubectl("get", "pod", "on-etcd", "-o", "json").stdout)
            assert pod["spec"]["containers"][0]["image"] == "busybox:1.37"
            assert pod["metadata"]["labels"]["tier"] == "db"
            names = again.kubectl("get", "cm", "-o", "name").stdout.split()
            assert "configmap/kept" in names and "configmap/dropped" not in names
        finally:
            again.stop()
    finally:
        stop_etcd()


def test_kubectl_on_etcd_over_tls_with_a_client_certificate(tmp_path: Path) -> None:
    certs = make_certs(str(tmp_path / "etcd-pki"))
    (tmp_path / "etcd").mkdir()
    endpoint, stop_etcd = start_etcd(str(tmp_path / "etcd"), certs)
    try:
        assert endpoint.startswith("https://")
        server = start_server(
            tmp_path / "data", "--datastore-endpoint", endpoint,
            "--datastore-cafile", certs.ca, "--datastore-certfile", certs.client_cert,
            "--datastore-keyfile", certs.client_key,
        )
        try:
            server.kubectl("create", "configmap", "over-tls", "--from-literal=a=b")
            got = json.loads(server.kubectl("get", "configmap", "over-tls", "-o", "json").stdout)
            assert got["data"] == {"a": "b"}
        finally:
            server.stop()
        # without the client certificate etcd refuses the server, which says so and exits
        with pytest.raises(RuntimeError, match="etcd"):
            start_server(tmp_path / "refused", "--datastore-endpoint", endpoint, "--datastore-cafile", certs.ca).stop()
    finally:
        stop_etcd()
