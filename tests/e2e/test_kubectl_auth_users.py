"""Users as kind, k3s and kubeadm hand them out: the admin kubeconfig carries a client
certificate, `kubelite kubeconfig --user NAME --group G` mints one for someone else, and
kubectl (1.27, 1.32, 1.33) and the official Python client work with both; `kubectl auth
whoami` names them. TokenReview tells who a bearer token is (a service account token from
`kubectl create token`), and both reviews are in discovery, create-only, as kube-apiserver
serves them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from tests.helpers.cluster import Server
from tests.helpers.raw_api import raw_session
from tests.helpers.wait import until

VERSIONS = pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])
API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def whoami(server: Server, version: str, *args: str) -> dict[str, object]:
    out = server.kubectl("auth", "whoami", "-o", "json", *args, version=version).stdout
    info: dict[str, object] = json.loads(out)["status"]["userInfo"]
    return info


def mint(server: Server, tmp_path: Path, user: str, *groups: str) -> Path:
    flags = [arg for g in groups for arg in ("--group", g)]
    out = subprocess.run(
        [sys.executable, "-m", "kubelite.cli.main", "kubeconfig", "--data-dir", str(server.data_dir),
         "--user", user, *flags, "--days", "30"], capture_output=True, text=True, check=True).stdout
    path = tmp_path / f"{user}.kubeconfig"
    path.write_text(out)
    return path


def test_admin_kubeconfig_holds_a_client_certificate_not_a_token(server: Server) -> None:
    doc = yaml.safe_load(server.kubeconfig.read_text())
    user = doc["users"][0]["user"]
    assert set(user) == {"client-certificate-data", "client-key-data"}


@VERSIONS
def test_whoami_as_the_admin_certificate_user(server: Server, version: str) -> None:
    info = whoami(server, version)
    assert info == {"username": "kubelite-admin", "groups": ["system:masters", "system:authenticated"]}


@VERSIONS
def test_a_minted_user_with_groups(server: Server, tmp_path: Path, version: str) -> None:
    kubeconfig = mint(server, tmp_path, f"alice-{version}", "dev", "qa")
    info = whoami(server, version, f"--kubeconfig={kubeconfig}")
    assert info == {"username": f"alice-{version}", "groups": ["dev", "qa", "system:authenticated"]}
    refused = server.kubectl("get", "ns", f"--kubeconfig={kubeconfig}", version=version, check=False)
    assert refused.returncode != 0
    assert (f'namespaces is forbidden: User "alice-{version}" cannot list resource "namespaces" in API '
            'group "" at the cluster scope') in refused.stderr
    server.kubectl("create", "clusterrolebinding", f"alice-{version}-view", "--clusterrole=view",
                   f"--user=alice-{version}")
    names = until(lambda: server.kubectl("get", "ns", "-o", "name", f"--kubeconfig={kubeconfig}",
                                         version=version, check=False).stdout, 30, "alice may list namespaces")
    assert "namespace/default" in names.split()


def test_a_minted_kubeconfig_works_with_the_python_client(server: Server, tmp_path: Path) -> None:
    kubeconfig = mint(server, tmp_path, "bob", "viewers")
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(kubeconfig), client_configuration=cfg)
    api = client.ApiClient(cfg)
    review = client.AuthenticationV1Api(api).create_self_subject_review(
        client.V1SelfSubjectReview(metadata=client.V1ObjectMeta()))
    assert review.status.user_info.username == "bob"
    assert review.status.user_info.groups == ["viewers", "system:authenticated"]
    server.kubectl("create", "clusterrolebinding", "viewers-view", "--clusterrole=view", "--group=viewers")
    until(lambda: client.AuthorizationV1Api(api).create_self_subject_access_review(
        client.V1SelfSubjectAccessReview(spec=client.V1SelfSubjectAccessReviewSpec(
            resource_attributes=client.V1ResourceAttributes(verb="list", resource="namespaces")))).status.allowed,
        30, "bob may list namespaces")
    names = [ns.metadata.name for ns in client.CoreV1Api(api).list_namespace().items]
    assert "default" in names


def test_token_review_of_a_service_account_token(server: Server, tmp_path: Path) -> None:
    token = until(lambda: server.kubectl("create", "token", "default", check=False).stdout.strip(),
                  30, "a token for the default service account")
    # `create --raw` answers the review as the server wrote it (`create -f` works too: kubectl
    # looks the create-only kind up among the CRDs, which are served).
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    raw = ("create", "--raw", "/apis/authentication.k8s.io/v1/tokenreviews", "-f", "-")
    status = json.loads(server.kubectl(*raw, input=json.dumps(review)).stdout)["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == "system:serviceaccount:default:default"
    assert status["user"]["groups"] == ["system:serviceaccounts", "system:serviceaccounts:default",
                                        "system:authenticated"]
    assert status["audiences"] == [API_AUDIENCE]
    # Asked for an audience the token was not issued for: not authenticated.
    review["spec"]["audiences"] = ["vault"]  # type: ignore[index]
    out = server.kubectl(*raw, input=json.dumps(review)).stdout
    assert json.loads(out)["status"] == {"user": {}, "error": "invalid bearer token"}


async def test_token_review_of_an_unknown_token_and_without_a_token(server: Server) -> None:
    path = "/apis/authentication.k8s.io/v1/tokenreviews"
    review: dict[str, Any] = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                              "spec": {"token": "nope"}}
    async with raw_session(server) as http:
        async with http.post(path, json=review) as r:
            assert r.status == 201
            assert (await r.json())["status"] == {"user": {}}
        async with http.post(path, json={**review, "spec": {}}) as r:
            body = await r.json()
            assert (r.status, body["reason"], body["message"]) == (
                400, "BadRequest", "token is required for TokenReview in authentication")
        async with http.get(path) as r:
            assert (r.status, (await r.json())["reason"]) == (405, "MethodNotAllowed")
        async with http.get("/apis/authentication.k8s.io/v1") as r:
            resources = (await r.json())["resources"]
    assert {r["name"]: (r["namespaced"], r["verbs"]) for r in resources} == {
        "tokenreviews": (False, ["create"]), "selfsubjectreviews": (False, ["create"])}


@pytest.mark.parametrize("version", ["1.27", "1.33"])
def test_reviews_are_in_discovery_create_only(server: Server, version: str) -> None:
    out = server.kubectl("api-resources", "--api-group=authentication.k8s.io", "-o", "wide",
                         version=version).stdout
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert set(rows) == {"selfsubjectreviews", "tokenreviews"}
    for row in rows.values():
        assert row[-1] == "create"
