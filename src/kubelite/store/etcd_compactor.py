"""Scheduled compaction of etcd, as kube-apiserver does it (storage/etcd3/compact.go).

Every `interval` each API server tries one txn on a shared key: "if the key's version is
still the one I last saw, put the current revision in it". The server whose txn succeeds
compacts etcd to the revision the key held, which was written one interval ago: watchers
always keep at least `interval` of history, and however many servers share the etcd, only
one compacts per interval. A server whose txn fails learns the key's version and tries
again next time.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from .etcdpb import etcd_pb2 as pb
from .interface import StoreError

log = logging.getLogger("kubelite.store.etcd")

# Inside /registry/ (kube-apiserver keeps it beside): the API servers' watch caches then see
# every revision etcd makes, and a consistent LIST served from memory need not wait for a
# later write, or ask for progress notifications (Kubernetes needs etcd 3.4.31+ for them to
# be in order with events; Debian has 3.4.23), to know it has missed nothing. It is no
# object's key: no resource lists or watches it.
KEY = "/registry/compact_rev_key"
INTERVAL = 300.0  # kube-apiserver's --etcd-compaction-interval default


class Compactor:
    """The loop above, for one `EtcdStore` (started and stopped with it)."""

    def __init__(self, store: _Txns, interval: float = INTERVAL) -> None:
        self._store = store
        self._interval = interval
        self._version = 0  # the shared key's version as this server last saw it
        self._revision = 0  # the revision this server wrote into it

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.tick()
            except StoreError as e:  # etcd unreachable this time: try next interval
                log.warning("etcd compaction skipped: %s", e)

    async def tick(self) -> None:
        """One round: claim the key; on success compact to what it held."""
        key = self._store.full_key(KEY)
        answer = await self._store.raw_txn(
            pb.TxnRequest(
                compare=[pb.Compare(result=pb.Compare.EQUAL, target=pb.Compare.VERSION, key=key,
                                    version=self._version)],
                success=[pb.RequestOp(request_put=pb.PutRequest(key=key, value=str(self._revision).encode()))],
                failure=[pb.RequestOp(request_range=pb.RangeRequest(key=key))],
            )
        )
        previous, self._revision = self._revision, answer.header.revision
        if not answer.succeeded:  # another server compacts this time
            kvs = answer.responses[0].response_range.kvs
            self._version = kvs[0].version if kvs else 0
            return
        self._version += 1
        if previous:
            await self._store.compact(previous)
            log.info("etcd compacted at revision %d", previous)


class _Txns(Protocol):
    """What the compactor needs of the store (EtcdStore provides it)."""

    def full_key(self, key: str) -> bytes: ...

    async def raw_txn(self, request: pb.TxnRequest) -> pb.TxnResponse: ...

    async def compact(self, revision: int) -> None: ...
