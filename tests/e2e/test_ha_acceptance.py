"""Issue 17's acceptance, end to end: three machines, each running `kubelite server` with its
embedded etcd member (the first with `--cluster-init`, two joining it) and `kubelite agent`.

- Every server answers `kubectl get nodes` with the three machines Ready; one holder of
  `kube-scheduler` and one of `kube-controller-manager`, the same whichever server is asked;
  a Deployment of 100 pods (on simulated nodes, beside the three real ones) gets exactly 100
  Scheduled events.
- The leader's server is killed (-9; its etcd member dies with it): surviving servers hold both
  Leases (each elected on its own, as in Kubernetes: both may go to one server, or one to each) within client-go's worst case (tests/helpers/leaders.py FAILOVER_BOUND, 25.8 s), the
  Deployment scaled during the outage converges with one Scheduled event per new pod, the
  agents go on renewing their node Leases through a surviving server and their nodes stay
  Ready, and a writer creating ConfigMaps through the servers in turn all along (a failed
  create retried on the next server) loses none it was told were created.

The third point of the acceptance, one etcd member stopped while writes go on and catching up
when it comes back, is tests/e2e/test_servers_embedded_etcd.py
(`test_writes_go_on_while_a_member_is_down_and_it_catches_up`).
"""

from __future__ import annotations

import http.client
import json
import signal
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest

from tests.helpers.cluster import Server
from tests.helpers.leaders import FAILOVER_BOUND, LEASES, holders, identity_of
from tests.helpers.machines import Machine
from tests.helpers.server_machines import ServerMachines, server_machines
from tests.helpers.sim import sim_nodes_process
from tests.helpers.wait import until

pytestmark = pytest.mark.root

AGENT_FLAGS = ("--node-lease-duration-seconds", "8")  # node Lease renewed every 2 s
SIMULATED = "kubelite.io/simulated"  # the label `kubelite sim-nodes` puts on its nodes
PODS, SCALED = 100, 130


@dataclass
class HA:
    sm: ServerMachines
    servers: list[Server]  # by machine
    sim_server: int  # the server the simulated nodes talk to (not the leader's)

    def leader(self) -> int:
        """The machine whose server holds both leases."""
        held = set(holders(self.servers[0]).values())
        assert len(held) == 1, held
        return next(i for i, s in enumerate(self.servers) if identity_of(s) in held)


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HA]:
    with server_machines(tmp_path_factory.mktemp("ha"), 3) as sm:
        first = sm.init(sm.machines[0])
        servers = [first, sm.join(sm.machines[1], first), sm.join(sm.machines[2], first)]
        until(lambda: set(holders(first).values()) <= {identity_of(s) for s in servers}
              and len(holders(first)) == 2, timeout=60, what="both leases held")
        state = HA(sm, servers, 0)
        leader = servers[state.leader()]
        for m in sm.machines:  # every agent through the leader's server: all must fail over
            sm.agent(m, leader, *AGENT_FLAGS)
        state.sim_server = next(i for i in range(3) if i != state.leader())
        sim = state.servers[state.sim_server]
        with sim_nodes_process(sim.kubeconfig, 4, "ha-sim-", sim.data_dir.parent / "sim-nodes.log"):
            until(lambda: len(node_names(sim, SIMULATED)) == 4, timeout=60, what="4 simulated nodes")
            yield state


def get(server: Server, *args: str) -> dict[str, Any]:
    obj: dict[str, Any] = json.loads(server.kubectl("get", *args, "-o", "json").stdout)
    return obj


def node_names(server: Server, selector: str | None = None) -> set[str]:
    args = ("-l", selector) if selector else ()
    return {item["metadata"]["name"] for item in get(server, "nodes", *args)["items"]}


def ready_nodes(server: Server) -> set[str]:
    out = server.kubectl("get", "nodes", "--no-headers", check=False)
    return {cols[0] for cols in map(str.split, out.stdout.splitlines()) if len(cols) > 1 and cols[1] == "Ready"}


def deployment(replicas: int) -> str:
    return json.dumps({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "nodeSelector": {SIMULATED: "true"},
            "containers": [{"name": "c", "image": "busybox"}]}}}})


def ready_replicas(server: Server) -> int:
    out = server.kubectl("get", "deployment", "web", "-o", "jsonpath={.status.readyReplicas}", check=False)
    return int(out.stdout or 0) if out.returncode == 0 else 0


def scheduled(server: Server) -> list[dict[str, Any]]:
    events = get(server, "events", "-n", "default", "--field-selector", "reason=Scheduled")["items"]
    return [e for e in events if e["involvedObject"]["name"].startswith("web-")]


def assert_scheduled_once(server: Server, pods: int) -> None:
    """`pods` Scheduled events, one per pod, none repeated: one scheduler acted."""
    def enough() -> list[dict[str, Any]] | None:
        events = scheduled(server)
        return events if len(events) >= pods else None

    events = until(enough, timeout=120, what=f"{pods} Scheduled events")
    assert len(events) == pods
    assert len({e["involvedObject"]["name"] for e in events}) == pods
    assert all((e.get("count") or 1) == 1 and not e.get("series") for e in events)
    rejected = server.kubectl("get", "events", "--field-selector", "reason=FailedScheduling").stdout
    assert "Binding rejected" not in rejected


def renew_time(server: Server, m: Machine) -> float:
    spec = get(server, "lease", m.node_name, "-n", "kube-node-lease")["spec"]
    return datetime.fromisoformat(spec["renewTime"].replace("Z", "+00:00")).timestamp()


@dataclass(eq=False)  # a Thread must stay hashable
class Writer(threading.Thread):
    """Creates ConfigMaps one after another through the servers in turn, each create that fails
    (refused, timed out, an error status) given up and the next one sent to the next server,
    and records the names a server acknowledged (201) with the time."""

    servers: list[Server]
    acknowledged: dict[str, float] = field(default_factory=dict)
    failures: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        threading.Thread.__init__(self, daemon=True)
        self._tls = ssl.create_default_context(cafile=str(self.servers[0].data_dir / "tls" / "ca.crt"))

    def _create(self, server: Server, name: str) -> bool:
        body = json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name},
                           "data": {"k": name}})
        conn = http.client.HTTPSConnection(server.host, server.port, timeout=5, context=self._tls)
        try:
            conn.request("POST", "/api/v1/namespaces/default/configmaps", body,
                         {"Authorization": f"Bearer {server.token()}", "Content-Type": "application/json"})
            return conn.getresponse().status == 201
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()

    def run(self) -> None:
        n = 0
        while not self.done.is_set():
            name = f"written-{n}"
            if self._create(self.servers[n % len(self.servers)], name):
                self.acknowledged[name] = time.time()
            else:
                self.failures += 1
                time.sleep(0.1)
            n += 1


def configmaps(server: Server) -> set[str]:
    return {item["metadata"]["name"] for item in get(server, "configmaps", "-n", "default")["items"]}


def test_three_servers_serve_one_api_and_schedule_each_pod_once(ha: HA) -> None:
    real = {m.node_name for m in ha.sm.machines}
    for server in ha.servers:  # `kubectl get nodes` against each server
        until(lambda s=server: real <= ready_nodes(s), timeout=60, what=f"three nodes Ready through {server.url}")
    held = [holders(s) for s in ha.servers]
    assert all(h == held[0] for h in held) and set(held[0]) == set(LEASES), held
    identities = [identity_of(s) for s in ha.servers]
    assert len(set(identities)) == 3  # three candidates, one of them holds both leases
    assert set(held[0].values()) == {identities[ha.leader()]}

    server = ha.servers[ha.sim_server]
    server.kubectl("apply", "-f", "-", input=deployment(PODS))
    until(lambda: ready_replicas(server) == PODS, timeout=300, what=f"{PODS} ready replicas")
    assert_scheduled_once(server, PODS)


def test_the_leaders_server_killed_loses_nothing(ha: HA) -> None:
    leader = ha.leader()
    survivors = [s for i, s in enumerate(ha.servers) if i != leader]
    server = ha.servers[ha.sim_server]
    dead = ha.servers[leader]
    writer = Writer(list(ha.servers))
    writer.start()
    try:
        until(lambda: len(writer.acknowledged) >= 20, timeout=60, what="the writer under way")
        dead.stop(signal.SIGKILL)  # its etcd member gets SIGTERM from the kernel (PDEATHSIG)
        killed = time.time()
        server.kubectl("scale", "deployment", "web", f"--replicas={SCALED}")  # during the outage
        candidates = {identity_of(s) for s in survivors}

        def taken_over() -> dict[str, str] | None:
            # each Lease on its own, as kube-scheduler and kube-controller-manager elect
            # separately: both may go to one surviving server or one to each
            held = holders(server)
            return held if len(held) == 2 and set(held.values()) <= candidates else None

        new = until(taken_over, timeout=60, interval=0.2, what="surviving servers holding both leases")
        taken = time.time() - killed
        assert taken <= FAILOVER_BOUND, f"leases taken {taken:.1f} s after the kill"
        assert all(holders(s) == new for s in survivors)
        print(f"leases taken {taken:.1f} s after the kill")

        until(lambda: ready_replicas(server) == SCALED, timeout=300, what=f"{SCALED} ready replicas")
        assert_scheduled_once(server, SCALED)

        # the agents that used the dead server moved to a surviving one; every node Lease is
        # renewed after the new controllers lead, and every node is still Ready
        led = time.time()
        for m in ha.sm.machines:
            until(lambda m=m: renew_time(server, m) > led + 2, timeout=60,
                  what=f"{m.node_name}'s Lease renewed through a surviving server")
        real = {m.node_name for m in ha.sm.machines}
        for s in survivors:
            assert real <= ready_nodes(s)
        not_ready = server.kubectl("get", "events", "--field-selector", "reason=NodeNotReady").stdout
        assert not any(name in not_ready for name in real), not_ready
        for m in ha.sm.machines:  # each agent (all joined through the dead server) moved
            assert m.agent is not None
            assert f"API server {dead.url} " in m.agent.log_tail(400)

        # the writer went on through the outage
        outage = [t for t in writer.acknowledged.values() if killed < t < killed + taken]
        assert outage, "no create acknowledged between the kill and the take-over"
        count = len(writer.acknowledged)
        until(lambda: len(writer.acknowledged) >= count + 20, timeout=60, what="more writes afterwards")
    finally:
        writer.done.set()
        writer.join(10)
    for s in survivors:  # no acknowledged write lost, read through either surviving server
        missing = set(writer.acknowledged) - configmaps(s)
        assert not missing, f"{len(missing)} of {len(writer.acknowledged)} acknowledged creates lost"
    assert writer.failures > 0  # creates sent to the dead server failed, and were retried elsewhere
    print(f"{len(writer.acknowledged)} creates acknowledged, {writer.failures} failed and retried")
