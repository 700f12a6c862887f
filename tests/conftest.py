"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from kubelite.client import ApiClient


@pytest.fixture
async def client(server) -> AsyncIterator[ApiClient]:  # type: ignore[no-untyped-def]
    """An API client of the module's `server` (a tests.helpers.cluster.Server fixture)."""
    api = ApiClient.from_kubeconfig(str(server.kubeconfig))
    try:
        yield api
    finally:
        await api.close()
