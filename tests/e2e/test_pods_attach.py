"""`kubectl attach -i` feeds the container's stdin (conmon's attach socket), with kubectl 1.27
(SPDY) and 1.33 (WebSocket), and the container's answers come back on the same stream."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator

import pytest

from tests.helpers.cluster import kubectl_binary
from tests.helpers.node import NodeCluster, running_node
from tests.helpers.tty import read_until


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        yield c


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_attach_i_forwards_stdin_to_the_container(cluster: NodeCluster, version: str) -> None:
    name = f"echo-{version.replace('.', '')}"
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                   "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                       "name": "main", "image": "busybox:latest", "stdin": True,
                       "command": ["sh", "-c", "while read line; do echo got:$line; done"]}]}})
    cluster.wait_running(name)
    s = cluster.server
    proc = subprocess.Popen(
        [kubectl_binary(version), f"--kubeconfig={s.kubeconfig}",
         f"--cache-dir={s.cache_root}/{version}", "attach", "-i", name],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdin is not None and proc.stdout is not None
        time.sleep(1)  # let the stream be set up before typing
        proc.stdin.write(b"hello\n")
        proc.stdin.flush()
        read_until(proc.stdout.fileno(), r"got:hello\n")
        proc.stdin.write(b"again\n")
        proc.stdin.flush()
        read_until(proc.stdout.fileno(), r"got:again\n")
    finally:
        proc.kill()
        proc.wait()
    # The container read it: its log says so too, and it still runs after the client left.
    assert "got:hello" in cluster.kubectl("logs", name).stdout
    assert cluster.pod(name)["status"]["phase"] == "Running"
    cluster.kubectl("delete", "pod", name, "--wait=false")
