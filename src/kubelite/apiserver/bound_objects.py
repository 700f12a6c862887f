"""Which objects a service account token may still be bound to, kept in memory from the watch
cache: service accounts, pods, secrets and nodes by name, with their uid and deletion time.

kube-apiserver's service account token validator (pkg/serviceaccount/claims.go) refuses a
token whose service account, bound pod, bound secret or bound node is gone or was replaced
(another uid), or whose pod's deletion time has passed. Here that check is a few dictionary
lookups per request: no store read on the authentication path.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver.admission import _CacheCopy
from kubelite.apiserver.tokens import TokenSubject
from kubelite.apiserver.watchcache import WatchCache
from kubelite.store.interface import Store

INVALIDATED = "service account token has been invalidated"
Entry = tuple[str, float]  # uid, deletion time (seconds since the epoch; 0: not being deleted)


def _deletion(meta: dict[str, Any]) -> float:
    stamp = meta.get("deletionTimestamp")
    return dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() if stamp else 0.0


class _Uids(_CacheCopy):
    """uid and deletion time of every object of one kind, by (namespace, name)."""

    def __init__(self, store: Store, kind: Kind | None) -> None:
        assert kind is not None
        super().__init__(store, kind)
        self.task_name = f"bound-{kind.plural}"
        self.entries: dict[tuple[str, str], Entry] = {}

    def _put(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.entries[(meta.get("namespace", ""), meta["name"])] = (str(meta.get("uid", "")), _deletion(meta))

    def _drop(self, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        self.entries.pop((meta.get("namespace", ""), meta["name"]), None)

    def _forget_all(self) -> None:
        self.entries.clear()


class BoundObjects:
    def __init__(self, store: Store) -> None:
        self.accounts = _Uids(store, by_resource("", "v1", "serviceaccounts"))
        self.pods = _Uids(store, by_resource("", "v1", "pods"))
        self.secrets = _Uids(store, by_resource("", "v1", "secrets"))
        self.nodes = _Uids(store, by_resource("", "v1", "nodes"))
        self._all = (self.accounts, self.pods, self.secrets, self.nodes)

    async def start(self, cache: WatchCache) -> None:
        for copy in self._all:
            await copy.start(cache)

    async def stop(self) -> None:
        for copy in self._all:
            await copy.stop()

    def invalid(self, subject: TokenSubject, node_uid: str = "", now: float | None = None) -> str:
        """Why a verified token no longer authenticates ("" while it does)."""
        if not all(copy.started for copy in self._all):
            return ""  # not watching (cut off): trust the signature, as before the copies were made
        t = now if now is not None else time.time()
        checks = [(self.accounts, subject.namespace, subject.name, subject.uid)]
        if subject.pod_name:
            checks.append((self.pods, subject.namespace, subject.pod_name, subject.pod_uid))
        if subject.secret_name:
            checks.append((self.secrets, subject.namespace, subject.secret_name, subject.secret_uid))
        if subject.node_name:
            checks.append((self.nodes, "", subject.node_name, node_uid))
        for copy, namespace, name, uid in checks:
            entry = copy.entries.get((namespace, name))
            if entry is None or (uid and entry[0] != uid):
                return INVALIDATED
            if copy is self.pods and entry[1] and entry[1] < t:
                return INVALIDATED  # the pod's grace period is over
        return ""
