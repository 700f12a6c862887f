"""The etcd store: etcd v3 through its JSON gateway (`/v3/kv/...`, `/v3/watch`), with aiohttp.

Every key lives under `prefix` in etcd; keys and values travel base64-encoded and 64-bit
integers as decimal strings, as the gateway wants. Each conditional write is one txn:

    create  compare create_revision == 0           then put     else range
    update  compare mod_revision == expected (> 0)  then put     else range
    delete  compare mod_revision == expected (> 0)  then delete  else range

and the `else range` tells a conflict (with the current value) from an absent key.

Requests go to the endpoint that last answered; a connection error moves on to the next
one. A request that may have reached etcd is only retried elsewhere if it reads. Watches
resume on another endpoint from the last revision delivered. When no endpoint answers:
UnavailableError.

Compaction is etcd's own and cluster-wide: it applies to every prefix.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp

from .interface import (
    CompactedError,
    Event,
    FutureRevisionError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    ListResult,
    RevisionConflictError,
    StoreError,
    UnavailableError,
)

_Json = list[dict[str, Any]]  # inside the class, `list` is the Store method
_COMPACTED = "required revision has been compacted"
_FUTURE = "required revision is a future revision"
_MAX_WATCH_LINE = 256 * 1024 * 1024  # one watch response; etcd batches events in it


class EtcdStore:
    """`Store` on an etcd cluster (see the module docstring)."""

    def __init__(
        self, endpoints: list[str], *, prefix: str = "/kubelite", timeout: float = 10.0
    ) -> None:
        if not endpoints:
            raise ValueError("EtcdStore needs at least one endpoint")
        self.endpoints = [e.rstrip("/") for e in endpoints]
        self.prefix = prefix
        self._raw_prefix = prefix.encode()
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, 3.0))
        self._watch_timeout = aiohttp.ClientTimeout(total=None, sock_connect=min(timeout, 3.0))
        self._session: aiohttp.ClientSession | None = None
        self._active = 0  # index of the endpoint that last answered

    async def start(self) -> None:
        if self._session is not None:
            raise RuntimeError("EtcdStore.start() called twice")
        # No connection cap: every watch holds one connection for as long as it runs.
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
        try:
            await self.current_revision()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    # -- the Store protocol -------------------------------------------------------------

    async def current_revision(self) -> int:
        answer = await self._post("/v3/kv/range", {"key": _b64(self._raw_prefix), "count_only": True})
        return _revision(answer)

    async def create(self, key: str, value: bytes) -> int:
        k = _b64(self._full(key))
        answer = await self._txn(
            [{"target": "CREATE", "key": k, "result": "EQUAL", "create_revision": "0"}],
            {"request_put": {"key": k, "value": _b64(value)}},
        )
        if not answer.get("succeeded"):
            raise KeyExistsError(key)
        return _revision(answer)

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        k = _b64(self._full(key))
        answer = await self._txn(
            [_mod_compare(k, expected_revision)],
            {"request_put": {"key": k, "value": _b64(value)}},
        )
        if not answer.get("succeeded"):
            raise self._refusal(key, answer)
        return _revision(answer)

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        k = _b64(self._full(key))
        answer = await self._txn(
            [_mod_compare(k, expected_revision)],
            {"request_delete_range": {"key": k, "prev_kv": True}},
        )
        if not answer.get("succeeded"):
            raise self._refusal(key, answer)
        prev = answer["responses"][0]["response_delete_range"]["prev_kvs"][0]
        return KeyValue(key, _unb64(prev.get("value")), int(prev["create_revision"]), _revision(answer))

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        body: dict[str, Any] = {"key": _b64(self._full(key))}
        if revision:
            body["revision"] = str(revision)
        answer = await self._range(body, revision)
        kvs = answer.get("kvs") or []
        return self._kv(kvs[0]) if kvs else None

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        first = self._full(prefix)
        if start_after and start_after >= prefix:
            first = self._full(start_after) + b"\0"
        body: dict[str, Any] = {
            "key": _b64(first),
            "range_end": _b64(_range_end(self._full(prefix))),
            "sort_order": "ASCEND",
            "sort_target": "KEY",
        }
        if revision:
            body["revision"] = str(revision)
        if limit > 0:
            body["limit"] = str(limit)
        answer = await self._range(body, revision)
        items = [self._kv(kv) for kv in answer.get("kvs") or []]
        return ListResult(items, revision or _revision(answer), bool(answer.get("more")))

    async def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        body = {
            "create_request": {
                "key": _b64(self._full(prefix)),
                "range_end": _b64(_range_end(self._full(prefix))),
                "prev_kv": True,
            }
        }
        last = from_revision
        idle_streams = 0  # streams in a row that ended without delivering anything
        while True:
            if idle_streams >= 2 * len(self.endpoints):
                raise UnavailableError("etcd keeps closing the watch stream")
            if idle_streams:
                await asyncio.sleep(0.1 * idle_streams)
            body["create_request"]["start_revision"] = str(last + 1)
            response = await self._open_watch(body)
            progressed = False
            try:
                while True:
                    line = await response.content.readline(max_line_length=_MAX_WATCH_LINE)
                    if not line:
                        break  # the endpoint closed the stream: resume elsewhere
                    if not line.strip():
                        continue
                    message = json.loads(line)
                    if "error" in message:
                        raise UnavailableError(f"etcd watch: {message['error']}")
                    result = message.get("result") or {}
                    if int(result.get("compact_revision") or 0):
                        raise CompactedError(last, int(result["compact_revision"]))
                    if result.get("canceled"):
                        raise UnavailableError(
                            f"etcd cancelled the watch: {result.get('cancel_reason', '')}"
                        )
                    for raw in result.get("events") or []:
                        event = self._event(raw)
                        if event.revision > last:
                            last = event.revision
                            progressed = True
                            yield event
            except (TimeoutError, aiohttp.ClientError):
                pass  # the connection broke: resume elsewhere
            finally:
                response.close()
            if progressed:
                idle_streams = 0
            else:
                idle_streams += 1
                self._active = (self._active + 1) % len(self.endpoints)  # try the next first

    async def compact(self, revision: int) -> None:
        try:
            await self._post("/v3/kv/compaction", {"revision": str(revision)})
        except _Refused as e:
            if _COMPACTED in e.message:
                return  # already compacted at or past `revision`
            if _FUTURE in e.message:
                raise FutureRevisionError(revision, await self.current_revision()) from None
            raise UnavailableError(str(e)) from None

    # -- plumbing -----------------------------------------------------------------------

    def _full(self, key: str) -> bytes:
        return self._raw_prefix + key.encode()

    def _kv(self, raw: dict[str, Any]) -> KeyValue:
        key = base64.b64decode(raw["key"])[len(self._raw_prefix) :].decode()
        return KeyValue(
            key, _unb64(raw.get("value")), int(raw["create_revision"]), int(raw["mod_revision"])
        )

    def _event(self, raw: dict[str, Any]) -> Event:
        prev = self._kv(raw["prev_kv"]) if raw.get("prev_kv") else None
        if raw.get("type") == "DELETE":
            rev = int(raw["kv"]["mod_revision"])
            if prev is None:  # prev_kv was asked for; etcd only omits it if it is compacted
                key = base64.b64decode(raw["kv"]["key"])[len(self._raw_prefix) :].decode()
                return Event("DELETE", KeyValue(key, b"", 0, rev), None, rev)
            return Event("DELETE", KeyValue(prev.key, prev.value, prev.create_revision, rev), prev, rev)
        kv = self._kv(raw["kv"])
        return Event("PUT", kv, prev, kv.mod_revision)

    def _refusal(self, key: str, answer: dict[str, Any]) -> StoreError:
        kvs = answer["responses"][0]["response_range"].get("kvs") or []
        if not kvs:
            return KeyNotFoundError(key)
        return RevisionConflictError(key, self._kv(kvs[0]))

    async def _txn(self, compare: _Json, success: dict[str, Any]) -> dict[str, Any]:
        body = {
            "compare": compare,
            "success": [success],
            "failure": [{"request_range": {"key": compare[0]["key"]}}],
        }
        return await self._post("/v3/kv/txn", body, idempotent=False)

    async def _range(self, body: dict[str, Any], revision: int) -> dict[str, Any]:
        try:
            return await self._post("/v3/kv/range", body)
        except _Refused as e:
            if _COMPACTED in e.message:
                raise CompactedError(revision, await self._compact_revision(revision)) from None
            if _FUTURE in e.message:
                raise FutureRevisionError(revision, await self.current_revision()) from None
            raise UnavailableError(str(e)) from None

    async def _post(self, path: str, body: dict[str, Any], *, idempotent: bool = True) -> dict[str, Any]:
        """etcd's answer; _Refused if it answered with an error; UnavailableError if none did."""
        if self._session is None or self._session.closed:
            raise UnavailableError("the store is not started or closed")
        data = json.dumps(body).encode()
        failures: list[str] = []
        for attempt in range(len(self.endpoints)):
            index = (self._active + attempt) % len(self.endpoints)
            url = self.endpoints[index] + path
            try:
                async with self._session.post(url, data=data, timeout=self._timeout) as response:
                    payload = await response.read()
                    status = response.status
            except aiohttp.ClientConnectorError as e:  # never reached etcd: safe to go on
                failures.append(f"{url}: {e}")
                continue
            except (TimeoutError, aiohttp.ClientError) as e:
                if not idempotent:  # it may have been applied: do not apply it twice
                    raise UnavailableError(f"etcd {url}: {e!r}") from e
                failures.append(f"{url}: {e!r}")
                continue
            self._active = index
            try:
                answer: dict[str, Any] = json.loads(payload)
            except ValueError:
                raise UnavailableError(f"etcd {url}: HTTP {status}: {payload[:200]!r}") from None
            if status != 200 or "error" in answer:
                raise _Refused(status, str(answer.get("message") or answer.get("error") or answer))
            return answer
        raise UnavailableError("no etcd endpoint answered: " + "; ".join(failures))

    async def _compact_revision(self, revision: int) -> int:
        """etcd only tells the compacted revision to a watch: ask one (0 if it will not say)."""
        body = {"create_request": {"key": _b64(self._raw_prefix), "start_revision": str(revision)}}
        with contextlib.suppress(StoreError, aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            response = await self._open_watch(body)
            try:
                async with asyncio.timeout(2.0):
                    while line := await response.content.readline():
                        result = json.loads(line).get("result") or {}
                        if result.get("compact_revision"):
                            return int(result["compact_revision"])
                        if result.get("canceled"):
                            break
            finally:
                response.close()
        return 0

    async def _open_watch(self, body: dict[str, Any]) -> aiohttp.ClientResponse:
        if self._session is None or self._session.closed:
            raise UnavailableError("the store is not started or closed")
        data = json.dumps(body).encode()
        failures: list[str] = []
        for attempt in range(len(self.endpoints)):
            index = (self._active + attempt) % len(self.endpoints)
            url = self.endpoints[index] + "/v3/watch"
            try:
                response = await self._session.post(url, data=data, timeout=self._watch_timeout)
            except (TimeoutError, aiohttp.ClientError) as e:
                failures.append(f"{url}: {e!r}")
                continue
            if response.status != 200:
                text = await response.text()
                response.close()
                failures.append(f"{url}: HTTP {response.status}: {text[:200]}")
                continue
            self._active = index
            return response
        raise UnavailableError("no etcd endpoint accepted the watch: " + "; ".join(failures))


class _Refused(UnavailableError):
    """etcd answered with an error (mapped to a precise StoreError where there is one)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"etcd answered HTTP {status}: {message}")
        self.message = message


def _mod_compare(key: str, expected_revision: int) -> dict[str, Any]:
    if expected_revision:
        return {"target": "MOD", "key": key, "result": "EQUAL", "mod_revision": str(expected_revision)}
    return {"target": "MOD", "key": key, "result": "GREATER", "mod_revision": "0"}  # exists


def _revision(answer: dict[str, Any]) -> int:
    return int(answer["header"]["revision"])


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def _unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def _range_end(prefix: bytes) -> bytes:
    """etcd's range end for every key starting with `prefix` (b"\\0": to the end)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b"\0"
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
