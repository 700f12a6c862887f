"""httpGet probes: 200-399 pass, others fail with the status code, same-host redirects are
followed, other hosts' redirects are a warning, headers are sent, timeouts and refused
connections fail with Go's words, HTTPS does not verify the certificate."""

from __future__ import annotations

import asyncio
import datetime
import socket
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from kubelite.kubelet.prober.http import USER_AGENT, probe_http, probe_url
from kubelite.kubelet.prober.results import Result

seen: dict[str, str] = {}


async def handler(request: web.Request) -> web.StreamResponse:
    path = request.path
    seen.update(request.headers)
    if path == "/ok":
        return web.Response(text="fine")
    if path == "/fail":
        return web.Response(status=500, text="broken")
    if path == "/hop":
        raise web.HTTPFound("/fail")
    if path == "/away":
        raise web.HTTPFound("http://elsewhere.invalid/")
    if path == "/loop":
        raise web.HTTPFound("/loop")
    if path == "/slow":
        await asyncio.sleep(2)
    return web.Response(status=404)


@pytest.fixture
async def server() -> AsyncIterator[int]:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield port
    finally:
        await runner.cleanup()


async def test_200_is_success_and_500_fails_with_the_status_code(server: int) -> None:
    ok = await probe_http(probe_url("HTTP", "127.0.0.1", server, "ok"), [], 1)
    assert ok.result is Result.SUCCESS and ok.output == "fine"
    bad = await probe_http(probe_url("HTTP", "127.0.0.1", server, "/fail"), [], 1)
    assert bad.result is Result.FAILURE
    assert bad.output == "HTTP probe failed with statuscode: 500"


async def test_same_host_redirect_is_followed(server: int) -> None:
    outcome = await probe_http(f"http://127.0.0.1:{server}/hop", [], 1)
    assert outcome.output == "HTTP probe failed with statuscode: 500"


async def test_redirect_to_another_host_is_a_warning_not_followed(server: int) -> None:
    outcome = await probe_http(f"http://127.0.0.1:{server}/away", [], 1)
    assert outcome.result is Result.WARNING and outcome.result.ok
    assert outcome.output.startswith("Probe terminated redirects")


async def test_redirect_loop_stops_after_ten(server: int) -> None:
    outcome = await probe_http(f"http://127.0.0.1:{server}/loop", [], 1)
    assert outcome.result is Result.FAILURE and "stopped after 10 redirects" in outcome.output


async def test_headers_host_override_and_user_agent(server: int) -> None:
    await probe_http(f"http://127.0.0.1:{server}/ok", [("X-Probe", "yes"), ("Host", "app.local")], 1)
    assert seen["X-Probe"] == "yes" and seen["Host"] == "app.local"
    assert seen["User-Agent"] == USER_AGENT and seen["Connection"] == "close"


async def test_timeout_and_refused_connection_fail_in_gos_words(server: int) -> None:
    slow = await probe_http(f"http://127.0.0.1:{server}/slow", [], 0.2)
    assert slow.result is Result.FAILURE
    assert slow.output == (f'Get "http://127.0.0.1:{server}/slow": context deadline exceeded '
                           "(Client.Timeout exceeded while awaiting headers)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    refused = await probe_http(f"http://127.0.0.1:{closed}/", [], 1)
    assert refused.output == (f'Get "http://127.0.0.1:{closed}/": dial tcp 127.0.0.1:{closed}: '
                              "connect: connection refused")


def _self_signed(tmp: Path) -> ssl.SSLContext:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp / "c.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp / "k.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(tmp / "c.pem", tmp / "k.pem")
    return ctx


async def test_https_does_not_verify_the_certificate(tmp_path: Path) -> None:
    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_self_signed(tmp_path))
    await site.start()
    port = runner.addresses[0][1]
    try:
        outcome = await probe_http(probe_url("HTTPS", "127.0.0.1", port, "/ok"), [], 2)
        assert outcome.result is Result.SUCCESS and outcome.output == "fine"
    finally:
        await runner.cleanup()
