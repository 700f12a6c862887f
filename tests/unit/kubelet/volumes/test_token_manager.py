"""Projected service account tokens: cached, refreshed at 80% of their life, bound to the pod."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kubelite.kubelet.volumes.token_manager import TokenManager, token_request

POD = {"metadata": {"name": "web", "namespace": "ns1", "uid": "u1"},
       "spec": {"serviceAccountName": "robot"}}


class FakeApi:
    def __init__(self, clock: list[float]) -> None:
        self.clock = clock
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    async def request(self, namespace: str, account: str, body: dict[str, Any]) -> dict[str, Any]:
        self.calls.append((namespace, account, body))
        expires = self.clock[0] + body["spec"]["expirationSeconds"]
        stamp = dt.datetime.fromtimestamp(expires, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"status": {"token": f"t{len(self.calls)}", "expirationTimestamp": stamp}}


def test_request_is_bound_to_the_pod_with_its_audience() -> None:
    body = token_request(POD, {"path": "token", "audience": "vault", "expirationSeconds": 7200})
    assert body["spec"] == {"expirationSeconds": 7200, "audiences": ["vault"], "boundObjectRef": {
        "apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "u1"}}
    assert "audiences" not in token_request(POD, {"path": "token"})["spec"]


async def test_token_is_reused_until_eighty_percent_of_its_life_then_refreshed() -> None:
    clock = [1_000_000.0]
    api = FakeApi(clock)
    tokens = TokenManager(api.request, clock=lambda: clock[0], jitter=lambda: 0.0)
    source = {"path": "token", "expirationSeconds": 3600}
    assert await tokens.get(POD, source) == "t1"
    assert api.calls[0][:2] == ("ns1", "robot")
    assert tokens.next_refresh("u1") == 2880  # 80% of 3600 s
    clock[0] += 2879
    assert await tokens.get(POD, source) == "t1"
    clock[0] += 2
    assert await tokens.get(POD, source) == "t2"
    assert len(api.calls) == 2
    tokens.forget("u1")
    assert tokens.next_refresh("u1") is None
    assert await tokens.get(POD, source) == "t3"


async def test_long_lived_tokens_are_refreshed_after_a_day() -> None:
    clock = [0.0]
    api = FakeApi(clock)
    tokens = TokenManager(api.request, clock=lambda: clock[0], jitter=lambda: 0.0)
    await tokens.get(POD, {"path": "token", "expirationSeconds": 30 * 24 * 3600})
    assert tokens.next_refresh("u1") == 24 * 3600
