"""A leader that cannot renew its Lease stops acting at once: its controller-manager exits, as
kube-controller-manager does, `kubelite server` restarts it, and it stands by until the lease
is free again."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.cluster import Server, running_server
from tests.helpers.leaders import identity_of
from tests.helpers.wait import until

INTRUDER = "elsewhere_00000000-0000-0000-0000-000000000000"


def lease(server: Server, name: str) -> dict[str, object]:
    out = server.kubectl("get", "lease", "-n", "kube-system", name, "-o", "json")
    return dict(json.loads(out.stdout)["spec"])


def test_a_leader_whose_lease_is_taken_exits_and_comes_back_as_a_standby(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as server:
        mine = until(lambda: identity_of(server), what="the identity")
        until(lambda: lease(server, "kube-scheduler").get("holderIdentity") == mine, what="the lease held")
        # another candidate writes itself in: the leader's next renewal meets a changed record
        server.kubectl("patch", "lease", "-n", "kube-system", "kube-scheduler", "--type", "merge",
                       "-p", json.dumps({"spec": {"holderIdentity": INTRUDER}}))
        until(lambda: "controller-manager exited with code 1; restarting it" in server.log_tail(400),
              timeout=30, what="the leader to exit")
        log = server.log_path.read_text(errors="replace")
        assert "failed to renew lease kube-system/kube-scheduler" in log
        assert "leaderelection lost: lease kube-system/kube-scheduler" in log
        assert lease(server, "kube-scheduler")["holderIdentity"] == INTRUDER  # not overwritten
        # the restarted child (the same identity) waits the intruder's lease out, then takes it
        spec = until(lambda: (s := lease(server, "kube-scheduler"))["holderIdentity"] == mine and s,
                     timeout=40, what="the lease taken back")
        assert spec["leaseTransitions"] == 1
        assert identity_of(server) == mine
