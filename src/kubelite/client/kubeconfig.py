"""Finding and reading a kubeconfig the way kubectl does, and writing one.

Order: an explicit path (`--kubeconfig`), then `$KUBECONFIG` (first existing file of a
colon-separated list), then `~/.kube/config`. Only the current context is read.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from kubelite.api.decoding import DecodeError, decode_yaml


class KubeconfigError(Exception):
    """The kubeconfig is missing or does not name a usable cluster."""


@dataclass(frozen=True)
class ClusterConfig:
    """What the client needs to reach one cluster as one user."""

    server: str
    token: str | None = None
    ca_file: str | None = None
    ca_data: bytes | None = None
    insecure: bool = False
    client_cert_file: str | None = None
    client_key_file: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None


def find_kubeconfig(path: str | None = None) -> Path:
    """The kubeconfig file kubectl would read."""
    if path:
        return Path(path).expanduser()
    env = os.environ.get("KUBECONFIG", "")
    for candidate in env.split(os.pathsep):
        if candidate and Path(candidate).expanduser().exists():
            return Path(candidate).expanduser()
    return Path.home() / ".kube" / "config"


def _named(items: list[dict[str, Any]] | None, name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if item.get("name") == name:
            return dict(item.get(what) or {})
    raise KubeconfigError(f'{what} "{name}" not found in kubeconfig')


def _resolve(base: Path, file: str | None) -> str | None:
    if not file:
        return None
    p = Path(file).expanduser()
    return str(p if p.is_absolute() else base.parent / p)


def load_kubeconfig(path: str | None = None, context: str | None = None) -> ClusterConfig:
    """Read the current (or given) context's cluster and user from a kubeconfig."""
    file = find_kubeconfig(path)
    try:
        doc = decode_yaml(file.read_bytes()) or {}
    except OSError as e:
        raise KubeconfigError(f"cannot read kubeconfig {file}: {e}") from e
    except (yaml.YAMLError, DecodeError) as e:  # bounded like any YAML body
        raise KubeconfigError(f"cannot parse kubeconfig {file}: {e}") from e
    if not isinstance(doc, dict):
        raise KubeconfigError(f"kubeconfig {file} is not a mapping")
    ctx_name = context or doc.get("current-context")
    if not ctx_name:
        raise KubeconfigError(f"kubeconfig {file} has no current-context")
    ctx = _named(doc.get("contexts"), ctx_name, "context")
    cluster = _named(doc.get("clusters"), ctx.get("cluster", ""), "cluster")
    user = _named(doc.get("users"), ctx["user"], "user") if ctx.get("user") else {}
    if not cluster.get("server"):
        raise KubeconfigError(f'cluster "{ctx.get("cluster")}" has no server')
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(_resolve(file, user["tokenFile"]) or "").read_text().strip()
    ca_data = cluster.get("certificate-authority-data")
    cert_data, key_data = user.get("client-certificate-data"), user.get("client-key-data")
    return ClusterConfig(
        server=str(cluster["server"]).rstrip("/"),
        token=token,
        ca_file=_resolve(file, cluster.get("certificate-authority")),
        ca_data=base64.b64decode(ca_data) if ca_data else None,
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        client_cert_file=_resolve(file, user.get("client-certificate")),
        client_key_file=_resolve(file, user.get("client-key")),
        client_cert_data=base64.b64decode(cert_data) if cert_data else None,
        client_key_data=base64.b64decode(key_data) if key_data else None,
    )


def build(server: str, ca_pem: bytes | None, user: str, credentials: dict[str, str], *,
          cluster: str = "kubelite", context: str = "kubelite", namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig with one cluster, one user and one context using them (current)."""
    cluster_entry: dict[str, str] = {"server": server}
    if ca_pem:
        cluster_entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": cluster_entry}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [{"name": context, "context": {"cluster": cluster, "user": user, "namespace": namespace}}],
        "current-context": context,
        "preferences": {},
    }


def client_certificate(cert_pem: bytes, key_pem: bytes) -> dict[str, str]:
    """A kubeconfig user's credentials: a client certificate and its key, inline."""
    return {"client-certificate-data": base64.b64encode(cert_pem).decode(),
            "client-key-data": base64.b64encode(key_pem).decode()}
