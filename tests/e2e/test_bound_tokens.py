"""A token bound to a pod (`kubectl create token --bound-object-kind Pod`) authenticates while
the pod lives and gets 401 Unauthorized once it is deleted, as with Kubernetes'
BoundServiceAccountTokens; a token bound to nothing keeps working."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers.cluster import Server, start_server

POD = """
apiVersion: v1
kind: Pod
metadata: {name: holder}
spec:
  nodeName: nowhere
  terminationGracePeriodSeconds: 0
  containers: [{name: c, image: busybox:1.36}]
"""


def whoami(server: Server, token: str) -> int:
    ctx = ssl.create_default_context(cafile=str(server.data_dir / "tls" / "ca.crt"))
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}).encode()
    req = urllib.request.Request(server.url + "/apis/authentication.k8s.io/v1/selfsubjectreviews", data=body,
                                 method="POST", headers={"Authorization": f"Bearer {token}",
                                                         "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_a_token_of_a_deleted_pod_gets_401(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        server.kubectl("apply", "-f", "-", input=POD)
        deadline = time.monotonic() + 30  # the serviceaccount controller makes `default`
        while server.kubectl("get", "serviceaccount", "default", check=False).returncode:
            assert time.monotonic() < deadline, "no default service account"
            time.sleep(0.2)
        bound = server.kubectl("create", "token", "default", "--bound-object-kind", "Pod",
                               "--bound-object-name", "holder").stdout.strip()
        free = server.kubectl("create", "token", "default").stdout.strip()
        assert whoami(server, bound) == 201 and whoami(server, free) == 201
        server.kubectl("delete", "pod", "holder", "--grace-period=0", "--force")
        deadline = time.monotonic() + 20
        while whoami(server, bound) != 401:
            assert time.monotonic() < deadline, "the deleted pod's token still authenticates"
            time.sleep(0.2)
        assert whoami(server, free) == 201
    finally:
        server.stop()


LEGACY = """
apiVersion: v1
kind: Secret
metadata:
  name: build-robot-token
  annotations: {kubernetes.io/service-account.name: default}
type: kubernetes.io/service-account-token
"""


def test_a_service_account_token_secret_is_filled_and_dies_with_its_secret(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data")
    try:
        deadline = time.monotonic() + 30
        while server.kubectl("get", "serviceaccount", "default", check=False).returncode:
            assert time.monotonic() < deadline, "no default service account"
            time.sleep(0.2)
        server.kubectl("apply", "-f", "-", input=LEGACY)
        token = ""
        deadline = time.monotonic() + 30
        while not token:
            assert time.monotonic() < deadline, "the token controller did not fill the Secret"
            secret = json.loads(server.kubectl("get", "secret", "build-robot-token", "-o", "json").stdout)
            token = (secret.get("data") or {}).get("token", "")
            time.sleep(0.2)
        assert {"ca.crt", "namespace"} <= set(secret["data"])
        assert secret["metadata"]["annotations"]["kubernetes.io/service-account.uid"]
        plain = base64.b64decode(token).decode()
        assert whoami(server, plain) == 201
        server.kubectl("delete", "secret", "build-robot-token")
        deadline = time.monotonic() + 20
        while whoami(server, plain) != 401:
            assert time.monotonic() < deadline, "the deleted Secret's token still authenticates"
            time.sleep(0.2)
    finally:
        server.stop()
