"""open_store: which backend a datastore URL names."""

from __future__ import annotations

import pytest

from kubelite.store import open_store
from kubelite.store.etcd import EtcdStore
from kubelite.store.sqlite import SqliteStore


def test_no_url_means_sqlite_in_the_data_dir() -> None:
    store = open_store("", "/var/lib/kubelite")
    assert isinstance(store, SqliteStore) and store.path == "/var/lib/kubelite/state.db"


@pytest.mark.parametrize(
    "url", ["sqlite:///srv/k/state.db", "sqlite:////srv/k/state.db"]
)
def test_sqlite_url_with_an_absolute_path(url: str) -> None:
    store = open_store(url, "/ignored")
    assert isinstance(store, SqliteStore) and store.path == "/srv/k/state.db"


@pytest.mark.parametrize(
    ("url", "endpoints"),
    [
        ("etcd://127.0.0.1:2379", ["http://127.0.0.1:2379"]),
        ("etcd://10.0.0.1:2379,10.0.0.2:2379", ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]),
        ("http://etcd-0:2379", ["http://etcd-0:2379"]),
        ("http://a:1,http://b:2", ["http://a:1", "http://b:2"]),
        ("https://etcd-0:2379,etcd-1:2379", ["https://etcd-0:2379", "https://etcd-1:2379"]),
        ("etcd://a:1,https://b:2", ["http://a:1", "https://b:2"]),
    ],
)
def test_etcd_urls_list_the_endpoints(url: str, endpoints: list[str]) -> None:
    store = open_store(url, "/ignored")
    assert isinstance(store, EtcdStore) and store.endpoints == endpoints


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://relative.db",
        "sqlite:///",
        "etcd://",
        "etcd://host-without-port",
        "etcd://host:notaport",
        "etcd://host:2379/path",
        "https://host:2379/v3",
        "postgres://db/kubelite",
        "/var/lib/kubelite/state.db",
    ],
)
def test_anything_else_is_refused_with_the_forms_that_work(url: str) -> None:
    with pytest.raises(ValueError, match="sqlite:///ABS/PATH"):
        open_store(url, "/ignored")
