"""The kubelet replaces a projected service-account token before it expires (Kubernetes
refreshes at 80% of its lifetime): the file in the running pod changes, and the new token
authenticates. KUBELITE_TOKEN_REFRESH_FRACTION brings the refresh of a 600 s token (the
shortest TokenRequest allows) down to 6 s so the test need not wait 480 s."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.e2e.test_bound_tokens import whoami
from tests.e2e.test_volumes_service_account import claims, sleeper, wait_running
from tests.helpers.node import running_node


def test_a_projected_token_is_refreshed_before_it_expires(tmp_path: Path) -> None:
    env = {**os.environ, "KUBELITE_TOKEN_REFRESH_FRACTION": "0.01"}
    with running_node(tmp_path, env=env) as cluster:
        deadline = time.monotonic() + 30
        while cluster.kubectl("get", "sa", "default", check=False).returncode != 0:
            assert time.monotonic() < deadline, "no default ServiceAccount"
            time.sleep(0.2)
        pod = sleeper("short", "default", volumes=[{"name": "tok", "projected": {"sources": [
            {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}]}}])
        pod["spec"]["containers"][0]["volumeMounts"] = [{"name": "tok", "mountPath": "/tok"}]
        cluster.apply(pod)
        wait_running(cluster, "short", "default")

        def token() -> str:
            return cluster.kubectl("exec", "short", "--", "cat", "/tok/token").stdout.strip()

        first = token()
        assert whoami(cluster.server, first) == 201
        seen = claims(first)
        assert seen["exp"] - seen["iat"] == 600
        deadline = time.monotonic() + 60  # due after 6 s; generous for a loaded machine
        while (fresh := token()) == first:
            assert time.monotonic() < deadline, f"token not refreshed\n{cluster.agent.log_tail()}"
            time.sleep(1)
        assert claims(fresh)["iat"] > seen["iat"]
        assert claims(fresh)["kubernetes.io"]["pod"]["name"] == "short"
        assert whoami(cluster.server, fresh) == 201
