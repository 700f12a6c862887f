"""Persistence: keys, bytes and revisions (see interface.py). `open_store` picks the backend."""

from __future__ import annotations

import os

from .interface import Store

SQLITE_SCHEME = "sqlite://"
ETCD_SCHEMES = ("etcd://", "http://")
URL_FORMS = "sqlite:///ABS/PATH, etcd://HOST:PORT[,HOST:PORT...] or http://HOST:PORT[,...]"


def open_store(url: str, data_dir: str) -> Store:
    """The store named by `url` (not started yet); empty: SQLite at `{data_dir}/state.db`."""
    if not url:
        url = f"sqlite:///{os.path.join(os.path.abspath(data_dir), 'state.db')}"
    if url.startswith(SQLITE_SCHEME):
        from .sqlite import SqliteStore

        path = url[len(SQLITE_SCHEME) :]
        if not path.startswith("/") or path.strip("/") == "":
            raise ValueError(f"store URL {url!r}: a SQLite URL needs an absolute path (sqlite:///ABS/PATH)")
        return SqliteStore("/" + path.lstrip("/"))
    for scheme in ETCD_SCHEMES:
        if url.startswith(scheme):
            from .etcd import EtcdStore

            return EtcdStore(_etcd_endpoints(url, scheme))
    raise ValueError(f"store URL {url!r} is not understood: use {URL_FORMS}")


def _etcd_endpoints(url: str, scheme: str) -> list[str]:
    endpoints = []
    for member in url[len(scheme) :].split(","):
        member = member.strip()
        if member.startswith(ETCD_SCHEMES):  # http://a:1,http://b:2
            member = member.split("://", 1)[1]
        host, sep, port = member.rstrip("/").rpartition(":")
        if not sep or not host or "/" in member.rstrip("/") or not port.isdigit():
            raise ValueError(f"store URL {url!r}: {member!r} is not HOST:PORT (use {URL_FORMS})")
        endpoints.append(f"http://{host}:{port}")
    return endpoints
