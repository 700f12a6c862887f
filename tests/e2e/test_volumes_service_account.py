"""Service account tokens on a real node through kubectl: every namespace gets a `default`
account, every pod the kube-api-access volume (token, ca.crt, namespace), and the mounted token
(and one from `kubectl create token`) authenticates against the API server."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.node import NodeCluster, running_node

MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("sa")) as c:
        yield c


def claims(token: str) -> dict[str, Any]:
    part = token.split(".")[1]
    doc: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return doc


def wait_running(cluster: NodeCluster, name: str, namespace: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    pod: dict[str, Any] = {}
    while time.monotonic() < deadline:
        pod = cluster.pod(name, namespace)
        if (pod.get("status") or {}).get("phase") == "Running":
            return pod
        time.sleep(0.3)
    raise AssertionError(f"pod {namespace}/{name} not running: {pod.get('status')}\n"
                         f"{cluster.agent.log_tail()}")


def sleeper(name: str, namespace: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace},
            "spec": {"containers": [{"name": "c", "image": "busybox:latest",
                                     "command": ["sleep", "3600"]}],
                     "terminationGracePeriodSeconds": 1, **spec}}


def test_mounted_token_authenticates_as_the_pods_service_account(cluster: NodeCluster) -> None:
    cluster.kubectl("create", "namespace", "team")
    deadline = time.monotonic() + 20
    while cluster.kubectl("get", "sa", "default", "-n", "team", check=False).returncode != 0:
        assert time.monotonic() < deadline, "no default ServiceAccount in a new namespace"
        time.sleep(0.2)
    cluster.apply(sleeper("api", "team"))
    pod = wait_running(cluster, "api", "team")
    [vol] = [v for v in pod["spec"]["volumes"] if v["name"].startswith("kube-api-access-")]
    assert [list(s) for s in vol["projected"]["sources"]] == [
        ["serviceAccountToken"], ["configMap"], ["downwardAPI"]]
    assert {"name": vol["name"], "mountPath": MOUNT, "readOnly": True} in \
        pod["spec"]["containers"][0]["volumeMounts"]

    def cat(path: str) -> str:
        return cluster.kubectl("exec", "-n", "team", "api", "--", "cat", f"{MOUNT}/{path}").stdout

    token = cat("token")
    assert cat("namespace") == "team"
    ca = (cluster.server.data_dir / "tls" / "ca.crt").read_text()
    assert cat("ca.crt").strip() == ca.strip()
    seen = claims(token)
    assert seen["sub"] == "system:serviceaccount:team:default"
    assert seen["kubernetes.io"]["pod"] == {"name": "api", "uid": pod["metadata"]["uid"]}
    assert seen["kubernetes.io"]["node"]["name"] == cluster.node_name
    # --service-account-extend-token-expiration: valid a year, `warnafter` the asked 3607 s
    assert seen["exp"] - seen["iat"] == 365 * 24 * 3600
    assert seen["kubernetes.io"]["warnafter"] == seen["iat"] + 3607

    # A pod's identity holds no rights until bound (RBAC): 403 in Kubernetes' words.
    as_pod = cluster.server.token_kubeconfig(token)
    secrets = cluster.kubectl("get", "secrets", "-n", "team", check=False, kubeconfig=as_pod)
    assert secrets.returncode != 0
    assert ('secrets is forbidden: User "system:serviceaccount:team:default" cannot list resource '
            '"secrets" in API group "" in the namespace "team"') in secrets.stderr
    cluster.kubectl("create", "rolebinding", "default-view", "-n", "team", "--clusterrole=view",
                    "--serviceaccount=team:default")
    deadline = time.monotonic() + 20
    while (listed := cluster.kubectl("get", "pods", "-n", "team", "-o", "name", check=False,
                                     kubeconfig=as_pod)).returncode != 0:
        assert time.monotonic() < deadline, listed.stderr
        time.sleep(0.2)
    assert listed.stdout.split() == ["pod/api"]
    still = cluster.kubectl("get", "secrets", "-n", "team", check=False, kubeconfig=as_pod)
    assert still.returncode != 0 and "forbidden" in still.stderr
    refused = cluster.kubectl("get", "pods", check=False, kubeconfig=cluster.server.token_kubeconfig(token[:-4] + "AAAA"))
    assert refused.returncode != 0 and "Unauthorized" in refused.stderr


def test_kubectl_create_token_and_opting_out(cluster: NodeCluster) -> None:
    cluster.kubectl("create", "serviceaccount", "robot")
    token = cluster.kubectl("create", "token", "robot", "--duration", "10m").stdout.strip()
    seen = claims(token)
    assert seen["sub"] == "system:serviceaccount:default:robot"
    assert seen["exp"] - seen["iat"] == 600
    cluster.kubectl("create", "rolebinding", "robot-view", "--clusterrole=view", "--serviceaccount=default:robot")
    assert cluster.kubectl("get", "sa", "robot", "-o", "name", kubeconfig=cluster.server.token_kubeconfig(token)).stdout.strip() \
        == "serviceaccount/robot"
    short = cluster.kubectl("create", "token", "robot", "--duration", "1m", check=False)
    assert short.returncode != 0 and "may not specify a duration less than 10 minutes" in short.stderr
    missing = cluster.kubectl("create", "token", "ghost", check=False)
    assert 'serviceaccounts "ghost" not found' in missing.stderr

    cluster.apply(sleeper("quiet", "default", automountServiceAccountToken=False,
                          serviceAccountName="robot"))
    pod = wait_running(cluster, "quiet", "default")
    assert not pod["spec"].get("volumes")
    out = cluster.kubectl("exec", "quiet", "--", "ls", MOUNT, check=False)
    assert out.returncode != 0
