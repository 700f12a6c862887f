"""Ingresses with real kubectl: `kubectl create ingress` and the printed columns, the default
IngressClass filled in at create, and `kubectl apply --prune -l` with kubectl's DEFAULT prune
allowlist (which lists networking.k8s.io/v1 Ingress, so it failed while Ingress was not served)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers.cluster import Server


def _configmap(name: str) -> str:
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, labels: {{app: x}}}}\ndata: {{k: v}}\n"


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_apply_prune_with_the_default_allowlist(server: Server, tmp_path: Path, version: str) -> None:
    ns = f"prune-{version.replace('.', '-')}"
    server.kubectl("create", "namespace", ns)
    manifests = tmp_path / "dir"
    manifests.mkdir()
    (manifests / "keep.yaml").write_text(_configmap("keep"))
    (manifests / "gone.yaml").write_text(_configmap("gone"))
    server.kubectl("apply", "-n", ns, "--prune", "-l", "app=x", "-f", str(manifests), version=version)
    (manifests / "gone.yaml").unlink()
    out = server.kubectl("apply", "-n", ns, "--prune", "-l", "app=x", "-f", str(manifests),
                         version=version)
    assert "configmap/gone pruned" in out.stdout, out.stdout + out.stderr
    names = server.kubectl("get", "configmaps", "-n", ns, "-l", "app=x", "-o", "name").stdout.split()
    assert names == ["configmap/keep"]


def test_create_ingress_and_get_its_columns(server: Server) -> None:
    server.kubectl("create", "namespace", "ing")
    server.kubectl("create", "ingress", "web", "-n", "ing", "--rule=foo.example.com/=web:80")
    lines = server.kubectl("get", "ingress", "-n", "ing").stdout.splitlines()
    assert lines[0].split() == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert lines[1].split()[:3] == ["web", "kubelite", "foo.example.com"]  # the built-in default class
    ing = json.loads(server.kubectl("get", "ing", "web", "-n", "ing", "-o", "json").stdout)
    assert ing["spec"]["rules"][0]["http"]["paths"][0] == {
        "path": "/", "pathType": "Exact",
        "backend": {"service": {"name": "web", "port": {"number": 80}}}}
    assert ing["spec"]["ingressClassName"] == "kubelite"


def test_default_ingress_class_is_given_to_a_new_ingress(server: Server) -> None:
    server.kubectl("create", "namespace", "ing-default")
    server.kubectl("apply", "-f", "-", input=(
        "apiVersion: networking.k8s.io/v1\nkind: IngressClass\nmetadata:\n  name: lite\n"
        "  annotations: {ingressclass.kubernetes.io/is-default-class: 'true'}\n"
        "spec: {controller: example.com/lite}\n"))
    try:
        server.kubectl("create", "ingress", "web", "-n", "ing-default", "--rule=bar.example.com/*=web:http")
        lines = server.kubectl("get", "ingress", "web", "-n", "ing-default").stdout.splitlines()
        assert lines[1].split()[:3] == ["web", "lite", "bar.example.com"]
        classes = server.kubectl("get", "ingressclass").stdout.splitlines()
        assert classes[0].split() == ["NAME", "CONTROLLER", "PARAMETERS", "AGE"]
        rows = [line.split()[:3] for line in classes[1:]]
        assert ["lite", "example.com/lite", "<none>"] in rows
        assert ["kubelite", "kubelite.io/ingress-controller", "<none>"] in rows  # built in
        bad = server.kubectl("create", "ingress", "bad", "-n", "ing-default",
                             "--rule=10.0.0.1/=web:80", check=False)
        assert bad.returncode != 0
        assert "must be a DNS name, not an IP address" in bad.stderr
    finally:
        server.kubectl("delete", "ingressclass", "lite")
