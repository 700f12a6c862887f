"""The DNS server answers a real client socket over UDP and TCP, and fails fast upstream."""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from kubelite.dns import wire
from kubelite.dns.forward import Forwarder
from kubelite.dns.records import ClusterRecords
from kubelite.dns.server import DnsHandler, DnsServer

SERVICES: dict[tuple[str, str], Any] = {("default", "my-svc"): {"spec": {"clusterIP": "10.96.0.7"}}}


def dead_port() -> int:
    """A loopback UDP port nobody listens on (queries there go unanswered)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def server() -> AsyncIterator[DnsServer]:
    records = ClusterRecords(lambda ns, n: SERVICES.get((ns, n)), lambda ns, n: [])
    forwarder = Forwarder([f"127.0.0.1#{dead_port()}"], timeout=0.3)
    srv = DnsServer(DnsHandler(records, forwarder), "127.0.0.1", 0)
    await srv.start()
    try:
        yield srv
    finally:
        await srv.stop()


def udp_ask(port: int, name: str, qtype: int = wire.A) -> wire.Message:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(wire.query(name, qtype, ident=0x4242), ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    return wire.decode_message(data)


def tcp_ask(port: int, name: str) -> wire.Message:
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        q = wire.query(name)
        s.sendall(struct.pack("!H", len(q)) + q)
        size = struct.unpack("!H", s.recv(2))[0]
        data = b""
        while len(data) < size:
            data += s.recv(size - len(data))
    return wire.decode_message(data)


async def test_resolves_a_service_name_over_udp_and_tcp(server: DnsServer) -> None:
    reply = await asyncio.to_thread(udp_ask, server.port, "my-svc.default.svc.cluster.local")
    assert reply.id == 0x4242 and reply.rcode == wire.NOERROR and reply.flags & wire.AA
    assert [wire.read_a(r.data) for r in reply.answers] == ["10.96.0.7"]
    reply = await asyncio.to_thread(tcp_ask, server.port, "my-svc.default.svc.cluster.local")
    assert [wire.read_a(r.data) for r in reply.answers] == ["10.96.0.7"]


async def test_nxdomain_in_zone_and_servfail_quickly_outside(server: DnsServer) -> None:
    reply = await asyncio.to_thread(udp_ask, server.port, "nope.default.svc.cluster.local")
    assert reply.rcode == wire.NXDOMAIN and reply.authority[0].type == wire.SOA
    start = time.monotonic()
    reply = await asyncio.to_thread(udp_ask, server.port, "example.com")
    assert reply.rcode == wire.SERVFAIL and time.monotonic() - start < 3.0  # the 0.3 s timeout, loaded


async def test_an_upstream_known_down_is_not_asked_again() -> None:
    """Counted at a silent upstream rather than timed, so a busy machine cannot fake it."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.setblocking(False)
        forwarder = Forwarder([f"127.0.0.1#{silent.getsockname()[1]}"], timeout=0.3)
        records = ClusterRecords(lambda ns, n: None, lambda ns, n: [])
        srv = DnsServer(DnsHandler(records, forwarder), "127.0.0.1", 0)
        await srv.start()
        try:
            asked = []
            for name in ("example.com", "example.org", "example.net"):
                reply = await asyncio.to_thread(udp_ask, srv.port, name)
                assert reply.rcode == wire.SERVFAIL
                asked.append(_drain(silent))
        finally:
            await srv.stop()
    assert asked == [1, 0, 0]


def _drain(sock: socket.socket) -> int:
    """How many datagrams wait on a non-blocking socket (read and dropped)."""
    count = 0
    while True:
        try:
            sock.recv(4096)
        except BlockingIOError:
            return count
        count += 1


async def test_forwards_to_a_reachable_upstream() -> None:
    upstream_records = ClusterRecords(lambda ns, n: {"spec": {"clusterIP": "10.1.2.3"}}, lambda ns, n: [], "example.com")
    upstream = DnsServer(DnsHandler(upstream_records), "127.0.0.1", 0)
    await upstream.start()
    records = ClusterRecords(lambda ns, n: None, lambda ns, n: [])
    ours = DnsServer(DnsHandler(records, Forwarder([f"127.0.0.1#{upstream.port}"])), "127.0.0.1", 0)
    await ours.start()
    try:
        reply = await asyncio.to_thread(udp_ask, ours.port, "www.ns.svc.example.com")
        assert [wire.read_a(r.data) for r in reply.answers] == ["10.1.2.3"]
    finally:
        await ours.stop()
        await upstream.stop()
