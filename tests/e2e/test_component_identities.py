"""The controller-manager child runs with least privilege by default, as kubeadm's control plane: each
controller acts as its service account in kube-system (`--use-service-account-credentials`),
the scheduler as system:kube-scheduler, and neither is an admin. The audit log says who
wrote what."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.e2e.test_audit_log import events
from tests.helpers.cluster import start_server

POLICY = """
apiVersion: audit.k8s.io/v1
kind: Policy
rules:
- level: Metadata
  omitStages: [RequestReceived]
  verbs: [create, update, patch, delete]
"""


def by(user: str, verb: str, resource: str, subresource: str = "") -> Any:
    def match(e: dict[str, Any]) -> bool:
        ref = e.get("objectRef") or {}
        return (e["user"]["username"] == user and e["verb"] == verb and ref.get("resource") == resource
                and ref.get("subresource", "") == subresource and e["stage"] == "ResponseComplete")
    return match


def test_controllers_and_scheduler_act_as_their_own_least_privilege_identities(tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text(POLICY)
    log = tmp_path / "audit.log"
    server = start_server(tmp_path / "data", "--audit-policy-file", str(policy),
                          "--audit-log-path", str(log))
    try:
        server.kubectl("create", "deployment", "web", "--image=busybox:1.36")
        sa = "system:serviceaccount:kube-system:"
        [made] = events(log, 1, by(sa + "deployment-controller", "create", "replicasets"), timeout=60)
        assert made["responseStatus"]["code"] == 201
        pods = events(log, 1, by(sa + "replicaset-controller", "create", "pods"), timeout=60)
        assert pods[0]["responseStatus"]["code"] == 201
        # no node: the scheduler reports it, with its own identity
        scheduler = events(log, 1, lambda e: e["user"]["username"] == "system:kube-scheduler"
                           and e["verb"] in ("create", "patch") and (e.get("objectRef") or {}).get(
                               "resource") == "events", timeout=60)
        assert scheduler[0]["responseStatus"]["code"] in (200, 201)
        # the controller-manager made the accounts and asked their tokens as itself
        tokens = events(log, 1, by("system:kube-controller-manager", "create", "serviceaccounts", "token"))
        assert tokens[0]["responseStatus"]["code"] == 201
        # least privilege: a controller may not read Secrets, the scheduler may not create pods
        for user, verb, what in ((sa + "deployment-controller", "list", "secrets"),
                                 ("system:kube-scheduler", "create", "pods"),
                                 ("system:kube-controller-manager", "delete", "nodes")):
            answer = server.kubectl("auth", "can-i", verb, what, "--as", user, check=False)
            assert answer.stdout.strip() == "no", (user, verb, what)
        assert server.kubectl("auth", "can-i", "create", "pods", "--subresource", "binding",
                              "--as", "system:kube-scheduler").stdout.strip() == "yes"
        forbidden = [e for e in events(log, 0, lambda e: True)
                     if e["user"]["username"].startswith((sa, "system:kube-"))
                     and e.get("responseStatus", {}).get("code") == 403]
        assert not forbidden, [(e["user"]["username"], e["verb"], e.get("objectRef")) for e in forbidden]
    finally:
        server.stop()
