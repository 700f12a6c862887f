"""The etcd members a store talks to: one gRPC channel each, TLS, and failover between them.

A call goes to the member that last answered; when it cannot be reached, to the next. A read
is retried on the next member whatever went wrong; a write only when it surely never reached
etcd (the channel could not connect, or the member had no leader and refused it before
proposing): anything else may have been applied, so it is reported, not applied twice.
When no member answers: UnavailableError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from .etcd_tls import EtcdTLS
from .interface import UnavailableError

Reply = TypeVar("Reply", bound=Message)

# What never left the client, or what etcd refused before proposing it to raft.
_NOT_SENT = ("failed to connect", "connection refused", "etcdserver: no leader", "not ready")


# Channel settings: a high cap on what etcd sends (a page of a LIST can be big), connections
# that fail fast enough to move on (a 3 s connect timeout), and keepalive pings so that a watch
# on a member that vanished is noticed (etcd allows one per 5 s).
_OPTIONS = [
    ("grpc.max_receive_message_length", 1 << 30),
    ("grpc.max_send_message_length", 64 << 20),
    ("grpc.min_reconnect_backoff_ms", 3000),
    ("grpc.initial_reconnect_backoff_ms", 300),
    ("grpc.max_reconnect_backoff_ms", 5000),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
]


class Endpoints:
    """One channel per etcd member, and calls that fail over between them."""

    def __init__(self, urls: list[str], tls: EtcdTLS | None, timeout: float) -> None:
        if not urls:
            raise ValueError("etcd needs at least one endpoint")
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"etcd endpoint {url!r} is not http://HOST:PORT or https://HOST:PORT")
        self.urls = urls
        self.timeout = timeout
        self._tls = tls or EtcdTLS()
        self._channels: list[grpc.aio.Channel] = []
        self._stubs: dict[tuple[int, str], Any] = {}
        self._active = 0  # the member that last answered
        self.closed = False

    def open(self) -> None:
        for url in self.urls:
            scheme, target = url.split("://", 1)
            if scheme == "https":
                channel = grpc.aio.secure_channel(target, self._tls.credentials(), options=_OPTIONS)
            else:
                channel = grpc.aio.insecure_channel(target, options=_OPTIONS)
            self._channels.append(channel)

    async def close(self) -> None:
        self.closed = True
        channels, self._channels = self._channels, []
        self._stubs.clear()
        await asyncio.gather(*(c.close() for c in channels), return_exceptions=True)

    def order(self) -> list[int]:
        """Member indexes to try, the one that last answered first."""
        n = len(self.urls)
        return [(self._active + i) % n for i in range(n)]

    def answered(self, index: int) -> None:
        self._active = index

    def skip(self, index: int) -> None:
        """`index` broke a stream: try the next member first from now on."""
        if self._active == index:
            self._active = (index + 1) % len(self.urls)

    def channel(self, index: int) -> grpc.aio.Channel:
        if self.closed or not self._channels:
            raise UnavailableError("the store is not started or closed")
        return self._channels[index]

    async def call(
        self,
        method: str,
        request: Message,
        reply: Callable[[bytes], Reply],
        *,
        idempotent: bool,
    ) -> Reply:
        """etcd's reply; grpc.aio.AioRpcError if etcd refused the request; UnavailableError if
        no member could be asked (or a write's fate is unknown)."""
        failures: list[str] = []
        for index in self.order():
            stub = self._stubs.get((index, method))
            if stub is None:
                stub = self._stubs[index, method] = self.channel(index).unary_unary(
                    method, request_serializer=_serialize, response_deserializer=reply
                )
            elif self.closed:
                raise UnavailableError("the store is closed")
            try:
                answer: Reply = await stub(request, timeout=self.timeout)
            except grpc.aio.AioRpcError as e:
                if e.code() not in _MEMBER_TROUBLE:
                    raise  # etcd answered: it is the request, not the member
                detail = f"{self.urls[index]}: {e.code().name}: {e.details()}"
                if not idempotent and not _never_sent(e):
                    self.skip(index)  # the next call tries another member first
                    raise UnavailableError(f"etcd {detail} (the write may have been applied)") from e
                failures.append(detail)
                continue
            self._active = index
            return answer
        raise UnavailableError("no etcd endpoint answered: " + "; ".join(failures))


# Codes that speak of the member or the connection, not of the request.
_MEMBER_TROUBLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.INTERNAL,
}


def _never_sent(e: grpc.aio.AioRpcError) -> bool:
    detail = (e.details() or "").lower()
    return e.code() == grpc.StatusCode.UNAVAILABLE and any(s in detail for s in _NOT_SENT)


def _serialize(message: Any) -> bytes:
    data: bytes = message.SerializeToString()
    return data
