"""The node Lease survives kube-node-lease being deleted and re-created: its create retries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kubelite.client import Forbidden, NotFound
from kubelite.kubelet import node
from kubelite.kubelet.node import NodeAgent

TERMINATING = {"code": 403, "reason": "Forbidden", "message": 'leases "n1" is forbidden: unable '
               "to create new content in namespace kube-node-lease because it is being terminated"}
MISSING = {"code": 404, "reason": "NotFound", "message": 'namespaces "kube-node-lease" not found'}


class LeaseClient:
    """No Lease yet; its namespace is terminating, then gone, then back."""

    def __init__(self) -> None:
        self.refusals: list[Exception] = [Forbidden(TERMINATING), Forbidden(TERMINATING),
                                          NotFound(MISSING)]
        self.created: list[dict[str, Any]] = []

    async def get(self, *args: Any, **kw: Any) -> dict[str, Any]:
        raise NotFound({"code": 404, "reason": "NotFound", "message": 'leases "n1" not found'})

    async def create(self, kind: str, body: dict[str, Any], namespace: str,
                     **kw: Any) -> dict[str, Any]:
        if self.refusals:
            raise self.refusals.pop(0)
        self.created.append(body)
        return body


async def test_lease_create_retries_until_its_namespace_is_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(node, "LEASE_RETRY_FIRST", 0.01)
    client = LeaseClient()
    agent = NodeAgent(client, "n1", node_ip="127.0.0.1", kubelet_port=10250,  # type: ignore[arg-type]
                      data_dir=str(tmp_path), runtime="runc")
    await agent.renew_lease()
    assert client.refusals == []
    assert [b["metadata"]["name"] for b in client.created] == ["n1"]
    assert client.created[0]["spec"]["holderIdentity"] == "n1"
