"""node-ipam hands out the lowest free /24 of the cluster CIDR."""

from __future__ import annotations

import pytest

from kubelite.controllers.node_ipam import CIDRsExhausted, allocate


def test_allocate_lowest_free_and_exhaustion() -> None:
    assert allocate("10.42.0.0/16", set()) == "10.42.0.0/24"
    assert allocate("10.42.0.0/16", {"10.42.0.0/24", "10.42.2.0/24"}) == "10.42.1.0/24"
    assert allocate("10.42.7.0/24", set()) == "10.42.7.0/24"
    with pytest.raises(CIDRsExhausted):
        allocate("10.42.7.0/24", {"10.42.7.0/24"})


def test_range_allocator_hands_out_the_lowest_free_range_and_reuses_released_ones() -> None:
    from kubelite.controllers.node_ipam import CIDRsExhausted, RangeAllocator

    ranges = RangeAllocator("10.9.0.0/22")  # room for four /24s
    ranges.occupy("10.9.1.0/24")
    ranges.occupy("192.168.0.0/24")  # outside the cluster CIDR: ignored
    assert [ranges.take(), ranges.take(), ranges.take()] == ["10.9.0.0/24", "10.9.2.0/24", "10.9.3.0/24"]
    try:
        ranges.take()
    except CIDRsExhausted as e:
        assert "10.9.0.0/22" in str(e)
    else:
        raise AssertionError("a full range must say so")
    ranges.release("10.9.2.0/24")
    assert ranges.take() == "10.9.2.0/24"


def test_allocation_stays_fast_with_thousands_of_nodes() -> None:
    from kubelite.controllers.node_ipam import RangeAllocator

    ranges = RangeAllocator("10.0.0.0/8")
    taken = [ranges.take() for _ in range(5000)]
    assert len(set(taken)) == 5000 and taken[-1] == "10.19.135.0/24"
