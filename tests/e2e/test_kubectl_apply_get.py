"""A user applies manifests and reads them back with kubectl 1.27, 1.30 and 1.33."""

from __future__ import annotations

import json
import textwrap
import time

import pytest

from tests.helpers.cluster import KUBECTL_VERSIONS, Server

POD = textwrap.dedent(
    """
    apiVersion: v1
    kind: Pod
    metadata:
      name: web-{v}
      labels: {{app: web, ver: "{v}"}}
    spec:
      containers:
      - name: httpd
        image: busybox:1.36
        ports:
        - containerPort: 80
    """
)

BUNDLE = textwrap.dedent(
    """
    apiVersion: v1
    kind: ConfigMap
    metadata: {{name: conf-{v}}}
    data: {{greeting: hello}}
    ---
    apiVersion: v1
    kind: Service
    metadata: {{name: svc-{v}}}
    spec:
      selector: {{app: web}}
      ports:
      - port: 80
        targetPort: 8080
    ---
    apiVersion: apps/v1
    kind: Deployment
    metadata: {{name: dep-{v}}}
    spec:
      replicas: 2
      selector: {{matchLabels: {{app: dep-{v}}}}}
      template:
        metadata: {{labels: {{app: dep-{v}}}}}
        spec:
          containers:
          - name: app
            image: busybox:1.36
    """
)


def tag(version: str) -> str:
    return version.replace(".", "")


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_client_side_apply_creates_then_updates(server: Server, version: str) -> None:
    v = tag(version)
    out = server.kubectl("apply", "-f", "-", input=POD.format(v=v), version=version)
    assert f"pod/web-{v} created" in out.stdout
    again = server.kubectl("apply", "-f", "-", input=POD.format(v=v), version=version)
    assert f"pod/web-{v} unchanged" in again.stdout
    changed = POD.format(v=v).replace("busybox:1.36", "busybox:1.37").replace("app: web", "app: web2")
    out = server.kubectl("apply", "-f", "-", input=changed, version=version)
    assert f"pod/web-{v} configured" in out.stdout
    pod = json.loads(server.kubectl("get", "pod", f"web-{v}", "-o", "json", version=version).stdout)
    assert pod["spec"]["containers"][0]["image"] == "busybox:1.37"
    assert pod["metadata"]["labels"]["app"] == "web2"
    # defaults filled in by the server, as on a real cluster
    assert pod["spec"]["restartPolicy"] == "Always"
    assert pod["spec"]["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert pod["status"]["phase"] == "Pending"


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_apply_bundle_of_configmap_service_deployment(server: Server, version: str) -> None:
    v = tag(version)
    out = server.kubectl("apply", "-f", "-", input=BUNDLE.format(v=v), version=version)
    assert f"configmap/conf-{v} created" in out.stdout
    assert f"service/svc-{v} created" in out.stdout
    assert f"deployment.apps/dep-{v} created" in out.stdout
    got = server.kubectl("get", f"deployment/dep-{v}", "-o", "jsonpath={.spec.replicas}", version=version)
    assert got.stdout == "2"


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_server_side_apply_creates_updates_and_is_idempotent(server: Server, version: str) -> None:
    v = "ssa" + tag(version)
    manifest = POD.format(v=v)
    out = server.kubectl("apply", "--server-side", "-f", "-", input=manifest, version=version)
    assert f"pod/web-{v} serverside-applied" in out.stdout
    # the scheduler writes the pod's status once (no node fits); compare versions after that
    for _ in range(100):
        scheduled = server.kubectl("get", "pod", f"web-{v}", "-o", "jsonpath={.status.conditions[*].type}").stdout
        if "PodScheduled" in scheduled:
            break
        time.sleep(0.1)
    rv1 = server.kubectl("get", "pod", f"web-{v}", "-o", "jsonpath={.metadata.resourceVersion}", version=version).stdout
    server.kubectl("apply", "--server-side", "-f", "-", input=manifest, version=version)
    rv2 = server.kubectl("get", "pod", f"web-{v}", "-o", "jsonpath={.metadata.resourceVersion}", version=version).stdout
    assert rv1 == rv2, "an identical server-side apply must not bump resourceVersion"
    changed = manifest.replace("busybox:1.36", "busybox:1.37")
    server.kubectl("apply", "--server-side", "-f", "-", input=changed, version=version)
    image = server.kubectl("get", "pod", f"web-{v}", "-o", "jsonpath={.spec.containers[0].image}", version=version).stdout
    assert image == "busybox:1.37"


def test_get_output_formats(server: Server) -> None:
    server.kubectl("apply", "-f", "-", input=POD.format(v="fmt"))
    table = server.kubectl("get", "pods").stdout.splitlines()
    assert table[0].split() == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    row = next(line for line in table if line.startswith("web-fmt "))
    assert row.split()[1:4] == ["0/1", "Pending", "0"]
    wide = server.kubectl("get", "pods", "-o", "wide").stdout.splitlines()[0].split()
    assert wide[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and "NODE" in wide and "IP" in wide
    labels = server.kubectl("get", "pod", "web-fmt", "--show-labels").stdout
    assert "app=web" in labels
    selected = server.kubectl("get", "pods", "-l", "ver=fmt", "-o", "name").stdout.split()
    assert selected == ["pod/web-fmt"]
    assert "web-fmt" not in server.kubectl("get", "pods", "-l", "ver!=fmt", "-o", "name").stdout
    everywhere = server.kubectl("get", "pods", "-A").stdout.splitlines()
    assert everywhere[0].split()[0] == "NAMESPACE"
    assert any(line.split()[:2] == ["default", "web-fmt"] for line in everywhere)
    y = server.kubectl("get", "pod", "web-fmt", "-o", "yaml").stdout
    assert "name: web-fmt" in y and "uid:" in y
    name = server.kubectl("get", "pod", "web-fmt", "-o", "jsonpath={.metadata.name}").stdout
    assert name == "web-fmt"


def test_server_side_apply_conflict_names_field_and_manager(server: Server) -> None:
    manifest = POD.format(v="conflict")
    server.kubectl("apply", "-f", "-", input=manifest)
    changed = manifest.replace("busybox:1.36", "busybox:9.9")
    # only the `kubectl` manager takes over what client-side apply set; another applier conflicts
    ssa = ("apply", "--server-side", "--field-manager=deployer", "-f", "-")
    result = server.kubectl(*ssa, input=changed, check=False)
    assert result.returncode != 0
    assert 'conflict with "kubectl-client-side-apply"' in result.stderr
    assert '.spec.containers[name="httpd"].image' in result.stderr
    forced = server.kubectl(*ssa[:2], "--force-conflicts", *ssa[2:], input=changed)
    assert "serverside-applied" in forced.stdout
