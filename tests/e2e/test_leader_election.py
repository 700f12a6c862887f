"""Two `kubelite server`s on one etcd: one scheduler and one set of controllers act, and when the
leader is killed (-9) the other takes both Leases over and finishes what was asked meanwhile."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.helpers.cluster import Server, start_server
from tests.helpers.etcd import start_etcd
from tests.helpers.leaders import FAILOVER_BOUND, LEASES, both_held, holders, identity_of, share_pki
from tests.helpers.sim import sim_nodes_process
from tests.helpers.wait import until

RELEASED_BOUND = 14  # one jittered retry (at most 4.4 s) after the release; 15 s without one


def at_least(items: list[dict[str, object]], count: int) -> list[dict[str, object]] | None:
    return items if len(items) >= count else None


def scheduled_events(server: Server) -> list[dict[str, object]]:
    out = server.kubectl("get", "events", "-n", "default", "--field-selector", "reason=Scheduled", "-o", "json")
    return list(json.loads(out.stdout)["items"])


def ready_replicas(server: Server, name: str) -> int:
    out = server.kubectl("get", "deployment", name, "-o", "jsonpath={.status.readyReplicas}", check=False)
    return int(out.stdout or 0) if out.returncode == 0 else 0


def test_one_leader_on_two_servers_and_failover_after_kill_9(tmp_path: Path) -> None:
    (tmp_path / "etcd").mkdir()
    endpoint, stop_etcd = start_etcd(str(tmp_path / "etcd"))
    url = "etcd://" + endpoint.split("://", 1)[1]
    servers: list[Server] = []
    try:
        leader = start_server(tmp_path / "a" / "data", "--datastore-endpoint", url)
        servers.append(leader)
        held = until(lambda: both_held(leader), what="both leases held")
        assert set(held.values()) == {identity_of(leader)}  # `<hostname>_<uuid>`
        share_pki(leader.data_dir, tmp_path / "b" / "data")
        standby = start_server(tmp_path / "b" / "data", "--datastore-endpoint", url)
        servers.append(standby)
        mine = until(lambda: identity_of(standby), what="the standby's identity")
        assert mine not in held.values()

        with sim_nodes_process(standby.kubeconfig, 3, "le-", standby.data_dir.parent / "sim-nodes.log"):
            until(lambda: standby.kubectl("get", "nodes", "-o", "name").stdout.count("node/le-") == 3,
                  what="3 simulated nodes")
            standby.kubectl("create", "deployment", "web", "--image=busybox", "--replicas=20")
            until(lambda: ready_replicas(standby, "web") == 20, timeout=60, what="20 ready replicas")
            events = until(lambda: at_least(scheduled_events(standby), 20), what="20 Scheduled events")
            # one scheduler acted: one Scheduled event per pod, none counted twice, no conflicts
            assert len(events) == 20
            assert len({e["involvedObject"]["name"] for e in events}) == 20  # type: ignore[index]
            assert all((e.get("count") or 1) == 1 and not e.get("series") for e in events)
            rejected = standby.kubectl("get", "events", "--field-selector", "reason=FailedScheduling").stdout
            assert "Binding rejected" not in rejected
            standby_log = standby.log_path.read_text(errors="replace")
            assert "successfully acquired lease" not in standby_log  # it stood by
            assert holders(standby) == held

            leader.stop(signal.SIGKILL)
            killed = time.monotonic()
            standby.kubectl("scale", "deployment", "web", "--replicas=30")  # during the outage
            until(lambda: holders(standby) == dict.fromkeys(LEASES, mine), timeout=FAILOVER_BOUND,
                  what="the standby holding both leases")
            failover = time.monotonic() - killed
            until(lambda: ready_replicas(standby, "web") == 30, timeout=60, what="30 ready replicas")
            events = until(lambda: at_least(scheduled_events(standby), 30), what="30 Scheduled events")
            assert len(events) == 30
            spec = json.loads(standby.kubectl("get", "lease", "-n", "kube-system", "kube-scheduler",
                                              "-o", "json").stdout)["spec"]
            assert spec["leaseTransitions"] == 1 and spec["leaseDurationSeconds"] == 15
            print(f"failover took {failover:.1f} s")
            became = standby.kubectl("get", "events", "-n", "kube-system",
                                     "--field-selector", "reason=LeaderElection").stdout
            assert f"{mine} became leader" in became

        # the killed server comes back as a standby; the leader stopped cleanly releases its
        # leases, so the standby takes them at its next try, not a lease duration later
        again = start_server(leader.data_dir, "--datastore-endpoint", url, port=leader.port)
        servers.append(again)
        theirs = until(lambda: (i := identity_of(again)) not in held.values() and i, what="a new candidate")
        until(lambda: "attempting to acquire leader lease" in again.log_tail(20), what="it stands by")
        assert holders(again) == dict.fromkeys(LEASES, mine)
        standby.stop()
        until(lambda: holders(again) == dict.fromkeys(LEASES, theirs), timeout=RELEASED_BOUND,
              what="the leases taken after a release")
    finally:
        for s in servers:
            s.stop()
        stop_etcd()
