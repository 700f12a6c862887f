"""This machine's addresses: the default route's gateway read from /proc/net/route."""

from __future__ import annotations

from pathlib import Path

from kubelite import hostaddr

ROUTES = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
br0\t0000A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
eth0\t00000000\t010212C6\t0003\t0\t0\t0\t00000000\t0\t0\t0
"""


def test_the_default_gateway_is_the_zero_destination_route(tmp_path: Path) -> None:
    routes = tmp_path / "route"
    routes.write_text(ROUTES)
    assert hostaddr.default_gateway(str(routes)) == "198.18.2.1"
    routes.write_text(ROUTES.splitlines()[0] + "\n" + ROUTES.splitlines()[1] + "\n")
    assert hostaddr.default_gateway(str(routes)) == ""
    assert hostaddr.default_gateway(str(tmp_path / "missing")) == ""


def test_the_source_address_towards_loopback_is_loopback() -> None:
    assert hostaddr.source_address("127.0.0.1") == "127.0.0.1"
    assert "127.0.0.1" in hostaddr.machine_addresses()
