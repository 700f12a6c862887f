"""The Node and Lease objects simulated kubelets register."""

from __future__ import annotations

from kubelite.sim.config import NodeShape, node_name
from kubelite.sim.node_shape import build_lease, build_node

NOW = "2025-01-02T03:04:05Z"


def test_node_names_have_at_least_four_digits() -> None:
    assert node_name("sim-", 1, 3) == "sim-0001"
    assert node_name("sim-", 12, 12000) == "sim-00012"
    assert node_name("n", 7, 10) == "n0007"


def test_node_labels() -> None:
    shape = NodeShape(labels={"tier": "big"}, zones=3)
    labels = build_node("sim-0005", 4, "172.16.0.5", shape, NOW)["metadata"]["labels"]
    assert labels["kubernetes.io/hostname"] == "sim-0005"
    assert labels["kubernetes.io/os"] == "linux"
    assert labels["kubernetes.io/arch"] == "amd64"
    assert labels["topology.kubernetes.io/zone"] == "zone-1"
    assert labels["tier"] == "big"
    assert labels["kubelite.io/simulated"] == "true"


def test_no_zone_label_without_zones() -> None:
    labels = build_node("sim-0001", 0, "172.16.0.1", NodeShape(), NOW)["metadata"]["labels"]
    assert "topology.kubernetes.io/zone" not in labels


def test_capacity_and_allocatable() -> None:
    status = build_node("n", 0, "ip", NodeShape(cpu="8", memory="16Gi", pods=50), NOW)["status"]
    for field in ("capacity", "allocatable"):
        assert status[field]["cpu"] == "8"
        assert status[field]["memory"] == "16Gi"
        assert status[field]["pods"] == "50"
        assert "ephemeral-storage" in status[field]


def test_conditions_ready_and_no_pressure() -> None:
    conds = {c["type"]: c for c in build_node("n", 0, "ip", NodeShape(), NOW)["status"]["conditions"]}
    ready = conds["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "True", "KubeletReady", "kubelet is posting ready status")
    assert ready["lastHeartbeatTime"] == NOW
    for pressure in ("MemoryPressure", "DiskPressure", "PIDPressure"):
        assert conds[pressure]["status"] == "False"


def test_addresses_node_info_and_no_pod_cidr() -> None:
    node = build_node("sim-0002", 1, "172.16.0.2", NodeShape(), NOW)
    assert node["status"]["addresses"] == [
        {"type": "InternalIP", "address": "172.16.0.2"},
        {"type": "Hostname", "address": "sim-0002"}]
    info = node["status"]["nodeInfo"]
    assert info["kubeletVersion"] == "v1.32.0-kubelite-sim"
    assert info["containerRuntimeVersion"] == "sim://1.0"
    assert info["operatingSystem"] == "linux" and info["architecture"] == "amd64"
    assert info["osImage"] and info["kernelVersion"]
    assert info["systemUUID"] != build_node("sim-0003", 2, "x", NodeShape(), NOW)[
        "status"]["nodeInfo"]["systemUUID"]
    assert "podCIDR" not in node["spec"]


def test_lease_shape() -> None:
    lease = build_lease("sim-0001", "uid-1", "2025-01-02T03:04:05.123456Z", 40)
    assert lease["metadata"]["namespace"] == "kube-node-lease"
    assert lease["metadata"]["ownerReferences"] == [
        {"apiVersion": "v1", "kind": "Node", "name": "sim-0001", "uid": "uid-1"}]
    assert lease["spec"] == {"holderIdentity": "sim-0001", "leaseDurationSeconds": 40,
                             "renewTime": "2025-01-02T03:04:05.123456Z"}
