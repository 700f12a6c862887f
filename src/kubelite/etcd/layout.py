"""Where an embedded etcd member keeps its files, as k3s lays them out (DATA_DIR being the
server's data dir, k3s' `server/`):

    DATA_DIR/db/etcd/            etcd's own data dir (`member/`; etcd wants nothing else there)
    DATA_DIR/db/etcd-name        this member's name, chosen once
    DATA_DIR/db/etcd-config.json the URLs the member was started with (read by the CLI)
    DATA_DIR/db/etcd-joining     while a join is not finished: the server joined through
    DATA_DIR/db/snapshots/       snapshots (`--etcd-snapshot-dir`)
    DATA_DIR/tls/etcd/           peer-ca.crt/.key (the cluster's), peer-server-client.crt/.key
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

from kubelite import pki

CLIENT_PORT = 2379
PEER_PORT = 2380


class EtcdConfigError(ValueError):
    """The embedded etcd cannot be set up as asked (the message is for the user)."""


@dataclass(frozen=True)
class MemberUrls:
    """What the local member listens on: clients on loopback only, peers on the advertised address."""

    name: str
    client_url: str
    peer_url: str

    def initial_cluster(self) -> str:
        return f"{self.name}={self.peer_url}"


def db_dir(data_dir: Path) -> Path:
    return data_dir / "db"


def etcd_dir(data_dir: Path) -> Path:
    return db_dir(data_dir) / "etcd"


def tls_dir(data_dir: Path) -> Path:
    return data_dir / "tls" / "etcd"


def default_snapshot_dir(data_dir: Path) -> Path:
    return db_dir(data_dir) / "snapshots"


def make_etcd_dir(data_dir: Path) -> Path:
    """etcd's data dir, mode 0700 as etcd wants it (the whole store is in there)."""
    path = etcd_dir(data_dir)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.chmod(0o700)
    return path


def has_member(data_dir: Path) -> bool:
    """Whether etcd already keeps a member here (a restart, not a first start)."""
    return (etcd_dir(data_dir) / "member" / "wal").is_dir()


def member_name(data_dir: Path) -> str:
    """This member's name: `<hostname>-<8 hex>` made once (k3s' form), so two servers on
    machines with one hostname never clash."""
    path = db_dir(data_dir) / "etcd-name"
    if path.exists():
        return path.read_text().strip()
    name = f"{socket.gethostname().split('.')[0].lower()}-{secrets.token_hex(4)}"
    pki.write_private(path, (name + "\n").encode())
    return name


def peer_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"https://{host}:{port}"


def member_urls(data_dir: Path, address: str, client_port: int, peer_port: int) -> MemberUrls:
    return MemberUrls(member_name(data_dir), f"http://127.0.0.1:{client_port}", peer_url(address, peer_port))


def write_config(data_dir: Path, urls: MemberUrls) -> None:
    pki.write_private(db_dir(data_dir) / "etcd-config.json", json.dumps(asdict(urls)).encode())


def read_config(data_dir: Path) -> MemberUrls:
    """The URLs the server last started its member with; EtcdConfigError if it never did."""
    path = db_dir(data_dir) / "etcd-config.json"
    try:
        return MemberUrls(**json.loads(path.read_text()))
    except FileNotFoundError:
        raise EtcdConfigError(f"{path} not found: this data dir has no embedded etcd "
                              "(start `kubelite server --cluster-init` first)") from None
    except (ValueError, TypeError) as e:
        raise EtcdConfigError(f"{path}: {e}") from e


def pending_join(data_dir: Path) -> str:
    """The server a join went through, if it has not finished (the member is still a learner)."""
    path = db_dir(data_dir) / "etcd-joining"
    return path.read_text().strip() if path.exists() else ""


def set_pending_join(data_dir: Path, server: str) -> None:
    """Mark a join as started (`server`) or finished ("")."""
    path = db_dir(data_dir) / "etcd-joining"
    if server:
        pki.write_private(path, (server + "\n").encode())
    else:
        path.unlink(missing_ok=True)


def move_aside(data_dir: Path, stamp: int) -> Path:
    """Move the member's data to `db/etcd-old-<stamp>` (k3s' name) before a restore; the old
    data stays for the user to delete."""
    old = db_dir(data_dir) / f"etcd-old-{stamp}"
    os.replace(etcd_dir(data_dir), old)
    return old
