"""RBAC through real kubectl (1.27, 1.32, 1.33) and the Python client: a user of group `dev`
bound to `edit` in one namespace deploys there and is refused elsewhere; `kubectl auth can-i`
(with `--list` and `--as`) agrees with what the server enforces; impersonation needs the
`impersonate` verb; binding cluster-admin without holding it is refused; a chart's
ServiceAccount + ClusterRole + ClusterRoleBinding applies and grants what it says."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client, config

from tests.helpers.cluster import Server
from tests.helpers.wait import until

VERSIONS = pytest.mark.parametrize("version", ["1.27", "1.32", "1.33"])

# The shape of metrics-server's components.yaml RBAC (v0.7), trimmed to what it grants.
CHART = """
apiVersion: v1
kind: ServiceAccount
metadata:
  name: metrics-server
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  labels:
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-view: "true"
  name: system:aggregated-metrics-reader
rules:
- apiGroups: [metrics.k8s.io]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:metrics-server
rules:
- apiGroups: [""]
  resources: [nodes/metrics]
  verbs: [get]
- apiGroups: [""]
  resources: [pods, nodes]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: metrics-server-auth-reader
  namespace: kube-system
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: extension-apiserver-authentication-reader
subjects:
- kind: ServiceAccount
  name: metrics-server
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: metrics-server:system:auth-delegator
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:auth-delegator
subjects:
- kind: ServiceAccount
  name: metrics-server
  namespace: kube-system
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: system:metrics-server
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: system:metrics-server
subjects:
- kind: ServiceAccount
  name: metrics-server
  namespace: kube-system
"""


def mint(server: Server, tmp_path: Path, user: str, *groups: str) -> Path:
    flags = [arg for g in groups for arg in ("--group", g)]
    out = subprocess.run(
        [sys.executable, "-m", "kubelite.cli.main", "kubeconfig", "--data-dir", str(server.data_dir),
         "--user", user, *flags], capture_output=True, text=True, check=True).stdout
    path = tmp_path / f"{user}.kubeconfig"
    path.write_text(out)
    return path


@pytest.fixture(scope="module")
def dev(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """carol, of group dev, bound to `edit` in namespace dev-team only."""
    for ns in ("dev-team", "prod"):
        server.kubectl("create", "namespace", ns)
    server.kubectl("create", "rolebinding", "dev-edit", "-n", "dev-team", "--clusterrole=edit", "--group=dev")
    kubeconfig = mint(server, tmp_path_factory.mktemp("dev"), "carol", "dev")
    until(lambda: server.kubectl("auth", "can-i", "create", "deployments", "-n", "dev-team",
                                 f"--kubeconfig={kubeconfig}", check=False).stdout.strip() == "yes",
          30, "edit aggregated and bound")
    return kubeconfig


@VERSIONS
def test_an_editor_deploys_in_their_namespace_only(server: Server, dev: Path, version: str) -> None:
    as_carol = f"--kubeconfig={dev}"
    name = f"web-{version.replace('.', '')}"
    server.kubectl("create", "deployment", name, "--image=busybox", "-n", "dev-team", as_carol, version=version)
    server.kubectl("get", "deployment", name, "-n", "dev-team", as_carol, version=version)
    refused = server.kubectl("create", "deployment", name, "--image=busybox", "-n", "prod", as_carol,
                             version=version, check=False)
    assert refused.returncode != 0
    assert ('deployments.apps is forbidden: User "carol" cannot create resource "deployments" in API group '
            '"apps" in the namespace "prod"') in refused.stderr
    # edit does not read RBAC objects nor nodes
    for args in (("get", "roles", "-n", "dev-team"), ("get", "nodes")):
        assert server.kubectl(*args, as_carol, version=version, check=False).returncode != 0


@VERSIONS
def test_can_i_agrees_with_enforcement(server: Server, dev: Path, version: str) -> None:
    def can_i(*args: str) -> str:
        return server.kubectl("auth", "can-i", *args, version=version, check=False).stdout.strip()

    as_carol = f"--kubeconfig={dev}"
    assert can_i("create", "deployments", "-n", "dev-team", as_carol) == "yes"
    assert can_i("create", "deployments", "-n", "prod", as_carol) == "no"
    assert can_i("list", "secrets", "-n", "dev-team", as_carol) == "yes"
    assert can_i("delete", "nodes", as_carol) == "no"
    assert can_i("*", "*") == "yes"  # the admin (system:masters)
    # --as: the admin asks for carol (impersonation, then the review as carol)
    assert can_i("create", "deployments", "-n", "prod", "--as=carol", "--as-group=dev") == "no"
    assert can_i("create", "deployments", "-n", "dev-team", "--as=carol", "--as-group=dev") == "yes"
    listed = server.kubectl("auth", "can-i", "--list", "-n", "dev-team", as_carol, version=version).stdout
    rows = {line.split()[0]: line for line in listed.splitlines()[1:] if line.strip()}
    assert "deployments.apps" in rows and "create" in rows["deployments.apps"]
    assert "selfsubjectaccessreviews.authorization.k8s.io" in rows
    elsewhere = server.kubectl("auth", "can-i", "--list", "-n", "prod", as_carol, version=version).stdout
    assert "deployments.apps" not in elsewhere


def test_impersonation_needs_the_impersonate_verb(server: Server, dev: Path) -> None:
    refused = server.kubectl("get", "pods", "-n", "dev-team", f"--kubeconfig={dev}", "--as=admin", check=False)
    assert refused.returncode != 0
    assert 'users "admin" is forbidden: User "carol" cannot impersonate resource "users" in API group "" ' \
           "at the cluster scope" in refused.stderr
    who = server.kubectl("auth", "whoami", "--as=dave", "--as-group=dev", "-o", "jsonpath={.status.userInfo}").stdout
    assert '"username":"dave"' in who and '"groups":["dev","system:authenticated"]' in who


def test_binding_cluster_admin_without_holding_it_is_refused(server: Server, dev: Path) -> None:
    server.kubectl("create", "rolebinding", "dev-admin", "-n", "dev-team", "--clusterrole=admin", "--group=dev")
    as_carol = f"--kubeconfig={dev}"
    until(lambda: server.kubectl("auth", "can-i", "create", "rolebindings", "-n", "dev-team", as_carol,
                                 check=False).stdout.strip() == "yes", 30, "admin aggregated")
    refused = server.kubectl("create", "rolebinding", "grab", "-n", "dev-team", "--clusterrole=cluster-admin",
                             "--user=carol", as_carol, check=False)
    assert refused.returncode != 0
    assert 'rolebindings.rbac.authorization.k8s.io "grab" is forbidden: user "carol" (groups=["dev" ' \
           '"system:authenticated"]) is attempting to grant RBAC permissions not currently held:' in refused.stderr
    # what carol holds she may hand on
    server.kubectl("create", "rolebinding", "share", "-n", "dev-team", "--clusterrole=view", "--user=erin", as_carol)
    role = server.kubectl("create", "role", "all", "-n", "dev-team", "--verb=*", "--resource=*", as_carol, check=False)
    assert role.returncode != 0 and "is attempting to grant RBAC permissions not currently held" in role.stderr
    server.kubectl("delete", "rolebinding", "dev-admin", "-n", "dev-team")


def test_a_charts_rbac_applies_and_grants_what_it_says(server: Server) -> None:
    server.kubectl("create", "role", "extension-apiserver-authentication-reader", "-n", "kube-system",
                   "--verb=get,list,watch", "--resource=configmaps", "--resource-name=extension-apiserver-authentication")
    server.kubectl("apply", "-f", "-", input=CHART)
    sa = "--as=system:serviceaccount:kube-system:metrics-server"
    assert until(lambda: server.kubectl("auth", "can-i", "list", "nodes", sa, check=False).stdout.strip() == "yes",
                 30, "the chart's binding in force")
    assert server.kubectl("auth", "can-i", "create", "tokenreviews.authentication.k8s.io", sa,
                          check=False).stdout.strip() == "yes"
    assert server.kubectl("auth", "can-i", "list", "secrets", sa, check=False).stdout.strip() == "no"
    # the aggregate-to-view label puts the chart's rule into view
    view = until(lambda: "metrics.k8s.io" in server.kubectl("get", "clusterrole", "view", "-o", "yaml").stdout,
                 30, "view aggregates the chart's ClusterRole")
    assert view
    table = server.kubectl("get", "clusterrolebinding", "system:metrics-server", "-o", "wide").stdout
    assert "ClusterRole/system:metrics-server" in table and "kube-system/metrics-server" in table


def test_the_python_client_sees_403_and_reviews(server: Server, dev: Path) -> None:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(dev), client_configuration=cfg)
    api = client.ApiClient(cfg)
    with pytest.raises(client.ApiException) as refused:
        client.CoreV1Api(api).list_namespaced_secret("prod")
    assert refused.value.status == 403
    status = json.loads(refused.value.body)
    assert status["reason"] == "Forbidden"
    assert status["message"] == ('secrets is forbidden: User "carol" cannot list resource "secrets" in API group "" '
                                 'in the namespace "prod"')
    names = [d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment("dev-team").items]
    assert "web-133" in names
    rules = client.AuthorizationV1Api(api).create_self_subject_rules_review(
        client.V1SelfSubjectRulesReview(spec=client.V1SelfSubjectRulesReviewSpec(namespace="dev-team")))
    assert any("deployments" in (r.resources or []) for r in rules.status.resource_rules)
    admin = client.ApiClient(config.new_client_from_config(config_file=str(server.kubeconfig)).configuration)
    review = client.AuthorizationV1Api(admin).create_subject_access_review(client.V1SubjectAccessReview(
        spec=client.V1SubjectAccessReviewSpec(user="carol", groups=["dev"], resource_attributes=client.V1ResourceAttributes(
            namespace="dev-team", verb="create", group="apps", resource="deployments"))))
    assert review.status.allowed
    assert 'RoleBinding "dev-edit" in namespace "dev-team" of ClusterRole "edit" to Group "dev"' in review.status.reason
