"""The Priority admission plugin (plugin/pkg/admission/priority).

A new pod's `priorityClassName` is resolved to `spec.priority` and `spec.preemptionPolicy`;
a pod without one gets the global default class (the lowest-valued one, if several), or
priority 0 and PreemptLowerPriority. A PriorityClass marked `globalDefault` is refused while
another one is. PriorityClasses are read from a copy fed by the watch cache.
"""

from __future__ import annotations

from typing import Any

from kubelite.api.priority import (
    DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
    PREEMPT_LOWER_PRIORITY,
)
from kubelite.api.registry import Kind, by_resource
from kubelite.apiserver import objects
from kubelite.apiserver.admission import WatchedKind
from kubelite.apiserver.admission_quota import _forbidden
from kubelite.store.interface import Store

PRIORITY_CLASSES = by_resource("scheduling.k8s.io", "v1", "priorityclasses")

NOT_FOUND = "no PriorityClass with name {name} was found"
PRIORITY_GIVEN = ("the integer value of priority ({given}) must not be provided in pod spec; "
                  "priority admission controller computed {computed} from the given "
                  "PriorityClass name")
POLICY_GIVEN = ("the string value of PreemptionPolicy ({given}) must not be provided in pod "
                "spec; priority admission controller computed {computed} from the given "
                "PriorityClass name")
ALREADY_DEFAULT = "PriorityClass {name} is already marked as default. Only one default can exist"


class PriorityAdmission:
    """Mutates pods (create) and checks PriorityClasses' globalDefault (create and update)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.classes = WatchedKind(store, PRIORITY_CLASSES)

    async def __call__(self, kind: Kind, namespace: str, obj: Any, old: Any) -> None:
        if kind.group == "" and kind.kind == "Pod":
            await self._admit_pod(kind, obj, old)
        elif kind is PRIORITY_CLASSES and obj.global_default:
            await self._admit_class(kind, obj)

    async def _admit_pod(self, kind: Kind, pod: Any, old: Any) -> None:
        spec = pod.spec
        if spec is None:
            return
        if old is not None:  # priority is set on create; an update keeps it
            if old.spec is not None:
                if spec.priority is None:
                    spec.priority = old.spec.priority
                if spec.preemption_policy is None:
                    spec.preemption_policy = old.spec.preemption_policy
            return
        name = (pod.metadata.name if pod.metadata else None) or ""
        if not spec.priority_class_name:
            default = await self.default_class()
            if default is None:
                priority: int = DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS
                policy: str | None = PREEMPT_LOWER_PRIORITY
            else:
                spec.priority_class_name = default["metadata"]["name"]
                priority, policy = default.get("value", 0), default.get("preemptionPolicy")
        else:
            pc = await self._get(spec.priority_class_name)
            if pc is None:
                raise _forbidden(kind, name, NOT_FOUND.format(name=spec.priority_class_name))
            priority, policy = pc.get("value", 0), pc.get("preemptionPolicy")
        if spec.priority is not None and spec.priority != priority:
            raise _forbidden(kind, name, PRIORITY_GIVEN.format(given=spec.priority, computed=priority))
        spec.priority = priority
        if policy is not None:
            if spec.preemption_policy is not None and spec.preemption_policy != policy:
                raise _forbidden(kind, name, POLICY_GIVEN.format(given=spec.preemption_policy,
                                                                 computed=policy))
            spec.preemption_policy = policy

    async def _admit_class(self, kind: Kind, pc: Any) -> None:
        name = (pc.metadata.name if pc.metadata else None) or ""
        default = await self.default_class()
        if default is not None and default["metadata"]["name"] != name:
            raise _forbidden(kind, name, ALREADY_DEFAULT.format(name=default["metadata"]["name"]))

    async def default_class(self) -> dict[str, Any] | None:
        """The globalDefault class with the lowest value, if any is marked."""
        marked = [pc for pc in await self.classes.in_namespace("") if pc.get("globalDefault")]
        return min(marked, key=lambda pc: pc.get("value", 0)) if marked else None

    async def _get(self, name: str) -> dict[str, Any] | None:
        for pc in await self.classes.in_namespace(""):
            if pc["metadata"]["name"] == name:
                return pc
        # one created a moment ago may not have reached the copy yet
        assert PRIORITY_CLASSES is not None
        kv = await self.store.get(objects.object_key(PRIORITY_CLASSES, None, name))
        return None if kv is None else objects.decode(kv.value)
