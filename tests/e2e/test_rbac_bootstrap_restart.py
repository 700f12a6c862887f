"""The bootstrap RBAC policy is reconciled at every start: a deleted default role and binding
come back, lost rules are added back (additions kept), and a role annotated
`rbac.authorization.kubernetes.io/autoupdate: "false"` is left as its owner made it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cluster import running_server


def test_restart_restores_the_bootstrap_policy(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data) as server:
        server.kubectl("delete", "clusterrole", "system:public-info-viewer")
        server.kubectl("delete", "clusterrolebinding", "system:basic-user")
        basic = json.loads(server.kubectl("get", "clusterrole", "system:basic-user", "-o", "json").stdout)
        extra = {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"]}
        basic["rules"] = [extra]
        server.kubectl("replace", "-f", "-", input=json.dumps(basic))
        server.kubectl("annotate", "clusterrole", "system:auth-delegator",
                       "rbac.authorization.kubernetes.io/autoupdate=false", "--overwrite")
        server.kubectl("patch", "clusterrole", "system:auth-delegator", "--type=json",
                       "-p", '[{"op": "remove", "path": "/rules/1"}]')
    with running_server(data) as server:
        server.kubectl("get", "clusterrole", "system:public-info-viewer")
        binding = json.loads(server.kubectl("get", "clusterrolebinding", "system:basic-user", "-o", "json").stdout)
        assert binding["subjects"] == [{"kind": "Group", "apiGroup": "rbac.authorization.k8s.io",
                                        "name": "system:authenticated"}]
        rules = json.loads(server.kubectl("get", "clusterrole", "system:basic-user", "-o", "json").stdout)["rules"]
        assert rules[0] == extra
        assert {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
                "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]} in rules
        kept = json.loads(server.kubectl("get", "clusterrole", "system:auth-delegator", "-o", "json").stdout)
        assert len(kept["rules"]) == 1
