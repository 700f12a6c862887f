"""`kubelite server --audit-policy-file --audit-log-path`: kubectl's requests appear in the
audit log as Kubernetes' audit.k8s.io/v1 Events, at the level the policy gives them."""

from __future__ import annotations

import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from tests.helpers.cluster import start_server

POLICY = """
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: None
  nonResourceURLs: ["/healthz*", "/readyz*", "/livez*"]
- level: None
  userGroups: ["system:nodes"]
- level: RequestResponse
  resources: [{group: "", resources: ["configmaps"]}]
- level: Metadata
  omitStages: [RequestReceived]
  resources: [{group: "", resources: ["secrets"]}]
- level: Metadata
"""


def events(path: Path, want: int, match: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
    """The logged events `match` accepts, once there are at least `want` of them."""
    deadline = time.monotonic() + timeout
    found: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        found = [e for e in map(json.loads, lines) if match(e)]
        if len(found) >= want:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{len(found)} of {want} events logged: {found}")


def test_kubectl_requests_are_audited_by_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    log = tmp_path / "audit" / "audit.log"
    server = start_server(tmp_path / "data", "--audit-policy-file", str(policy), "--audit-log-path", str(log))
    try:
        server.kubectl("create", "configmap", "audited", "--from-literal=k=v")
        server.kubectl("create", "secret", "generic", "quiet", "--from-literal=k=v")
        server.kubectl("get", "--raw", "/api/v1/namespaces/default/configmaps?watch=true&timeoutSeconds=1")
        ctx = ssl.create_default_context(cafile=str(tmp_path / "data" / "tls" / "ca.crt"))
        try:
            urllib.request.urlopen(server.url + "/api/v1/namespaces", context=ctx, timeout=5)
        except urllib.error.HTTPError as e:
            assert e.code == 401 and e.headers["Audit-Id"]

        created = events(log, 2, lambda e: e.get("verb") == "create"
                         and e.get("objectRef", {}).get("resource") == "configmaps"
                         and e["userAgent"].startswith("kubectl"))
        received, complete = created
        assert received["auditID"] == complete["auditID"]
        assert [received["stage"], complete["stage"]] == ["RequestReceived", "ResponseComplete"]
        assert complete["apiVersion"] == "audit.k8s.io/v1" and complete["kind"] == "Event"
        assert complete["level"] == "RequestResponse"
        assert complete["user"]["username"] == "kubelite-admin"
        assert "system:masters" in complete["user"]["groups"]
        assert complete["objectRef"] == {"resource": "configmaps", "namespace": "default", "apiVersion": "v1"}
        assert complete["responseStatus"]["code"] == 201
        assert complete["requestObject"]["data"] == {"k": "v"}
        assert complete["responseObject"]["metadata"]["name"] == "audited"
        assert complete["userAgent"].startswith("kubectl")
        assert complete["sourceIPs"] == ["127.0.0.1"]
        assert complete["requestReceivedTimestamp"] <= complete["stageTimestamp"]

        secret, = events(log, 1, lambda e: e.get("objectRef", {}).get("resource") == "secrets"
                         and e["userAgent"].startswith("kubectl"))
        assert secret["stage"] == "ResponseComplete" and secret["level"] == "Metadata"
        assert "requestObject" not in secret and "responseObject" not in secret

        watch = events(log, 3, lambda e: e.get("verb") == "watch" and e["userAgent"].startswith("kubectl"))
        assert [e["stage"] for e in watch] == ["RequestReceived", "ResponseStarted", "ResponseComplete"]
        assert "responseObject" not in watch[2]

        refused = events(log, 1, lambda e: e.get("responseStatus", {}).get("code") == 401)
        assert refused[-1]["user"] == {} and refused[-1]["responseStatus"]["reason"] == "Unauthorized"
        assert not events(log, 0, lambda e: e["requestURI"].startswith("/readyz"))
    finally:
        server.stop()
