"""kubectl's Table requests are recognised; everything else gets the object itself."""

from __future__ import annotations

import pytest

from kubelite.apiserver.negotiation import wants_table


@pytest.mark.parametrize(("accept", "table"), [
    ("application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json", True),
    ("application/json; as=Table; v=v1; g=meta.k8s.io", True),
    ("application/json", False),
    ("", False),
    ("*/*", False),
    ("application/json;as=Table;v=v1;g=other.group", False),
    ("application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io", False),
])
def test_wants_table(accept: str, table: bool) -> None:
    assert wants_table(accept) is table
