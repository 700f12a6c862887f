"""A namespace's ResourceQuota refuses the pod that would exceed it (403, the quota named), and
its LimitRange fills in missing requests: through kubectl, on a real server."""

from __future__ import annotations

import json
import time

import yaml

from tests.helpers.cluster import Server


def pod(name: str, cpu: str | None = None) -> str:
    resources = {"requests": {"cpu": cpu, "memory": "16Mi"}, "limits": {"memory": "16Mi"}} if cpu else {}
    return yaml.safe_dump({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                           "spec": {"containers": [{"name": "app", "image": "busybox",
                                                    "resources": resources}]}})


def test_quota_refuses_the_pod_that_would_exceed_it(server: Server) -> None:
    server.kubectl("create", "namespace", "quota-team")
    server.kubectl("create", "quota", "compute", "-n", "quota-team",
                   "--hard=requests.cpu=1,pods=3")
    server.kubectl("apply", "-n", "quota-team", "-f", "-", input=pod("a", "600m"))
    result = server.kubectl("apply", "-n", "quota-team", "-f", "-", input=pod("b", "500m"), check=False)
    assert result.returncode != 0
    assert 'Error from server (Forbidden)' in result.stderr
    assert ('pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, '
            "used: requests.cpu=600m, limited: requests.cpu=1") in result.stderr
    server.kubectl("apply", "-n", "quota-team", "-f", "-", input=pod("c", "400m"))
    # The controller writes what is used; `kubectl describe quota` shows it.
    deadline = time.monotonic() + 10
    used: dict[str, str] = {}
    while time.monotonic() < deadline:
        quota = json.loads(server.kubectl("get", "quota", "compute", "-n", "quota-team", "-o", "json").stdout)
        used = (quota.get("status") or {}).get("used") or {}
        if used == {"pods": "2", "requests.cpu": "1"}:
            break
        time.sleep(0.2)
    assert used == {"pods": "2", "requests.cpu": "1"}
    out = server.kubectl("describe", "quota", "compute", "-n", "quota-team").stdout
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[-2:]}
    assert rows == {"pods": ["2", "3"], "requests.cpu": ["1", "1"]}


def test_limit_range_fills_in_missing_requests(server: Server) -> None:
    server.kubectl("create", "namespace", "limits-team")
    server.kubectl("apply", "-n", "limits-team", "-f", "-", input=yaml.safe_dump({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "defaultRequest": {"cpu": "100m", "memory": "64Mi"},
                             "default": {"cpu": "200m", "memory": "128Mi"},
                             "max": {"memory": "1Gi"}}]}}))
    server.kubectl("apply", "-n", "limits-team", "-f", "-", input=pod("filled"))
    got = json.loads(server.kubectl("get", "pod", "filled", "-n", "limits-team", "-o", "json").stdout)
    res = got["spec"]["containers"][0]["resources"]
    assert res == {"requests": {"cpu": "100m", "memory": "64Mi"},
                   "limits": {"cpu": "200m", "memory": "128Mi"}}
    assert got["status"]["qosClass"] == "Burstable"
    assert "LimitRanger plugin set" in got["metadata"]["annotations"]["kubernetes.io/limit-ranger"]
    big = yaml.safe_load(pod("big"))
    big["spec"]["containers"][0]["resources"] = {"limits": {"memory": "2Gi"}}
    result = server.kubectl("apply", "-n", "limits-team", "-f", "-", input=yaml.safe_dump(big),
                            check=False)
    assert 'pods "big" is forbidden: Maximum memory usage per Container is 1Gi, but limit is 2Gi.' \
        in result.stderr
