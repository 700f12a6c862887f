"""DNS messages: encode, decode (with compression), record data helpers."""

from __future__ import annotations

import struct

import pytest

from kubelite.dns import wire


def test_query_round_trip() -> None:
    data = wire.query("My-Svc.Default.svc.cluster.local.", wire.A, ident=7)
    msg = wire.decode_message(data)
    assert msg.id == 7 and msg.flags & wire.RD and not msg.flags & wire.QR
    assert msg.questions == [wire.Question("my-svc.default.svc.cluster.local", wire.A)]
    assert data[12:19] == b"\x06my-svc"


def test_reply_with_records_round_trip() -> None:
    request = wire.decode_message(wire.query("web.default.svc.cluster.local", wire.SRV))
    reply = wire.reply_to(request, authoritative=True)
    reply.answers = [wire.Record("web.default.svc.cluster.local", wire.SRV, 5,
                                 wire.srv_data(0, 100, 80, "web.default.svc.cluster.local"))]
    reply.additional = [wire.Record("web.default.svc.cluster.local", wire.A, 5, wire.a_data("10.96.0.7"))]
    back = wire.decode_message(wire.encode_message(reply))
    assert back.flags & wire.QR and back.flags & wire.AA and back.rcode == wire.NOERROR
    assert wire.read_srv(back.answers[0].data) == (0, 100, 80, "web.default.svc.cluster.local")
    assert wire.read_a(back.additional[0].data) == "10.96.0.7" and back.additional[0].ttl == 5


def test_compressed_names_are_followed() -> None:
    # header, question "a.example", answer whose name is a pointer to offset 12 and CNAME data
    # "www" + pointer to the question name.
    header = struct.pack("!6H", 1, wire.QR, 1, 1, 0, 0)
    question = b"\x01a\x07example\x00" + struct.pack("!2H", wire.CNAME, wire.IN)
    rdata = b"\x03www\xc0\x0c"
    answer = b"\xc0\x0c" + struct.pack("!2HIH", wire.CNAME, wire.IN, 60, len(rdata)) + rdata
    msg = wire.decode_message(header + question + answer)
    assert msg.answers[0].name == "a.example"
    assert wire.read_name(msg.answers[0].data) == "www.a.example"


@pytest.mark.parametrize("data", [b"\x00\x01", b"\x00" * 11,
                                  struct.pack("!6H", 1, 0, 1, 0, 0, 0) + b"\x05ab",
                                  struct.pack("!6H", 1, 0, 1, 0, 0, 0) + b"\xc0\x0c"])
def test_malformed_messages_raise_decode_error(data: bytes) -> None:
    with pytest.raises(wire.DecodeError):
        wire.decode_message(data)


def test_soa_data_layout() -> None:
    data = wire.soa_data("ns.dns.cluster.local", "hostmaster.cluster.local", 3)
    mname_len = len(wire.encode_name("ns.dns.cluster.local"))
    assert wire.read_name(data) == "ns.dns.cluster.local"
    assert struct.unpack("!5I", data[-20:])[0] == 3 and len(data) > mname_len + 20
