"""Streaming protocols shared by the API server and the kubelet: the remote-command
channels (WebSocket v4/v5), the exit Status, and SPDY/3.1 framing."""

from kubelite.client.streams import channels, spdy, status

__all__ = ["channels", "spdy", "status"]
