"""Namespaces, finalizers, dry runs, paging, imperative creates and the operational endpoints."""

from __future__ import annotations

import json
import ssl
import urllib.request

import pytest

from tests.helpers.cluster import Server
from tests.helpers.wait import until


def api(server: Server, method: str, path: str, body: object | None = None, content_type: str = "application/json", auth: bool = True) -> tuple[int, bytes]:
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
    headers = {"Content-Type": content_type}
    if auth:
        headers["Authorization"] = f"Bearer {server.token()}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_deleting_a_namespace_deletes_its_content_then_itself(server: Server) -> None:
    server.kubectl("create", "namespace", "doomed")
    server.kubectl("create", "configmap", "c1", "-n", "doomed", "--from-literal=a=b")
    server.kubectl("run", "p1", "-n", "doomed", "--image=busybox")
    server.kubectl("delete", "namespace", "doomed", "--wait=false")
    phase = server.kubectl("get", "ns", "doomed", "-o", "jsonpath={.status.phase}", check=False).stdout
    assert phase in ("Terminating", "")
    refused = server.kubectl("create", "configmap", "late", "-n", "doomed", "--from-literal=a=b", check=False)
    assert refused.returncode != 0
    until(lambda: server.kubectl("get", "ns", "doomed", check=False).returncode != 0)
    # recreating it gives an empty namespace
    server.kubectl("create", "namespace", "doomed")
    left = server.kubectl("get", "cm", "-n", "doomed", "-o", "name").stdout.split()
    assert set(left) <= {"configmap/kube-root-ca.crt"}  # republished in every namespace


def test_system_namespaces_cannot_be_deleted(server: Server) -> None:
    result = server.kubectl("delete", "namespace", "kube-system", check=False)
    assert "Forbidden" in result.stderr and "may not be deleted" in result.stderr


def test_finalizers_hold_deletion_until_removed(server: Server) -> None:
    manifest = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    server.kubectl("apply", "-f", "-", input=json.dumps(manifest))
    server.kubectl("delete", "cm", "held", "--wait=false")
    got = json.loads(server.kubectl("get", "cm", "held", "-o", "json").stdout)
    assert got["metadata"]["deletionTimestamp"]
    server.kubectl("patch", "cm", "held", "--type=merge", "-p", '{"metadata":{"finalizers":null}}')
    assert server.kubectl("get", "cm", "held", check=False).returncode != 0


def test_delete_preconditions(server: Server) -> None:
    server.kubectl("create", "configmap", "pre", "--from-literal=a=b")
    code, body = api(server, "DELETE", "/api/v1/namespaces/default/configmaps/pre", {"preconditions": {"uid": "not-the-uid"}})
    assert code == 409 and b"Precondition failed" in body
    code, body = api(server, "DELETE", "/api/v1/namespaces/default/configmaps/pre", {"propagationPolicy": "Background"})
    assert code == 200 and json.loads(body)["status"] == "Success"


def test_server_dry_run_writes_nothing(server: Server) -> None:
    out = server.kubectl("create", "configmap", "dry", "--from-literal=a=b", "--dry-run=server", "-o", "json")
    assert json.loads(out.stdout)["data"] == {"a": "b"}
    assert server.kubectl("get", "cm", "dry", check=False).returncode != 0
    server.kubectl("create", "configmap", "dry2", "--from-literal=a=b")
    server.kubectl("label", "cm", "dry2", "x=y", "--dry-run=server")
    labels = server.kubectl("get", "cm", "dry2", "-o", "jsonpath={.metadata.labels}").stdout
    assert "x" not in labels
    server.kubectl("delete", "cm", "dry2", "--dry-run=server")
    assert server.kubectl("get", "cm", "dry2", check=False).returncode == 0


def test_list_paging_with_limit_and_continue(server: Server) -> None:
    server.kubectl("create", "namespace", "paging")
    for i in range(7):
        server.kubectl("create", "configmap", f"pg-{i}", "-n", "paging", "--from-literal=a=b")
    code, body = api(server, "GET", "/api/v1/namespaces/paging/configmaps?limit=3")
    page = json.loads(body)
    names = [i["metadata"]["name"] for i in page["items"]]
    assert len(names) == 3 and page["metadata"]["continue"]
    while page["metadata"].get("continue"):
        code, body = api(server, "GET", f"/api/v1/namespaces/paging/configmaps?limit=3&continue={page['metadata']['continue']}")
        page = json.loads(body)
        names += [i["metadata"]["name"] for i in page["items"]]
    # kube-root-ca.crt is in every namespace, as in Kubernetes
    assert [n for n in names if n != "kube-root-ca.crt"] == [f"pg-{i}" for i in range(7)]
    # resourceVersion=0 (an informer's first LIST) comes whole from the watch cache, the limit
    # ignored, as kube-apiserver answers it
    code, body = api(server, "GET", "/api/v1/namespaces/paging/configmaps?limit=3&resourceVersion=0")
    whole = json.loads(body)
    assert code == 200 and "continue" not in whole["metadata"]
    assert [i["metadata"]["name"] for i in whole["items"]] == names
    chunked = server.kubectl("get", "cm", "-n", "paging", "--chunk-size=2", "-o", "name").stdout.split()
    assert len([n for n in chunked if n != "configmap/kube-root-ca.crt"]) == 7


@pytest.mark.parametrize("what", [
    ("secret", ["create", "secret", "generic", "s1", "--from-literal=k=v"], ["get", "secret", "s1", "-o", "jsonpath={.data.k}"], "dg=="),
    ("deployment", ["create", "deployment", "d1", "--image=busybox"], ["get", "deploy", "d1", "-o", "jsonpath={.spec.template.spec.containers[0].image}"], "busybox"),
    ("service", ["create", "service", "clusterip", "s1", "--tcp=80:8080"], ["get", "svc", "s1", "-o", "jsonpath={.spec.ports[0].targetPort}"], "8080"),
])
def test_imperative_creates_on_1_33(server: Server, what) -> None:
    _, create, get, expected = what
    server.kubectl(*create, version="1.33")
    assert server.kubectl(*get).stdout == expected


def test_auth_can_i(server: Server) -> None:
    out = server.kubectl("auth", "can-i", "create", "pods", version="1.33")
    assert out.stdout.strip() == "yes"


def test_health_metrics_and_kubeconfig(server: Server) -> None:
    for path in ("/livez", "/readyz", "/healthz"):
        code, body = api(server, "GET", path, auth=False)
        assert code == 200 and body == b"ok"
    code, body = api(server, "GET", "/metrics")
    text = body.decode()
    assert code == 200
    assert 'apiserver_request_total{verb="LIST",resource="pods"' in text or "apiserver_request_total" in text
    assert "apiserver_request_duration_seconds_bucket" in text
    assert 'apiserver_storage_duration_seconds_count{operation="create"}' in text
    assert "apiserver_registered_watchers " in text
    code, _ = api(server, "GET", "/metrics", auth=False)
    assert code == 401


def test_events_carry_the_uid_and_show_in_describe(server: Server) -> None:
    server.kubectl("run", "unplaceable", "--image=busybox")
    uid = server.kubectl("get", "pod", "unplaceable", "-o", "jsonpath={.metadata.uid}").stdout
    until(lambda: "FailedScheduling" in server.kubectl("describe", "pod", "unplaceable").stdout)
    events = json.loads(server.kubectl("get", "events", "--field-selector", f"involvedObject.uid={uid}", "-o", "json").stdout)
    assert events["items"] and all(e["involvedObject"]["uid"] == uid for e in events["items"])
