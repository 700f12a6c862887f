"""The scheduling framework: status codes, per-cycle state, cluster events, the plugin shape.

A plugin is a class with `NAME`, the `EVENTS` that could make a pod it refused schedulable,
and any of the extension points below. Work that depends only on the pod is done once in
`pre_filter` and kept in the CycleState; `filter` then runs per node.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kubelite.api.types import core_v1

if TYPE_CHECKING:
    from kubelite.scheduler.cache import NodeInfo, Snapshot
    from kubelite.scheduler.node_arrays import BoolArray, IntArray, NodeArrays

MAX_NODE_SCORE = 100


class Code(enum.IntEnum):
    """What a plugin decided (framework.Code)."""

    SUCCESS = 0
    ERROR = 1
    UNSCHEDULABLE = 2  # may fit later, e.g. once other pods leave
    UNSCHEDULABLE_AND_UNRESOLVABLE = 3  # no point retrying on this node (preemption can't help)
    SKIP = 5  # pre_filter/pre_score: this plugin has nothing to check for this pod


@dataclass(frozen=True)
class Status:
    """A plugin's verdict; `reasons` are the user-facing words counted in FailedScheduling."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @classmethod
    def unschedulable(cls, *reasons: str) -> Status:
        return cls(Code.UNSCHEDULABLE, reasons)

    @classmethod
    def unresolvable(cls, *reasons: str) -> Status:
        return cls(Code.UNSCHEDULABLE_AND_UNRESOLVABLE, reasons)

    @classmethod
    def error(cls, message: str) -> Status:
        return cls(Code.ERROR, (message,))

    @property
    def is_success(self) -> bool:
        return self.code == Code.SUCCESS

    @property
    def is_rejected(self) -> bool:
        return self.code in (Code.UNSCHEDULABLE, Code.UNSCHEDULABLE_AND_UNRESOLVABLE)

    @property
    def message(self) -> str:
        return ", ".join(self.reasons)

    def with_plugin(self, name: str) -> Status:
        return Status(self.code, self.reasons, name)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


class Event(enum.Flag):
    """Cluster events a refused pod may wait for (framework.ClusterEvent, coarsened)."""

    NONE = 0
    NODE_ADD = enum.auto()
    NODE_DELETE = enum.auto()
    NODE_LABEL = enum.auto()  # labels changed
    NODE_TAINT = enum.auto()  # taints or spec.unschedulable changed
    NODE_ALLOCATABLE = enum.auto()  # status.allocatable changed
    NODE_OTHER = enum.auto()  # any other node update (images, conditions...)
    POD_ADD = enum.auto()  # an assigned pod appeared
    POD_UPDATE = enum.auto()  # an assigned pod's labels or requests changed
    POD_DELETE = enum.auto()  # an assigned pod went away (frees resources, ports, spread)
    VOLUME = enum.auto()  # a PersistentVolumeClaim, PersistentVolume or StorageClass changed
    NODE_UPDATE = NODE_LABEL | NODE_TAINT | NODE_ALLOCATABLE | NODE_OTHER
    ALL = NODE_ADD | NODE_DELETE | NODE_UPDATE | POD_ADD | POD_UPDATE | POD_DELETE | VOLUME


@dataclass(frozen=True)
class ApiPatch:
    """A merge patch a PreBind plugin asks the scheduler to write before binding the pod."""

    resource: str  # plural, e.g. "persistentvolumeclaims"
    namespace: str | None
    name: str
    body: dict[str, Any]


@dataclass
class CycleState:
    """Scratch space for one scheduling cycle of one pod, shared by all its plugins."""

    snapshot: Snapshot
    data: dict[str, Any] = field(default_factory=dict)
    skip_filter: set[str] = field(default_factory=set)
    skip_score: set[str] = field(default_factory=set)

    def read(self, key: str) -> Any:
        return self.data.get(key)

    def write(self, key: str, value: Any) -> None:
        self.data[key] = value


class Plugin:
    """Base of every plugin: all extension points are no-ops, plugins override what they use."""

    NAME: str = ""
    EVENTS: Event = Event.NONE

    def pre_filter(self, state: CycleState, pod: core_v1.Pod) -> Status:
        """Once per cycle; return SKIP if filter has nothing to check for this pod."""
        return SUCCESS

    def filter(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> Status:
        return SUCCESS

    def filter_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays
                      ) -> BoolArray | None:
        """Every node at once: exactly the nodes where `filter` succeeds.

        None (the default) means the plugin has no array form for this pod: `filter` runs
        per node. Refusal reasons always come from `filter` itself.
        """
        return None

    def pre_score(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]) -> Status:
        """Once per cycle over the feasible nodes; return SKIP to not score this pod."""
        return SUCCESS

    def score(self, state: CycleState, pod: core_v1.Pod, node: NodeInfo) -> int:
        return 0

    def score_nodes(self, state: CycleState, pod: core_v1.Pod, nodes: Sequence[NodeInfo]
                    ) -> list[int]:
        """Raw scores of many nodes at once; plugins override it where a batch is cheaper."""
        return [self.score(state, pod, n) for n in nodes]

    def score_vector(self, state: CycleState, pod: core_v1.Pod, arrays: NodeArrays,
                     rows: IntArray) -> IntArray | None:
        """Normalized scores of arrays' `rows` (what score_nodes + normalize_score give).

        None (the default) means the plugin has no array form.
        """
        return None

    def normalize_score(self, state: CycleState, pod: core_v1.Pod, scores: dict[str, int]) -> None:
        """Rescale raw scores (in place) to 0..MAX_NODE_SCORE."""

    def pre_bind(self, state: CycleState, pod: core_v1.Pod, node: str) -> Sequence[ApiPatch]:
        """Writes to make before the binding (kept I/O-free: the scheduler performs them)."""
        return ()


def default_normalize_score(scores: dict[str, int], reverse: bool = False,
                            max_priority: int = MAX_NODE_SCORE) -> None:
    """Scale so the highest score becomes max_priority; reverse flips (helper.DefaultNormalizeScore)."""
    highest = max(scores.values(), default=0)
    if highest == 0:
        if reverse:
            for name in scores:
                scores[name] = max_priority
        return
    for name, value in scores.items():
        scaled = max_priority * value // highest
        scores[name] = max_priority - scaled if reverse else scaled
