"""Reading etcdctl's member list and writing etcd's --initial-cluster for a joining member."""

from __future__ import annotations

from kubelite.etcd import etcdctl

LIST = {"members": [
    {"ID": 11, "name": "a", "peerURLs": ["https://10.0.0.1:2380"], "clientURLs": ["http://127.0.0.1:2379"]},
    {"ID": 12, "peerURLs": ["https://10.0.0.2:2380"], "isLearner": True},  # added, not started
]}


def test_members_are_read_with_their_learner_flag() -> None:
    a, b = etcdctl._members(LIST)
    assert (a.name, a.learner, a.hex_id) == ("a", False, "b")
    assert (b.name, b.learner, b.peer_urls) == ("", True, ("https://10.0.0.2:2380",))


def test_initial_cluster_names_the_started_members_and_the_joiner() -> None:
    members = etcdctl._members(LIST)
    assert etcdctl.initial_cluster(members, "c", "https://10.0.0.3:2380") == \
        "a=https://10.0.0.1:2380,c=https://10.0.0.3:2380"
    assert etcdctl.initial_cluster(members, "a", "https://10.0.0.1:2380") == "a=https://10.0.0.1:2380"
