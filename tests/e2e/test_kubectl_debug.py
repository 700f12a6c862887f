"""`kubectl debug` with ephemeral containers, kubectl 1.27, 1.32 and 1.33 against real runc:
the debugger shares the target container's process namespace (the app's `sleep` shows in its
`ps`), its status is in ephemeralContainerStatuses, `kubectl debug -it` gives a shell through
a terminal, and an existing ephemeral container may not be changed."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers.cluster import kubectl_binary
from tests.helpers.node import NodeCluster, running_node
from tests.helpers.tty import Terminal

VERSIONS = ("1.27", "1.32", "1.33")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NodeCluster]:
    with running_node(tmp_path_factory.mktemp("node")) as c:
        yield c


def _app(cluster: NodeCluster, name: str) -> None:
    cluster.apply({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                   "spec": {"terminationGracePeriodSeconds": 1, "containers": [{
                       "name": "app", "image": "busybox:latest",
                       "command": ["sleep", "3600"]}]}})
    cluster.wait_running(name)


def _ephemeral_status(pod: dict[str, Any]) -> dict[str, Any] | None:
    statuses = pod.get("status", {}).get("ephemeralContainerStatuses") or []
    return statuses[0] if statuses else None


@pytest.mark.parametrize("version", VERSIONS)
def test_debug_sees_the_target_processes(cluster: NodeCluster, version: str) -> None:
    name = f"web-{version.replace('.', '')}"
    _app(cluster, name)
    out = cluster.kubectl("debug", name, "--image=busybox:latest", "--target=app",
                          "--container=debugger", "--", "ps", version=version)
    assert 'Targeting container "app"' in out.stdout
    pod = cluster.wait_for(name, lambda p: "terminated" in (
        (_ephemeral_status(p) or {}).get("state") or {}), 60, "debugger terminated")
    status = _ephemeral_status(pod)
    assert status is not None and status["name"] == "debugger"
    assert status["state"]["terminated"]["exitCode"] == 0
    assert status["containerID"].startswith("runc://") and status["imageID"]
    assert status["ready"] is False and status["restartCount"] == 0
    assert pod["spec"]["ephemeralContainers"][0]["targetContainerName"] == "app"
    logs = cluster.kubectl("logs", name, "-c", "debugger", version=version).stdout
    assert re.search(r"^\s*1 \S+\s+sleep 3600$", logs, re.M), logs  # the app is pid 1
    # The app container still runs and was not restarted.
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0
    cluster.kubectl("delete", "pod", name, "--wait=false")


def test_changing_an_ephemeral_container_is_refused(cluster: NodeCluster) -> None:
    name = "web-change"
    _app(cluster, name)
    cluster.kubectl("debug", name, "--image=busybox:latest", "--container=debugger",
                    "--", "sleep", "5")
    patch = json.dumps({"spec": {"ephemeralContainers": [
        {"name": "debugger", "image": "busybox:1.36"}]}})
    out = cluster.kubectl("patch", "pod", name, "--subresource=ephemeralcontainers",
                          "--type=strategic", "-p", patch, check=False)
    assert out.returncode != 0
    assert (f'The Pod "{name}" is invalid: spec.ephemeralContainers: Forbidden: existing '
            'ephemeral containers "debugger" may not be changed') in out.stderr, out.stderr
    cluster.kubectl("delete", "pod", name, "--wait=false")


@pytest.mark.parametrize("version", ("1.27", "1.33"))
def test_debug_it_gives_a_shell_in_the_target_pid_namespace(cluster: NodeCluster,
                                                             version: str) -> None:
    name = f"shell-{version.replace('.', '')}"
    _app(cluster, name)
    s = cluster.server
    term = Terminal([kubectl_binary(version), f"--kubeconfig={s.kubeconfig}",
                     f"--cache-dir={s.cache_root}/{version}", "debug", "-it", name,
                     "--image=busybox:latest", "--target=app", "--container=shell", "--", "sh"])
    try:
        term.wait_for(r"/ # ", 60)
        term.type(b"ps; echo done-$((6*7))\n")
        term.wait_for(r"sleep 3600[\s\S]*done-42", 15)
        term.type(b"exit\n")
        assert term.wait(30) == 0, term.text[-2000:]
    finally:
        term.close()
    pod = cluster.wait_for(name, lambda p: "terminated" in (
        (_ephemeral_status(p) or {}).get("state") or {}), 30, "shell terminated")
    assert pod["status"]["phase"] == "Running"
    cluster.kubectl("delete", "pod", name, "--wait=false")
