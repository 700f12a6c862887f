"""`store`: every conformance test runs once on SQLite and once on a real etcd."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from kubelite.store.etcd import EtcdStore
from kubelite.store.interface import Store
from kubelite.store.sqlite import SqliteStore
from tests.helpers.etcd import start_etcd


@pytest.fixture(scope="session")
def etcd_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One etcd for the whole session; each test gets its own key prefix in it."""
    url, stop = start_etcd(str(tmp_path_factory.mktemp("etcd")))
    try:
        yield url
    finally:
        stop()


@pytest.fixture(params=["sqlite", pytest.param("etcd", marks=pytest.mark.etcd)])
async def store(request: pytest.FixtureRequest, tmp_path: str) -> AsyncIterator[Store]:
    backend: Store
    if request.param == "sqlite":
        backend = SqliteStore(f"{tmp_path}/state.db", compact_interval=0)
    else:
        url = request.getfixturevalue("etcd_url")
        backend = EtcdStore([url], prefix=f"/test-{uuid.uuid4().hex}", compact_interval=0)
    await backend.start()
    try:
        yield backend
    finally:
        await backend.close()
