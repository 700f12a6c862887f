"""Audit: the Policy's rule matching, the request attributes read from paths, and the writer's
rotation."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from kubelite.apiserver.audit import attributes_of
from kubelite.apiserver.audit.policy import parse
from kubelite.apiserver.audit.writer import AuditWriter
from kubelite.apiserver.authz import Attributes

POLICY = yaml.safe_load("""
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-proxy"]
- level: None
  nonResourceURLs: ["/healthz*", "/version"]
- level: RequestResponse
  resources: [{group: "", resources: ["secrets"]}]
  namespaces: [kube-system]
- level: Request
  resources: [{group: "apps", resources: ["*/scale"]}]
- level: Metadata
  resources: [{group: "", resources: ["pods/*"], resourceNames: [web]}]
  omitStages: [ResponseStarted]
- level: Metadata
  userGroups: [dev]
""")


def attrs(method: str, path: str, user: str = "alice", groups: tuple[str, ...] = (), **query: str) -> Attributes:
    return attributes_of(method, path, query, user, groups)


def test_request_attributes_follow_kubernetes_request_info() -> None:
    a = attrs("GET", "/api/v1/namespaces/ns/pods/web/log")
    assert (a.verb, a.resource, a.subresource, a.namespace, a.name) == ("get", "pods", "log", "ns", "web")
    assert attrs("GET", "/apis/apps/v1/deployments", watch="true").verb == "watch"
    assert attrs("GET", "/api/v1/namespaces/ns/secrets").verb == "list"
    assert attrs("DELETE", "/api/v1/namespaces/ns/secrets").verb == "deletecollection"
    ns = attrs("PUT", "/api/v1/namespaces/ns/finalize")
    assert (ns.verb, ns.resource, ns.name, ns.subresource, ns.namespace) == ("update", "namespaces", "ns", "finalize", "ns")
    healthz = attrs("GET", "/healthz")
    assert not healthz.resource_request and healthz.verb == "get"


@pytest.mark.parametrize("a, level", [
    (attrs("GET", "/api/v1/namespaces/kube-system/secrets/x", user="system:kube-proxy"), "None"),
    (attrs("GET", "/healthz/etcd"), "None"),
    (attrs("GET", "/api/v1/namespaces/kube-system/secrets/x"), "RequestResponse"),
    (attrs("GET", "/api/v1/namespaces/default/secrets/x"), "None"),
    (attrs("PUT", "/apis/apps/v1/namespaces/a/deployments/d/scale"), "Request"),
    (attrs("PUT", "/apis/apps/v1/namespaces/a/deployments/d"), "None"),
    (attrs("GET", "/api/v1/namespaces/a/pods/web/log"), "Metadata"),
    (attrs("GET", "/api/v1/namespaces/a/pods/web"), "None"),  # pods/* is subresources only
    (attrs("GET", "/api/v1/namespaces/a/pods/other/log"), "None"),
    (attrs("GET", "/version", groups=("dev",)), "None"),
    (attrs("GET", "/metrics", groups=("dev",)), "Metadata"),
])
def test_the_first_matching_rule_decides(a: Attributes, level: str) -> None:
    assert parse(POLICY).decide(a).level == level


def test_stages_are_omitted_by_policy_and_rule() -> None:
    decision = parse(POLICY).decide(attrs("GET", "/api/v1/namespaces/a/pods/web/log"))
    assert decision.omit_stages == {"RequestReceived", "ResponseStarted"}


@pytest.mark.parametrize("bad, message", [
    ({"rules": [{"level": "Everything"}]}, "Unsupported value"),
    ({"omitStages": ["Later"], "rules": []}, "Unsupported value"),
    ({"rules": [{"level": "None", "nonResourceURLs": ["/x"], "resources": [{"group": ""}]}]}, "cannot apply to both"),
])
def test_bad_policies_are_refused(bad: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", **bad})


def test_the_writer_rotates_and_keeps_max_backups(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    writer = AuditWriter(str(path), max_size_mb=1, max_backups=2)
    writer.start()
    big = "x" * 200_000
    for i in range(20):  # ~4 MB: several rotations
        writer.write({"n": i, "pad": big})
        time.sleep(0.005)
    writer.close()
    backups = sorted(tmp_path.glob("audit-*.log"))
    assert len(backups) == 2
    lines = [json.loads(line) for f in [*backups, path] for line in f.read_text().splitlines()]
    assert [e["n"] for e in lines] == list(range(20 - len(lines), 20))  # newest kept, in order
    assert all(p.stat().st_size <= 1024 * 1024 for p in [*backups, path])
