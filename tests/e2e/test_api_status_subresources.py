"""Writes to /status run the kind's status validation (its status strategy), over HTTP: PUT,
PATCH and server-side apply all get Kubernetes' 422 with its causes, and good writes pass."""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from typing import Any

from tests.helpers.cluster import Server

PODS = "/api/v1/namespaces/default/pods"
MERGE = "application/merge-patch+json"
APPLY = "application/apply-patch+yaml"


def request(server: Server, method: str, path: str, body: Any = None,
            content_type: str = "application/json") -> tuple[int, dict[str, Any]]:
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {server.token()}"}
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def make_pod(server: Server, name: str) -> dict[str, Any]:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
           "spec": {"restartPolicy": "Never", "nodeName": "nowhere",
                    "containers": [{"name": "c", "image": "busybox"}]}}
    code, created = request(server, "POST", PODS, pod)
    assert code == 201, created
    return created


def container_status(state: dict[str, Any]) -> dict[str, Any]:
    return {"name": "c", "image": "busybox", "imageID": "", "ready": False, "restartCount": 0,
            "state": state}


def causes(status: dict[str, Any]) -> list[tuple[str, str]]:
    return [(c["reason"], c["field"]) for c in status["details"]["causes"]]


def test_bad_pod_status_put_is_invalid_with_kubernetes_causes(server: Server) -> None:
    pod = make_pod(server, "status-put")
    bad = dict(pod, status={**pod["status"], "podIP": "not-an-ip", "qosClass": "Guaranteed"})
    code, status = request(server, "PUT", f"{PODS}/status-put/status", bad)
    assert code == 422, status
    assert status["reason"] == "Invalid"
    assert causes(status) == [("FieldValueInvalid", "status.qosClass"),
                              ("FieldValueInvalid", "status.podIPs[0]")]
    assert status["message"] == (
        'Pod "status-put" is invalid: [status.qosClass: Invalid value: "Guaranteed": field is '
        'immutable, status.podIPs[0]: Invalid value: "not-an-ip": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)]")
    code, stored = request(server, "GET", f"{PODS}/status-put")
    assert stored["status"] == pod["status"]  # nothing of the refused write was kept


def test_status_patch_and_apply_are_validated_too(server: Server) -> None:
    make_pod(server, "status-patch")
    done = {"status": {"phase": "Failed", "podIP": "10.1.2.3",
                       "containerStatuses": [container_status({"terminated": {"exitCode": 1}})]}}
    code, written = request(server, "PATCH", f"{PODS}/status-patch/status", done, MERGE)
    assert code == 200, written  # a good status write, as the kubelet makes, still goes through
    assert written["status"]["podIP"] == "10.1.2.3"
    again = {"status": {"containerStatuses": [container_status({"running": {}})]}}
    code, status = request(server, "PATCH", f"{PODS}/status-patch/status", again, MERGE)
    assert code == 422, status
    assert causes(status) == [("FieldValueForbidden", "status.containerStatuses[0].state")]
    assert "may not be transitioned to non-terminated state" in status["message"]
    applied = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "status-patch"},
               "status": {"qosClass": "Guaranteed"}}
    code, status = request(server, "PATCH",
                           f"{PODS}/status-patch/status?fieldManager=test&force=true", applied, APPLY)
    assert code == 422, status
    assert causes(status) == [("FieldValueInvalid", "status.qosClass")]
    applied["status"] = {"conditions": [{"type": "example.com/Checked", "status": "True"}]}
    code, written = request(server, "PATCH",
                            f"{PODS}/status-patch/status?fieldManager=test&force=true", applied, APPLY)
    assert code == 200, written
    # as Go writes a PodCondition: unset times are null
    assert {"type": "example.com/Checked", "status": "True", "lastProbeTime": None,
            "lastTransitionTime": None} in written["status"]["conditions"]
    entry = next(m for m in written["metadata"]["managedFields"] if m["manager"] == "test")
    assert (entry["operation"], entry.get("subresource")) == ("Apply", "status")
    assert list(entry["fieldsV1"]) == ["f:status"]


def test_other_kinds_status_validation(server: Server) -> None:
    code, ns = request(server, "GET", "/api/v1/namespaces/default")
    code, status = request(server, "PATCH", "/api/v1/namespaces/default/status",
                           {"status": {"phase": "Terminating"}}, MERGE)
    assert code == 422, status
    assert causes(status) == [("FieldValueInvalid", "status.Phase")]
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "counts"},
                  "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "counts"}},
                           "template": {"metadata": {"labels": {"app": "counts"}},
                                        "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}
    code, created = request(server, "POST", "/apis/apps/v1/namespaces/default/deployments", deployment)
    assert code == 201, created
    code, status = request(server, "PATCH", "/apis/apps/v1/namespaces/default/deployments/counts/status",
                           {"status": {"replicas": 1, "readyReplicas": 2}}, MERGE)
    assert code == 422, status
    assert causes(status) == [("FieldValueInvalid", "status.readyReplicas")]
