"""InformerView: a filtered, converted view of another informer, with its own handlers."""

from __future__ import annotations

from typing import Any

import msgspec

from kubelite.api.types import core_v1
from kubelite.client import Informer, InformerView


def pod(name: str, rv: str, node: str = "", phase: str = "Pending") -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "default", "resourceVersion": rv},
            "spec": {"containers": [{"name": "c", "image": "busybox"}], "nodeName": node},
            "status": {"phase": phase}}


def on_node(p: dict[str, Any]) -> bool:
    return bool(p["spec"].get("nodeName")) and p["status"].get("phase") != "Succeeded"


def recorder(view: Informer) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    view.on_add(lambda o: seen.append(("add", o.metadata.name)))
    view.on_update(lambda old, new: seen.append(("update", new.metadata.name)))
    view.on_delete(lambda o: seen.append(("delete", o.metadata.name)))
    return seen


async def test_objects_entering_and_leaving_the_selection_are_added_and_deleted() -> None:
    parent = Informer(None, "pods", raw=True)  # type: ignore[arg-type]  # fed by hand below
    view = InformerView(parent, on_node, lambda o: msgspec.convert(o, core_v1.Pod))
    seen = recorder(view)
    await parent._upsert("default/a", pod("a", "1"))
    assert seen == [] and view.get("default/a") is None
    await parent._upsert("default/a", pod("a", "2", node="n1"))
    await parent._upsert("default/a", pod("a", "3", node="n1"))
    await parent._upsert("default/a", pod("a", "4", node="n1", phase="Succeeded"))
    assert seen == [("add", "a"), ("update", "a"), ("delete", "a")]
    assert view.get("default/a") is None and len(parent) == 1


async def test_the_view_holds_converted_objects_and_sees_parent_deletions() -> None:
    parent = Informer(None, "pods", raw=True)  # type: ignore[arg-type]
    await parent._upsert("default/old", pod("old", "1", node="n1"))
    view = InformerView(parent, on_node, lambda o: msgspec.convert(o, core_v1.Pod))
    seen = recorder(view)
    cached = view.get("default/old")  # already in the parent: copied in without handlers
    assert isinstance(cached, core_v1.Pod) and cached.spec is not None
    assert cached.spec.node_name == "n1"
    await parent._delete("default/old", pod("old", "1", node="n1"))
    assert seen == [("delete", "old")] and view.list() == []


async def test_two_views_split_one_parent_and_stopping_a_view_leaves_the_parent() -> None:
    parent = Informer(None, "pods", raw=True)  # type: ignore[arg-type]
    pending = InformerView(parent, lambda p: not p["spec"].get("nodeName"))
    assigned = InformerView(parent, on_node)
    await parent._upsert("default/a", pod("a", "1"))
    await parent._upsert("default/b", pod("b", "1", node="n1"))
    assert pending.keys() == ["default/a"] and assigned.keys() == ["default/b"]
    assert pending.get("default/a") is parent.get("default/a")  # no transform: same object
    assert not pending.synced
    parent._synced.set()
    assert pending.synced and await assigned.has_synced()
    await pending.stop()
    assert not parent._stopped
