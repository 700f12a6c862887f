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
