"""The etcd store: etcd's v3 gRPC API (grpc.aio, messages from `etcdpb/etcd.proto`).

Every key lives under `prefix` in etcd. Each conditional write is one txn:

    create  compare create_revision == 0           then put
    update  compare mod_revision == expected (> 0)  then put     else range
    delete  compare mod_revision == expected (> 0)  then delete  else range

and the `else range` tells a conflict (with the current value) from an absent key.

A LIST is read in pages (`limit` and the key after the last one), all at the revision of the
first page, the next page asked for while the last one is converted. Each watch is its own
gRPC stream; when the stream breaks it resumes, on another member if need be, from the last
revision delivered. Watches require a leader (as Kubernetes' client asks, metadata
`hasleader`): a member cut off from the others ends the stream instead of going quiet.
Progress notifications are asked for but their revision is not used to resume: etcd before
3.4.24/3.5.8 could send one ahead of events still queued for the watcher. A watch from a
compacted revision raises CompactedError. Members, TLS and failover: `etcd_endpoints.py`.

Compaction is etcd's own and cluster-wide: it applies to every prefix. The store compacts on
a schedule, one API server at a time, as kube-apiserver does (`etcd_compactor.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import grpc

from . import etcd_compactor
from .etcd_endpoints import Endpoints
from .etcd_tls import EtcdTLS
from .etcdpb import etcd_pb2 as pb
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

RANGE = "/etcdserverpb.KV/Range"
TXN = "/etcdserverpb.KV/Txn"
COMPACT = "/etcdserverpb.KV/Compact"
WATCH = "/etcdserverpb.Watch/Watch"

_COMPACTED = "required revision has been compacted"
_FUTURE = "required revision is a future revision"
# Keys per range request of a LIST: the first page, then twice the last one up to PAGE_MAX.
# etcd 3.4 walks its in-memory index from a page's first key to the end of the range for
# every page (3.5 stops at the limit): growing pages keep that walk short in long lists,
# and PAGE_MAX bounds what one answer holds.
PAGE = 10_000
PAGE_MAX = 40_000

_REQUIRE_LEADER = (("hasleader", "true"),)  # etcd's rpctypes.MetadataRequireLeaderKey
_EQUAL, _GREATER = pb.Compare.EQUAL, pb.Compare.GREATER
_CREATE, _MOD = pb.Compare.CREATE, pb.Compare.MOD


class EtcdStore:
    """`Store` on an etcd cluster (see the module docstring)."""

    def __init__(
        self,
        endpoints: list[str],
        *,
        prefix: str = "/kubelite",
        timeout: float = 10.0,
        tls: EtcdTLS | None = None,
        compact_interval: float = etcd_compactor.INTERVAL,
    ) -> None:
        """`compact_interval`: seconds between compactions (etcd_compactor.py); 0: never."""
        self._members = Endpoints([e.rstrip("/") for e in endpoints], tls, timeout)
        self.endpoints = self._members.urls
        self.prefix = prefix
        self._raw_prefix = prefix.encode()
        self._cut = len(self._raw_prefix)
        self._started = False
        self._compact_interval = compact_interval
        self._compactor: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._started:
            raise RuntimeError("EtcdStore.start() called twice")
        self._started = True
        self._members.open()
        try:
            await self.current_revision()
        except BaseException:
            await self.close()
            raise
        if self._compact_interval > 0:
            compactor = etcd_compactor.Compactor(self, self._compact_interval)
            self._compactor = asyncio.create_task(compactor.run())

    async def close(self) -> None:
        if self._compactor is not None:
            self._compactor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._compactor
        await self._members.close()

    # -- the Store protocol -------------------------------------------------------------

    async def current_revision(self) -> int:
        # any one key will do (etcd wants one): the revision comes in the header
        answer = await self._range(pb.RangeRequest(key=self._raw_prefix or b"/", count_only=True), 0)
        return answer.header.revision

    async def create(self, key: str, value: bytes) -> int:
        k = self._full(key)
        answer = await self._txn(
            pb.Compare(result=_EQUAL, target=_CREATE, key=k, create_revision=0),
            pb.RequestOp(request_put=pb.PutRequest(key=k, value=value)),
            read_back=False,  # KeyExistsError carries no value: etcd need not send it
        )
        if not answer.succeeded:
            raise KeyExistsError(key)
        return answer.header.revision

    async def update(self, key: str, value: bytes, expected_revision: int) -> int:
        k = self._full(key)
        answer = await self._txn(
            _mod_compare(k, expected_revision),
            pb.RequestOp(request_put=pb.PutRequest(key=k, value=value)),
        )
        if not answer.succeeded:
            raise self._refusal(key, answer)
        return answer.header.revision

    async def delete(self, key: str, expected_revision: int = 0) -> KeyValue:
        k = self._full(key)
        answer = await self._txn(
            _mod_compare(k, expected_revision),
            pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=k, prev_kv=True)),
        )
        if not answer.succeeded:
            raise self._refusal(key, answer)
        prev = answer.responses[0].response_delete_range.prev_kvs[0]
        return KeyValue(key, prev.value, prev.create_revision, answer.header.revision)

    async def get(self, key: str, revision: int = 0) -> KeyValue | None:
        answer = await self._range(pb.RangeRequest(key=self._full(key), revision=revision), revision)
        return self._kv(answer.kvs[0]) if answer.kvs else None

    async def list(
        self, prefix: str, revision: int = 0, limit: int = 0, start_after: str = ""
    ) -> ListResult:
        first = self._full(prefix)
        if start_after and start_after >= prefix:
            first = self._full(start_after) + b"\0"
        end = _range_end(self._full(prefix))
        items: list[KeyValue] = []
        size = _page_size(limit, 0, PAGE)
        page = await self._page(first, end, revision, size)
        revision = revision or page.header.revision
        while True:
            more = page.more and (not limit or len(items) + len(page.kvs) < limit)
            following = None
            if more:  # ask for the next page before converting this one
                after = page.kvs[-1].key + b"\0"
                size = _page_size(limit, len(items) + len(page.kvs), min(2 * size, PAGE_MAX))
                following = asyncio.ensure_future(self._page(after, end, revision, size))
            try:
                items += map(self._kv, page.kvs)
            except BaseException:
                if following is not None:
                    following.cancel()
                raise
            if following is None:
                return ListResult(items, revision, bool(page.more))
            page = await following

    async def watch(self, prefix: str, from_revision: int) -> AsyncIterator[Event]:
        create = pb.WatchCreateRequest(
            key=self._full(prefix),
            range_end=_range_end(self._full(prefix)),
            prev_kv=True,
            progress_notify=True,
        )
        last = from_revision
        idle_streams = 0  # streams in a row that ended without delivering anything
        while True:
            if idle_streams >= 2 * len(self.endpoints):
                raise UnavailableError("etcd keeps closing the watch stream")
            if idle_streams:
                await asyncio.sleep(0.1 * idle_streams)
            create.start_revision = last + 1
            index, call = await self._open_watch(create, last)
            progressed = False
            try:
                while True:
                    answer = await call.read()
                    if answer is grpc.aio.EOF:
                        break  # the member closed the stream: resume elsewhere
                    if answer.compact_revision:
                        raise CompactedError(last, answer.compact_revision)
                    if answer.canceled:
                        raise UnavailableError(f"etcd cancelled the watch: {answer.cancel_reason}")
                    for raw in answer.events:
                        event = self._event(raw)
                        if event.revision > last:
                            last = event.revision
                            progressed = True
                            yield event
            except grpc.aio.AioRpcError as e:
                if self._members.closed:
                    raise UnavailableError("the store is closed") from None
                if e.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
                    raise UnavailableError(f"etcd refused the watch: {e.details()}") from None
                # otherwise the stream broke: resume from `last`
            finally:
                call.cancel()
            if progressed:
                idle_streams = 0
            else:
                idle_streams += 1
                self._members.skip(index)

    async def compact(self, revision: int) -> None:
        try:
            await self._members.call(
                COMPACT, pb.CompactionRequest(revision=revision), pb.CompactionResponse.FromString,
                idempotent=True,
            )
        except grpc.aio.AioRpcError as e:
            if _COMPACTED in (e.details() or ""):
                return  # already compacted at or past `revision`
            if _FUTURE in (e.details() or ""):
                raise FutureRevisionError(revision, await self.current_revision()) from None
            raise UnavailableError(f"etcd: {e.details()}") from None

    # -- plumbing -----------------------------------------------------------------------

    def _full(self, key: str) -> bytes:
        return self._raw_prefix + key.encode()

    full_key = _full

    async def raw_txn(self, request: pb.TxnRequest) -> pb.TxnResponse:
        """A txn as built by the caller (the compactor's)."""
        try:
            return await self._members.call(TXN, request, pb.TxnResponse.FromString, idempotent=False)
        except grpc.aio.AioRpcError as e:
            raise UnavailableError(f"etcd refused the txn: {e.code().name}: {e.details()}") from None

    def _kv(self, raw: pb.KeyValue) -> KeyValue:
        return KeyValue(raw.key[self._cut :].decode(), raw.value, raw.create_revision, raw.mod_revision)

    def _event(self, raw: pb.Event) -> Event:
        prev = self._kv(raw.prev_kv) if raw.HasField("prev_kv") else None
        if raw.type == pb.Event.DELETE:
            rev = raw.kv.mod_revision
            if prev is None:  # prev_kv was asked for; etcd only omits it if it is compacted
                return Event("DELETE", KeyValue(raw.kv.key[self._cut :].decode(), b"", 0, rev), None, rev)
            return Event("DELETE", KeyValue(prev.key, prev.value, prev.create_revision, rev), prev, rev)
        kv = self._kv(raw.kv)
        return Event("PUT", kv, prev, kv.mod_revision)

    def _refusal(self, key: str, answer: pb.TxnResponse) -> StoreError:
        kvs = answer.responses[0].response_range.kvs
        if not kvs:
            return KeyNotFoundError(key)
        return RevisionConflictError(key, self._kv(kvs[0]))

    async def _txn(self, compare: pb.Compare, then: pb.RequestOp, *, read_back: bool = True) -> pb.TxnResponse:
        """`compare` then `then`, else (with `read_back`) the key's current value."""
        failure = [pb.RequestOp(request_range=pb.RangeRequest(key=compare.key))] if read_back else []
        return await self.raw_txn(pb.TxnRequest(compare=[compare], success=[then], failure=failure))

    async def _page(self, first: bytes, end: bytes, revision: int, limit: int) -> pb.RangeResponse:
        # No sort order: etcd returns a range in key order anyway, and with one it would read
        # every remaining key of the range for each page, sort, then cut at `limit`.
        request = pb.RangeRequest(key=first, range_end=end, revision=revision, limit=limit)
        return await self._range(request, revision)

    async def _range(self, request: pb.RangeRequest, revision: int) -> pb.RangeResponse:
        try:
            return await self._members.call(RANGE, request, pb.RangeResponse.FromString, idempotent=True)
        except grpc.aio.AioRpcError as e:
            detail = e.details() or ""
            if _COMPACTED in detail:
                raise CompactedError(revision, await self._compact_revision(revision)) from None
            if _FUTURE in detail:
                raise FutureRevisionError(revision, await self.current_revision()) from None
            raise UnavailableError(f"etcd refused the read: {e.code().name}: {detail}") from None

    async def _open_watch(self, create: pb.WatchCreateRequest, last: int) -> tuple[int, grpc.aio.StreamStreamCall]:
        """A watch stream that etcd has confirmed, on the first member that takes it."""
        failures: list[str] = []
        for index in self._members.order():
            call = self._members.channel(index).stream_stream(
                WATCH, request_serializer=pb.WatchRequest.SerializeToString,
                response_deserializer=pb.WatchResponse.FromString,
            )(metadata=_REQUIRE_LEADER)
            try:
                async with asyncio.timeout(self._members.timeout):
                    await call.write(pb.WatchRequest(create_request=create))
                    answer = await call.read()
            except (grpc.aio.AioRpcError, TimeoutError) as e:
                call.cancel()
                failures.append(f"{self.endpoints[index]}: {_describe(e)}")
                continue
            if answer is grpc.aio.EOF:
                failures.append(f"{self.endpoints[index]}: the stream closed")
                continue
            if answer.compact_revision:
                call.cancel()
                raise CompactedError(last, answer.compact_revision)
            if answer.canceled:
                call.cancel()
                raise UnavailableError(f"etcd refused the watch: {answer.cancel_reason}")
            self._members.answered(index)
            return index, call
        raise UnavailableError("no etcd endpoint accepted the watch: " + "; ".join(failures))

    async def _compact_revision(self, revision: int) -> int:
        """etcd only tells the compacted revision to a watch: ask one (0 if it will not say)."""
        create = pb.WatchCreateRequest(key=self._raw_prefix, start_revision=revision)
        call = None
        try:
            async with asyncio.timeout(2.0):
                _, call = await self._open_watch(create, revision)
                while (answer := await call.read()) is not grpc.aio.EOF:
                    if answer.compact_revision:
                        return int(answer.compact_revision)
                    if answer.canceled:
                        break
        except CompactedError as e:
            return e.compacted
        except (StoreError, grpc.aio.AioRpcError, TimeoutError):
            pass
        finally:
            if call is not None:
                call.cancel()
        return 0


def _describe(e: BaseException) -> str:
    if isinstance(e, grpc.aio.AioRpcError):
        return f"{e.code().name}: {e.details()}"
    return "no answer in time"


def _page_size(limit: int, have: int, size: int) -> int:
    return size if not limit else min(size, limit - have)


def _mod_compare(key: bytes, expected_revision: int) -> pb.Compare:
    if expected_revision:
        return pb.Compare(result=_EQUAL, target=_MOD, key=key, mod_revision=expected_revision)
    return pb.Compare(result=_GREATER, target=_MOD, key=key, mod_revision=0)  # exists


def _range_end(prefix: bytes) -> bytes:
    """etcd's range end for every key starting with `prefix` (b"\\0": to the end)."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return b"\0"
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
