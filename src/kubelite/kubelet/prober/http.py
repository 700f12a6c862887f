"""The httpGet probe (pkg/probe/http): GET, 200-399 is success, same-host redirects followed.

A small HTTP/1.1 client on a bare socket (asyncio streams for HTTPS) rather than aiohttp: a
probe is one short GET with `Connection: close` (the kubelet disables keep-alives), and at a
hundred probes a second the cost of a full client session shows in the kubelet's CPU. HTTPS does not verify the
certificate. A redirect to another host is not followed: its 3xx answer counts as success with
a warning ("Probe terminated redirects"), as in Kubernetes. Error texts follow Go's net/http.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from urllib.parse import urljoin, urlsplit

from kubelite.kubelet.prober.results import Outcome, Result, failure

USER_AGENT = "kube-probe/1.32"
MAX_REDIRECTS = 10
MAX_BODY = 10 * 1024  # Kubernetes reads at most 10 KiB of the answer
MAX_HEADER_LINES = 200

_insecure: ssl.SSLContext | None = None


def _tls() -> ssl.SSLContext:
    global _insecure
    if _insecure is None:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        _insecure = ctx
    return _insecure


def probe_url(scheme: str, host: str, port: int, path: str) -> str:
    """The URL Kubernetes' formatURL builds (path made absolute, IPv6 hosts bracketed)."""
    if not path.startswith("/"):
        path = "/" + path
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"{scheme.lower()}://{host}:{port}{path}"


class _Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status = status
        self.headers = headers
        self.body = body


def dial_error(host: str, port: int, err: BaseException) -> str:
    """Go's dial error text: `dial tcp 10.0.0.5:80: connect: connection refused`."""
    addr = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if isinstance(err, ConnectionRefusedError):
        why = "connect: connection refused"
    elif isinstance(err, TimeoutError):
        why = "i/o timeout"
    elif isinstance(err, OSError) and err.strerror:
        why = f"connect: {err.strerror.lower()}"
    else:
        why = str(err) or type(err).__name__
    return f"dial tcp {addr}: {why}"


def _request(url: str, headers: list[tuple[str, str]]) -> bytes:
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    names = {name.lower() for name, _ in headers}
    lines = [f"GET {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {parts.netloc}")
    if "user-agent" not in names:
        lines.append(f"User-Agent: {USER_AGENT}")
    if "accept" not in names:
        lines.append("Accept: */*")
    lines += [f"{name}: {value}" for name, value in headers
              if name.lower() not in ("connection", "content-length")]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")


def _complete(data: bytes) -> bool:
    """Whether `data` holds the whole answer we read: headers and the body we keep."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = data.partition(b"\n\n")
        if not sep:
            return len(data) > 64 * 1024  # no end of headers in sight: stop reading
    length = MAX_BODY
    for line in head.split(b"\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length" and value.strip().isdigit():
            length = min(int(value.strip()), MAX_BODY)
    return len(body) >= length


def _parse(data: bytes) -> _Answer:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        head, _, body = data.partition(b"\n\n")
    lines = head.split(b"\n")
    status_line = lines[0].rstrip(b"\r")
    words = status_line.decode("latin-1").split(None, 2)
    if len(words) < 2 or not words[0].startswith("HTTP/") or not words[1].isdigit():
        raise _ProbeError("malformed HTTP response " + repr(status_line[:40].decode("latin-1")))
    answer_headers: dict[str, str] = {}
    for line in lines[1:MAX_HEADER_LINES + 1]:
        name, _, value = line.decode("latin-1").partition(":")
        answer_headers[name.strip().lower()] = value.strip()
    length = answer_headers.get("content-length", "")
    limit = min(int(length), MAX_BODY) if length.isdigit() else MAX_BODY
    return _Answer(int(words[1]), answer_headers, body[:limit])


async def _exchange_plain(host: str, port: int, request: bytes) -> bytes:
    """One GET over a bare non-blocking socket: cheaper than streams at 100 probes a second."""
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, (host, port))
        except OSError as e:
            raise _ProbeError(dial_error(host, port, e)) from e
        try:
            await loop.sock_sendall(sock, request)
            data = b""
            while not _complete(data):
                chunk = await loop.sock_recv(sock, 16 * 1024)
                if not chunk:
                    break
                data += chunk
        except OSError as e:
            raise _ProbeError(f"read tcp {host}:{port}: {e.strerror or e}") from e
        return data
    finally:
        sock.close()


async def _exchange_tls(host: str, port: int, request: bytes) -> bytes:
    try:
        reader, writer = await asyncio.open_connection(host, port, ssl=_tls(),
                                                       server_hostname=host)
    except OSError as e:
        raise _ProbeError(dial_error(host, port, e)) from e
    try:
        writer.write(request)
        await writer.drain()
        data = b""
        with contextlib.suppress(asyncio.IncompleteReadError):
            while not _complete(data):
                chunk = await reader.read(16 * 1024)
                if not chunk:
                    break
                data += chunk
        return data
    except OSError as e:
        raise _ProbeError(f"read tcp {host}:{port}: {e.strerror or e}") from e
    finally:
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()


async def _get(url: str, headers: list[tuple[str, str]]) -> _Answer:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    request = _request(url, headers)
    if parts.scheme == "https":
        data = await _exchange_tls(host, port, request)
    else:
        data = await _exchange_plain(host, port, request)
    return _parse(data)


class _ProbeError(Exception):
    """A failure whose text is the probe's output."""


async def probe_http(url: str, headers: list[tuple[str, str]], timeout: float) -> Outcome:
    """GET url (following same-host redirects) within `timeout` seconds."""
    current = url
    try:
        async with asyncio.timeout(timeout):
            for _ in range(MAX_REDIRECTS + 1):
                answer = await _get(current, headers)
                location = answer.headers.get("location")
                if 300 <= answer.status < 400 and location and answer.status != 304:
                    nxt = urljoin(current, location)
                    if urlsplit(nxt).hostname != urlsplit(url).hostname:
                        body = answer.body.decode(errors="replace")
                        return Outcome(Result.WARNING,
                                       f"Probe terminated redirects, Response body: {body}")
                    current = nxt
                    continue
                break
            else:
                return failure(f'Get "{current}": stopped after {MAX_REDIRECTS} redirects')
    except TimeoutError:
        return failure(f'Get "{current}": context deadline exceeded '
                       "(Client.Timeout exceeded while awaiting headers)")
    except _ProbeError as e:
        return failure(f'Get "{current}": {e}')
    except (OSError, ssl.SSLError, ValueError) as e:
        return failure(f'Get "{current}": {e}')
    if 200 <= answer.status < 400:
        body = answer.body.decode(errors="replace")
        if answer.status >= 300:
            return Outcome(Result.WARNING, f"Probe terminated redirects, Response body: {body}")
        return Outcome(Result.SUCCESS, body)
    return failure(f"HTTP probe failed with statuscode: {answer.status}")
