"""kubectl against the registry's declarations: `kubectl replace` of a Node without a
resourceVersion (Nodes allow unconditional updates), `kubectl delete` of a Service (answered
with the Service, ReturnDeletedObject) and a ConfigMap (a Success Status), and `kubectl debug`
meeting a 404 Status that carries details, across kubectl 1.27, 1.32 and 1.33."""

from __future__ import annotations

import json
import time

import pytest

from tests.helpers.cluster import Server

VERSIONS = ("1.27", "1.32", "1.33")


def _settled_node(server: Server, name: str, version: str) -> dict[str, object]:
    """The node once the node-ipam controller has given it a pod CIDR (its last write to a
    new node: replacing before it would race it, as on any cluster)."""
    deadline = time.monotonic() + 30
    while True:
        node = json.loads(server.kubectl("get", "node", name, "-o", "json", version=version).stdout)
        if node.get("spec", {}).get("podCIDR") or time.monotonic() > deadline:
            return node
        time.sleep(0.2)


@pytest.mark.parametrize("version", VERSIONS)
def test_kubectl_replaces_a_node_with_resource_version_zero_or_none(server: Server, version: str) -> None:
    name = f"replace-{version.replace('.', '-')}"
    created = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    server.kubectl("create", "-f", "-", input=json.dumps(created), version=version)
    node = _settled_node(server, name, version)
    meta = node["metadata"]
    assert isinstance(meta, dict)
    for rv, label in (("0", "zero"), (None, "none")):
        meta["labels"] = {"replaced": label}
        meta.pop("resourceVersion", None)
        if rv is not None:
            meta["resourceVersion"] = rv
        out = server.kubectl("replace", "-f", "-", input=json.dumps(node), version=version)
        assert f"node/{name} replaced" in out.stdout
        got = json.loads(server.kubectl("get", "node", name, "-o", "json", version=version).stdout)
        assert got["metadata"]["labels"]["replaced"] == label


@pytest.mark.parametrize("version", VERSIONS)
def test_kubectl_deletes_a_service_and_a_config_map(server: Server, version: str) -> None:
    suffix = version.replace(".", "-")
    server.kubectl("create", "service", "clusterip", f"svc-{suffix}", "--tcp=80:80", version=version)
    server.kubectl("create", "configmap", f"cm-{suffix}", version=version)
    out = server.kubectl("delete", f"service/svc-{suffix}", f"configmap/cm-{suffix}", version=version)
    assert f'service "svc-{suffix}" deleted' in out.stdout
    assert f'configmap "cm-{suffix}" deleted' in out.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_kubectl_debug_reports_missing_ephemeral_containers_without_panicking(server: Server, version: str) -> None:
    pod = f"debug-{version.replace('.', '-')}"
    server.kubectl("run", pod, "--image=busybox", "--restart=Never", version=version)
    out = server.kubectl("debug", pod, "--image=busybox", "--attach=false", version=version,
                         check=False)
    assert out.returncode != 0
    assert "panic" not in out.stderr and "nil pointer" not in out.stderr
    assert "ephemeral containers are disabled for this cluster" in out.stderr, out.stderr
