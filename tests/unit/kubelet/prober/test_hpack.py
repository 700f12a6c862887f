"""HPACK decoding against RFC 7541's own examples (Appendix C.4, Huffman-coded requests)."""

from __future__ import annotations

import pytest

from kubelite.kubelet.prober.hpack import (
    Decoder,
    HpackError,
    encode_int,
    encode_literal,
    huffman_decode,
    huffman_encode,
)


def test_rfc7541_c4_requests_share_one_dynamic_table() -> None:
    d = Decoder()
    first = d.decode(bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff"))
    assert first == [(":method", "GET"), (":scheme", "http"), (":path", "/"),
                     (":authority", "www.example.com")]
    second = d.decode(bytes.fromhex("828684be5886a8eb10649cbf"))
    assert second[-1] == ("cache-control", "no-cache") and second[3][1] == "www.example.com"
    third = d.decode(bytes.fromhex("828785bf408825a849e95ba97d7f8925a849e95bb8e8b4bf"))
    assert third[-1] == ("custom-key", "custom-value") and third[1] == (":scheme", "https")
    assert [n for n, _ in d.dynamic] == ["custom-key", "cache-control", ":authority"]


def test_huffman_round_trip_and_rfc_vector() -> None:
    assert huffman_encode(b"www.example.com").hex() == "f1e3c2e5f23a6ba0ab90f4ff"
    for text in (b"grpc-status", b"application/grpc", b"unknown service x.y", bytes(range(256))):
        assert huffman_decode(huffman_encode(text)) == text


def test_size_update_evicts_and_bad_input_raises() -> None:
    d = Decoder()
    d.decode(bytes.fromhex("828684418cf1e3c2e5f23a6ba0ab90f4ff"))
    assert d.dynamic
    d.decode(b"\x20")  # dynamic table size update to 0
    assert d.dynamic == []
    with pytest.raises(HpackError):
        d.decode(b"\xbe")  # dynamic index that no longer exists
    with pytest.raises(HpackError):
        huffman_decode(b"\x00")  # zero padding bits are not allowed


def test_literal_encoding_decodes() -> None:
    block = encode_literal("te", "trailers") + encode_literal("x" * 200, "y")
    assert Decoder().decode(block) == [("te", "trailers"), ("x" * 200, "y")]
    assert encode_int(1337, 5) == bytes([31, 154, 10])  # RFC 7541 C.1.2
