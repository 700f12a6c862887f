"""Persistence: keys, bytes and revisions (see interface.py). `open_store` picks the backend."""

from __future__ import annotations

import os

from .etcd_tls import EtcdTLS
from .interface import Store

SQLITE_SCHEME = "sqlite://"
ETCD_SCHEMES = ("etcd://", "http://", "https://")
URL_FORMS = (
    "sqlite:///ABS/PATH, etcd://HOST:PORT[,HOST:PORT...], http://HOST:PORT[,...] "
    "or https://HOST:PORT[,...] (TLS)"
)


def open_store(url: str, data_dir: str, tls: EtcdTLS | None = None) -> Store:
    """The store named by `url` (not started yet); empty: SQLite at `{data_dir}/state.db`.

    etcd members named with https:// are reached over TLS (`tls`: CA, client certificate and
    key; the system's CAs when it names none)."""
    if not url:
        url = f"sqlite:///{os.path.join(os.path.abspath(data_dir), 'state.db')}"
    if tls and not url.startswith(ETCD_SCHEMES):
        raise ValueError("--datastore-cafile, --datastore-certfile and --datastore-keyfile are for etcd (https://)")
    if url.startswith(SQLITE_SCHEME):
        from .sqlite import SqliteStore

        path = url[len(SQLITE_SCHEME) :]
        if not path.startswith("/") or path.strip("/") == "":
            raise ValueError(f"store URL {url!r}: a SQLite URL needs an absolute path (sqlite:///ABS/PATH)")
        return SqliteStore("/" + path.lstrip("/"))
    for scheme in ETCD_SCHEMES:
        if url.startswith(scheme):
            from .etcd import EtcdStore

            endpoints = _etcd_endpoints(url, scheme)
            if tls:
                if not any(e.startswith("https://") for e in endpoints):
                    raise ValueError(f"store URL {url!r}: TLS files are given but no endpoint is https://")
                tls.check()
            return EtcdStore(endpoints, tls=tls)
    raise ValueError(f"store URL {url!r} is not understood: use {URL_FORMS}")


def _etcd_endpoints(url: str, scheme: str) -> list[str]:
    """`scheme`'s members as http(s)://HOST:PORT; each may repeat a scheme (http://a:1,https://b:2)."""
    endpoints = []
    for member in url[len(scheme) :].split(","):
        member = member.strip()
        member_scheme = "https" if scheme == "https://" else "http"
        if member.startswith(ETCD_SCHEMES):
            member_scheme, member = member.split("://", 1)
            member_scheme = "https" if member_scheme == "https" else "http"
        host, sep, port = member.rstrip("/").rpartition(":")
        if not sep or not host or "/" in member.rstrip("/") or not port.isdigit():
            raise ValueError(f"store URL {url!r}: {member!r} is not HOST:PORT (use {URL_FORMS})")
        endpoints.append(f"{member_scheme}://{host}:{port}")
    return endpoints
