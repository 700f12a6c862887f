"""`kubelite up --cluster-init`: the all-in-one server's store is an embedded etcd member."""

from __future__ import annotations

from pathlib import Path

import pytest

from kubelite.apiserver.server import ServerConfig
from kubelite.cli.agent import embedded_etcd
from kubelite.cli.main import build_parser


def server_config(tmp_path: Path, args: object) -> ServerConfig:
    return ServerConfig(data_dir=tmp_path / "server", listen="198.18.0.10:6443", tls_sans=["api.example"],
                        datastore_endpoint=getattr(args, "datastore_endpoint", ""))


def test_up_uses_sqlite_unless_asked(tmp_path: Path) -> None:
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path)])
    assert embedded_etcd(args, server_config(tmp_path, args)) is None


def test_up_cluster_init_starts_a_new_etcd_cluster(tmp_path: Path) -> None:
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path), "--cluster-init"])
    settings = embedded_etcd(args, server_config(tmp_path, args))
    assert settings is not None and settings.cluster_init and not settings.join_server
    assert settings.advertise_ip == "198.18.0.10" and settings.extra_hosts == ["api.example"]


def test_a_member_on_disk_is_used_again_without_the_flag(tmp_path: Path) -> None:
    (tmp_path / "server" / "db" / "etcd" / "member" / "wal").mkdir(parents=True)
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path)])
    assert embedded_etcd(args, server_config(tmp_path, args)) is not None


def test_cluster_init_and_an_external_datastore_exclude_each_other(tmp_path: Path) -> None:
    args = build_parser().parse_args(["up", "--data-dir", str(tmp_path), "--cluster-init",
                                      "--datastore-endpoint", "etcd://127.0.0.1:2379"])
    with pytest.raises(ValueError, match="cannot be combined"):
        embedded_etcd(args, server_config(tmp_path, args))
