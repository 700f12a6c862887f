"""`kubelite kubeconfig`: print the admin kubeconfig of a data dir, or with `--user NAME
[--group G ...] [--days N]` mint a client certificate for another user and print a
kubeconfig that uses it.

Minting needs the client CA's key (DATA_DIR/tls/client-ca.key, readable by root only) and the
admin kubeconfig the server wrote (for the server's address and the cluster CA). Nothing is
kept on the server's side: a minted certificate is valid until it expires (`--days`, default
365), as with kubeadm's `kubeconfig user`; what the user may do is for authorization to say.

`--server URL` writes another address into either kubeconfig: a fixed registration address
(a load balancer or DNS name in front of several servers, k3s' term), which the servers'
certificate must cover (`kubelite server --tls-san NAME`).
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kubelite.apiserver import client_certs
from kubelite.client import kubeconfig


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from kubelite.cli.main import DEFAULT_DATA_DIR

    p = sub.add_parser("kubeconfig", help="print the admin kubeconfig, or mint one for another user (--user)")
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    p.add_argument("--user", default="", help="mint a client certificate for this user (its CN) and print a kubeconfig for it")
    p.add_argument("--group", action="append", default=[], help="a group of --user (its O; repeatable)")
    p.add_argument("--days", type=int, default=client_certs.DEFAULT_DAYS,
                   help="how long the minted certificate is valid (default %(default)s)")
    p.add_argument("--server", default="",
                   help="the API server URL to write (https://HOST:PORT; default: this server's own): "
                        "a load balancer or DNS name in front of several servers")


def _admin_path(data_dir: Path) -> Path:
    path = data_dir / "kubeconfig.yaml"
    if not path.exists():
        raise ValueError(f"{path} does not exist: start `kubelite server --data-dir {data_dir}` first")
    return path


def user_kubeconfig(data_dir: Path, user: str, groups: list[str], days: int) -> dict[str, object]:
    """A kubeconfig for `user` in `groups` on the cluster of `data_dir` (ValueError if it cannot be made)."""
    admin = yaml.safe_load(_admin_path(data_dir).read_text())
    tls_dir = data_dir / "tls"
    if not (tls_dir / "client-ca.key").exists():
        raise ValueError(f"no client CA in {tls_dir}: the server runs without TLS, or elsewhere")
    cluster = admin["clusters"][0]["cluster"]
    ca = cluster.get("certificate-authority-data")
    cert, key = client_certs.mint(tls_dir, user, groups, days)
    return kubeconfig.build(cluster["server"], base64.b64decode(ca) if ca else None, user,
                            kubeconfig.client_certificate(cert, key), context=f"{user}@kubelite")


def server_url(url: str) -> str:
    """A `--server` URL checked: https, a host, nothing after the port (ValueError otherwise)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as e:
        raise ValueError(f"--server {url!r}: {e}") from e
    if parts.scheme != "https" or not parts.hostname or parts.path.strip("/") or parts.query:
        raise ValueError(f"--server {url!r}: want https://HOST[:PORT]")
    return url.rstrip("/")


def with_server(doc: dict[str, Any], url: str) -> dict[str, Any]:
    """`doc` with every cluster's server replaced by `url`."""
    for cluster in doc.get("clusters") or []:
        cluster["cluster"]["server"] = url
    return doc


def run(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir)
    try:
        server = server_url(args.server) if args.server else ""
        if not args.user:
            if args.group:
                raise ValueError("--group needs --user")
            text = _admin_path(data_dir).read_text()
            if server:
                text = yaml.safe_dump(with_server(yaml.safe_load(text), server), sort_keys=False)
            sys.stdout.write(text)
            return 0
        doc = user_kubeconfig(data_dir, args.user, args.group, args.days)
        if server:
            with_server(doc, server)
    except PermissionError as e:
        print(f"kubelite: cannot read {e.filename}: run as root", file=sys.stderr)
        return 1
    except ValueError as e:
        print(f"kubelite: {e}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump(doc, sort_keys=False))
    return 0
