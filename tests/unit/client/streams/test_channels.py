"""Channel framing for the remote-command WebSocket protocols."""

from __future__ import annotations

import pytest

from kubelite.client.streams import channels


def test_encode_and_decode_round_trip():
    msg = channels.encode(channels.STDOUT, b"hi\n")
    assert msg == b"\x01hi\n"
    assert channels.decode(msg) == (channels.STDOUT, b"hi\n")
    assert channels.decode(channels.encode(channels.ERROR)) == (3, b"")


def test_empty_message_is_rejected():
    with pytest.raises(ValueError):
        channels.decode(b"")


def test_close_signal_names_the_channel():
    assert channels.close_signal(channels.STDIN) == bytes([255, 0])


def test_base64_variant():
    text = channels.encode_base64(channels.STDERR, b"\x00\xff")
    assert text == "2AP8="
    assert channels.decode_base64(text) == (2, b"\x00\xff")


def test_negotiation_prefers_v5_whatever_the_order_offered():
    assert channels.negotiate(["v4.channel.k8s.io", "v5.channel.k8s.io"]) == channels.V5
    assert channels.negotiate(channels.split_header("v4.channel.k8s.io, channel.k8s.io")) == channels.V4
    assert channels.negotiate(["channel.k8s.io"]) is None


def test_resize_payloads_with_one_or_several_objects():
    one = channels.TerminalSize(100, 30).encode()
    assert channels.parse_resize(one) == [channels.TerminalSize(100, 30)]
    several = b'{"Width":80,"Height":24}\n{"Width":120,"Height":40}\n'
    assert channels.parse_resize(several) == [channels.TerminalSize(80, 24), channels.TerminalSize(120, 40)]
    assert channels.parse_resize(b"not json") == []
