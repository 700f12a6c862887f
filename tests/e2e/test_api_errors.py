"""Bad input gets the Status a real API server answers, and loses nothing."""

from __future__ import annotations

import json
import ssl
import textwrap
import urllib.error
import urllib.request

from tests.helpers.cluster import Server

TYPO = textwrap.dedent(
    """
    apiVersion: v1
    kind: Pod
    metadata: {name: typo}
    spec:
      containers:
      - image: blabla:latest
        name: jose
        resouces:
          cpu: "500m"
          memory: "128Mi"
        limit:
          cpu: "1000m"
          memory: "256Mi"
    """
)


def test_typo_manifest_from_the_notes_is_refused_with_suggestions(server: Server) -> None:
    result = server.kubectl("apply", "-f", "-", input=TYPO, check=False)
    assert result.returncode != 0
    assert 'unknown field "spec.containers[0].resouces"' in result.stderr
    assert 'did you mean "resources"' in result.stderr
    assert 'unknown field "spec.containers[0].limit"' in result.stderr
    assert "limits" in result.stderr
    assert server.kubectl("get", "pod", "typo", check=False).returncode == 1


def test_duplicate_container_name_is_invalid(server: Server) -> None:
    manifest = textwrap.dedent(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: dup}
        spec:
          containers:
          - {name: c, image: busybox}
          - {name: c, image: busybox}
        """
    )
    result = server.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert result.stderr.startswith("The Pod \"dup\" is invalid: spec.containers[1].name: Duplicate value: \"c\"")


def test_bad_name_is_invalid(server: Server) -> None:
    manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: Bad_Name}\nspec:\n  containers: [{name: c, image: busybox}]\n"
    result = server.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert "metadata.name: Invalid value" in result.stderr


def test_mount_of_missing_volume_is_invalid(server: Server) -> None:
    manifest = textwrap.dedent(
        """
        apiVersion: v1
        kind: Pod
        metadata: {name: nomount}
        spec:
          containers:
          - name: c
            image: busybox
            volumeMounts: [{name: data, mountPath: /data}]
        """
    )
    result = server.kubectl("apply", "-f", "-", input=manifest, check=False)
    assert "spec.containers[0].volumeMounts[0].name: Not found" in result.stderr


def _request(server: Server, method: str, path: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict]:
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(server.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_stale_update_is_a_conflict(server: Server) -> None:
    token = server.token()
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "stale"}, "data": {"a": "1"}}
    code, created = _request(server, "POST", "/api/v1/namespaces/default/configmaps", cm, token)
    assert code == 201
    first = dict(created, data={"a": "2"})
    code, _ = _request(server, "PUT", "/api/v1/namespaces/default/configmaps/stale", first, token)
    assert code == 200
    code, status = _request(server, "PUT", "/api/v1/namespaces/default/configmaps/stale", dict(created, data={"a": "3"}), token)
    assert code == 409
    assert status["reason"] == "Conflict"
    assert "the object has been modified" in status["message"]
    code, now = _request(server, "GET", "/api/v1/namespaces/default/configmaps/stale", None, token)
    assert now["data"] == {"a": "2"}


def test_request_without_credentials_is_unauthorized(server: Server) -> None:
    code, status = _request(server, "GET", "/api/v1/namespaces/default/pods")
    assert code == 401 and status["reason"] == "Unauthorized"
    code, status = _request(server, "GET", "/api/v1/namespaces/default/pods", token="wrong")
    assert code == 401


def test_oversized_body_is_refused(server: Server) -> None:
    big = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "big"}, "data": {"a": "x" * (4 * 1024 * 1024)}}
    code, status = _request(server, "POST", "/api/v1/namespaces/default/configmaps", big, server.token())
    assert code == 413


def test_field_validation_warn_and_ignore(server: Server) -> None:
    manifest = TYPO.replace("name: typo", "name: warned").replace("blabla:latest", "busybox:1.36")
    warned = server.kubectl("apply", "--validate=warn", "-f", "-", input=manifest)
    assert 'Warning: unknown field "spec.containers[0].resouces"' in warned.stderr
    assert "pod/warned created" in warned.stdout
    ignored = server.kubectl("apply", "--validate=false", "-f", "-", input=manifest.replace("name: warned", "name: ignored"))
    assert "unknown field" not in ignored.stderr and "pod/ignored created" in ignored.stdout
