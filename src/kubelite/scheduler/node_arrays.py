"""Per-node numbers in numpy arrays, so a scheduling cycle filters and scores every node at once.

Row i describes `nodes[i]` (the cache's node list). What a node offers (allocatable,
cordon, taints) is set when the node is added or updated; what its pods use is refreshed
on every pod placed or removed. Taints are interned: nodes with the same taints share an id,
so a pod's tolerations are checked once per distinct taint set, not once per node. Label
columns (value code per node, -1 where the label is missing) are built on first use per key
and dropped when any node's labels change.

The arrays only answer "surely passes" and compute scores; anything they cannot decide
exactly (extended resources, cordoned nodes, host ports...) falls back to the plugins' own
per-node code, which also writes every user-facing reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec
import numpy as np
import numpy.typing as npt

from kubelite.api.types import core_v1

if TYPE_CHECKING:
    from kubelite.scheduler.cache import NodeInfo

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

class NodeArrays:
    """Numbers of every node, one row per node, kept in step with the SchedulerCache."""

    def __init__(self, nodes: list[NodeInfo]) -> None:
        self.nodes = nodes
        self.row: dict[str, int] = {n.name: i for i, n in enumerate(nodes)}
        size = len(nodes)
        self.alloc_cpu: IntArray = np.zeros(size, np.int64)
        self.alloc_mem: IntArray = np.zeros(size, np.int64)
        self.alloc_eph: IntArray = np.zeros(size, np.int64)
        self.alloc_pods: IntArray = np.zeros(size, np.int64)
        self.req_cpu: IntArray = np.zeros(size, np.int64)
        self.req_mem: IntArray = np.zeros(size, np.int64)
        self.req_eph: IntArray = np.zeros(size, np.int64)
        self.nz_cpu: IntArray = np.zeros(size, np.int64)
        self.nz_mem: IntArray = np.zeros(size, np.int64)
        self.pod_count: IntArray = np.zeros(size, np.int64)
        self.unschedulable: BoolArray = np.zeros(size, np.bool_)
        self.filter_taint_id: IntArray = np.zeros(size, np.int64)  # 0: no such taints
        self.prefer_taint_id: IntArray = np.zeros(size, np.int64)
        self.taint_sets: list[tuple[core_v1.Taint, ...]] = [()]
        self._taint_ids: dict[bytes, int] = {b"[]": 0}
        self._label_columns: dict[str, tuple[IntArray, dict[str, int]]] = {}
        for i, info in enumerate(nodes):
            self._set_node_row(i, info)
            self._set_pods_row(i, info)

    def _taint_id(self, taints: list[core_v1.Taint]) -> int:
        key = msgspec.json.encode(taints)
        tid = self._taint_ids.get(key)
        if tid is None:
            tid = self._taint_ids[key] = len(self.taint_sets)
            self.taint_sets.append(tuple(taints))
        return tid

    def _set_node_row(self, i: int, info: NodeInfo) -> None:
        alloc = info.allocatable
        self.alloc_cpu[i] = alloc.milli_cpu
        self.alloc_mem[i] = alloc.memory
        self.alloc_eph[i] = alloc.ephemeral_storage
        self.alloc_pods[i] = alloc.allowed_pods
        self.unschedulable[i] = info.unschedulable
        self.filter_taint_id[i] = self._taint_id(info.filter_taints)
        self.prefer_taint_id[i] = self._taint_id(info.prefer_taints)

    def _set_pods_row(self, i: int, info: NodeInfo) -> None:
        req, nz = info.requested, info.non_zero_requested
        self.req_cpu[i] = req.milli_cpu
        self.req_mem[i] = req.memory
        self.req_eph[i] = req.ephemeral_storage
        self.nz_cpu[i] = nz.milli_cpu
        self.nz_mem[i] = nz.memory
        self.pod_count[i] = len(info.pods)

    def node_changed(self, info: NodeInfo, labels_changed: bool) -> None:
        """The node object was updated (allocatable, taints, cordon, labels)."""
        i = self.row.get(info.name)
        if i is not None:
            self._set_node_row(i, info)
        if labels_changed:
            self._label_columns.clear()

    def pods_changed(self, info: NodeInfo) -> None:
        """A pod was placed on or removed from the node."""
        i = self.row.get(info.name)
        if i is not None:
            self._set_pods_row(i, info)

    def label_column(self, key: str) -> tuple[IntArray, dict[str, int]]:
        """(value code per node, -1 where missing; value -> code) for one label key."""
        column = self._label_columns.get(key)
        if column is None:
            vocab: dict[str, int] = {}
            codes = np.fromiter((-1 if (v := n.labels.get(key)) is None
                                 else vocab.setdefault(v, len(vocab)) for n in self.nodes),
                                np.int64, len(self.nodes))
            column = self._label_columns[key] = (codes, vocab)
        return column


    def label_mask(self, key: str, matches: Callable[[str | None], bool]) -> BoolArray:
        """matches(value of label `key`, None if missing) per node, asked once per value."""
        codes, vocab = self.label_column(key)
        table = [matches(value) for value in vocab] + [matches(None)]
        mask: BoolArray = np.array(table, np.bool_)[codes]
        return mask


def lookup(table: list[bool], codes: IntArray) -> BoolArray:
    """table[code] per node, where code -1 (label missing) reads False."""
    return np.array([*table, False], np.bool_)[codes]
