"""kubectl describe, label, annotate, patch, edit, diff, delete and imperative creates."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.helpers.cluster import Server, kubectl_binary

POD = textwrap.dedent(
    """
    apiVersion: v1
    kind: Pod
    metadata:
      name: {name}
      labels: {{app: web}}
    spec:
      containers:
      - name: httpd
        image: busybox:1.36
    """
)


def make_pod(server: Server, name: str) -> None:
    server.kubectl("apply", "-f", "-", input=POD.format(name=name))


def test_describe_pod_shows_fields(server: Server) -> None:
    make_pod(server, "desc")
    out = server.kubectl("describe", "pod", "desc").stdout
    assert "Name:" in out and "desc" in out
    assert "Namespace:" in out and "default" in out
    assert "busybox:1.36" in out
    assert "Status:" in out and "Pending" in out


def test_label_annotate_and_three_patch_types(server: Server) -> None:
    make_pod(server, "patchme")
    server.kubectl("label", "pod", "patchme", "tier=front")
    server.kubectl("annotate", "pod", "patchme", "note=hello")
    server.kubectl("patch", "pod", "patchme", "-p", '{"metadata":{"labels":{"sm":"yes"}}}')
    server.kubectl("patch", "pod", "patchme", "--type=merge", "-p", '{"metadata":{"labels":{"mp":"yes"}}}')
    server.kubectl(
        "patch", "pod", "patchme", "--type=json",
        "-p", '[{"op":"replace","path":"/spec/containers/0/image","value":"busybox:1.37"}]',
    )
    pod = json.loads(server.kubectl("get", "pod", "patchme", "-o", "json").stdout)
    labels = pod["metadata"]["labels"]
    assert labels["tier"] == "front" and labels["sm"] == "yes" and labels["mp"] == "yes"
    assert pod["metadata"]["annotations"]["note"] == "hello"
    assert pod["spec"]["containers"][0]["image"] == "busybox:1.37"
    server.kubectl("label", "pod", "patchme", "tier-")
    pod = json.loads(server.kubectl("get", "pod", "patchme", "-o", "json").stdout)
    assert "tier" not in pod["metadata"]["labels"]


def test_edit_with_a_scripted_editor(server: Server, tmp_path: Path) -> None:
    make_pod(server, "editme")
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nsed -i 's/busybox:1.36/busybox:1.99/' \"$1\"\n")
    editor.chmod(editor.stat().st_mode | stat.S_IEXEC)
    server.kubectl("edit", "pod", "editme", env={"KUBE_EDITOR": str(editor), "EDITOR": str(editor)})
    image = server.kubectl("get", "pod", "editme", "-o", "jsonpath={.spec.containers[0].image}").stdout
    assert image == "busybox:1.99"


def test_diff_shows_pending_change(server: Server, tmp_path: Path) -> None:
    make_pod(server, "diffme")
    changed = POD.format(name="diffme").replace("busybox:1.36", "busybox:2.0")
    result = server.kubectl("diff", "-f", "-", input=changed, check=False)
    assert result.returncode == 1, result.stderr  # 1 = differences found
    assert "busybox:2.0" in result.stdout
    same = server.kubectl("diff", "-f", "-", input=POD.format(name="diffme"), check=False)
    assert same.returncode == 0, same.stdout + same.stderr


def test_explain_container_probe(server: Server) -> None:
    out = server.kubectl("explain", "pod.spec.containers.livenessProbe").stdout
    assert "periodSeconds" in out and "httpGet" in out


def test_imperative_create_on_1_33_sends_protobuf(server: Server) -> None:
    server.kubectl("create", "configmap", "lit", "--from-literal=a=b", version="1.33")
    data = server.kubectl("get", "cm", "lit", "-o", "jsonpath={.data.a}").stdout
    assert data == "b"
    server.kubectl("create", "namespace", "team-a", version="1.33")
    phase = server.kubectl("get", "ns", "team-a", "-o", "jsonpath={.status.phase}").stdout
    assert phase == "Active"


@pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
def test_create_pdb_on_json_and_protobuf_kubectl(server: Server, version: str) -> None:
    """1.27 sends JSON, 1.32+ protobuf with status.currentHealthy=0 that must survive decoding."""
    name = "pdb-" + version.replace(".", "")
    out = server.kubectl("create", "pdb", name, "--selector=app=x", "--min-available=1", version=version)
    assert f"poddisruptionbudget.policy/{name} created" in out.stdout
    pdb = json.loads(server.kubectl("get", "pdb", name, "-o", "json").stdout)
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "x"}}}


def test_delete_by_name_and_by_file(server: Server, tmp_path: Path) -> None:
    make_pod(server, "gone1")
    out = server.kubectl("delete", "pods/gone1")
    assert 'pod "gone1" deleted' in out.stdout
    assert server.kubectl("get", "pod", "gone1", check=False).returncode == 1
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(POD.format(name="gone2"))
    server.kubectl("apply", "-f", str(manifest))
    out = server.kubectl("delete", "-f", str(manifest))
    assert 'pod "gone2" deleted' in out.stdout
    missing = server.kubectl("get", "pod", "gone2", check=False)
    assert "NotFound" in missing.stderr


def test_get_watch_prints_new_objects(server: Server) -> None:
    proc = subprocess.Popen(
        [kubectl_binary("1.33"), f"--kubeconfig={server.kubeconfig}",
         f"--cache-dir={server.cache_root / 'watch'}", "get", "pods", "-w", "-l", "app=watched"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if k != "KUBECONFIG"},
    )
    try:
        time.sleep(1.5)
        server.kubectl("apply", "-f", "-", input=POD.format(name="watched").replace("app: web", "app: watched"))
        time.sleep(1.5)
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "watched" in out, err
