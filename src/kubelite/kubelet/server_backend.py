"""What the kubelet's HTTPS server needs from whoever runs containers.

The real kubelet implements `StreamBackend` over its runtime; tests use
`kubelet.server_local.LocalProcessBackend`, which runs host processes.
Errors: raise `LookupError(message)` for a missing pod or container (404), `ValueError(message)`
for a request that cannot be served as asked, e.g. no previous container (400). The message
is what `kubectl` prints after `Error from server (...)`.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol


class Process(Protocol):
    """A running exec'd command, or an attachment to a container's main process."""

    async def write_stdin(self, data: bytes) -> None: ...

    async def close_stdin(self) -> None: ...

    async def read_stdout(self) -> bytes:
        """The next output chunk; b"" at end of output."""
        ...

    async def read_stderr(self) -> bytes:
        """The next stderr chunk; b"" at end (immediately for a tty)."""
        ...

    async def resize(self, width: int, height: int) -> None: ...

    async def wait(self) -> int:
        """The exit code (after the process has ended)."""
        ...

    def kill(self) -> None:
        """Stop an exec'd command whose client went away (a no-op for attach)."""
        ...


@dataclass(frozen=True)
class LogOptions:
    """The query of `GET /containerLogs/...`, as PodLogOptions names it."""

    follow: bool = False
    previous: bool = False
    tail_lines: int | None = None
    since_seconds: int | None = None
    since_time: str | None = None  # RFC 3339
    timestamps: bool = False
    limit_bytes: int | None = None


@dataclass(frozen=True)
class PortForwardTarget:
    """Where a pod's port-forward connects: `dial(port)` gives a socket to localhost:port in
    the pod's network namespace (raising with the runtime's message when nothing listens)."""

    sandbox_id: str
    dial: Callable[[int], Awaitable[socket.socket]]


class StreamBackend(Protocol):
    def container_logs(
        self, namespace: str, pod: str, container: str, *, follow: bool, previous: bool,
        tail_lines: int | None, since_seconds: int | None, since_time: str | None,
        timestamps: bool, limit_bytes: int | None,
    ) -> AsyncIterator[bytes]:
        """The log bytes, as an async iterator (an `async def` generator). Errors may be raised
        on the first iteration; the server reads one chunk before answering."""
        ...

    async def exec(
        self, namespace: str, pod: str, container: str, command: list[str], *, tty: bool, stdin: bool
    ) -> Process: ...

    async def attach(
        self, namespace: str, pod: str, container: str, *, tty: bool, stdin: bool
    ) -> Process: ...

    def port_forward(self, namespace: str, pod: str) -> PortForwardTarget:
        """The pod's port-forward target; LookupError if the pod is not on this node."""
        ...
