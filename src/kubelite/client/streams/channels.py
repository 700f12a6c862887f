"""The remote-command channel protocol spoken over WebSocket (`v5.channel.k8s.io`, `v4.channel.k8s.io`).

Every binary WebSocket message is one channel byte followed by the payload. kubectl,
client-go and the Python client all use these numbers; the kubelet and the API server
speak them to each other too.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

STDIN = 0
STDOUT = 1
STDERR = 2
ERROR = 3  # the final Status (v4/v5) or an error text (v1-v3)
RESIZE = 4  # JSON {"Width": w, "Height": h}
CLOSE = 255  # v5 only: payload [255, channel] says "no more data on channel"

V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
BASE64_V4 = "v4.base64.channel.k8s.io"
# Preference order when a client offers several.
WEBSOCKET_PROTOCOLS = (V5, V4)


def negotiate(offered: list[str], supported: tuple[str, ...] = WEBSOCKET_PROTOCOLS) -> str | None:
    """The first protocol we support, in our order of preference, among those offered."""
    wanted = {p.strip() for p in offered}
    for proto in supported:
        if proto in wanted:
            return proto
    return None


def split_header(value: str) -> list[str]:
    """Protocols offered in a `Sec-WebSocket-Protocol` header (comma separated)."""
    return [p.strip() for p in value.split(",") if p.strip()]


def encode(channel: int, data: bytes = b"") -> bytes:
    """One binary message for `channel`."""
    return bytes([channel]) + data


def decode(message: bytes) -> tuple[int, bytes]:
    """(channel, payload) of one binary message; ValueError on an empty message."""
    if not message:
        raise ValueError("empty channel message")
    return message[0], bytes(message[1:])


def close_signal(channel: int) -> bytes:
    """The v5 message that half-closes `channel` (kubectl sends it for stdin at EOF)."""
    return bytes([CLOSE, channel])


def encode_base64(channel: int, data: bytes) -> str:
    """A text message of the base64 variant: ASCII channel digit then base64 payload."""
    return chr(ord("0") + channel) + base64.b64encode(data).decode()


def decode_base64(message: str) -> tuple[int, bytes]:
    if not message:
        raise ValueError("empty channel message")
    return ord(message[0]) - ord("0"), base64.b64decode(message[1:])


@dataclass(frozen=True)
class TerminalSize:
    width: int
    height: int

    def encode(self) -> bytes:
        return json.dumps({"Width": self.width, "Height": self.height}).encode()


def parse_resize(payload: bytes) -> list[TerminalSize]:
    """Terminal sizes in a resize payload: one or more JSON objects, newline separated or not."""
    sizes: list[TerminalSize] = []
    decoder = json.JSONDecoder()
    text = payload.decode("utf-8", errors="replace")
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return sizes
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            return sizes
        if isinstance(obj, dict):
            sizes.append(TerminalSize(int(obj.get("Width", 0) or 0), int(obj.get("Height", 0) or 0)))
