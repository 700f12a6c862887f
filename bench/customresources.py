"""Custom objects beside a built-in kind: creates/s and LIST time through the object store.

    .venv/bin/python bench/customresources.py [--objects 5000]

The same generic store writes both, in one process over one SQLite store: N ConfigMaps
(the floor: a built-in kind with the least strategy) then N objects of a CRD with a schema,
created one after another, then each collection listed. The custom kind's extra cost is its
dynamic Struct, its strategy and the schema engine (`api/crd/structural.py`: pruning,
defaulting, OpenAPI validation), where a ConfigMap pays the unknown-field check against
definitions.json. Figures only, never assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kubelite.api import registry  # noqa: E402
from kubelite.apiserver.customresources import CRDS, CustomResources  # noqa: E402
from kubelite.apiserver.rest import ObjectStore, WriteOptions  # noqa: E402
from kubelite.apiserver.watchcache import WatchCache  # noqa: E402
from kubelite.store.sqlite import SqliteStore  # noqa: E402

OPTS = WriteOptions(field_manager="bench")
CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gadgets.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced", "names": {"plural": "gadgets", "kind": "Gadget"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {"spec": {"type": "object", "properties": {
                     "size": {"type": "integer"}, "colour": {"type": "string"}}}}}}}]},
}


async def timed_creates(objs: ObjectStore, kind: Any, make: Any, n: int) -> tuple[float, float]:
    """(creates/s, this process's CPU ms per create): the rate follows the disk's fsyncs on a
    shared machine, the CPU per create is the store path's own cost."""
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        await objs.create(kind, "default", make(i), OPTS)
    return n / (time.perf_counter() - started), (time.process_time() - cpu) * 1000 / n


async def timed_list(objs: ObjectStore, kind: Any) -> float:
    started = time.perf_counter()
    await objs.list(kind, "default")
    return (time.perf_counter() - started) * 1000


async def run(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SqliteStore(str(Path(tmp) / "state.db"))
        await store.start()
        cache = WatchCache(store)
        await cache.start()
        objs = ObjectStore(store)
        crds = CustomResources(objs)
        await crds.start(cache)
        try:
            assert CRDS is not None
            await objs.create(CRDS, None, copy.deepcopy(CRD), OPTS)
            while registry.by_resource("example.com", "v1", "gadgets") is None:
                await asyncio.sleep(0.01)
            gadgets = registry.by_resource("example.com", "v1", "gadgets")
            configmaps = registry.by_resource("", "v1", "configmaps")
            cm_rate = await timed_creates(objs, configmaps, lambda i: {
                "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c{i}"},
                "data": {"size": str(i), "colour": "blue"}}, n)
            cr_rate = await timed_creates(objs, gadgets, lambda i: {
                "apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": f"g{i}"},
                "spec": {"size": i, "colour": "blue"}}, n)
            cm_list = await timed_list(objs, configmaps)
            cr_list = await timed_list(objs, gadgets)
            print(f"creates/s  ConfigMap (floor) {cm_rate[0]:8,.0f}   Gadget (CRD) {cr_rate[0]:8,.0f}")
            print(f"CPU/create ConfigMap (floor) {cm_rate[1]:6.3f} ms  Gadget (CRD) {cr_rate[1]:6.3f} ms")
            print(f"LIST {n:,}  ConfigMap (floor) {cm_list:6.1f} ms  Gadget (CRD) {cr_list:6.1f} ms")
        finally:
            await crds.stop()
            await cache.stop()
            await store.close()
            registry.set_custom_kinds([])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=5000)
    asyncio.run(run(parser.parse_args().objects))


if __name__ == "__main__":
    main()
