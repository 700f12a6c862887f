"""Nodes in, routes / ARP / FDB entries out: the pod network's desired state, no kernel."""

from __future__ import annotations

import json
from typing import Any

from kubelite.network.peers import (
    BACKEND_DATA,
    BACKEND_TYPE,
    HOST_GW,
    PUBLIC_IP,
    VXLAN,
    FdbEntry,
    Neighbour,
    Route,
    host_gw_desired,
    node_annotations,
    peer_from_node,
    peers,
    vxlan_desired,
    within,
)


def node(name: str, cidr: str, ip: str, backend: str = VXLAN, mac: str = "",
         **extra: str) -> dict[str, Any]:
    notes = node_annotations(backend, ip, mac)
    notes.update(extra)
    return {"metadata": {"name": name, "annotations": notes}, "spec": {"podCIDR": cidr}}


MAC_B, MAC_C = "aa:bb:cc:00:00:02", "aa:bb:cc:00:00:03"
CLUSTER = [node("a", "10.42.0.0/24", "198.18.0.1", mac="aa:bb:cc:00:00:01"),
           node("b", "10.42.1.0/24", "198.18.0.2", mac=MAC_B),
           node("c", "10.42.2.0/24", "198.18.0.3", mac=MAC_C)]


def test_annotations_use_flannels_shape_under_our_prefix() -> None:
    notes = node_annotations(VXLAN, "198.18.0.2", MAC_B)
    assert notes[BACKEND_TYPE] == "vxlan" and notes[PUBLIC_IP] == "198.18.0.2"
    assert json.loads(notes[BACKEND_DATA]) == {"VNI": 1, "VtepMAC": MAC_B}
    assert node_annotations(HOST_GW, "198.18.0.2")[BACKEND_DATA] == "null"
    assert BACKEND_DATA not in node_annotations(VXLAN, "198.18.0.2")  # no device yet


def test_vxlan_entries_for_every_other_node() -> None:
    got = vxlan_desired(peers(CLUSTER, "a", VXLAN, "10.42.0.0/24", "198.18.0.1"))
    assert got.routes == {Route("10.42.1.0/24", "10.42.1.0", onlink=True),
                          Route("10.42.2.0/24", "10.42.2.0", onlink=True)}
    assert got.neighbours == {Neighbour("10.42.1.0", MAC_B), Neighbour("10.42.2.0", MAC_C)}
    assert got.fdb == {FdbEntry(MAC_B, "198.18.0.2"), FdbEntry(MAC_C, "198.18.0.3")}


def test_host_gw_routes_via_each_nodes_address() -> None:
    cluster = [node(n["metadata"]["name"], n["spec"]["podCIDR"],
                    n["metadata"]["annotations"][PUBLIC_IP], HOST_GW) for n in CLUSTER]
    got = host_gw_desired(peers(cluster, "b", HOST_GW, "10.42.1.0/24", "198.18.0.2"))
    assert got.routes == {Route("10.42.0.0/24", "198.18.0.1"), Route("10.42.2.0/24", "198.18.0.3")}
    assert not got.neighbours and not got.fdb


def test_a_node_changing_address_moves_its_fdb_entry() -> None:
    before = vxlan_desired(peers(CLUSTER, "a", VXLAN, "10.42.0.0/24"))
    moved = [*CLUSTER[:2], node("c", "10.42.2.0/24", "198.18.0.33", mac=MAC_C)]
    after = vxlan_desired(peers(moved, "a", VXLAN, "10.42.0.0/24"))
    assert before.fdb - after.fdb == {FdbEntry(MAC_C, "198.18.0.3")}
    assert after.fdb - before.fdb == {FdbEntry(MAC_C, "198.18.0.33")}
    assert before.routes == after.routes


def test_a_node_leaving_takes_its_entries_away() -> None:
    got = vxlan_desired(peers(CLUSTER[:2], "a", VXLAN, "10.42.0.0/24"))
    assert got.routes == {Route("10.42.1.0/24", "10.42.1.0", onlink=True)}
    assert {f.mac for f in got.fdb} == {MAC_B}


def test_nodes_that_publish_nothing_or_nonsense_are_no_peers() -> None:
    sim = {"metadata": {"name": "sim-1"}, "spec": {"podCIDR": "10.42.9.0/24"}}
    no_cidr = node("x", "", "198.18.0.9")
    bad_ip = node("y", "10.42.7.0/24", "not-an-ip")
    bad_data = node("z", "10.42.8.0/24", "198.18.0.8", **{BACKEND_DATA: "{oops"})
    other = node("w", "10.42.6.0/24", "198.18.0.6", HOST_GW)
    assert peer_from_node(sim) is None and peer_from_node(no_cidr) is None
    assert peer_from_node(bad_ip) is None
    assert peer_from_node(bad_data) is not None and peer_from_node(bad_data).vtep_mac == ""  # type: ignore[union-attr]
    got = peers([sim, no_cidr, bad_ip, bad_data, other], "a", VXLAN, "10.42.0.0/24")
    assert [p.name for p in got] == ["z"]
    assert vxlan_desired(got).routes == frozenset()  # no MAC yet: nothing to program


def test_never_route_to_ourselves_or_over_our_own_cidr() -> None:
    twin = node("old-a", "10.42.5.0/24", "198.18.0.1", mac="aa:bb:cc:00:00:05")
    clash = node("d", "10.42.0.0/24", "198.18.0.4", mac="aa:bb:cc:00:00:04")
    got = peers([*CLUSTER, twin, clash], "a", VXLAN, "10.42.0.0/24", "198.18.0.1")
    assert [p.name for p in got] == ["b", "c"]


def test_two_nodes_claiming_one_cidr_give_one_route() -> None:
    dup = node("b2", "10.42.1.0/24", "198.18.0.22", mac="aa:bb:cc:00:00:22")
    got = peers([*CLUSTER, dup], "a", VXLAN, "10.42.0.0/24")
    assert [p.name for p in got] == ["b", "c"]


def test_within_cluster_cidr() -> None:
    assert within("10.42.3.0/24", "10.42.0.0/16")
    assert not within("10.43.0.0/24", "10.42.0.0/16")
    assert not within("default", "10.42.0.0/16")
