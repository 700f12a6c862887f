"""A user moves objects made by `kubectl apply` (client side) to `kubectl apply --server-side`
with kubectl 1.27, 1.32 and 1.33: no conflict on what kubectl itself set, the `kubectl` manager
owns the fields afterwards, and fields another manager changed still conflict."""

from __future__ import annotations

import json
import textwrap
from typing import Any

import pytest

from tests.helpers.cluster import Server

VERSIONS = ("1.27", "1.32", "1.33")
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

DEPLOYMENT = textwrap.dedent(
    """
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: {name}
      labels: {{app: {name}}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: {name}}}}}
      template:
        metadata: {{labels: {{app: {name}}}}}
        spec:
          containers:
          - name: app
            image: busybox:1.36
            command: [sleep, "3600"]
            ports: [{{containerPort: 80}}]
    """
)
IMAGE = 'k:{"name":"app"}'


def manifest(name: str, image: str = "busybox:1.36", replicas: int = 2) -> str:
    return (
        DEPLOYMENT.format(name=name)
        .replace("busybox:1.36", image)
        .replace("replicas: 2", f"replicas: {replicas}")
    )


def get(server: Server, name: str, version: str) -> dict[str, Any]:
    out = server.kubectl(
        "get", "deployment", name, "-o", "json", "--show-managed-fields", version=version
    )
    return dict(json.loads(out.stdout))


def managers(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{e['manager']}/{e['operation']}": e["fieldsV1"]
        for e in obj["metadata"]["managedFields"]
        if not e.get("subresource")
    }


@pytest.mark.parametrize("version", VERSIONS)
def test_server_side_apply_takes_over_client_side_apply(server: Server, version: str) -> None:
    name = f"upgrade-{version.replace('.', '')}"
    server.kubectl("apply", "-f", "-", input=manifest(name), version=version)
    assert "kubectl-client-side-apply/Update" in managers(get(server, name, version))

    out = server.kubectl("apply", "--server-side", "-f", "-", input=manifest(name), version=version)
    assert f"deployment.apps/{name} serverside-applied" in out.stdout
    assert "conflict" not in out.stderr.lower()
    owned = managers(get(server, name, version))
    # kubectl migrated the client-side manager's fields to its own apply entry and re-applied
    assert "kubectl-client-side-apply/Update" not in owned
    spec = owned["kubectl/Apply"]["f:spec"]
    assert "f:replicas" in spec
    assert "f:image" in spec["f:template"]["f:spec"]["f:containers"][IMAGE]
    assert "kubectl-last-applied/Apply" in owned

    changed = manifest(name, image="busybox:1.37", replicas=3)
    out = server.kubectl("apply", "--server-side", "-f", "-", input=changed, version=version)
    assert f"deployment.apps/{name} serverside-applied" in out.stdout
    obj = get(server, name, version)
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"
    # the server keeps the client-side annotation in step with what kubectl applied
    last = json.loads(obj["metadata"]["annotations"][LAST_APPLIED])
    assert last["spec"]["replicas"] == 3
    assert last["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.37"

    # and a client-side apply afterwards (a downgrade) works from that annotation
    back = manifest(name, image="busybox:1.38", replicas=3)
    out = server.kubectl("apply", "-f", "-", input=back, version=version)
    assert f"deployment.apps/{name} configured" in out.stdout
    assert get(server, name, version)["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "busybox:1.38"
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_server_side_diff_after_client_side_apply(server: Server, version: str) -> None:
    name = f"diff-{version.replace('.', '')}"
    server.kubectl("apply", "-f", "-", input=manifest(name), version=version)
    diff = server.kubectl(
        "diff", "--server-side", "-f", "-", input=manifest(name, image="busybox:1.37"),
        version=version, check=False,
    )
    assert diff.returncode == 1, diff.stderr  # 1: differences found; >1 is an error
    assert "-        image: busybox:1.36" in diff.stdout
    assert "+        image: busybox:1.37" in diff.stdout
    # a dry run: nothing changed, nobody took anything over
    obj = get(server, name, version)
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
    assert "kubectl/Apply" not in managers(obj)


@pytest.mark.parametrize("version", VERSIONS)
def test_fields_another_manager_changed_still_conflict(server: Server, version: str) -> None:
    name = f"other-{version.replace('.', '')}"
    server.kubectl("apply", "-f", "-", input=manifest(name), version=version)
    server.kubectl("scale", "deployment", name, "--replicas=5", version=version)
    server.kubectl(
        "patch", "deployment", name, "--field-manager=tuner", "--type=merge",
        "-p", json.dumps({"metadata": {"labels": {"app": "tuned"}}}), version=version,
    )
    # the manifest still says replicas 2 and app=<name>: those fields moved on since kubectl set
    # them, so the upgrade does not cover them; the image (still as applied) is not reported
    result = server.kubectl(
        "apply", "--server-side", "-f", "-", input=manifest(name, image="busybox:1.37"),
        version=version, check=False,
    )
    assert result.returncode != 0
    assert "Apply failed with 2 conflicts" in result.stderr
    assert ".spec.replicas" in result.stderr
    assert '"tuner" using apps/v1' in result.stderr and ".metadata.labels.app" in result.stderr
    assert "image" not in result.stderr
    obj = get(server, name, version)
    assert obj["spec"]["replicas"] == 5
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "busybox:1.36"
