"""Fake node and pod addresses: unique, reusable after release, adoptable after a restart."""

from __future__ import annotations

import pytest

from kubelite.sim.network import PodIpPool, fake_pod_cidr, node_internal_ip, pod_block_prefix


def test_node_ips_and_pod_ranges_do_not_overlap() -> None:
    assert node_internal_ip(1) == "172.16.0.1"
    assert node_internal_ip(5000) == "172.16.19.136"
    assert fake_pod_cidr(1, 110) == "10.128.0.0/24"
    assert fake_pod_cidr(2, 110) == "10.128.1.0/24"
    assert fake_pod_cidr(5000, 110) == "10.147.135.0/24"


def test_large_pod_counts_get_larger_blocks() -> None:
    assert pod_block_prefix(110) == 24
    assert pod_block_prefix(500) == 23
    assert fake_pod_cidr(2, 500) == "10.128.2.0/23"


def test_pool_hands_out_unique_ips_and_is_idempotent_per_pod() -> None:
    pool = PodIpPool("10.128.0.0/24")
    ips = {pool.allocate(f"ns/p{i}") for i in range(254)}
    assert len(ips) == 254
    assert "10.128.0.0" not in ips and "10.128.0.255" not in ips
    assert pool.allocate("ns/p3") == pool.get("ns/p3")
    with pytest.raises(RuntimeError, match="exhausted"):
        pool.allocate("ns/one-too-many")


def test_released_ip_can_be_reused() -> None:
    pool = PodIpPool("10.128.0.0/30")  # two host addresses
    a = pool.allocate("a")
    pool.allocate("b")
    pool.release("a")
    assert pool.allocate("c") == a


def test_reserve_adopts_only_free_ips_in_range() -> None:
    pool = PodIpPool("10.128.0.0/24")
    assert pool.reserve("a", "10.128.0.9")
    assert pool.get("a") == "10.128.0.9"
    assert not pool.reserve("b", "10.128.0.9")  # held by a
    assert not pool.reserve("b", "192.168.0.1")  # another range
    assert pool.allocate("b") != "10.128.0.9"
