"""The modes of the embedded etcd, with etcd and the other server faked: a new cluster, a
join (bootstrap, learner, promotion), and a join cut short finished at the next start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelite.etcd import embedded, layout
from kubelite.etcd.embedded import EmbeddedEtcd, EtcdSettings

TOKEN = "K10" + "a" * 64 + "::server:secret"


class FakeProcess:
    def __init__(self, flags: list[str]) -> None:
        self.flags = flags

    async def wait_healthy(self, timeout: float | None = None) -> None:
        return None

    async def stop(self) -> None:
        return None


class FakeJoin:
    calls: list[tuple[str, ...]] = []

    def __init__(self, server: str, token: str) -> None:
        self.server = server
        assert token.strip() == TOKEN

    async def add_member(self, name: str, peer_url: str) -> str:
        self.calls.append(("add", name))
        return f"first=https://10.0.0.1:2380,{name}={peer_url}"

    async def promote(self, name: str, peer_url: str) -> None:
        self.calls.append(("promote", name))


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    started: list[list[str]] = []

    def run(self: EmbeddedEtcd, flags: list[str]) -> None:
        started.append(flags)
        self.process = FakeProcess(flags)  # type: ignore[assignment]

    monkeypatch.setattr(EmbeddedEtcd, "_run", run)
    monkeypatch.setattr(embedded, "ClusterJoin", FakeJoin)
    FakeJoin.calls = []
    return started


def _flag(flags: list[str], name: str) -> Any:
    return flags[flags.index(name) + 1]


async def test_cluster_init_starts_a_new_cluster_of_one(tmp_path: Path, fakes: list[list[str]]) -> None:
    etcd = EmbeddedEtcd(tmp_path, EtcdSettings(advertise_ip="10.0.0.1", cluster_init=True))
    assert await etcd.start() == "http://127.0.0.1:2379"
    [flags] = fakes
    assert _flag(flags, "--initial-cluster-state") == "new"
    assert _flag(flags, "--initial-cluster") == f"{layout.member_name(tmp_path)}=https://10.0.0.1:2380"
    assert "--peer-client-cert-auth" in flags and FakeJoin.calls == []


async def test_a_join_adds_a_learner_then_promotes_it(tmp_path: Path, fakes: list[list[str]]) -> None:
    etcd = EmbeddedEtcd(tmp_path, EtcdSettings(advertise_ip="10.0.0.2", join_server="https://10.0.0.1:6443",
                                               join_token=TOKEN))
    await etcd.start()
    name = layout.member_name(tmp_path)
    assert FakeJoin.calls == [("add", name), ("promote", name)]
    assert _flag(fakes[0], "--initial-cluster-state") == "existing"
    assert _flag(fakes[0], "--initial-cluster").startswith("first=https://10.0.0.1:2380,")
    assert layout.pending_join(tmp_path) == ""


async def test_a_join_cut_short_is_finished_at_the_next_start(tmp_path: Path, fakes: list[list[str]]) -> None:
    (layout.etcd_dir(tmp_path) / "member" / "wal").mkdir(parents=True)  # etcd ran as a learner
    layout.set_pending_join(tmp_path, "https://10.0.0.1:6443")
    (tmp_path / "token").write_text(TOKEN + "\n")
    await EmbeddedEtcd(tmp_path, EtcdSettings(advertise_ip="10.0.0.2")).start()  # no --server this time
    assert FakeJoin.calls == [("promote", layout.member_name(tmp_path))]
    assert layout.pending_join(tmp_path) == ""
