"""Service account tokens for serviceAccountToken projections, cached and refreshed early
(the kubelet's pkg/kubelet/token): a token is reused until 80% of its lifetime has passed (or it
is 24 hours old), then a new one is requested, so the file in the pod never holds an expired one.

KUBELITE_TOKEN_REFRESH_FRACTION (hidden, for tests) moves the refresh point: the share of the
lifetime after which a token is replaced (default 0.8; the shortest TokenRequest lifetime, 600 s,
would otherwise make a test wait 480 s). The jitter shrinks with it to a tenth of that span.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

MAX_TTL = 24 * 3600.0  # refresh any token older than this, whatever its expiry
MAX_JITTER = 10.0  # seconds taken off refresh times so many pods do not refresh together
REFRESH_AFTER = 0.8  # refresh when this share of the lifetime has passed
REFRESH_ENV = "KUBELITE_TOKEN_REFRESH_FRACTION"


def refresh_after() -> float:
    """The share of a token's lifetime after which it is replaced ($KUBELITE_TOKEN_REFRESH_FRACTION
    for tests, else Kubernetes' 80%)."""
    try:
        share = float(os.environ.get(REFRESH_ENV, ""))
    except ValueError:
        return REFRESH_AFTER
    return share if 0.0 < share < 1.0 else REFRESH_AFTER

# request(namespace, service_account, TokenRequest body) -> the TokenRequest answered.
Requester = Callable[[str, str, dict[str, Any]], Awaitable[dict[str, Any]]]
Key = tuple[str, str, str, int, str]  # namespace, service account, audience, seconds, pod uid


@dataclass
class CachedToken:
    token: str
    issued: float  # seconds since the epoch
    expires: float
    seconds: int

    def refresh_at(self, jitter: float = 0.0) -> float:
        """When this token should be replaced (seconds since the epoch)."""
        after = self.seconds * refresh_after()
        jitter = min(jitter, after / 10)
        by_age = self.issued + MAX_TTL - jitter
        by_expiry = self.issued + after - jitter
        return min(by_age, by_expiry)


def _timestamp(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def token_request(pod: dict[str, Any], source: dict[str, Any]) -> dict[str, Any]:
    """The TokenRequest the kubelet sends for one projection of a pod (bound to the pod)."""
    meta = pod["metadata"]
    spec: dict[str, Any] = {
        "expirationSeconds": int(source.get("expirationSeconds") or 3600),
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": meta["name"],
                           "uid": meta["uid"]}}
    if source.get("audience"):
        spec["audiences"] = [source["audience"]]
    return {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec}


class TokenManager:
    """Tokens by (namespace, account, audience, lifetime, pod): fetched once, refreshed early."""

    def __init__(self, request: Requester, clock: Callable[[], float] = time.time,
                 jitter: Callable[[], float] = lambda: random.random() * MAX_JITTER) -> None:
        self._request = request
        self._clock = clock
        self._jitter = jitter
        self._tokens: dict[Key, tuple[CachedToken, float]] = {}  # token, its refresh time

    async def get(self, pod: dict[str, Any], source: dict[str, Any]) -> str:
        """The token for a projection: the cached one while fresh, else a new one."""
        meta = pod["metadata"]
        namespace = meta.get("namespace") or "default"
        account = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        body = token_request(pod, source)
        seconds = int(body["spec"]["expirationSeconds"])
        key: Key = (namespace, account, str(source.get("audience") or ""), seconds, meta["uid"])
        cached = self._tokens.get(key)
        now = self._clock()
        if cached is not None and now < cached[1]:
            return cached[0].token
        answer = await self._request(namespace, account, body)
        status = answer.get("status") or {}
        token = str(status.get("token") or "")
        expires = _timestamp(status["expirationTimestamp"]) if status.get("expirationTimestamp") \
            else now + seconds
        fresh = CachedToken(token, expires - seconds, expires, seconds)
        self._tokens[key] = (fresh, fresh.refresh_at(self._jitter()))
        return token

    def next_refresh(self, pod_uid: str) -> float | None:
        """Seconds until a token of this pod needs replacing (None: it has none)."""
        times = [at for key, (_, at) in self._tokens.items() if key[4] == pod_uid]
        return max(0.0, min(times) - self._clock()) if times else None

    def forget(self, pod_uid: str) -> None:
        """Drop the tokens of a pod that finished or went away."""
        for key in [k for k in self._tokens if k[4] == pod_uid]:
            del self._tokens[key]
