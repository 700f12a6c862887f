"""SPDY/3 frames and header compression with the SPDY/3 dictionary."""

from __future__ import annotations

import zlib

import pytest

from kubelite.client.streams import spdy
from kubelite.client.streams.spdy_dictionary import SPDY3_DICTIONARY


def test_dictionary_is_the_spdy3_one():
    assert len(SPDY3_DICTIONARY) == 1423
    assert SPDY3_DICTIONARY.startswith(b"\x00\x00\x00\x07options\x00\x00\x00\x04head")
    assert SPDY3_DICTIONARY.endswith(b"charset=iso-8859-1,utf-,*,enq=0.")


def test_header_blocks_round_trip_over_one_session_stream():
    comp, decomp = spdy.HeaderCompressor(), spdy.HeaderDecompressor()
    first = comp.compress({"streamtype": ["error"], "Multi": ["a", "b"]})
    second = comp.compress({"streamtype": ["stdin"]})
    assert decomp.decompress(first) == {"streamtype": ["error"], "multi": ["a", "b"]}
    assert decomp.decompress(second) == {"streamtype": ["stdin"]}


def test_header_blocks_use_the_dictionary():
    block = spdy.HeaderCompressor().compress({"streamtype": ["error"]})
    with pytest.raises(zlib.error):
        zlib.decompressobj().decompress(block)  # needs the preset dictionary
    assert zlib.decompressobj(zdict=SPDY3_DICTIONARY).decompress(block)[:4] == b"\x00\x00\x00\x01"


def test_syn_stream_then_data_decoded_from_split_input():
    comp = spdy.HeaderCompressor()
    wire = spdy.encode_syn_stream(comp, 1, {"streamtype": ["stdin"]}) + spdy.encode_data(1, b"hello", fin=True)
    decoder = spdy.FrameDecoder()
    frames = decoder.feed(wire[:5]) + decoder.feed(wire[5:13]) + decoder.feed(wire[13:])
    syn, data = frames
    assert isinstance(syn, spdy.ControlFrame) and syn.type == spdy.SYN_STREAM
    assert syn.stream_id == 1 and syn.headers == {"streamtype": ["stdin"]}
    assert isinstance(data, spdy.DataFrame)
    assert (data.stream_id, data.data, data.fin) == (1, b"hello", True)


def test_control_frames():
    decoder = spdy.FrameDecoder()
    comp = spdy.HeaderCompressor()
    wire = (spdy.encode_syn_reply(comp, 3) + spdy.encode_ping(7) + spdy.encode_rst_stream(5, spdy.RST_CANCEL)
            + spdy.encode_goaway(5))
    reply, ping, rst, goaway = decoder.feed(wire)
    assert isinstance(reply, spdy.ControlFrame) and reply.stream_id == 3 and reply.headers == {}
    assert isinstance(ping, spdy.ControlFrame) and ping.ping_id == 7
    assert isinstance(rst, spdy.ControlFrame) and (rst.stream_id, rst.status) == (5, spdy.RST_CANCEL)
    assert isinstance(goaway, spdy.ControlFrame) and goaway.last_good_stream_id == 5


def test_frame_header_layout():
    assert spdy.encode_ping(1)[:8] == bytes([0x80, 0x03, 0x00, 0x06, 0x00, 0x00, 0x00, 0x04])
    assert spdy.encode_data(5, b"ab", fin=True)[:8] == bytes([0, 0, 0, 5, 0x01, 0, 0, 2])


def test_wrong_version_is_refused():
    frame = bytearray(spdy.encode_ping(1))
    frame[1] = 2
    with pytest.raises(spdy.SpdyError):
        spdy.FrameDecoder().feed(bytes(frame))
