"""haproxy's configuration for a routing table (model.Table), as text.

One `frontend` per listening port (HTTP, and HTTPS when a port is given) shares the routing
rules: an ACL per route on the request's host (without its port, lower-cased) and its path,
`use_backend` lines in the table's order (haproxy takes the first that matches), then the
default backend or a 404. One `backend` per Service port lists its endpoints (pod IPs) as
servers; a backend without endpoints answers 503, as ingress controllers do.

TLS: every certificate is listed in a crt-list (certificates.py writes it) with the SNI names
its Ingress gives; the first line is the built-in default certificate, served to clients whose
name matches none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kubelite.ingress.model import EXACT, Backend, Route, Table

NOT_FOUND = "404 page not found"  # the body traefik (k3s' controller) answers
# Paths haproxy reads as one word (no quotes, spaces, comments or escapes); others are skipped.
SAFE_PATH = re.compile(r"^/[A-Za-z0-9/._~!$&()*+,;=:@%-]*$")
HARD_STOP_AFTER = "15m"  # old processes finish their requests for at most this long after a reload


@dataclass(frozen=True)
class Listen:
    http_port: int
    https_port: int = 0
    crt_list: str = ""  # the crt-list file (required with https_port)
    address: str = ""  # "" for every address
    user: str = ""  # the workers drop to this user and its group once listening ("": stay)


def _host_acl(name: str, host: str) -> str:
    if host.startswith("*."):
        # single quotes: haproxy keeps the backslashes of the regular expression
        return f"acl {name} var(txn.host) -m reg '^[^.]+{re.escape(host[1:])}$'"
    return f"acl {name} var(txn.host) -m str {host}"


def _path_acls(name: str, route: Route) -> list[str]:
    if route.path_type == EXACT:
        return [f"acl {name} path -m str {route.path}"]
    if route.path == "/":
        return []
    return [f"acl {name} path -m str {route.path}", f"acl {name} path -m beg {route.path}/"]


def routing_rules(table: Table) -> list[str]:
    """The frontend lines that send a request to its backend."""
    lines = ["http-request set-var(txn.host) hdr(host),field(1,:),lower"]
    uses: list[str] = []
    for i, route in enumerate(table.routes):
        if not SAFE_PATH.match(route.path):
            continue
        conditions = []
        if route.host:
            lines.append(_host_acl(f"h{i}", route.host))
            conditions.append(f"h{i}")
        path_acls = _path_acls(f"p{i}", route)
        if path_acls:
            lines += path_acls
            conditions.append(f"p{i}")
        uses.append(f"use_backend {route.backend.id} if {' '.join(conditions) or 'TRUE'}")
    lines += uses
    lines.append(f"default_backend {table.default.id if table.default else 'not-found'}")
    return lines


def backends(table: Table) -> list[Backend]:
    """Each backend once, in a stable order."""
    seen: dict[str, Backend] = {}
    for backend in [r.backend for r in table.routes] + ([table.default] if table.default else []):
        seen.setdefault(backend.id, backend)
    return [seen[k] for k in sorted(seen)]


def _backend(backend: Backend) -> list[str]:
    lines = [f"backend {backend.id}", "\tbalance roundrobin"]
    if not backend.endpoints:
        return [*lines, "\thttp-request return status 503 content-type text/plain string "
                        '"no available server"']
    lines += [f"\tserver e{i} {ep.ip}:{ep.port}" for i, ep in enumerate(backend.endpoints)]
    return lines


def render(table: Table, listen: Listen) -> str:
    """The whole configuration file."""
    bind = listen.address or ""
    out = [
        "# written by kubelite's ingress controller: changes are overwritten",
        "global",
        f"\thard-stop-after {HARD_STOP_AFTER}",
        "\tnoreuseport",  # a second cluster on this machine must not share the ports silently
        "\tlog stderr format short local0 notice",
        *([f"\tuser {listen.user}", f"\tgroup {listen.user}"] if listen.user else []),
        "defaults",
        "\tmode http",
        "\tlog global",
        "\toption forwardfor",
        "\toption http-keep-alive",
        # a pod that stopped listening before its endpoint left this file (it is terminating):
        # the connection is tried on another pod, as ingress-nginx's proxy_next_upstream does;
        # only failed connects are retried, never a request a server has seen
        "\tretries 2",
        "\toption redispatch 1",
        "\ttimeout connect 5s",
        "\ttimeout client 60s",
        "\ttimeout server 60s",
        "\ttimeout http-request 10s",
        "\ttimeout http-keep-alive 60s",
    ]
    rules = [f"\t{line}" for line in routing_rules(table)]
    if listen.http_port:
        out += ["frontend http", f"\tbind {bind}:{listen.http_port}", *rules]
    if listen.https_port:
        out += ["frontend https", f"\tbind {bind}:{listen.https_port} ssl crt-list {listen.crt_list} alpn h2,http/1.1",
                "\thttp-request set-header X-Forwarded-Proto https", *rules]
    for backend in backends(table):
        out += _backend(backend)
    out += ["backend not-found", f'\thttp-request return status 404 content-type text/plain string "{NOT_FOUND}"']
    return "\n".join(out) + "\n"
