"""Credentials from imagePullSecrets (the ``.dockerconfigjson`` shape), matched as the kubelet does.

A secret holds ``{"auths": {"registry.example.com[/path]": {"username", "password"} | {"auth"}}}``.
Keys may carry a scheme (``https://index.docker.io/v1/``), a port, a path prefix and ``*``
wildcards in host labels (``*.example.com``). The most specific match wins.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from typing import Any

from .config import Credential, decode_basic_auth

DOCKER_HUB_HOSTS = {"docker.io", "index.docker.io", "registry-1.docker.io"}

DockerConfig = Mapping[str, Any]


def find_credential(
    secrets: DockerConfig | Iterable[DockerConfig] | None, host: str, path: str
) -> Credential | None:
    """The credential for repository ``host/path`` in one or more dockerconfigjson dicts."""
    if not secrets:
        return None
    configs = [secrets] if isinstance(secrets, Mapping) else list(secrets)
    best: tuple[int, Credential] | None = None
    for config in configs:
        auths = config.get("auths", config)  # old .dockercfg has no "auths" level
        if not isinstance(auths, Mapping):
            continue
        for key, entry in auths.items():
            if not isinstance(entry, Mapping):
                continue
            score = _match(str(key), host, path)
            if score is not None and (best is None or score > best[0]):
                best = (score, _credential(str(key), entry))
    return best[1] if best else None


def _match(key: str, host: str, path: str) -> int | None:
    """How specifically ``key`` matches ``host/path`` (longer is better), None if not at all."""
    if "://" in key:
        key = key.split("://", 1)[1]
    key_host, _, key_path = key.partition("/")
    key_path = key_path.strip("/")
    if _is_docker_hub(key_host) and _is_docker_hub(host):
        if key_path in ("v1", "v2"):
            key_path = ""
    elif not _host_matches(key_host, host):
        return None
    if key_path and not (path == key_path or path.startswith(key_path + "/")):
        return None
    return len(key_host) + len(key_path)


def _is_docker_hub(host: str) -> bool:
    return host in DOCKER_HUB_HOSTS


def _host_matches(pattern: str, host: str) -> bool:
    pattern_name, _, pattern_port = pattern.partition(":")
    host_name, _, host_port = host.partition(":")
    if pattern_port != host_port:
        return False
    pattern_labels, host_labels = pattern_name.split("."), host_name.split(".")
    if len(pattern_labels) != len(host_labels):
        return False
    return all(fnmatch.fnmatchcase(h, p) for p, h in zip(pattern_labels, host_labels, strict=True))


def _credential(key: str, entry: Mapping[str, Any]) -> Credential:
    if entry.get("auth"):
        username, password = decode_basic_auth(str(entry["auth"]), where=f"auths[{key}]")
        return Credential(username, password)
    return Credential(
        str(entry.get("username", "")),
        str(entry.get("password", "")),
        str(entry.get("identitytoken", "")),
    )
