"""Builders for validation tests: typed objects from small dicts."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from kubelite.api.defaults import default_pod
from kubelite.api.types import core_v1


def make_pod(spec: dict[str, Any], name: str = "web", defaults: bool = True,
             **meta: Any) -> core_v1.Pod:
    """A pod in namespace default, defaulted as the API server would before validating."""
    pod = msgspec.convert({"metadata": {"name": name, "namespace": "default", **meta},
                           "spec": spec}, core_v1.Pod)
    if defaults:
        default_pod(pod)
    return pod


def container(**fields: Any) -> dict[str, Any]:
    return {"name": "web", "image": "nginx", **fields}


@pytest.fixture
def pod_of() -> Any:
    return make_pod
