"""A node's own credential (`system:node:NAME` in `system:nodes`, as the join endpoint signs
it) reads only what its pods need (the Node authorizer) and writes only its own objects: the NodeRestriction admission plugin refuses another Node,
labels in kubelet-forbidden prefixes, pods and pod status of pods bound elsewhere, another
node's Lease, and non-mirror pods, with Kubernetes' messages."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.helpers.cluster import Server

N1, N2 = "nr-node-1", "nr-node-2"


def node_kubeconfig(server: Server, tmp_path: Path, node: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "kubelite.cli.main", "kubeconfig", "--data-dir", str(server.data_dir),
         "--user", f"system:node:{node}", "--group", "system:nodes", "--days", "1"],
        capture_output=True, text=True, check=True).stdout
    path = tmp_path / f"{node}.kubeconfig"
    path.write_text(out)
    return f"--kubeconfig={path}"


def apply(server: Server, *docs: dict[str, object]) -> None:
    server.kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": list(docs)}))


def node(name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}


def pod(name: str, node_name: str) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node_name, "containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
def as_n1(server: Server, tmp_path: Path) -> str:
    apply(server, node(N1), node(N2), pod("nr-on-1", N1), pod("nr-on-2", N2))
    return node_kubeconfig(server, tmp_path, N1)


def refused(server: Server, *args: str, input: str | None = None) -> str:
    result = server.kubectl(*args, check=False, input=input)
    assert result.returncode != 0, result.stdout
    assert "Forbidden" in result.stderr or "forbidden" in result.stderr, result.stderr
    return result.stderr


def test_a_node_labels_its_own_node_but_not_another(server: Server, as_n1: str) -> None:
    server.kubectl("label", "node", N1, "example.com/rack=r1", "--overwrite", as_n1)
    err = refused(server, "label", "node", N2, "example.com/rack=r1", as_n1)
    assert f'nodes "{N2}" is forbidden: node "{N1}" is not allowed to modify node "{N2}"' in err
    refused(server, "delete", "node", N2, as_n1)


def test_a_node_may_not_set_restricted_labels_or_taints(server: Server, as_n1: str) -> None:
    err = refused(server, "label", "node", N1, "node-restriction.kubernetes.io/trusted=yes", as_n1)
    assert "is not allowed to modify labels: node-restriction.kubernetes.io/trusted" in err
    err = refused(server, "label", "node", N1, "node-role.kubernetes.io/control-plane=", as_n1)
    assert "node-role.kubernetes.io/control-plane" in err
    server.kubectl("label", "node", N1, "node.kubernetes.io/instance-type=small", "--overwrite", as_n1)
    err = refused(server, "taint", "node", N1, "dedicated=me:NoSchedule", as_n1)
    assert f'node "{N1}" is not allowed to modify taints' in err


def test_pods_and_pod_status_only_on_its_own_node(server: Server, as_n1: str) -> None:
    # A PATCH of pods/NAME/status as the kubelet sends it (kubectl would GET pods/status first,
    # which nodes may not, as in Kubernetes' node rules).
    cfg = client.Configuration()
    config.load_kube_config(config_file=as_n1.split("=", 1)[1], client_configuration=cfg)
    core = client.CoreV1Api(client.ApiClient(cfg))
    status = {"status": {"message": "seen"}}
    core.patch_namespaced_pod_status("nr-on-1", "default", status)
    with pytest.raises(client.ApiException) as other:
        core.patch_namespaced_pod_status("nr-on-2", "default", status)
    assert other.value.status == 403
    assert f'node "{N1}" can only update pod status for pods with spec.nodeName set to itself' in \
        json.loads(other.value.body)["message"]
    err = refused(server, "delete", "pod", "nr-on-2", "--wait=false", as_n1)
    assert f'node "{N1}" can only delete pods with spec.nodeName set to itself' in err
    err = refused(server, "label", "pod", "nr-on-1", "a=b", as_n1)  # nodes may not patch pods at all
    assert f'User "system:node:{N1}" cannot patch resource "pods" in API group "" in the namespace "default"' in err
    err = refused(server, "run", "nr-not-mirror", "--image=busybox", f"--overrides={json.dumps({'spec': {'nodeName': N1}})}", as_n1)
    assert 'pod does not have "kubernetes.io/config.mirror" annotation' in err


def test_only_its_own_lease(server: Server, as_n1: str) -> None:
    lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
             "metadata": {"name": N2, "namespace": "kube-node-lease"}, "spec": {"holderIdentity": N2}}
    err = refused(server, "create", "-f", "-", as_n1, input=json.dumps(lease))
    assert "can only access node lease with the same name as the requesting node" in err
    mine = {**lease, "metadata": {"name": N1, "namespace": "kube-node-lease"}, "spec": {"holderIdentity": N1}}
    server.kubectl("apply", "-f", "-", as_n1, input=json.dumps(mine))


def test_a_node_reads_only_the_secrets_and_configmaps_of_its_own_pods(
        server: Server, tmp_path: Path) -> None:
    """The Node authorizer: objects reachable from pods bound to the node, nothing else."""
    def with_refs(name: str, node_name: str, secret: str, config_map: str) -> dict[str, object]:
        p = pod(name, node_name)
        p["spec"]["volumes"] = [  # type: ignore[index]
            {"name": "s", "secret": {"secretName": secret}},
            {"name": "c", "configMap": {"name": config_map}}]
        return p

    def secret(name: str) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": "default"},
                "stringData": {"k": "v"}}

    def config_map(name: str) -> dict[str, object]:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "default"},
                "data": {"k": "v"}}

    apply(server, node(N1), node(N2), secret("nr-s1"), secret("nr-s2"), config_map("nr-c1"),
          config_map("nr-c2"), with_refs("nr-ref-1", N1, "nr-s1", "nr-c1"),
          with_refs("nr-ref-2", N2, "nr-s2", "nr-c2"))
    as_n1 = node_kubeconfig(server, tmp_path, N1)
    # the graph is fed by watch: the new pods reach it a moment after the apply
    deadline = time.monotonic() + 10
    while server.kubectl("get", "secret", "nr-s1", as_n1, check=False).returncode != 0:
        assert time.monotonic() < deadline, "node n1 never got to read its pod's Secret"
        time.sleep(0.2)
    assert server.kubectl("get", "configmap", "nr-c1", "-o", "name", as_n1).stdout.strip() == \
        "configmap/nr-c1"
    for kind, name in (("secret", "nr-s2"), ("configmap", "nr-c2")):
        err = refused(server, "get", kind, name, as_n1)
        assert f"no relationship found between node '{N1}' and this object" in err, err
    err = refused(server, "get", "secrets", as_n1)  # and no listing of them at all
    assert f'User "system:node:{N1}" cannot list resource "secrets"' in err
