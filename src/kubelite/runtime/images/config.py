"""Registry mirrors, credentials and TLS from a k3s-style ``registries.yaml``.

```yaml
mirrors:
  docker.io:
    endpoint: ["http://127.0.0.1:5000"]
    rewrite: {"^rancher/(.*)": "mirrored/rancher/$1"}
configs:
  "127.0.0.1:5000":
    auth: {username: u, password: p}        # or {auth: base64("u:p")}
    tls: {insecure_skip_verify: true, ca_file: /path/ca.pem}
```

A registry is tried through its mirrors in order, then upstream itself. Plain HTTP is used
for endpoints written with ``http://`` and for loopback hosts; everything else is HTTPS.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import yaml

from .reference import DEFAULT_DOMAIN

DOCKER_HUB_ENDPOINT = "https://registry-1.docker.io"


@dataclass(frozen=True)
class Credential:
    """Basic credentials (or an identity token) for one registry host."""

    username: str = ""
    password: str = ""
    identity_token: str = ""


@dataclass(frozen=True)
class TLSConfig:
    insecure_skip_verify: bool = False
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None


@dataclass(frozen=True)
class Endpoint:
    """One place to fetch a registry's content from: a mirror or the registry itself."""

    base_url: str  # scheme://host[:port][/prefix], without the trailing /v2
    is_mirror: bool
    rewrites: tuple[tuple[re.Pattern[str], str], ...] = ()
    registry: str = ""  # for the upstream endpoint: the registry name (docker.io)

    @property
    def host(self) -> str:
        return urlsplit(self.base_url).netloc

    def v2_url(self, path: str) -> str:
        """The URL of ``/v2/<path>`` on this endpoint."""
        return f"{self.base_url}/v2/{path}"

    def repository(self, path: str) -> str:
        """The repository path to ask this endpoint for (mirror rewrites applied)."""
        for pattern, replacement in self.rewrites:
            if pattern.search(path):
                return pattern.sub(replacement, path, count=1)
        return path


@dataclass
class RegistriesConfig:
    """The parsed ``registries.yaml``."""

    mirrors: dict[str, list[Endpoint]] = field(default_factory=dict)
    auths: dict[str, Credential] = field(default_factory=dict)
    tls: dict[str, TLSConfig] = field(default_factory=dict)

    def endpoints_for(self, domain: str) -> list[Endpoint]:
        """Mirrors of ``domain`` in their configured order, then ``domain`` itself."""
        mirrors = self.mirrors.get(domain)
        if mirrors is None:
            mirrors = self.mirrors.get("*", [])
        upstream = Endpoint(upstream_url(domain), is_mirror=False, registry=domain)
        out = [m for m in mirrors if m.base_url != upstream.base_url]
        out.append(upstream)
        return out

    def credential_for(self, endpoint: Endpoint) -> Credential | None:
        """``configs[host].auth`` for the endpoint (upstream: its registry name works too)."""
        return self.auths.get(endpoint.host) or self.auths.get(endpoint.registry)

    def ssl_for(self, endpoint: Endpoint) -> ssl.SSLContext | bool:
        """What to give aiohttp as ``ssl=`` for this endpoint (True: default checks)."""
        tls = self.tls.get(endpoint.host) or self.tls.get(endpoint.registry)
        if tls is None:
            return True
        if tls.insecure_skip_verify:
            return False
        if not (tls.ca_file or tls.cert_file):
            return True
        ctx = ssl.create_default_context(cafile=tls.ca_file)
        if tls.cert_file:
            ctx.load_cert_chain(tls.cert_file, tls.key_file)
        return ctx

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> RegistriesConfig:
        data = data or {}
        if not isinstance(data, dict):
            raise ValueError("registries config: the top level must be a mapping")
        config = cls()
        for registry, mirror in (data.get("mirrors") or {}).items():
            mirror = mirror or {}
            rewrites = tuple(
                (re.compile(pattern), _go_replacement(replacement))
                for pattern, replacement in (mirror.get("rewrite") or {}).items()
            )
            config.mirrors[registry] = [
                Endpoint(_endpoint_url(url), is_mirror=True, rewrites=rewrites)
                for url in mirror.get("endpoint") or []
            ]
        for host, entry in (data.get("configs") or {}).items():
            entry = entry or {}
            host = _host_of(host)
            auth = entry.get("auth")
            if auth:
                config.auths[host] = _credential(host, auth)
            tls = entry.get("tls")
            if tls:
                config.tls[host] = TLSConfig(
                    insecure_skip_verify=bool(tls.get("insecure_skip_verify", False)),
                    ca_file=tls.get("ca_file"),
                    cert_file=tls.get("cert_file"),
                    key_file=tls.get("key_file"),
                )
        return config


def load_registries(path: str | None) -> RegistriesConfig:
    """Read ``registries.yaml`` at ``path``; a missing file means no mirrors and no auth."""
    if not path or not os.path.exists(path):
        return RegistriesConfig()
    with open(path, encoding="utf-8") as f:
        try:
            data = yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise ValueError(f"registries config {path}: {e}") from e
    return RegistriesConfig.from_dict(data)


def is_loopback_host(host: str) -> bool:
    """``localhost``, ``127.0.0.0/8`` or ``::1``, with or without a port."""
    hostname = urlsplit(f"//{host}").hostname or ""
    if hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def upstream_url(domain: str) -> str:
    """The registry's own endpoint: Docker Hub's API host, plain HTTP for loopback."""
    if domain == DEFAULT_DOMAIN:
        return DOCKER_HUB_ENDPOINT
    scheme = "http" if is_loopback_host(domain) else "https"
    return f"{scheme}://{domain}"


def _endpoint_url(url: str) -> str:
    if "://" not in url:
        url = ("http://" if is_loopback_host(url.split("/")[0]) else "https://") + url
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"registries config: bad mirror endpoint {url!r}")
    prefix = parts.path.rstrip("/")
    if prefix.endswith("/v2"):
        prefix = prefix[: -len("/v2")]
    return f"{parts.scheme}://{parts.netloc}{prefix}"


def _host_of(key: str) -> str:
    return urlsplit(key).netloc if "://" in key else key.rstrip("/")


def _credential(host: str, auth: dict[str, Any]) -> Credential:
    if auth.get("auth"):
        username, password = decode_basic_auth(auth["auth"], where=f"configs[{host}].auth")
        return Credential(username, password)
    return Credential(
        str(auth.get("username", "")),
        str(auth.get("password", "")),
        str(auth.get("identitytoken", auth.get("identity_token", ""))),
    )


def decode_basic_auth(value: str, *, where: str) -> tuple[str, str]:
    """``base64("user:password")`` -> ``(user, password)``."""
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"{where}: auth is not valid base64: {e}") from e
    username, sep, password = decoded.partition(":")
    if not sep:
        raise ValueError(f"{where}: auth must be base64 of 'username:password'")
    return username, password


def _go_replacement(replacement: str) -> str:
    """Go's regexp ``$1``/``${1}`` -> Python's ``\\g<1>``."""
    return re.sub(r"\$\{?(\w+)\}?", r"\\g<\1>", replacement)
