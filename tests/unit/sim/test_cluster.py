"""SimCluster against an in-memory API: registration, heartbeats, pods, pause and cleanup."""

from __future__ import annotations

import asyncio
import datetime
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import pytest

from kubelite.client import ApiClient
from kubelite.sim import SimCluster, Timings
from tests.helpers.wait import eventually
from tests.unit.sim.fake_client import FakeClient

FAST = Timings(lease_renew_interval=0.1, node_status_interval=0.2)


@pytest.fixture
def fake() -> FakeClient:
    return FakeClient()


@pytest.fixture
async def make_cluster(fake: FakeClient) -> AsyncIterator[Callable[..., Awaitable[SimCluster]]]:
    clusters: list[SimCluster] = []

    async def make(count: int = 3, **kw: Any) -> SimCluster:
        kw.setdefault("timings", FAST)
        cluster = SimCluster(cast(ApiClient, fake), count, **kw)
        clusters.append(cluster)
        await cluster.start()
        return cluster

    yield make
    for cluster in clusters:
        await cluster.stop()


def bound_pod(name: str, node: str, **extra: Any) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "default", "annotations": {}},
        "spec": {"nodeName": node, "restartPolicy": "Always",
                 "containers": [{"name": "app", "image": "nginx"}]},
        "status": {"phase": "Pending"},
    }
    for key, value in extra.items():
        pod[key].update(value)
    return pod


def pod_phase(fake: FakeClient, name: str) -> str | None:
    pod = fake.get_obj("pods", name, "default")
    return (pod or {}).get("status", {}).get("phase")


async def test_start_registers_nodes_and_leases(fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(3, zones=2, labels={"pool": "a"})
    assert cluster.node_names == ["sim-0001", "sim-0002", "sim-0003"]
    for i, name in enumerate(cluster.node_names):
        node = fake.get_obj("nodes", name)
        assert node is not None
        assert node["metadata"]["labels"]["topology.kubernetes.io/zone"] == f"zone-{i % 2}"
        assert node["metadata"]["labels"]["pool"] == "a"
        lease = fake.get_obj("leases", name, "kube-node-lease")
        assert lease is not None and lease["spec"]["holderIdentity"] == name
        assert lease["metadata"]["ownerReferences"][0]["uid"] == node["metadata"]["uid"]
    assert fake.get_obj("namespaces", "kube-node-lease") is not None


async def test_node_ips_are_distinct(fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(3)
    ips = {fake.get_obj("nodes", n)["status"]["addresses"][0]["address"]  # type: ignore[index]
           for n in cluster.node_names}
    assert len(ips) == 3


async def test_status_is_patched_when_create_drops_it(fake: FakeClient, make_cluster: Any) -> None:
    fake.drop_status_on_create = True
    await make_cluster(1)
    node = fake.get_obj("nodes", "sim-0001")
    assert node is not None and node["status"]["capacity"]["pods"] == "110"
    assert fake.count("patch/status", "nodes", "sim-0001") >= 1


async def test_existing_nodes_are_adopted(fake: FakeClient, make_cluster: Any) -> None:
    await fake.put_direct("nodes", {"metadata": {"name": "sim-0001"}, "spec": {},
                                    "status": {}})
    await make_cluster(2)
    node = fake.get_obj("nodes", "sim-0001")
    assert node is not None and node["status"]["nodeInfo"]["kubeletVersion"].endswith("-sim")


async def test_leases_are_renewed(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(2)
    first = fake.get_obj("leases", "sim-0002", "kube-node-lease")["spec"]["renewTime"]  # type: ignore[index]
    await eventually(lambda: fake.count("update", "leases", "sim-0002") >= 3, timeout=3.0)
    latest = fake.get_obj("leases", "sim-0002", "kube-node-lease")["spec"]["renewTime"]  # type: ignore[index]
    assert latest > first


async def test_node_status_heartbeat(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    await eventually(lambda: fake.count("patch/status", "nodes", "sim-0001") >= 2, timeout=3.0)
    patch = [b for v, p, n, b in fake.writes if v == "patch/status" and p == "nodes"][-1]
    types = [c["type"] for c in patch["status"]["conditions"]]
    assert types == ["MemoryPressure", "DiskPressure", "PIDPressure", "Ready"]
    assert all(c["lastHeartbeatTime"] for c in patch["status"]["conditions"])


async def test_pause_stops_heartbeats_and_resume_restarts_them(
        fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(2)
    cluster.pause("sim-0001")
    await asyncio.sleep(0.15)  # let a renewal already in flight land
    frozen = fake.count("update", "leases", "sim-0001")
    frozen_status = fake.count("patch/status", "nodes", "sim-0001")
    await asyncio.sleep(0.4)
    assert fake.count("update", "leases", "sim-0001") == frozen
    assert fake.count("patch/status", "nodes", "sim-0001") == frozen_status
    assert fake.count("update", "leases", "sim-0002") > frozen  # the other node carries on
    assert cluster.is_paused("sim-0001")
    cluster.resume("sim-0001")
    await eventually(lambda: fake.count("update", "leases", "sim-0001") > frozen, timeout=3.0)


async def test_resume_after_not_ready_starts_a_new_transition(
        fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(1)
    cluster.pause("sim-0001")
    await asyncio.sleep(0.15)
    node = fake.get_obj("nodes", "sim-0001")
    assert node is not None
    before = [c for c in node["status"]["conditions"] if c["type"] == "Ready"][0]
    for c in node["status"]["conditions"]:  # the node lifecycle controller's verdict
        c["status"] = "Unknown"
    await fake.put_direct("nodes", node)
    await asyncio.sleep(1.1)  # timestamps have second resolution
    cluster.resume("sim-0001")

    def ready_again() -> bool:
        conds = fake.get_obj("nodes", "sim-0001")["status"]["conditions"]  # type: ignore[index]
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conds)

    await eventually(ready_again, timeout=3.0)
    ready = [c for c in fake.get_obj("nodes", "sim-0001")["status"]["conditions"]  # type: ignore[index]
             if c["type"] == "Ready"][0]
    assert ready["lastTransitionTime"] > before["lastTransitionTime"]


def test_pause_of_an_unknown_node_is_refused(fake: FakeClient) -> None:
    cluster = SimCluster(cast(ApiClient, fake), 1)
    with pytest.raises(KeyError, match="not a simulated node"):
        cluster.pause("real-node")


async def test_bound_pods_run_with_unique_ips(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(2)
    for i in range(3):
        await fake.put_direct("pods", bound_pod(f"p{i}", "sim-0001"))
    await fake.put_direct("pods", bound_pod("q", "sim-0002"))
    await eventually(lambda: all(pod_phase(fake, n) == "Running" for n in ("p0", "p1", "p2", "q")),
                     timeout=3.0)
    pods = [fake.get_obj("pods", n, "default") for n in ("p0", "p1", "p2", "q")]
    ips = [p["status"]["podIP"] for p in pods]  # type: ignore[index]
    assert len(set(ips)) == 4
    assert all(ip.startswith("10.128.0.") for ip in ips[:3]) and ips[3].startswith("10.128.1.")
    assert pods[0]["status"]["hostIP"] == "172.16.0.1"  # type: ignore[index]
    # the status is written once: our own update does not trigger another write
    await asyncio.sleep(0.1)
    assert fake.count("patch/status", "pods", "p0") == 1


async def test_pods_of_other_nodes_are_left_alone(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    await fake.put_direct("pods", bound_pod("elsewhere", "real-node"))
    await fake.put_direct("pods", bound_pod("mine", "sim-0001"))
    await eventually(lambda: pod_phase(fake, "mine") == "Running", timeout=3.0)
    assert pod_phase(fake, "elsewhere") == "Pending"
    assert fake.count("patch/status", "pods", "elsewhere") == 0


async def test_host_network_pods_use_the_node_ip(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    await fake.put_direct("pods", bound_pod("hn", "sim-0001", spec={"hostNetwork": True}))
    await eventually(lambda: pod_phase(fake, "hn") == "Running", timeout=3.0)
    assert fake.get_obj("pods", "hn", "default")["status"]["podIP"] == "172.16.0.1"  # type: ignore[index]


async def test_pods_of_a_paused_node_wait_for_resume(fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(1)
    cluster.pause("sim-0001")
    await fake.put_direct("pods", bound_pod("waits", "sim-0001"))
    await asyncio.sleep(0.2)
    assert pod_phase(fake, "waits") == "Pending"
    cluster.resume("sim-0001")
    await eventually(lambda: pod_phase(fake, "waits") == "Running", timeout=3.0)


async def test_pod_with_exit_code_succeeds_after_run_seconds(
        fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    annotations = {"kubelite.io/sim-exit-code": "0", "kubelite.io/sim-run-seconds": "0.3"}
    await fake.put_direct("pods", bound_pod("job", "sim-0001", metadata={"annotations": annotations},
                                            spec={"restartPolicy": "Never"}))
    await eventually(lambda: pod_phase(fake, "job") == "Running", timeout=3.0)
    await eventually(lambda: pod_phase(fake, "job") == "Succeeded", timeout=3)
    status = fake.get_obj("pods", "job", "default")["status"]  # type: ignore[index]
    assert status["containerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"


async def test_pod_with_nonzero_exit_code_fails(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    await fake.put_direct("pods", bound_pod(
        "bad", "sim-0001", metadata={"annotations": {"kubelite.io/sim-exit-code": "2"}},
        spec={"restartPolicy": "Never"}))
    await eventually(lambda: pod_phase(fake, "bad") == "Failed", timeout=3.0)


async def test_exit_code_is_ignored_for_restart_always(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    await fake.put_direct("pods", bound_pod(
        "svc", "sim-0001", metadata={"annotations": {"kubelite.io/sim-exit-code": "0"}}))
    await eventually(lambda: pod_phase(fake, "svc") == "Running", timeout=3.0)
    await asyncio.sleep(0.2)
    assert pod_phase(fake, "svc") == "Running"


def _deleting(pod: dict[str, Any], grace: int) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC)
    pod["metadata"]["deletionTimestamp"] = (now + datetime.timedelta(seconds=grace)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    pod["metadata"]["deletionGracePeriodSeconds"] = grace
    return pod


async def test_deleted_pod_is_finished_with_grace_zero(fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    pod = await fake.put_direct("pods", bound_pod("doomed", "sim-0001"))
    await eventually(lambda: pod_phase(fake, "doomed") == "Running", timeout=3.0)
    current = fake.get_obj("pods", "doomed", "default")
    assert current is not None
    await fake.put_direct("pods", _deleting(current, 30))
    await eventually(lambda: fake.get_obj("pods", "doomed", "default") is None, timeout=3.0)
    (options,) = [b for v, p, n, b in fake.writes if v == "delete" and n == "doomed"]
    assert options == {"gracePeriodSeconds": 0, "preconditions": {"uid": pod["metadata"]["uid"]}}


async def test_termination_seconds_delay_the_final_delete(
        fake: FakeClient, make_cluster: Any) -> None:
    await make_cluster(1)
    await fake.put_direct("pods", bound_pod(
        "slow", "sim-0001", metadata={"annotations": {"kubelite.io/sim-termination-seconds": "2"}}))
    await eventually(lambda: pod_phase(fake, "slow") == "Running", timeout=3.0)
    current = fake.get_obj("pods", "slow", "default")
    assert current is not None
    await fake.put_direct("pods", _deleting(current, 30))
    await asyncio.sleep(0.3)  # timestamps have whole seconds: at least 1 s of the 2 remain
    assert fake.get_obj("pods", "slow", "default") is not None
    await eventually(lambda: fake.get_obj("pods", "slow", "default") is None, timeout=4)


async def test_ip_is_released_when_the_pod_is_gone(fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(1)
    await fake.put_direct("pods", bound_pod("p", "sim-0001"))
    await eventually(lambda: pod_phase(fake, "p") == "Running", timeout=3.0)
    assert len(cluster.nodes["sim-0001"].pods) == 1
    await fake.delete("pods", "p", "default")
    await eventually(lambda: len(cluster.nodes["sim-0001"].pods) == 0, timeout=3.0)


async def test_running_pods_are_adopted_after_a_restart(fake: FakeClient, make_cluster: Any) -> None:
    first = await make_cluster(1)
    await fake.put_direct("pods", bound_pod("p", "sim-0001"))
    await eventually(lambda: pod_phase(fake, "p") == "Running", timeout=3.0)
    await first.stop()
    second = await make_cluster(1)
    await asyncio.sleep(0.1)
    assert fake.count("patch/status", "pods", "p") == 1
    ip = fake.get_obj("pods", "p", "default")["status"]["podIP"]  # type: ignore[index]
    assert second.nodes["sim-0001"].pods.get("default/p") == ip


async def test_writes_are_bounded_and_retried(fake: FakeClient, make_cluster: Any) -> None:
    fake.delay = 0.005
    fake.fail_next["create"] = 3
    await make_cluster(40, concurrency=8)
    assert fake.max_in_flight <= 8
    assert all(fake.get_obj("nodes", f"sim-{i:04d}") for i in range(1, 41))


async def test_stop_keeps_nodes_unless_asked(fake: FakeClient) -> None:
    cluster = SimCluster(cast(ApiClient, fake), 2, timings=FAST)
    await cluster.start()
    await cluster.stop()
    assert fake.get_obj("nodes", "sim-0001") is not None
    await cluster.start()
    await cluster.stop(delete_nodes=True)
    assert fake.get_obj("nodes", "sim-0001") is None
    assert fake.get_obj("leases", "sim-0002", "kube-node-lease") is None


async def test_pod_cidr_set_by_the_control_plane_is_used(
        fake: FakeClient, make_cluster: Any) -> None:
    await fake.put_direct("nodes", {"metadata": {"name": "sim-0001"},
                                    "spec": {"podCIDR": "10.244.7.0/24"}, "status": {}})
    await make_cluster(1)
    await fake.put_direct("pods", bound_pod("p", "sim-0001"))
    await eventually(lambda: pod_phase(fake, "p") == "Running", timeout=3.0)
    assert fake.get_obj("pods", "p", "default")["status"]["podIP"].startswith("10.244.7.")  # type: ignore[index]


async def test_pod_cidr_set_after_registration_is_picked_up(
        fake: FakeClient, make_cluster: Any) -> None:
    cluster = await make_cluster(1)
    node = fake.get_obj("nodes", "sim-0001")
    assert node is not None
    node["spec"]["podCIDR"] = "10.244.9.0/24"  # the node IPAM controller's doing
    await fake.put_direct("nodes", node)
    await eventually(lambda: str(cluster.nodes["sim-0001"].pods.network) == "10.244.9.0/24",
                     timeout=3.0)
