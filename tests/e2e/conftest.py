"""Fixtures for end-to-end tests: a real kubelite server per test module, real kubectl."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("cluster")
    with running_server(root / "data") as s:
        yield s
