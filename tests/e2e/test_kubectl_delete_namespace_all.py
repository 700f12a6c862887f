"""`kubectl delete namespace --all` with a real node: default, kube-system and kube-public
refuse, kube-node-lease goes and the API server brings it back at once, and the node's
kubelet re-creates its Lease there, so the node stays Ready throughout (watched for twice the
node monitor grace period)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import wait
from tests.helpers.node import NodeCluster, running_node

pytestmark = [pytest.mark.root, pytest.mark.kubectl]

GRACE = 20.0  # --node-monitor-grace-period: twice the kubelet's 10 s lease renewal


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    flags = ["--node-monitor-grace-period", str(int(GRACE)), "--node-monitor-period", "1"]
    with running_node(tmp_path_factory.mktemp("nsall"), server_args=flags) as c:
        yield c


def get(cluster: NodeCluster, *args: str) -> dict[str, Any] | None:
    result = cluster.kubectl("get", *args, "-o", "json", check=False)
    return json.loads(result.stdout) if result.returncode == 0 else None


def ready(node: dict[str, Any] | None) -> str:
    conditions = (node or {}).get("status", {}).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "missing")


def test_delete_all_namespaces_leaves_the_node_ready(cluster: NodeCluster, tmp_path: Path) -> None:
    node = cluster.node_name
    wait.until(lambda: ready(get(cluster, "node", node)) == "True", 60, "the node Ready")
    lease_ns = get(cluster, "namespace", "kube-node-lease")
    assert lease_ns is not None
    result = cluster.kubectl("delete", "namespace", "--all", "--wait=false", check=False)
    for name in ("default", "kube-system", "kube-public"):
        assert f'namespaces "{name}" is forbidden: this namespace may not be deleted' in result.stderr
    assert 'namespace "kube-node-lease" deleted' in result.stdout
    deleted_at = time.monotonic()

    def recreated() -> bool:
        ns = get(cluster, "namespace", "kube-node-lease")
        return ns is not None and ns["metadata"]["uid"] != lease_ns["metadata"]["uid"] \
            and ns["status"]["phase"] == "Active"

    wait.until(recreated, 30, "kube-node-lease deleted and created again")
    wait.until(lambda: get(cluster, "lease", node, "-n", "kube-node-lease"), 30,
               "the node's Lease created again by its kubelet")
    seen = []
    while time.monotonic() - deleted_at < 2 * GRACE:
        seen.append(ready(get(cluster, "node", node)))
        time.sleep(1)
    assert set(seen) == {"True"}, seen
    for name in ("default", "kube-system", "kube-public"):
        assert get(cluster, "namespace", name) is not None
