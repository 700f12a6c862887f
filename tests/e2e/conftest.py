"""Fixtures for end-to-end tests: a real kubelite server per test module, real kubectl."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers.cluster import Server, running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root: Path = tmp_path_factory.mktemp("cluster")
    # Service tests pick their own ClusterIPs in 10.96.0.0/12, away from `make up`'s 10.43.0.0/16.
    with running_server(root / "data", "--service-cidr", "10.96.0.0/12") as s:
        yield s
